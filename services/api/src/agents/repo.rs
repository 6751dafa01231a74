//! Agent, provider-profile and token SQL. Every function takes the tenant.

use super::domain::{
    AgentRoles, ApprovalMode, Capability, HostingType, OnlineStatus, PricingModel, ProfileStatus,
    SlotAssignmentMode, TransparencyLevel,
};
use crate::accounts::domain::UserRole;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AgentRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub slug: String,
    pub description: String,
    pub long_description: Option<String>,
    pub capabilities: Json<Vec<Capability>>,
    pub required_permissions: Vec<String>,
    pub roles: AgentRoles,
    pub online_status: OnlineStatus,
    pub token_prefix: Option<String>,
    pub token_created_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const AGENT_COLUMNS: &str = "id, tenant_id, owner_id, name, slug, description, long_description, capabilities, \
     required_permissions, roles, online_status, token_prefix, token_created_at, created_at, updated_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProfileRow {
    pub agent_id: Uuid,
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

pub struct NewAgent<'a> {
    pub id: Uuid,
    pub owner: Uuid,
    pub name: &'a str,
    pub slug: &'a str,
    pub description: &'a str,
    pub long_description: Option<&'a str>,
    pub capabilities: &'a [Capability],
    pub required_permissions: &'a [String],
    pub now: DateTime<Utc>,
}

/// Fails on `agents_tenant_slug_key` when the slug is taken in the tenant.
#[tracing::instrument(name = "db.agent_insert", skip_all)]
pub async fn insert_agent(
    conn: &mut PgConnection,
    tenant: Uuid,
    a: NewAgent<'_>,
) -> sqlx::Result<AgentRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO agents (id, tenant_id, owner_id, name, slug, description, long_description, capabilities,
                             required_permissions, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {AGENT_COLUMNS}"
    )))
    .bind(a.id)
    .bind(tenant)
    .bind(a.owner)
    .bind(a.name)
    .bind(a.slug)
    .bind(a.description)
    .bind(a.long_description)
    .bind(Json(a.capabilities))
    .bind(a.required_permissions)
    .bind(a.now)
    .fetch_one(conn)
    .await
}

#[tracing::instrument(name = "db.agent_find", skip(conn))]
pub async fn find_agent(
    conn: &mut PgConnection,
    tenant: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<AgentRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {AGENT_COLUMNS} FROM agents WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Locks the agent row for the rest of the transaction (every lifecycle change takes this lock).
#[tracing::instrument(name = "db.agent_lock", skip(conn))]
pub async fn lock_agent(
    conn: &mut PgConnection,
    tenant: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<AgentRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {AGENT_COLUMNS} FROM agents WHERE tenant_id = $1 AND id = $2 FOR UPDATE"
    )))
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// The owner's agents, newest first, optionally only those with the given roles.
#[tracing::instrument(name = "db.agent_list_owned", skip(conn))]
pub async fn list_owned(
    conn: &mut PgConnection,
    tenant: Uuid,
    owner: Uuid,
    roles: Option<AgentRoles>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<AgentRow>, i64)> {
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {AGENT_COLUMNS} FROM agents WHERE tenant_id = $1 AND owner_id = $2 AND ($3::agent_roles IS NULL OR roles = $3)
         ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5"
    )))
    .bind(tenant)
    .bind(owner)
    .bind(roles)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let total = sqlx::query_scalar(
        "SELECT count(*) FROM agents WHERE tenant_id = $1 AND owner_id = $2 AND ($3::agent_roles IS NULL OR roles = $3)",
    )
    .bind(tenant)
    .bind(owner)
    .bind(roles)
    .fetch_one(conn)
    .await?;
    Ok((rows, total))
}

pub struct AgentChanges<'a> {
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
    pub long_description: Option<Option<&'a str>>,
    pub capabilities: Option<&'a [Capability]>,
    pub required_permissions: Option<&'a [String]>,
}

#[tracing::instrument(name = "db.agent_update", skip(conn, c))]
pub async fn update_agent(
    conn: &mut PgConnection,
    tenant: Uuid,
    id: Uuid,
    c: AgentChanges<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<AgentRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE agents SET name = COALESCE($3, name), description = COALESCE($4, description),
                long_description = CASE WHEN $5 THEN $6 ELSE long_description END,
                capabilities = COALESCE($7, capabilities), required_permissions = COALESCE($8, required_permissions),
                updated_at = $9
         WHERE tenant_id = $1 AND id = $2 RETURNING {AGENT_COLUMNS}"
    )))
    .bind(tenant)
    .bind(id)
    .bind(c.name)
    .bind(c.description)
    .bind(c.long_description.is_some())
    .bind(c.long_description.flatten())
    .bind(c.capabilities.map(Json))
    .bind(c.required_permissions)
    .bind(now)
    .fetch_one(conn)
    .await
}

#[tracing::instrument(name = "db.agent_set_roles", skip(conn))]
pub async fn set_roles(
    conn: &mut PgConnection,
    tenant: Uuid,
    id: Uuid,
    roles: AgentRoles,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE agents SET roles = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .bind(roles)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Providers become `both` when a profile is approved; admins keep their role.
#[tracing::instrument(name = "db.owner_promote_both", skip(conn))]
pub async fn promote_owner_to_both(
    conn: &mut PgConnection,
    tenant: Uuid,
    owner: Uuid,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET role = 'both' WHERE tenant_id = $1 AND id = $2 AND role IN ('consumer', 'provider')")
        .bind(tenant)
        .bind(owner)
        .execute(conn)
        .await
        .map(|_| ())
}

#[tracing::instrument(name = "db.agent_set_online_status", skip(conn))]
pub async fn set_online_status(
    conn: &mut PgConnection,
    tenant: Uuid,
    id: Uuid,
    status: OnlineStatus,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE agents SET online_status = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .bind(status)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE listings SET online_status = $3 WHERE tenant_id = $1 AND agent_id = $2")
        .bind(tenant)
        .bind(id)
        .bind(status)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Replaces the agent's token (the old one stops working in the same statement).
#[tracing::instrument(name = "db.agent_set_token", skip(conn, hash))]
pub async fn set_token(
    conn: &mut PgConnection,
    tenant: Uuid,
    id: Uuid,
    hash: Option<&[u8]>,
    prefix: Option<&str>,
    now: Option<DateTime<Utc>>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE agents SET token_hash = $3, token_prefix = $4, token_created_at = $5 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .bind(hash)
    .bind(prefix)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, sqlx::FromRow)]
pub struct TokenOwner {
    pub agent_id: Uuid,
    pub owner_id: Uuid,
    pub role: UserRole,
}

#[tracing::instrument(name = "db.agent_by_token", skip(conn, hash))]
pub async fn find_by_token(
    conn: &mut PgConnection,
    tenant: Uuid,
    hash: &[u8],
) -> sqlx::Result<Option<TokenOwner>> {
    sqlx::query_as(
        "SELECT a.id AS agent_id, a.owner_id, u.role FROM agents a
         JOIN users u ON u.tenant_id = a.tenant_id AND u.id = a.owner_id
         WHERE a.token_hash = $1 AND a.tenant_id = $2",
    )
    .bind(hash)
    .bind(tenant)
    .fetch_optional(conn)
    .await
}

#[tracing::instrument(name = "db.profile_find", skip(conn))]
pub async fn find_profile(
    conn: &mut PgConnection,
    tenant: Uuid,
    agent: Uuid,
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
    tenant: Uuid,
    agents: &[Uuid],
) -> sqlx::Result<Vec<ProfileRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PROFILE_COLUMNS} FROM provider_profiles WHERE tenant_id = $1 AND agent_id = ANY($2)"
    )))
    .bind(tenant)
    .bind(agents)
    .fetch_all(conn)
    .await
}

#[derive(Debug, Clone)]
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
    tenant: Uuid,
    agent: Uuid,
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
    tenant: Uuid,
    agent: Uuid,
    status: ProfileStatus,
    reason: Option<&str>,
    reviewer: Uuid,
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
    pub owner_id: Uuid,
    pub owner_email: String,
}

/// Profiles for the admin review queue, oldest submission first.
#[tracing::instrument(name = "db.profile_review_queue", skip(conn))]
pub async fn list_for_review(
    conn: &mut PgConnection,
    tenant: Uuid,
    status: Option<ProfileStatus>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<ReviewItem>, i64)> {
    let columns = PROFILE_COLUMNS
        .split(", ")
        .map(|c| format!("p.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {columns}, a.name, a.slug, a.owner_id, u.email::text AS owner_email
         FROM provider_profiles p
         JOIN agents a ON a.tenant_id = p.tenant_id AND a.id = p.agent_id
         JOIN users u ON u.tenant_id = a.tenant_id AND u.id = a.owner_id
         WHERE p.tenant_id = $1 AND ($2::profile_status IS NULL OR p.status = $2)
         ORDER BY p.submitted_at, p.agent_id LIMIT $3 OFFSET $4"
    )))
    .bind(tenant)
    .bind(status)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let total = sqlx::query_scalar(
        "SELECT count(*) FROM provider_profiles WHERE tenant_id = $1 AND ($2::profile_status IS NULL OR status = $2)",
    )
    .bind(tenant)
    .bind(status)
    .fetch_one(conn)
    .await?;
    Ok((rows, total))
}

#[tracing::instrument(name = "db.agent_by_slug", skip(conn))]
pub async fn find_by_slug(
    conn: &mut PgConnection,
    tenant: Uuid,
    slug: &str,
) -> sqlx::Result<Option<AgentRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {AGENT_COLUMNS} FROM agents WHERE tenant_id = $1 AND slug = $2"
    )))
    .bind(tenant)
    .bind(slug)
    .fetch_optional(conn)
    .await
}
