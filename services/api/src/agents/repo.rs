//! Agent, provider-profile and token SQL. Every function takes the tenant.

use super::domain::{AgentRoles, Capability, OnlineStatus};
use crate::accounts::domain::UserRole;
use crate::ids::{AgentId, TenantId, UserId};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use sqlx::types::Json;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AgentRow {
    pub id: AgentId,
    pub tenant_id: TenantId,
    pub owner_id: UserId,
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

pub struct NewAgent<'a> {
    pub id: AgentId,
    pub owner: UserId,
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
    tenant: TenantId,
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
    tenant: TenantId,
    id: AgentId,
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
    tenant: TenantId,
    id: AgentId,
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
    tenant: TenantId,
    owner: UserId,
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
    tenant: TenantId,
    id: AgentId,
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
    tenant: TenantId,
    id: AgentId,
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
    tenant: TenantId,
    owner: UserId,
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
    tenant: TenantId,
    id: AgentId,
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
    tenant: TenantId,
    id: AgentId,
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
    pub agent_id: AgentId,
    pub owner_id: UserId,
    pub role: UserRole,
}

#[tracing::instrument(name = "db.agent_by_token", skip(conn, hash))]
pub async fn find_by_token(
    conn: &mut PgConnection,
    tenant: TenantId,
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

#[tracing::instrument(name = "db.agent_by_slug", skip(conn))]
pub async fn find_by_slug(
    conn: &mut PgConnection,
    tenant: TenantId,
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

pub use super::profile_repo::*;

/// One more session on the profile's counters (`completed` when it settled).
#[tracing::instrument(name = "db.profile_count_session", skip(conn))]
pub async fn count_session(
    conn: &mut PgConnection,
    tenant: TenantId,
    agent: AgentId,
    completed: bool,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE provider_profiles
         SET total_sessions = total_sessions + 1,
             completed_sessions = completed_sessions + CASE WHEN $3 THEN 1 ELSE 0 END
         WHERE tenant_id = $1 AND agent_id = $2",
    )
    .bind(tenant)
    .bind(agent)
    .bind(completed)
    .execute(conn)
    .await
    .map(|_| ())
}

/// The hash of the agent's current token, if it has one.
#[tracing::instrument(name = "db.agent_token_hash", skip(conn))]
pub async fn token_hash(
    conn: &mut PgConnection,
    tenant: TenantId,
    agent: AgentId,
) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar("SELECT token_hash FROM agents WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(agent)
        .fetch_optional(conn)
        .await
        .map(Option::flatten)
}

pub use super::revision_repo::*;
