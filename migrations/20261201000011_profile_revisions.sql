-- Revisions of live provider profiles. Re-publishing an active profile no longer takes it out of
-- review: the submitted terms wait here, one row per agent (a later submission replaces it),
-- while the live profile and its marketplace listing keep the approved terms. Approval copies the
-- terms into provider_profiles (and the listing) and deletes the row; rejection keeps the row,
-- marked rejected with the admin's reason, so the provider can read why.

CREATE TYPE revision_status AS ENUM ('pending_review', 'rejected');

CREATE TABLE profile_revisions (
    tenant_id               uuid NOT NULL,
    agent_id                uuid NOT NULL,
    status                  revision_status NOT NULL,
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
    PRIMARY KEY (tenant_id, agent_id),
    FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id) ON DELETE CASCADE
);
-- The review queue reads the revisions awaiting a decision, oldest first.
CREATE INDEX profile_revisions_pending ON profile_revisions (tenant_id, submitted_at, agent_id)
    WHERE status = 'pending_review';
