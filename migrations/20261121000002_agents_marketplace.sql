-- Agents, provider profiles and their review lifecycle, agent tokens, the admin audit log,
-- marketplace listings (denormalised for browse) and favourites.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TYPE agent_roles AS ENUM ('consumer', 'both');
CREATE TYPE online_status AS ENUM ('online', 'offline', 'busy');
CREATE TYPE profile_status AS ENUM ('pending_review', 'active', 'suspended', 'rejected');
CREATE TYPE pricing_model AS ENUM ('per_session', 'per_minute', 'per_token', 'fixed');
CREATE TYPE hosting_type AS ENUM ('self_hosted', 'platform_hosted');
CREATE TYPE approval_mode AS ENUM ('auto', 'manual');
CREATE TYPE transparency_level AS ENUM ('opaque', 'moderate', 'transparent');
CREATE TYPE slot_assignment_mode AS ENUM ('auto', 'manual');

CREATE TABLE agents (
    id                   uuid PRIMARY KEY,
    tenant_id            uuid NOT NULL,
    owner_id             uuid NOT NULL,
    name                 text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    slug                 text NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$'),
    description          text NOT NULL CHECK (char_length(description) BETWEEN 10 AND 500),
    long_description     text CHECK (char_length(long_description) <= 5000),
    capabilities         jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(capabilities) = 'array'),
    required_permissions text[] NOT NULL DEFAULT '{}',
    roles                agent_roles NOT NULL DEFAULT 'consumer',
    online_status        online_status NOT NULL DEFAULT 'offline',
    token_hash           bytea UNIQUE,
    token_prefix         text,
    token_created_at     timestamptz,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    CONSTRAINT agents_tenant_slug_key UNIQUE (tenant_id, slug),
    CONSTRAINT agents_tenant_id_key UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX agents_owner ON agents (tenant_id, owner_id, created_at DESC, id DESC);

CREATE TABLE provider_profiles (
    agent_id                uuid PRIMARY KEY,
    tenant_id               uuid NOT NULL,
    status                  profile_status NOT NULL,
    pricing_model           pricing_model NOT NULL,
    price_amount            numeric(18, 4) NOT NULL CHECK (price_amount >= 0 AND price_amount <= 1000000),
    currency                text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    hosting_type            hosting_type NOT NULL,
    approval_mode           approval_mode NOT NULL,
    transparency_level      transparency_level NOT NULL,
    max_concurrent_sessions integer NOT NULL CHECK (max_concurrent_sessions BETWEEN 1 AND 1000),
    max_consumer_slots      integer NOT NULL CHECK (max_consumer_slots BETWEEN 1 AND 100),
    slot_assignment_mode    slot_assignment_mode NOT NULL,
    allow_shared_consumer   boolean NOT NULL,
    endpoint                text CHECK (char_length(endpoint) <= 2048),
    health_check_url        text CHECK (char_length(health_check_url) <= 2048),
    review_reason           text CHECK (char_length(review_reason) <= 1000),
    reviewed_by             uuid,
    reviewed_at             timestamptz,
    submitted_at            timestamptz NOT NULL,
    total_sessions          bigint NOT NULL DEFAULT 0,
    completed_sessions      bigint NOT NULL DEFAULT 0,
    rating_sum              bigint NOT NULL DEFAULT 0,
    rating_count            bigint NOT NULL DEFAULT 0,
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL,
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX provider_profiles_review ON provider_profiles (tenant_id, status, submitted_at, agent_id);

-- One row per agent visible in the marketplace (profile active), maintained in the same
-- transaction as every change that affects it. Browse reads only this table.
CREATE TABLE listings (
    agent_id        uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL,
    slug            text NOT NULL,
    name            text NOT NULL,
    description     text NOT NULL,
    long_description text,
    capabilities    jsonb NOT NULL,
    categories      text[] NOT NULL,
    pricing_model   pricing_model NOT NULL,
    price_amount    numeric(18, 4) NOT NULL,
    currency        text NOT NULL,
    approval_mode   approval_mode NOT NULL,
    transparency_level transparency_level NOT NULL,
    hosting_type    hosting_type NOT NULL,
    online_status   online_status NOT NULL,
    provider_name   text NOT NULL,
    total_sessions  bigint NOT NULL,
    completed_sessions bigint NOT NULL,
    rating_sum      bigint NOT NULL,
    rating_count    bigint NOT NULL,
    avg_rating      numeric(3, 2) GENERATED ALWAYS AS (
        CASE WHEN rating_count > 0 THEN round(rating_sum::numeric / rating_count, 2) ELSE 0 END) STORED,
    published_at    timestamptz NOT NULL,
    search_text     text GENERATED ALWAYS AS (lower(name || ' ' || slug)) STORED,
    search_vector   tsvector NOT NULL,
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT listings_tenant_slug_key UNIQUE (tenant_id, slug)
);
CREATE INDEX listings_newest ON listings (tenant_id, published_at DESC, agent_id DESC);
CREATE INDEX listings_price ON listings (tenant_id, price_amount, agent_id);
CREATE INDEX listings_popularity ON listings (tenant_id, total_sessions DESC, agent_id DESC);
CREATE INDEX listings_rating ON listings (tenant_id, avg_rating DESC, agent_id DESC);
CREATE INDEX listings_online ON listings (tenant_id, published_at DESC, agent_id DESC) WHERE online_status <> 'offline';
CREATE INDEX listings_search ON listings USING gin (search_vector);
CREATE INDEX listings_search_trgm ON listings USING gin (search_text gin_trgm_ops);
CREATE INDEX listings_categories ON listings USING gin (categories);

-- Exact listing count per tenant, so an unfiltered browse never counts the catalogue.
CREATE TABLE listing_counts (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id),
    listed    bigint NOT NULL DEFAULT 0 CHECK (listed >= 0)
);

CREATE TABLE admin_audit (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    actor_id    uuid NOT NULL,
    action      text NOT NULL,
    target_type text NOT NULL,
    target_id   uuid NOT NULL,
    reason      text,
    from_status text,
    to_status   text,
    created_at  timestamptz NOT NULL
);
CREATE INDEX admin_audit_recent ON admin_audit (tenant_id, created_at DESC, id DESC);
CREATE INDEX admin_audit_target ON admin_audit (tenant_id, target_id, created_at DESC);

CREATE TABLE favorites (
    tenant_id  uuid NOT NULL,
    user_id    uuid NOT NULL,
    agent_id   uuid NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id, agent_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX favorites_recent ON favorites (tenant_id, user_id, created_at DESC, agent_id DESC);
