//! Revision SQL: the terms an owner submits for a live (active) profile wait in
//! `profile_revisions`, one row per agent, until an admin approves them (they are copied into
//! `provider_profiles` and the row goes) or rejects them (the row stays, rejected, with the
//! reason). Every function takes the tenant. Re-exported by `repo`.

use super::domain::RevisionStatus;
use super::profile_repo::{ProfileRow, ProfileTerms, profile_columns};
use crate::ids::{AgentId, TenantId, UserId};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RevisionRow {
    pub agent_id: AgentId,
    pub status: RevisionStatus,
    #[sqlx(flatten)]
    pub terms: ProfileTerms,
    pub review_reason: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub submitted_at: DateTime<Utc>,
}

const REVISION_COLUMNS: &str = "agent_id, status, pricing_model, price_amount, currency, hosting_type, approval_mode, \
     transparency_level, max_concurrent_sessions, max_consumer_slots, slot_assignment_mode, allow_shared_consumer, \
     endpoint, health_check_url, review_reason, reviewed_at, submitted_at";

/// The agent's revision, pending or rejected.
#[tracing::instrument(name = "db.revision_find", skip(conn))]
pub async fn find_revision(
    conn: &mut PgConnection,
    tenant: TenantId,
    agent: AgentId,
) -> sqlx::Result<Option<RevisionRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {REVISION_COLUMNS} FROM profile_revisions WHERE tenant_id = $1 AND agent_id = $2"
    )))
    .bind(tenant)
    .bind(agent)
    .fetch_optional(conn)
    .await
}

/// The revisions of several agents at once, optionally only those in `status`.
#[tracing::instrument(name = "db.revision_find_many", skip(conn, agents))]
pub async fn find_revisions(
    conn: &mut PgConnection,
    tenant: TenantId,
    agents: &[AgentId],
    status: Option<RevisionStatus>,
) -> sqlx::Result<Vec<RevisionRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {REVISION_COLUMNS} FROM profile_revisions
         WHERE tenant_id = $1 AND agent_id = ANY($2) AND ($3::revision_status IS NULL OR status = $3)"
    )))
    .bind(tenant)
    .bind(agents)
    .bind(status)
    .fetch_all(conn)
    .await
}

/// Stores `t` as the agent's pending revision, replacing an earlier one (pending or rejected).
#[tracing::instrument(name = "db.revision_save", skip(conn, t))]
pub async fn save_revision(
    conn: &mut PgConnection,
    tenant: TenantId,
    agent: AgentId,
    t: &ProfileTerms,
    now: DateTime<Utc>,
) -> sqlx::Result<RevisionRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO profile_revisions (tenant_id, agent_id, status, pricing_model, price_amount, currency, hosting_type,
             approval_mode, transparency_level, max_concurrent_sessions, max_consumer_slots, slot_assignment_mode,
             allow_shared_consumer, endpoint, health_check_url, submitted_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         ON CONFLICT (tenant_id, agent_id) DO UPDATE SET status = EXCLUDED.status,
             pricing_model = EXCLUDED.pricing_model, price_amount = EXCLUDED.price_amount,
             currency = EXCLUDED.currency, hosting_type = EXCLUDED.hosting_type,
             approval_mode = EXCLUDED.approval_mode, transparency_level = EXCLUDED.transparency_level,
             max_concurrent_sessions = EXCLUDED.max_concurrent_sessions, max_consumer_slots = EXCLUDED.max_consumer_slots,
             slot_assignment_mode = EXCLUDED.slot_assignment_mode, allow_shared_consumer = EXCLUDED.allow_shared_consumer,
             endpoint = EXCLUDED.endpoint, health_check_url = EXCLUDED.health_check_url,
             review_reason = NULL, reviewed_by = NULL, reviewed_at = NULL, submitted_at = EXCLUDED.submitted_at
         RETURNING {REVISION_COLUMNS}"
    )))
    .bind(tenant)
    .bind(agent)
    .bind(RevisionStatus::PendingReview)
    .bind(t.pricing_model)
    .bind(t.price_amount)
    .bind(&t.currency)
    .bind(t.hosting_type)
    .bind(t.approval_mode)
    .bind(t.transparency_level)
    .bind(t.max_concurrent_sessions)
    .bind(t.max_consumer_slots)
    .bind(t.slot_assignment_mode)
    .bind(t.allow_shared_consumer)
    .bind(&t.endpoint)
    .bind(&t.health_check_url)
    .bind(now)
    .fetch_one(conn)
    .await
}

/// Copies the pending revision's terms into the live profile (which keeps its status) and
/// deletes the revision; None when no revision is pending.
#[tracing::instrument(name = "db.revision_apply", skip(conn))]
pub async fn apply_revision(
    conn: &mut PgConnection,
    tenant: TenantId,
    agent: AgentId,
    reviewer: UserId,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<ProfileRow>> {
    let columns = profile_columns("p");
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH r AS (
             DELETE FROM profile_revisions WHERE tenant_id = $1 AND agent_id = $2 AND status = $3 RETURNING *)
         UPDATE provider_profiles p SET pricing_model = r.pricing_model, price_amount = r.price_amount,
             currency = r.currency, hosting_type = r.hosting_type, approval_mode = r.approval_mode,
             transparency_level = r.transparency_level, max_concurrent_sessions = r.max_concurrent_sessions,
             max_consumer_slots = r.max_consumer_slots, slot_assignment_mode = r.slot_assignment_mode,
             allow_shared_consumer = r.allow_shared_consumer, endpoint = r.endpoint,
             health_check_url = r.health_check_url, submitted_at = r.submitted_at,
             review_reason = NULL, reviewed_by = $4, reviewed_at = $5, updated_at = $5
         FROM r WHERE p.tenant_id = r.tenant_id AND p.agent_id = r.agent_id
         RETURNING {columns}"
    )))
    .bind(tenant)
    .bind(agent)
    .bind(RevisionStatus::PendingReview)
    .bind(reviewer)
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// Marks the pending revision rejected with the admin's reason; the live profile is untouched.
#[tracing::instrument(name = "db.revision_reject", skip(conn, reason))]
pub async fn reject_revision(
    conn: &mut PgConnection,
    tenant: TenantId,
    agent: AgentId,
    reason: Option<&str>,
    reviewer: UserId,
    now: DateTime<Utc>,
) -> sqlx::Result<RevisionRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE profile_revisions SET status = $3, review_reason = $4, reviewed_by = $5, reviewed_at = $6
         WHERE tenant_id = $1 AND agent_id = $2 RETURNING {REVISION_COLUMNS}"
    )))
    .bind(tenant)
    .bind(agent)
    .bind(RevisionStatus::Rejected)
    .bind(reason)
    .bind(reviewer)
    .bind(now)
    .fetch_one(conn)
    .await
}
