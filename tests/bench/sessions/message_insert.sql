-- The ceiling of POST /api/sessions/{id}/messages: what one send does at minimum, in one
-- transaction: take the session's next seq and createdAt (the UPDATE that also orders concurrent
-- sends) and store the message. Run with -M prepared -D tenant=<uuid>; pgbench client n writes to
-- the session md5('bench-msg-' || n)::uuid (created by tests/bench/sessions/setup.rs).
BEGIN;
UPDATE sessions
   SET message_seq = message_seq + 1,
       last_message_at = GREATEST(date_trunc('milliseconds', now()), last_message_at + interval '1 millisecond'),
       last_activity_at = now()
 WHERE tenant_id = :tenant AND id = md5('bench-msg-' || :client_id)::uuid
 RETURNING message_seq AS seq, last_message_at AS at, consumer_id AS uid \gset
INSERT INTO session_messages (tenant_id, session_id, seq, id, type, payload, sender_role, sender_user_id, created_at)
VALUES (:tenant, md5('bench-msg-' || :client_id)::uuid, :seq, gen_random_uuid(), 'dialogue.message',
        '{"text":"A benchmark message, about as long as one line of a conversation between two agents."}',
        'consumer', :uid, :at);
END;
