//! Provider-profile SQL: the profile rows, submissions, review decisions and the review queue.
//! Every function takes the tenant. Re-exported by `repo`.

use super::domain::{
    ApprovalMode, HostingType, PricingModel, ProfileStatus, RevisionStatus, SlotAssignmentMode,
    TransparencyLevel,
};
use super::revision_repo::{RevisionRow, find_revisions};
use crate::ids::{AgentId, TenantId, UserId};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProfileRow {
    pub agent_id: AgentId,
    pub status: ProfileStatus,
    pub pricing_model: PricingModel,
    pub price_amount: Decimal,
    pub currency: String,
    pub hosting_type: HostingType,
    pub approval_mode: ApprovalMode,
    pub transparency_level: TransparencyLevel,
    pub max_concurrent_sessions: i32,
    pub max_consumer_slots: i32,
    pub slot_assignment_mode: SlotAssignmentMode,
    pub allow_shared_consumer: bool,
    pub endpoint: Option<String>,
    pub health_check_url: Option<String>,
    pub review_reason: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub submitted_at: DateTime<Utc>,
    pub total_sessions: i64,
    pub completed_sessions: i64,
    pub rating_sum: i64,
    pub rating_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const PROFILE_COLUMNS: &str = "agent_id, status, pricing_model, price_amount, currency, hosting_type, approval_mode, \
     transparency_level, max_concurrent_sessions, max_consumer_slots, slot_assignment_mode, allow_shared_consumer, \
     endpoint, health_check_url, review_reason, reviewed_at, submitted_at, total_sessions, completed_sessions, \
     rating_sum, rating_count, created_at, updated_at";

/// [`PROFILE_COLUMNS`] qualified with a table alias (`p.agent_id, p.status, ...`).
pub(super) fn profile_columns(alias: &str) -> String {
    PROFILE_COLUMNS
        .split(", ")
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[tracing::instrument(name = "db.profile_find", skip(conn))]
pub async fn find_profile(
    conn: &mut PgConnection,
    tenant: TenantId,
    agent: AgentId,
) -> sqlx::Result<Option<ProfileRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PROFILE_COLUMNS} FROM provider_profiles WHERE tenant_id = $1 AND agent_id = $2"
    )))
    .bind(tenant)
    .bind(agent)
    .fetch_optional(conn)
    .await
}

/// The profiles of several agents at once (one query for a page of agents).
#[tracing::instrument(name = "db.profile_find_many", skip(conn, agents))]
pub async fn find_profiles(
    conn: &mut PgConnection,
    tenant: TenantId,
    agents: &[AgentId],
) -> sqlx::Result<Vec<ProfileRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PROFILE_COLUMNS} FROM provider_profiles WHERE tenant_id = $1 AND agent_id = ANY($2)"
    )))
    .bind(tenant)
    .bind(agents)
    .fetch_all(conn)
    .await
}

/// The terms a provider submits: a profile's, or a revision's (the same columns in both tables).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProfileTerms {
    pub pricing_model: PricingModel,
    pub price_amount: Decimal,
    pub currency: String,
    pub hosting_type: HostingType,
    pub approval_mode: ApprovalMode,
    pub transparency_level: TransparencyLevel,
    pub max_concurrent_sessions: i32,
    pub max_consumer_slots: i32,
    pub slot_assignment_mode: SlotAssignmentMode,
    pub allow_shared_consumer: bool,
    pub endpoint: Option<String>,
    pub health_check_url: Option<String>,
}

/// Creates or replaces the profile's terms and puts it in `status` (review fields cleared).
#[tracing::instrument(name = "db.profile_submit", skip(conn, t))]
pub async fn submit_profile(
    conn: &mut PgConnection,
    tenant: TenantId,
    agent: AgentId,
    t: &ProfileTerms,
    status: ProfileStatus,
    now: DateTime<Utc>,
) -> sqlx::Result<ProfileRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO provider_profiles (agent_id, tenant_id, status, pricing_model, price_amount, currency, hosting_type,
             approval_mode, transparency_level, max_concurrent_sessions, max_consumer_slots, slot_assignment_mode,
             allow_shared_consumer, endpoint, health_check_url, submitted_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $16)
         ON CONFLICT (agent_id) DO UPDATE SET status = EXCLUDED.status, pricing_model = EXCLUDED.pricing_model,
             price_amount = EXCLUDED.price_amount, currency = EXCLUDED.currency, hosting_type = EXCLUDED.hosting_type,
             approval_mode = EXCLUDED.approval_mode, transparency_level = EXCLUDED.transparency_level,
             max_concurrent_sessions = EXCLUDED.max_concurrent_sessions, max_consumer_slots = EXCLUDED.max_consumer_slots,
             slot_assignment_mode = EXCLUDED.slot_assignment_mode, allow_shared_consumer = EXCLUDED.allow_shared_consumer,
             endpoint = EXCLUDED.endpoint, health_check_url = EXCLUDED.health_check_url,
             review_reason = NULL, reviewed_by = NULL, reviewed_at = NULL,
             submitted_at = EXCLUDED.submitted_at, updated_at = EXCLUDED.updated_at
         WHERE provider_profiles.tenant_id = EXCLUDED.tenant_id
         RETURNING {PROFILE_COLUMNS}"
    )))
    .bind(agent)
    .bind(tenant)
    .bind(status)
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

#[tracing::instrument(name = "db.profile_review", skip(conn, reason))]
pub async fn review_profile(
    conn: &mut PgConnection,
    tenant: TenantId,
    agent: AgentId,
    status: ProfileStatus,
    reason: Option<&str>,
    reviewer: UserId,
    now: DateTime<Utc>,
) -> sqlx::Result<ProfileRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE provider_profiles SET status = $3, review_reason = $4, reviewed_by = $5, reviewed_at = $6, updated_at = $6
         WHERE tenant_id = $1 AND agent_id = $2 RETURNING {PROFILE_COLUMNS}"
    )))
    .bind(tenant)
    .bind(agent)
    .bind(status)
    .bind(reason)
    .bind(reviewer)
    .bind(now)
    .fetch_one(conn)
    .await
}

#[derive(Debug, sqlx::FromRow)]
pub struct ReviewItem {
    #[sqlx(flatten)]
    pub profile: ProfileRow,
    pub name: String,
    pub slug: String,
    pub owner_id: UserId,
    pub owner_email: String,
    /// The revision of a live profile that awaits a decision.
    #[sqlx(skip)]
    pub revision: Option<RevisionRow>,
}

/// Profiles for the admin review queue, oldest submission first (a live profile's pending
/// revision counts as its submission). `pending_review` also finds the active profiles whose
/// revision awaits a decision: everything an admin has to decide.
#[tracing::instrument(name = "db.profile_review_queue", skip(conn))]
pub async fn list_for_review(
    conn: &mut PgConnection,
    tenant: TenantId,
    status: Option<ProfileStatus>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<ReviewItem>, i64)> {
    // $2 the status filter; $3 a pending revision, $4 a live profile's status, $5 the filter
    // that also finds pending revisions.
    const QUEUE: &str = "FROM provider_profiles p
         JOIN agents a ON a.tenant_id = p.tenant_id AND a.id = p.agent_id
         JOIN users u ON u.tenant_id = a.tenant_id AND u.id = a.owner_id
         LEFT JOIN profile_revisions r ON r.tenant_id = p.tenant_id AND r.agent_id = p.agent_id
             AND r.status = $3 AND p.status = $4
         WHERE p.tenant_id = $1
             AND ($2::profile_status IS NULL OR p.status = $2 OR ($2 = $5 AND r.agent_id IS NOT NULL))";
    let columns = profile_columns("p");
    let mut rows: Vec<ReviewItem> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {columns}, a.name, a.slug, a.owner_id, u.email::text AS owner_email {QUEUE}
         ORDER BY coalesce(r.submitted_at, p.submitted_at), p.agent_id LIMIT $6 OFFSET $7"
    )))
    .bind(tenant)
    .bind(status)
    .bind(RevisionStatus::PendingReview)
    .bind(ProfileStatus::Active)
    .bind(ProfileStatus::PendingReview)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<AgentId> = rows.iter().map(|r| r.profile.agent_id).collect();
    let mut revisions =
        find_revisions(conn, tenant, &ids, Some(RevisionStatus::PendingReview)).await?;
    for row in rows
        .iter_mut()
        .filter(|r| r.profile.status == ProfileStatus::Active)
    {
        row.revision = revisions
            .iter()
            .position(|r| r.agent_id == row.profile.agent_id)
            .map(|i| revisions.swap_remove(i));
    }
    let total = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) {QUEUE}")))
        .bind(tenant)
        .bind(status)
        .bind(RevisionStatus::PendingReview)
        .bind(ProfileStatus::Active)
        .bind(ProfileStatus::PendingReview)
        .fetch_one(conn)
        .await?;
    Ok((rows, total))
}
