// The REST session flow of the real clients, driven through the published @clawrent/provider SDK.
//
// The `clawrent` CLI, the MCP server and ProviderClient all make their HTTP calls through the SDK's
// ApiClient; this script uses ApiClient's own methods (and the SDK's REST helpers
// resumeActiveSessions and diffSessionStates) for every step, so the requests are exactly the ones
// the real clients send: no Content-Type and no body on approve/end, `since` percent-encoded by
// URLSearchParams, errors read back as `API error <status>: <message>`. No WebSocket is opened.
//
// tests/api/compat.rs prepares the world (a listed, connected and activated agent with manual
// approval, its agent token, a consumer with money), runs this file with `node` and checks the
// balances afterwards. The world comes in through environment variables (all required):
//   CLAWRENT_COMPAT_API_URL          the server, e.g. http://127.0.0.1:40123
//   CLAWRENT_COMPAT_TENANT           the tenant's slug (must be `default`, see below)
//   CLAWRENT_COMPAT_CONSUMER_EMAIL, CLAWRENT_COMPAT_CONSUMER_PASSWORD, CLAWRENT_COMPAT_CONSUMER_ID
//   CLAWRENT_COMPAT_PROVIDER_ID      the agent's owner
//   CLAWRENT_COMPAT_AGENT_ID, CLAWRENT_COMPAT_AGENT_TOKEN (agt_clawrent_...)
//   CLAWRENT_COMPAT_PRICE            the agent's per-session price, e.g. 5.00
//   CLAWRENT_COMPAT_FUNDS            the consumer's balance before renting, e.g. 100.00
// It prints `compat-session-id: <uuid>` once the session exists, and exits non-zero when a step
// fails. By hand, against a running server: `CLAWRENT_COMPAT_...=... npm test` in this folder.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApiClient,
  PROVIDER_PACKAGE_VERSION,
  diffSessionStates,
  resumeActiveSessions,
} from '@clawrent/provider';
import { ExecInstructionSchema, MessageType, SuccessResultSchema } from '@clawrent/protocol';

function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set (tests/api/compat.rs sets it; see the header of this file)`);
  }
  return value;
}

const apiUrl = env('CLAWRENT_COMPAT_API_URL');
// ClawRentConfig requires a wsUrl; nothing here opens a socket (REST only).
const wsUrl = apiUrl.replace(/^http/, 'ws');
const tenant = env('CLAWRENT_COMPAT_TENANT');
const consumerEmail = env('CLAWRENT_COMPAT_CONSUMER_EMAIL');
const consumerPassword = env('CLAWRENT_COMPAT_CONSUMER_PASSWORD');
const consumerId = env('CLAWRENT_COMPAT_CONSUMER_ID');
const providerId = env('CLAWRENT_COMPAT_PROVIDER_ID');
const agentId = env('CLAWRENT_COMPAT_AGENT_ID');
const agentToken = env('CLAWRENT_COMPAT_AGENT_TOKEN');
const price = env('CLAWRENT_COMPAT_PRICE');
const funds = env('CLAWRENT_COMPAT_FUNDS');

const TASK = 'Review PR #42 of the compat suite';
// What the API writes for every time (JS toISOString): the clients' cursors compare these as strings.
const ISO_MILLIS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DECIMAL = /^\d+\.\d+$/;
const FEE_PERCENT = 15n;

/** A decimal string as an exact count of ten-thousandths (the ledger's precision). */
function units(text) {
  assert.match(text, /^-?\d+(\.\d{1,4})?$/, `${text} is a decimal string`);
  const [whole, fraction = ''] = text.replace('-', '').split('.');
  const value = BigInt(whole) * 10000n + BigInt(fraction.padEnd(4, '0'));
  return text.startsWith('-') ? -value : value;
}

/** A getSessions() page as the SessionSummary list diffSessionStates compares. */
function summaries(page) {
  return page.data.map((s) => ({
    sessionId: s.sessionId ?? s.id,
    status: s.status,
    taskDescription: s.taskDescription,
    consumerUserId: s.consumerUserId,
  }));
}

test('the REST session flow of @clawrent/provider against clawrent', async (t) => {
  let broken = null;
  // Runs one step; after a failed step the rest are skipped (they need its result).
  const step = (name, fn, options = {}) =>
    t.test(name, { ...options, skip: broken ? `an earlier step failed: ${broken}` : false }, async () => {
      try {
        await fn();
      } catch (error) {
        if (!options.todo) broken = name;
        throw error;
      }
    });

  let consumer;
  let provider;
  let sessionId;
  let sessionToken;
  let pendingSnapshot;
  let history;

  await step('the installed SDK is the pinned release, and the tenant is the one it can reach', () => {
    assert.equal(PROVIDER_PACKAGE_VERSION, '0.8.1');
    // ApiClient sends no tenant header: a client that reaches the server by address lands in the
    // default tenant, so that is where the Rust side prepared the world.
    assert.equal(tenant, 'default');
  });

  await step('login: the consumer logs in (login) and reads its wallet (getBalance)', async () => {
    const anonymous = new ApiClient({ apiUrl, wsUrl });
    const session = await anonymous.login(consumerEmail, consumerPassword);
    // What `clawrent auth login` stores.
    assert.equal(typeof session.token, 'string');
    assert.equal(session.user.id, consumerId);
    assert.equal(session.user.email, consumerEmail);
    assert.equal(typeof session.user.name, 'string');
    consumer = new ApiClient({
      apiUrl,
      wsUrl,
      token: session.token,
      userId: session.user.id,
      email: session.user.email,
      name: session.user.name,
    });
    const wallet = await consumer.getBalance();
    assert.equal(typeof wallet.balance, 'string');
    assert.equal(units(wallet.balance), units(funds));
  });

  await step('the provider authenticates with its agent token as ProviderClient does (setAgentToken, getMyAgent, activateAgent)', async () => {
    provider = new ApiClient({ apiUrl, wsUrl });
    provider.setAgentToken(agentToken);
    const me = await provider.getMyAgent();
    // ProviderClient reads `id`, falling back to `agentId`; the CLI prints `name`.
    assert.equal(me.id ?? me.agentId, agentId);
    assert.equal(typeof me.name, 'string');
    // ProviderClient activates after every /ws/agent (re)connect; the agent is connected and
    // already active (the Rust side did both), so this is a repeat and must still be 2xx.
    await provider.activateAgent(agentId);
  });

  await step('rent (rent: grantedPermissions defaults to {})', async () => {
    const created = await consumer.rent({ agentId, taskDescription: TASK });
    assert.equal(typeof created.id, 'string');
    assert.equal(created.status, 'pending_approval');
    sessionId = created.id;
    console.log(`compat-session-id: ${sessionId}`);
  });

  await step('renting your own agent is refused with a message the clients show (API error 400: <message>)', async () => {
    // The agent token acts as its owner, the provider.
    await assert.rejects(provider.rent({ agentId, taskDescription: TASK }), (error) => {
      assert.match(error.message, /^API error 400: [^{]/);
      return true;
    });
  });

  await step('the provider finds it pending (getSessions role=provider status=pending_approval, diffSessionStates)', async () => {
    const page = await provider.getSessions({ role: 'provider', status: 'pending_approval' });
    // The CLI's poll fallback reads data[].id, taskDescription and consumerUserId.
    const item = page.data.find((s) => s.id === sessionId);
    assert.ok(item, `${sessionId} is listed: ${JSON.stringify(page)}`);
    assert.equal(item.taskDescription, TASK);
    assert.equal(item.consumerUserId, consumerId);
    pendingSnapshot = summaries(page);
    const diff = diffSessionStates([], pendingSnapshot);
    assert.deepEqual(
      diff.newPending.map((s) => s.sessionId),
      [sessionId],
    );
  });

  await step('approve with no body (approveSession), and again as ProviderClient does for active sessions', async () => {
    const approved = await provider.approveSession(sessionId);
    // What `clawrent serve` reads to open /ws/session.
    assert.equal(approved.status, 'active');
    assert.equal(typeof approved.sessionToken, 'string');
    assert.ok(approved.sessionToken.length > 0);
    assert.equal(approved.taskDescription, TASK);
    assert.equal(approved.consumerUserId, consumerId);
    sessionToken = approved.sessionToken;
    const again = await provider.approveSession(sessionId);
    assert.equal(again.status, 'active');
    assert.equal(again.sessionToken, sessionToken);
  });

  await step('the active list lets a restarted provider re-attach (resumeActiveSessions, getSessions status=active)', async () => {
    // A stand-in for SessionManager: it records the re-attach instead of opening /ws/session.
    const connects = [];
    const sessionManager = {
      connect: (id, token) => connects.push({ id, token }),
      connectGroup: () => assert.fail('group mode was not asked for'),
    };
    const attached = await resumeActiveSessions(provider, sessionManager);
    const mine = attached.find((s) => s.sessionId === sessionId);
    assert.ok(mine, `${sessionId} is re-attached (an item without sessionToken is skipped): ${JSON.stringify(attached)}`);
    assert.equal(mine.sessionToken, sessionToken);
    assert.equal(mine.taskDescription, TASK);
    assert.equal(mine.consumerUserId, consumerId);
    assert.equal(typeof mine.slotIndex, 'number');
    assert.deepEqual(connects, [{ id: sessionId, token: sessionToken }]);

    const active = await provider.getSessions({ role: 'provider', status: 'active' });
    const diff = diffSessionStates(pendingSnapshot, summaries(active));
    assert.deepEqual(
      diff.activated.map((s) => s.sessionId),
      [sessionId],
    );
  });

  await step('the consumer reads the session (getSession: `clawrent send` reads sessionToken and providerUserId)', async () => {
    const detail = await consumer.getSession(sessionId);
    assert.equal(detail.status, 'active');
    assert.equal(detail.sessionToken, sessionToken);
    assert.equal(detail.providerUserId, providerId);
  });

  await step('messages both ways ({type, payload} with sendSessionMessage)', async () => {
    const exec = ExecInstructionSchema.parse({ command: 'git diff --stat', explanation: 'See the change' });
    const sends = [
      // What `clawrent send` sends.
      [consumer, { type: MessageType.DIALOGUE_MESSAGE, payload: { content: 'Please review PR #42', dialogueType: 'message' } }],
      [consumer, { type: MessageType.INSTRUCTION_EXEC, payload: exec }],
    ];
    const sent = [];
    for (const [client, body] of sends) {
      sent.push(await client.sendSessionMessage(sessionId, body));
    }
    // The provider answers the instruction with `result.success` (SessionManager.send's default
    // type, the MCP tool's default), carrying the agent's token usage.
    const result = SuccessResultSchema.parse({
      instructionId: sent[1].messageId,
      data: { stdout: ' 1 file changed', exitCode: 0 },
      executionTime: 12,
      usage: { totalTokens: 321 },
    });
    sent.push(await provider.sendSessionMessage(sessionId, { type: MessageType.RESULT_SUCCESS, payload: result }));
    sent.push(
      await provider.sendSessionMessage(sessionId, {
        type: MessageType.DIALOGUE_MESSAGE,
        payload: { content: 'Looks good to me', dialogueType: 'message' },
      }),
    );
    for (const reply of sent) {
      // The skill documents {messageId, delivered, gatewayResult}.
      assert.equal(typeof reply.messageId, 'string', JSON.stringify(reply));
      assert.equal(typeof reply.delivered, 'boolean', JSON.stringify(reply));
      assert.ok('gatewayResult' in reply, JSON.stringify(reply));
    }
  });

  await step('polling with since (getSessionMessages): ISO times with milliseconds, increasing, since exclusive', async () => {
    const all = await consumer.getSessionMessages(sessionId);
    history = all.data;
    // The integration test reads `type` or `messageType`.
    assert.deepEqual(
      history.map((m) => m.type ?? m.messageType),
      [MessageType.DIALOGUE_MESSAGE, MessageType.INSTRUCTION_EXEC, MessageType.RESULT_SUCCESS, MessageType.DIALOGUE_MESSAGE],
    );
    assert.equal(history[0].payload.content, 'Please review PR #42');
    assert.equal(history[1].payload.command, 'git diff --stat');
    for (const [i, m] of history.entries()) {
      assert.match(m.createdAt, ISO_MILLIS_UTC);
      if (i > 0) assert.ok(m.createdAt > history[i - 1].createdAt, `${m.createdAt} after ${history[i - 1].createdAt}`);
    }

    const afterFirst = await provider.getSessionMessages(sessionId, { since: history[0].createdAt });
    assert.deepEqual(
      afterFirst.data.map((m) => m.id),
      history.slice(1).map((m) => m.id),
    );
    const limited = await provider.getSessionMessages(sessionId, { since: history[0].createdAt, limit: 1 });
    assert.deepEqual(
      limited.data.map((m) => m.id),
      [history[1].id],
    );

    // The polling loop the skill teaches: advance `since` to the last createdAt seen.
    let cursor = history.at(-1).createdAt;
    const nothing = await provider.getSessionMessages(sessionId, { since: cursor });
    assert.deepEqual(nothing.data, []);
    await consumer.sendSessionMessage(sessionId, {
      type: MessageType.DIALOGUE_MESSAGE,
      payload: { content: 'Thanks!', dialogueType: 'message' },
    });
    const fresh = await provider.getSessionMessages(sessionId, { since: cursor });
    assert.deepEqual(
      fresh.data.map((m) => m.payload.content),
      ['Thanks!'],
    );
    cursor = fresh.data[0].createdAt;
    assert.ok(cursor > history.at(-1).createdAt);
  });

  await step('end with no body (endSession), twice: settled, with the settlement as decimal strings and the 15% fee', async () => {
    const ended = await consumer.endSession(sessionId);
    assert.ok(['settled', 'completed'].includes(ended.status), ended.status);
    const settlement = ended.settlement;
    for (const key of ['amount', 'platformFee', 'providerIncome']) {
      assert.equal(typeof settlement[key], 'string', `${key}: ${JSON.stringify(settlement)}`);
      assert.match(settlement[key], DECIMAL, key);
    }
    const amount = units(settlement.amount);
    assert.equal(amount, units(price));
    assert.equal(units(settlement.platformFee), (amount * FEE_PERCENT) / 100n);
    assert.equal(units(settlement.providerIncome), amount - (amount * FEE_PERCENT) / 100n);
    // The examples parseFloat the amounts.
    assert.equal(parseFloat(settlement.amount), parseFloat(price));

    const again = await consumer.endSession(sessionId);
    assert.equal(again.status, ended.status);
    assert.deepEqual(again.settlement, settlement);
  });

  await step('a message to the ended session is an error the clients can show (API error 409: <message>)', async () => {
    await assert.rejects(
      provider.sendSessionMessage(sessionId, { type: MessageType.DIALOGUE_MESSAGE, payload: { content: 'late' } }),
      (error) => {
        // ApiClient shows body.message, or the whole body as JSON when there is none.
        assert.match(error.message, /^API error 409: [^{]/);
        return true;
      },
    );
    const all = await consumer.getSessionMessages(sessionId);
    assert.equal(all.data.length, history.length + 1, 'the history is readable after the end');
  });

  await step('the wallets moved: the consumer paid the price, the provider got it less 15% (getBalance)', async () => {
    const paid = units(price);
    const consumerWallet = await consumer.getBalance();
    assert.equal(units(consumerWallet.balance), units(funds) - paid);
    // The agent token reads its owner's wallet.
    const providerWallet = await provider.getBalance();
    assert.equal(units(providerWallet.balance), paid - (paid * FEE_PERCENT) / 100n);
  });
});
