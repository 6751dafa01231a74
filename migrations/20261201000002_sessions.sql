-- Rental sessions, their messages, and the transactional outbox of events published after commit.

CREATE TYPE session_status AS ENUM ('pending_approval', 'active', 'completed', 'settled', 'aborted', 'expired');

CREATE TABLE sessions (
    id                  uuid PRIMARY KEY,
    tenant_id           uuid NOT NULL,
    agent_id            uuid NOT NULL,
    consumer_id         uuid NOT NULL,
    provider_id         uuid NOT NULL,
    status              session_status NOT NULL,
    slot_index          integer NOT NULL CHECK (slot_index >= 0),
    task_description    text NOT NULL CHECK (char_length(task_description) <= 10000),
    granted_permissions jsonb NOT NULL,
    session_key         text CHECK (char_length(session_key) <= 128),
    -- The price at rent time (the profile may change later).
    pricing_model       pricing_model NOT NULL,
    price_amount        numeric(18, 4) NOT NULL,
    currency            text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    fee_rate            numeric(5, 4) NOT NULL,
    hold_amount         numeric(20, 4) NOT NULL,
    tokens_used         bigint NOT NULL DEFAULT 0 CHECK (tokens_used >= 0),
    -- Messages: the last sequence number given and the last createdAt (strictly increasing).
    message_seq         bigint NOT NULL DEFAULT 0,
    last_message_at     timestamptz,
    last_activity_at    timestamptz NOT NULL,
    expires_at          timestamptz,
    end_reason          text,
    -- The provider's words when rejecting.
    end_note            text CHECK (char_length(end_note) <= 500),
    created_at          timestamptz NOT NULL,
    approved_at         timestamptz,
    ended_at            timestamptz,
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id),
    FOREIGN KEY (tenant_id, consumer_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, provider_id) REFERENCES users (tenant_id, id),
    CONSTRAINT sessions_tenant_id_key UNIQUE (tenant_id, id)
);
-- Lists, newest first, by consumer, by provider and by agent (keyset on created_at, id).
CREATE INDEX sessions_consumer ON sessions (tenant_id, consumer_id, created_at DESC, id DESC);
CREATE INDEX sessions_provider ON sessions (tenant_id, provider_id, created_at DESC, id DESC);
CREATE INDEX sessions_agent ON sessions (tenant_id, agent_id, created_at DESC, id DESC);
-- The open sessions of an agent (limits, slots); the sweeper's work lists.
CREATE INDEX sessions_agent_open ON sessions (tenant_id, agent_id, slot_index)
    WHERE status IN ('pending_approval', 'active');
CREATE INDEX sessions_pending_expiry ON sessions (expires_at) WHERE status = 'pending_approval';
CREATE INDEX sessions_active_activity ON sessions (last_activity_at) WHERE status = 'active';
CREATE INDEX sessions_active_per_minute ON sessions (approved_at)
    WHERE status = 'active' AND pricing_model = 'per_minute';
-- One open session per (consumer, agent, sessionKey): a retried rent returns it.
CREATE UNIQUE INDEX sessions_open_key ON sessions (tenant_id, consumer_id, agent_id, session_key)
    WHERE session_key IS NOT NULL AND status IN ('pending_approval', 'active');

CREATE TABLE session_messages (
    tenant_id       uuid NOT NULL,
    session_id      uuid NOT NULL,
    seq             bigint NOT NULL CHECK (seq >= 1),
    id              uuid NOT NULL,
    type            text NOT NULL CHECK (char_length(type) <= 64),
    payload         jsonb NOT NULL,
    sender_role     text NOT NULL CHECK (sender_role IN ('consumer', 'provider', 'system')),
    sender_user_id  uuid,
    sender_agent_id uuid,
    client_id       text CHECK (char_length(client_id) <= 128),
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (session_id, seq),
    FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX session_messages_id ON session_messages (id);
CREATE INDEX session_messages_created ON session_messages (session_id, created_at);
CREATE UNIQUE INDEX session_messages_client_id ON session_messages (session_id, client_id)
    WHERE client_id IS NOT NULL;

-- Events written in the transaction that caused them and published to Redis after commit by a
-- relay on every replica (FOR UPDATE SKIP LOCKED), which deletes what it published: never lost,
-- never sent for a rollback, at least once.
CREATE TABLE outbox_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    channel     text NOT NULL,
    event       text NOT NULL,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL
);
