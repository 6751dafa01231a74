-- Money: wallets, a double-entry ledger, session holds, settlements, idempotency keys.
--
-- Every movement is one ledger_entries row whose ledger_postings sum to zero, written in the
-- same transaction as the wallet balance changes. Wallet balances change only through
-- conditional updates and can never go below zero (CHECK). Platform fees are appended as
-- postings on the tenant's platform_fee account, never accumulated in one hot row.

CREATE TYPE ledger_account AS ENUM ('wallet', 'hold', 'platform_fee', 'payment_clearing', 'adjustments');
CREATE TYPE ledger_tx_type AS ENUM ('topup', 'payment', 'income', 'refund', 'fee', 'adjustment');
CREATE TYPE ledger_entry_kind AS ENUM ('topup', 'hold', 'settlement', 'void', 'adjustment');
CREATE TYPE hold_status AS ENUM ('held', 'settled', 'voided');

CREATE TABLE wallets (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    user_id     uuid NOT NULL,
    currency    text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    balance     numeric(20, 4) NOT NULL DEFAULT 0
                CONSTRAINT wallets_balance_not_negative CHECK (balance >= 0),
    -- Number of postings on this wallet: the transactions list's total without a COUNT(*).
    postings    bigint NOT NULL DEFAULT 0 CHECK (postings >= 0),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT wallets_owner_currency_key UNIQUE (tenant_id, user_id, currency),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);

CREATE TABLE ledger_entries (
    id           uuid PRIMARY KEY,
    -- No foreign key to tenants: every check would KEY SHARE-lock the one tenant row from all
    -- concurrent money transactions (MultiXact contention). The code always sets the tenant.
    tenant_id    uuid NOT NULL,
    kind         ledger_entry_kind NOT NULL,
    currency     text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- The session for holds, settlements and voids; the entry itself for top-ups and adjustments.
    reference_id uuid NOT NULL,
    actor_id     uuid,
    memo         text CHECK (char_length(memo) <= 500),
    created_at   timestamptz NOT NULL
);
CREATE INDEX ledger_entries_reference ON ledger_entries (tenant_id, reference_id);

CREATE TABLE ledger_postings (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entry_id      uuid NOT NULL REFERENCES ledger_entries (id),
    tenant_id     uuid NOT NULL,
    account       ledger_account NOT NULL,
    -- The wallet id, the hold id, or the tenant id for the tenant's own accounts.
    account_id    uuid NOT NULL,
    currency      text NOT NULL,
    amount        numeric(20, 4) NOT NULL CHECK (amount <> 0),
    tx_type       ledger_tx_type NOT NULL,
    reference_id  uuid NOT NULL,
    -- Wallet postings only: the owner and the balance right after this posting.
    user_id       uuid,
    balance_after numeric(20, 4),
    created_at    timestamptz NOT NULL,
    CONSTRAINT ledger_postings_wallet_fields CHECK (
        (account = 'wallet') = (user_id IS NOT NULL AND balance_after IS NOT NULL))
);
CREATE INDEX ledger_postings_history ON ledger_postings (tenant_id, user_id, id DESC) WHERE account = 'wallet';
CREATE INDEX ledger_postings_account ON ledger_postings (tenant_id, account, account_id) INCLUDE (currency, amount);

-- A session's hold: the funds moved out of the consumer's wallet until the session settles
-- (charge to the provider and the platform fee, the rest back) or is voided (all back).
CREATE TABLE holds (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL,
    session_id    uuid NOT NULL,
    consumer_id   uuid NOT NULL,
    provider_id   uuid NOT NULL,
    currency      text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount        numeric(20, 4) NOT NULL CHECK (amount >= 0),
    pricing_model pricing_model NOT NULL,
    unit_price    numeric(18, 4) NOT NULL CHECK (unit_price >= 0),
    -- Units the hold covers: 1 for flat prices, the minute cap, or the token budget.
    max_units     bigint NOT NULL CHECK (max_units >= 1),
    status        hold_status NOT NULL DEFAULT 'held',
    created_at    timestamptz NOT NULL,
    resolved_at   timestamptz,
    CONSTRAINT holds_session_key UNIQUE (tenant_id, session_id),
    CONSTRAINT holds_resolved_when_closed CHECK ((status = 'held') = (resolved_at IS NULL))
    -- No foreign keys to users: a popular provider's row would be KEY SHARE-locked by every
    -- concurrent hold (MultiXact contention). The consumer's wallet row (debited in the same
    -- transaction) proves the consumer exists; the provider's wallet is created on settlement.
);

-- At most one settlement per session (the primary key), and its parts always add up.
CREATE TABLE settlements (
    tenant_id       uuid NOT NULL,
    session_id      uuid NOT NULL,
    hold_id         uuid NOT NULL UNIQUE REFERENCES holds (id),
    entry_id        uuid NOT NULL REFERENCES ledger_entries (id),
    currency        text NOT NULL,
    units           bigint NOT NULL CHECK (units >= 0),
    amount          numeric(20, 4) NOT NULL CHECK (amount >= 0),
    platform_fee    numeric(20, 4) NOT NULL CHECK (platform_fee >= 0),
    provider_income numeric(20, 4) NOT NULL CHECK (provider_income >= 0),
    refund          numeric(20, 4) NOT NULL CHECK (refund >= 0),
    fee_rate        numeric(5, 4) NOT NULL,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, session_id),
    CONSTRAINT settlements_parts_add_up CHECK (platform_fee + provider_income = amount)
);

-- Idempotency keys of money-moving POSTs, per (tenant, user). The row is claimed and its
-- response stored in the transaction of the effect, so a concurrent repeat waits and replays.
CREATE TABLE idempotency_keys (
    tenant_id       uuid NOT NULL,
    user_id         uuid NOT NULL,
    key             text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    request_hash    bytea NOT NULL,
    response_status smallint,
    response_body   jsonb,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);

-- Money decisions (adjustments) carry their amounts.
ALTER TABLE admin_audit ADD COLUMN details jsonb;
