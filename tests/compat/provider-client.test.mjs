// The realtime flow of the published @clawrent/provider SDK: its ProviderClient (and the
// SessionManager it drives) serving an agent over /ws/agent and /ws/session, against two replicas.
//
// tests/api/compat.rs starts replica A and replica B (one database, one Redis), lists an agent
// with approval mode `auto` (not connected, not activated: the SDK does both), issues its agent
// token, gives a consumer money, runs this file with `node` and then checks in Postgres that every
// message either side saw is stored, with gap-free seqs. The SDK talks to replica A only (apiUrl
// and wsUrl); the consumer rents, ends and holds its /ws/session socket on replica B, so every
// event crosses replicas through Redis. The consumer's socket is a plain `ws` client (the
// WebSocket package the SDK itself depends on) speaking the contract's envelope, as
// `clawrent send` does.
//
// The world comes in through environment variables (all required):
//   CLAWRENT_COMPAT_API_URL_A, CLAWRENT_COMPAT_API_URL_B   e.g. http://127.0.0.1:40123
//   CLAWRENT_COMPAT_CONSUMER_EMAIL, CLAWRENT_COMPAT_CONSUMER_PASSWORD, CLAWRENT_COMPAT_CONSUMER_ID
//   CLAWRENT_COMPAT_AGENT_ID, CLAWRENT_COMPAT_AGENT_TOKEN (agt_clawrent_...)
// It prints `compat-session-id: <uuid>` for each session and `compat-seen: <json>` for every
// stored message a side received ({sessionId, id, seq, type, senderRole, by}), and exits non-zero
// when a step fails. Every wait is on an event, bounded by WAIT_MS; nothing sleeps.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { ApiClient, PROVIDER_PACKAGE_VERSION, ProviderClient } from '@clawrent/provider';
import { ExecInstructionSchema, MessageType, SuccessResultSchema } from '@clawrent/protocol';

// The `ws` package exactly as the SDK resolves it (it is the SDK's dependency, not ours).
const WebSocket = createRequire(import.meta.resolve('@clawrent/provider'))('ws');

function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set (tests/api/compat.rs sets it; see the header of this file)`);
  }
  return value;
}

const apiUrlA = env('CLAWRENT_COMPAT_API_URL_A');
const apiUrlB = env('CLAWRENT_COMPAT_API_URL_B');
const wsUrlA = apiUrlA.replace(/^http/, 'ws');
const wsUrlB = apiUrlB.replace(/^http/, 'ws');
const consumerEmail = env('CLAWRENT_COMPAT_CONSUMER_EMAIL');
const consumerPassword = env('CLAWRENT_COMPAT_CONSUMER_PASSWORD');
const consumerId = env('CLAWRENT_COMPAT_CONSUMER_ID');
const agentId = env('CLAWRENT_COMPAT_AGENT_ID');
const agentToken = env('CLAWRENT_COMPAT_AGENT_TOKEN');

/** Bounds every wait for an event; only a failing run reaches it. */
const WAIT_MS = 15000;
// _meta.timestamp, the SDK's dedupe cursor (compared as a string): JS toISOString.
const ISO_MILLIS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Events as they happen, and waits for the first one that matches (taking it off the list).
 * Nothing is polled: a push wakes the waiters.
 */
class Inbox {
  constructor(name) {
    this.name = name;
    this.items = [];
    this.waiters = [];
  }

  push(item) {
    const waiter = this.waiters.find((w) => w.match(item));
    if (waiter) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      clearTimeout(waiter.timer);
      waiter.resolve(item);
    } else {
      this.items.push(item);
    }
  }

  next(match, what) {
    const index = this.items.findIndex(match);
    if (index >= 0) return Promise.resolve(this.items.splice(index, 1)[0]);
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve };
      waiter.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`${this.name}: no ${what} within ${WAIT_MS} ms; got ${JSON.stringify(this.items)}`));
      }, WAIT_MS);
      this.waiters.push(waiter);
    });
  }

  /** What is left that `match` accepts (not consumed). */
  left(match) {
    return this.items.filter(match);
  }
}

/** `promise`, or a failure naming `what` after WAIT_MS. */
function bounded(promise, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled within ${WAIT_MS} ms`)), WAIT_MS);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * `system.peer_connected` as either side got it. Each side joins its session's channel and then
 * announces itself, so of two sockets at least one hears of the other, and once one has, both are
 * listening. (The 101 answer, which is all a client waits for, comes before the server has joined
 * the channel: a message stored in between reaches that socket only through a resume, which the
 * SDK never asks for. See the report in tests/api/compat.rs.)
 */
const joins = new Inbox('system.peer_connected on either side');

const isMessage = (frame) => typeof frame?.seq === 'number';

function seen(by, frame) {
  console.log(
    `compat-seen: ${JSON.stringify({
      by,
      sessionId: frame.sessionId,
      id: frame.id,
      seq: frame.seq,
      type: frame.type,
      senderRole: frame.sender?.role,
    })}`,
  );
}

/** A ProviderClient as a host runs it, with everything it reports recorded. */
function provider(name) {
  const client = new ProviderClient({ apiUrl: apiUrlA, wsUrl: wsUrlA, agentToken });
  const events = {
    welcome: new Inbox(`${name} agent.connected`),
    newSessions: new Inbox(`${name} onSessionNew`),
    connected: new Inbox(`${name} session:connected`),
    reattached: new Inbox(`${name} session:reattached`),
    disconnected: new Inbox(`${name} session:disconnected`),
    messages: new Inbox(`${name} onMessage`),
    ended: new Inbox(`${name} onSessionEnded`),
    warnings: [],
    cursors: new Map(),
  };
  client.on('agent:connected', (payload) => {
    // Emitted on open without a payload, and on the server's welcome frame with it.
    if (payload) events.welcome.push(payload);
  });
  client.on('agent:warning', (warning) => events.warnings.push(warning));
  client.on('session:connected', (sessionId) => events.connected.push(sessionId));
  client.on('session:reattached', (sessionId) => events.reattached.push(sessionId));
  // A clean close (1000 both ways); any other code makes SessionManager reconnect.
  client.on('session:disconnected', (sessionId) => events.disconnected.push(sessionId));
  const callbacks = {
    onSessionNew: (session) => events.newSessions.push(session),
    onMessage: (session, message) => {
      if (isMessage(message)) seen('provider', message);
      if (message.type === 'system.peer_connected') joins.push({ sessionId: session.sessionId, by: name });
      events.messages.push({ session, message });
    },
    onSessionEnded: (session, reason) => events.ended.push({ session, reason }),
  };
  const start = async () => {
    await client.start(callbacks);
    client.sessionManager.on('session:reconnecting', (sessionId, delay) =>
      events.warnings.push(`session ${sessionId} reconnecting in ${delay} ms`),
    );
  };
  return { client, events, start };
}

/** The consumer's /ws/session socket (on replica B), with its frames recorded. */
async function consumerSocket(sessionId, sessionToken) {
  const url = `${wsUrlB}/ws/session?sessionId=${sessionId}&token=${sessionToken}&role=consumer&slotIndex=0`;
  const socket = new WebSocket(url);
  const frames = new Inbox(`consumer ${sessionId}`);
  const closed = new Promise((resolve) => socket.on('close', (code) => resolve(code)));
  socket.on('message', (raw) => {
    let frame;
    try {
      frame = JSON.parse(raw.toString());
    } catch {
      return;
    }
    if (isMessage(frame)) seen('consumer', frame);
    if (frame.type === 'system.peer_connected') joins.push({ sessionId, by: 'consumer' });
    frames.push(frame);
  });
  await bounded(
    new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    }),
    'the consumer socket opens',
  );
  let counter = 0;
  return {
    frames,
    closed,
    close: () => socket.close(1000, 'Consumer done'),
    /** A frame with the contract's full envelope, as `clawrent send` writes it. */
    send(type, payload) {
      counter += 1;
      const envelope = {
        id: `msg_${Date.now().toString(36)}_c${counter}`,
        sessionId,
        timestamp: Date.now(),
        sender: { role: 'consumer', agentId: consumerId },
        type,
        payload,
      };
      socket.send(JSON.stringify(envelope));
      return envelope;
    },
  };
}

/** Checks a stored message as the SDK hands it to onMessage. */
function assertForwarded(message, { sessionId, type, senderRole }) {
  assert.equal(message.type, type, JSON.stringify(message));
  assert.equal(message.sessionId, sessionId);
  assert.equal(typeof message.id, 'string');
  assert.equal(typeof message.timestamp, 'number', 'the envelope timestamp is epoch ms');
  assert.equal(message.sender.role, senderRole);
  assert.equal(message._meta.sessionId, sessionId);
  assert.equal(message._meta.senderRole, senderRole);
  assert.match(message._meta.timestamp, ISO_MILLIS_UTC);
  assert.equal(new Date(message._meta.timestamp).getTime(), message.timestamp);
}

/**
 * The SDK sets its cursor to the client's clock (ms) for a frame without `_meta` (peer events).
 * Lets that millisecond pass, so a message the server stores next cannot carry the same stamp
 * (the SDK would drop it as already seen; see the report in tests/api/compat.rs).
 */
async function pastMillisecond(since) {
  while (Date.now() <= since) {
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('the realtime flow of ProviderClient against two clawrent replicas', async (t) => {
  let broken = null;
  const step = (name, fn) =>
    t.test(name, { skip: broken ? `an earlier step failed: ${broken}` : false }, async () => {
      try {
        await fn();
      } catch (error) {
        broken = name;
        throw error;
      }
    });

  let consumer;
  let first;
  let second;
  let session;
  let socket;
  let instruction;
  const cleanup = [];

  try {
    await step('the installed SDK is the pinned release; the consumer logs in on replica B', async () => {
      assert.equal(PROVIDER_PACKAGE_VERSION, '0.8.1');
      const anonymous = new ApiClient({ apiUrl: apiUrlB, wsUrl: wsUrlB });
      const login = await anonymous.login(consumerEmail, consumerPassword);
      assert.equal(login.user.id, consumerId);
      consumer = new ApiClient({ apiUrl: apiUrlB, wsUrl: wsUrlB, token: login.token, userId: login.user.id });
    });

    await step('start(): the agent from its token (me/agent), /ws/agent, agent.connected, activate', async () => {
      first = provider('first');
      cleanup.push(() => first.client.stop());
      const activated = new Promise((resolve) => first.client.once('agent:activated', resolve));
      await bounded(first.start(), 'start()');
      assert.equal(first.client.currentAgentId, agentId, 'resolved from GET /api/agents/me/agent');
      assert.equal(first.client.running, true);
      assert.equal(await activated, agentId);
      first.client.on('agent:warning', (w) => console.log(`first: ${w}`));
      const welcome = await first.events.welcome.next(() => true, 'agent.connected');
      assert.deepEqual(welcome, { agentId });
    });

    await step('a rent on replica B (auto approval) reaches the SDK: session.new, approve, /ws/session', async () => {
      const created = await consumer.rent({ agentId, taskDescription: 'First task' });
      assert.equal(created.status, 'active');
      session = { id: created.id, token: created.sessionToken };
      console.log(`compat-session-id: ${session.id}`);
      const announced = await first.events.newSessions.next((s) => s.sessionId === session.id, 'session.new');
      assert.equal(announced.sessionToken, session.token);
      assert.equal(announced.taskDescription, 'First task');
      assert.equal(announced.consumerUserId, consumerId);
      // The SDK connects /ws/session only after its approve call succeeded.
      await first.events.connected.next((id) => id === session.id, 'session:connected');
    });

    await step('the consumer joins on replica B (system.peer_connected reaches a side)', async () => {
      socket = await consumerSocket(session.id, session.token);
      cleanup.push(() => socket.close());
      await joins.next((j) => j.sessionId === session.id, 'peer_connected');
      // If the SDK got it, its cursor is now the client's clock (the frame has no _meta).
      await pastMillisecond(Date.now());
    });

    await step('consumer frames (dialogue.message, instruction.exec) reach onMessage with _meta', async () => {
      const question = socket.send(MessageType.DIALOGUE_MESSAGE, {
        content: 'Please review PR #42',
        dialogueType: 'message',
      });
      const exec = socket.send(
        MessageType.INSTRUCTION_EXEC,
        ExecInstructionSchema.parse({ command: 'git diff --stat', explanation: 'See the change' }),
      );
      const got = [];
      for (const sent of [question, exec]) {
        const { session: active, message } = await first.events.messages.next(
          ({ message }) => message.type === sent.type,
          sent.type,
        );
        assert.equal(active.sessionId, session.id);
        assertForwarded(message, { sessionId: session.id, type: sent.type, senderRole: 'consumer' });
        assert.deepEqual(message.payload, sent.payload);
        got.push(message);
      }
      assert.equal(got[0].payload.content, 'Please review PR #42');
      assert.ok(got[1].seq > got[0].seq);
      assert.ok(got[1]._meta.timestamp > got[0]._meta.timestamp, 'the cursor strictly increases');
      // The SDK advances its cursor once onMessage has returned.
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(first.client.cursorStore.get(session.id), got[1]._meta.timestamp);
      instruction = got[1];
    });

    await step('the SDK answers with send() (default type result.success) and typing; the consumer gets them', async () => {
      assert.equal(first.client.sendTyping(session.id), true);
      const typing = await socket.frames.next((f) => f.type === 'dialogue.typing', 'dialogue.typing');
      assert.equal(typing.sender.role, 'provider');
      const result = SuccessResultSchema.parse({
        instructionId: instruction.id,
        data: { stdout: ' 1 file changed', exitCode: 0 },
        executionTime: 12,
        usage: { totalTokens: 321 },
      });
      assert.deepEqual(await first.client.send(session.id, { payload: result }), { via: 'ws', delivered: true });
      const answer = await socket.frames.next(isMessage, 'the result');
      assertForwarded(answer, { sessionId: session.id, type: MessageType.RESULT_SUCCESS, senderRole: 'provider' });
      assert.equal(answer.sender.agentId, agentId);
      assert.deepEqual(answer.payload, result);
      assert.ok(answer.seq > instruction.seq);
      assert.ok(answer._meta.timestamp > instruction._meta.timestamp);
      const refused = socket.frames.left((f) => f.type === 'system.error');
      assert.deepEqual(refused, [], 'no frame of the consumer was refused');
    });

    await step('the consumer ends the session on replica B: system.session_ended, close 4003, onSessionEnded', async () => {
      const ended = await consumer.endSession(session.id);
      assert.equal(ended.status, 'settled');
      const notice = await first.events.messages.next(
        ({ message }) => message.type === 'system.session_ended',
        'system.session_ended',
      );
      assert.equal(typeof notice.message.payload.reason, 'string');
      const gone = await first.events.ended.next(({ session: s }) => s.sessionId === session.id, 'onSessionEnded');
      assert.match(gone.reason, /code 4003/);
      const consumerNotice = await socket.frames.next((f) => f.type === 'system.session_ended', 'system.session_ended');
      assert.equal(consumerNotice.payload.reason, notice.message.payload.reason);
      assert.equal(await bounded(socket.closed, 'the close'), 4003);
      assert.deepEqual(first.events.warnings, [], 'the SDK warned about nothing');
    });

    await step('a second session, attached and talking, then the client stops (1000)', async () => {
      const created = await consumer.rent({ agentId, taskDescription: 'Second task' });
      assert.equal(created.status, 'active');
      session = { id: created.id, token: created.sessionToken };
      console.log(`compat-session-id: ${session.id}`);
      await first.events.connected.next((id) => id === session.id, 'session:connected');
      socket = await consumerSocket(session.id, session.token);
      cleanup.push(() => socket.close());
      await joins.next((j) => j.sessionId === session.id, 'peer_connected');
      await pastMillisecond(Date.now());
      socket.send(MessageType.DIALOGUE_MESSAGE, { content: 'Before the restart', dialogueType: 'message' });
      const before = await first.events.messages.next(({ message }) => isMessage(message), 'a message');
      assert.equal(before.message.payload.content, 'Before the restart');

      first.client.stop();
      // The SDK closed with 1000 and got 1000 back: no reconnect of the stopped client's session.
      await first.events.disconnected.next((id) => id === session.id, 'session:disconnected');
      const left = await socket.frames.next((f) => f.type === 'system.peer_disconnected', 'peer_disconnected');
      assert.equal(left.payload.role, 'provider');
      assert.deepEqual(first.events.warnings, []);
    });

    await step('a new ProviderClient re-attaches the active session (sessions?role=provider&status=active)', async () => {
      second = provider('second');
      cleanup.push(() => second.client.stop());
      await bounded(second.start(), 'start()');
      assert.equal(second.client.currentAgentId, agentId);
      await second.events.reattached.next((id) => id === session.id, 'session:reattached');
      const resumed = await second.events.newSessions.next((s) => s.sessionId === session.id, 'onSessionNew');
      assert.equal(resumed.sessionToken, session.token);
      assert.equal(resumed.taskDescription, 'Second task');
      assert.equal(resumed.consumerUserId, consumerId);
      await second.events.connected.next((id) => id === session.id, 'session:connected');
      const joined = await socket.frames.next((f) => f.type === 'system.peer_connected', 'peer_connected');
      assert.equal(joined.payload.role, 'provider');
    });

    await step('and exchanges messages on it both ways', async () => {
      const sent = socket.send(MessageType.DIALOGUE_MESSAGE, { content: 'After the restart', dialogueType: 'message' });
      const { message } = await second.events.messages.next(({ message }) => isMessage(message), 'a message');
      assertForwarded(message, { sessionId: session.id, type: MessageType.DIALOGUE_MESSAGE, senderRole: 'consumer' });
      assert.deepEqual(message.payload, sent.payload);
      assert.deepEqual(
        await second.client.send(session.id, {
          type: MessageType.DIALOGUE_MESSAGE,
          payload: { content: 'Still here', dialogueType: 'message' },
        }),
        { via: 'ws', delivered: true },
      );
      const answer = await socket.frames.next(isMessage, 'the answer');
      assertForwarded(answer, { sessionId: session.id, type: MessageType.DIALOGUE_MESSAGE, senderRole: 'provider' });
      assert.equal(answer.payload.content, 'Still here');
      assert.ok(answer.seq > message.seq);
    });

    await step('ending it closes the re-attached socket with 4003 as well', async () => {
      await consumer.endSession(session.id);
      const gone = await second.events.ended.next(({ session: s }) => s.sessionId === session.id, 'onSessionEnded');
      assert.match(gone.reason, /code 4003/);
      assert.equal(await bounded(socket.closed, 'the close'), 4003);
      assert.deepEqual(second.events.warnings, [], 'the SDK warned about nothing');
    });
  } finally {
    for (const undo of cleanup.reverse()) {
      try {
        undo();
      } catch {
        // Already closed.
      }
    }
  }
});
