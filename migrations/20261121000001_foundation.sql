-- Foundation: tenants, users, email verification, API keys.
-- Never edit a migration once it has landed; add a new one (expand/contract).

CREATE EXTENSION IF NOT EXISTS citext;

CREATE TYPE tenant_status AS ENUM ('active', 'suspended');
CREATE TYPE user_role AS ENUM ('consumer', 'provider', 'both', 'admin');

CREATE TABLE tenants (
    id            uuid PRIMARY KEY,
    slug          text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$'),
    name          text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    status        tenant_status NOT NULL DEFAULT 'active',
    fee_rate      numeric(5, 4) NOT NULL DEFAULT 0.15 CHECK (fee_rate >= 0 AND fee_rate < 1),
    currencies    text[] NOT NULL DEFAULT ARRAY['CNY', 'USD'] CHECK (cardinality(currencies) BETWEEN 1 AND 16),
    settings      jsonb NOT NULL DEFAULT '{}'::jsonb,
    is_default    boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Exactly one default tenant; it cannot be removed by the API.
CREATE UNIQUE INDEX tenants_one_default ON tenants (is_default) WHERE is_default;

INSERT INTO tenants (id, slug, name, is_default)
VALUES ('00000000-0000-7000-8000-000000000001', 'default', 'Default marketplace', true);

CREATE TABLE tenant_hostnames (
    hostname   text PRIMARY KEY CHECK (hostname = lower(hostname) AND char_length(hostname) BETWEEN 1 AND 253),
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenant_hostnames_tenant ON tenant_hostnames (tenant_id);

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    email          citext NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    name           text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    password_hash  text NOT NULL,
    role           user_role NOT NULL DEFAULT 'consumer',
    email_verified_at timestamptz,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    CONSTRAINT users_tenant_email_key UNIQUE (tenant_id, email),
    -- Lets child tables reference (tenant_id, user_id) so a row can never point across tenants.
    CONSTRAINT users_tenant_id_key UNIQUE (tenant_id, id)
);

CREATE TABLE email_verifications (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    email       citext NOT NULL,
    code_hash   bytea NOT NULL,
    attempts    integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    sent_at     timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, email)
);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL,
    user_id      uuid NOT NULL,
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    prefix       text NOT NULL,
    key_hash     bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX api_keys_owner ON api_keys (tenant_id, user_id, created_at DESC, id DESC);
