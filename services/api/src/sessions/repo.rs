//! Session SQL. Every function takes the tenant, except the sweeper's claim, which looks across
//! tenants on purpose (it is the server's own job) and returns each session with its tenant.

use super::domain::SessionStatus;
use crate::agents::domain::PricingModel;
use crate::ids::{AgentId, SessionId, TenantId, UserId};
use crate::money::Currency;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::PgConnection;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: SessionId,
    pub agent_id: AgentId,
    pub consumer_id: UserId,
    pub provider_id: UserId,
    pub status: SessionStatus,
    pub slot_index: i32,
    pub task_description: String,
    pub granted_permissions: Value,
    pub session_key: Option<String>,
    pub pricing_model: PricingModel,
    pub price_amount: Decimal,
    pub currency: Currency,
    pub fee_rate: Decimal,
    pub hold_amount: Decimal,
    pub tokens_used: i64,
    pub last_activity_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
    pub end_note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub approved_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, agent_id, consumer_id, provider_id, status, slot_index, task_description, \
     granted_permissions, session_key, pricing_model, price_amount, currency, fee_rate, hold_amount, \
     tokens_used, last_activity_at, expires_at, end_reason, end_note, created_at, approved_at, ended_at";

#[tracing::instrument(name = "db.session_insert", skip_all)]
pub async fn insert(
    conn: &mut PgConnection,
    tenant: TenantId,
    s: &SessionRow,
) -> sqlx::Result<SessionRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO sessions (id, tenant_id, agent_id, consumer_id, provider_id, status, slot_index,
            task_description, granted_permissions, session_key, pricing_model, price_amount, currency,
            fee_rate, hold_amount, tokens_used, last_activity_at, expires_at, created_at, approved_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, $16, $17, $18, $19)
         RETURNING {COLUMNS}"
    )))
    .bind(s.id)
    .bind(tenant)
    .bind(s.agent_id)
    .bind(s.consumer_id)
    .bind(s.provider_id)
    .bind(s.status)
    .bind(s.slot_index)
    .bind(&s.task_description)
    .bind(&s.granted_permissions)
    .bind(&s.session_key)
    .bind(s.pricing_model)
    .bind(s.price_amount)
    .bind(&s.currency)
    .bind(s.fee_rate)
    .bind(s.hold_amount)
    .bind(s.last_activity_at)
    .bind(s.expires_at)
    .bind(s.created_at)
    .bind(s.approved_at)
    .fetch_one(conn)
    .await
}

#[tracing::instrument(name = "db.session_find", skip(conn))]
pub async fn find(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: SessionId,
) -> sqlx::Result<Option<SessionRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM sessions WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// The session, locked until the transaction ends (every transition takes this lock).
#[tracing::instrument(name = "db.session_lock", skip(conn))]
pub async fn lock(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: SessionId,
) -> sqlx::Result<Option<SessionRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM sessions WHERE tenant_id = $1 AND id = $2 FOR UPDATE"
    )))
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// The consumer's open session of this agent under this `sessionKey`.
#[tracing::instrument(name = "db.session_find_by_key", skip(conn))]
pub async fn find_open_by_key(
    conn: &mut PgConnection,
    tenant: TenantId,
    consumer: UserId,
    agent: AgentId,
    key: &str,
) -> sqlx::Result<Option<SessionRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM sessions
         WHERE tenant_id = $1 AND consumer_id = $2 AND agent_id = $3 AND session_key = $4
           AND status IN ($5, $6)"
    )))
    .bind(tenant)
    .bind(consumer)
    .bind(agent)
    .bind(key)
    .bind(SessionStatus::PendingApproval)
    .bind(SessionStatus::Active)
    .fetch_optional(conn)
    .await
}

/// The agent's open sessions as (consumer, slot), by slot.
#[tracing::instrument(name = "db.session_open_slots", skip(conn))]
pub async fn open_slots(
    conn: &mut PgConnection,
    tenant: TenantId,
    agent: AgentId,
) -> sqlx::Result<Vec<(UserId, i32)>> {
    sqlx::query_as(
        "SELECT consumer_id, slot_index FROM sessions
         WHERE tenant_id = $1 AND agent_id = $2 AND status IN ($3, $4)
         ORDER BY slot_index",
    )
    .bind(tenant)
    .bind(agent)
    .bind(SessionStatus::PendingApproval)
    .bind(SessionStatus::Active)
    .fetch_all(conn)
    .await
}

#[tracing::instrument(name = "db.session_activate", skip(conn))]
pub async fn activate(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: SessionId,
    now: DateTime<Utc>,
) -> sqlx::Result<SessionRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE sessions SET status = $3, approved_at = $4, last_activity_at = $4, expires_at = NULL
         WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}"
    )))
    .bind(tenant)
    .bind(id)
    .bind(SessionStatus::Active)
    .bind(now)
    .fetch_one(conn)
    .await
}

#[tracing::instrument(name = "db.session_finish", skip(conn))]
pub async fn finish(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: SessionId,
    status: SessionStatus,
    reason: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<SessionRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE sessions SET status = $3, end_reason = $4, ended_at = $5, expires_at = NULL
         WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}"
    )))
    .bind(tenant)
    .bind(id)
    .bind(status)
    .bind(reason)
    .bind(now)
    .fetch_one(conn)
    .await
}

/// Keeps the provider's reason for a rejection.
#[tracing::instrument(name = "db.session_note", skip(conn, note))]
pub async fn set_end_note(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: SessionId,
    note: &str,
) -> sqlx::Result<SessionRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE sessions SET end_note = $3 WHERE tenant_id = $1 AND id = $2 RETURNING {COLUMNS}"
    )))
    .bind(tenant)
    .bind(id)
    .bind(note)
    .fetch_one(conn)
    .await
}

/// Which sessions a list shows.
#[derive(Debug, Clone, Copy)]
pub enum Owner {
    Consumer(UserId),
    Provider(UserId),
    /// The sessions of one agent (an agent token lists its own).
    Agent(AgentId),
}

#[derive(Debug, Clone, Copy)]
pub struct ListFilter {
    pub owner: Owner,
    pub status: Option<SessionStatus>,
}

/// Where a page starts: after a (createdAt, id) key, or at an offset.
#[derive(Debug, Clone, Copy)]
pub enum PageStart {
    After(DateTime<Utc>, SessionId),
    Offset(i64),
}

fn owner_clause(owner: Owner) -> &'static str {
    match owner {
        Owner::Consumer(_) => "consumer_id = $2",
        Owner::Provider(_) => "provider_id = $2",
        Owner::Agent(_) => "agent_id = $2",
    }
}

fn owner_id(owner: Owner) -> uuid::Uuid {
    match owner {
        Owner::Consumer(user) | Owner::Provider(user) => user.as_uuid(),
        Owner::Agent(agent) => agent.as_uuid(),
    }
}

/// Newest first (keyset on the owner's index).
#[tracing::instrument(name = "db.session_list", skip(conn))]
pub async fn list(
    conn: &mut PgConnection,
    tenant: TenantId,
    filter: ListFilter,
    from: PageStart,
    limit: i64,
) -> sqlx::Result<Vec<SessionRow>> {
    let (after, offset) = match from {
        PageStart::After(at, id) => (Some((at, id)), 0),
        PageStart::Offset(offset) => (None, offset),
    };
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM sessions
         WHERE tenant_id = $1 AND {owner} AND ($3::session_status IS NULL OR status = $3)
           AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5))
         ORDER BY created_at DESC, id DESC OFFSET $6 LIMIT $7",
        owner = owner_clause(filter.owner)
    )))
    .bind(tenant)
    .bind(owner_id(filter.owner))
    .bind(filter.status)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(offset)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// How many sessions the list has, counted up to `cap` (a bounded index scan, never a full count).
#[tracing::instrument(name = "db.session_count", skip(conn))]
pub async fn count(
    conn: &mut PgConnection,
    tenant: TenantId,
    filter: ListFilter,
    cap: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM (SELECT 1 FROM sessions
            WHERE tenant_id = $1 AND {owner} AND ($3::session_status IS NULL OR status = $3)
            LIMIT $4) AS capped",
        owner = owner_clause(filter.owner)
    )))
    .bind(tenant)
    .bind(owner_id(filter.owner))
    .bind(filter.status)
    .bind(cap)
    .fetch_one(conn)
    .await
}

/// Adds metered tokens (per-token sessions), and records activity.
#[tracing::instrument(name = "db.session_add_tokens", skip(conn))]
pub async fn add_tokens(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: SessionId,
    tokens: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE sessions SET tokens_used = tokens_used + $3 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .bind(tokens)
    .execute(conn)
    .await
    .map(|_| ())
}

/// What the sweeper looks for.
#[derive(Debug, Clone, Copy)]
pub enum Due {
    /// Pending sessions whose `expires_at` has passed.
    Expired,
    /// Active sessions with no activity since the given time.
    IdleSince(DateTime<Utc>),
    /// Active per-minute sessions approved before the given time (their cap has run out).
    CapReachedSince(DateTime<Utc>),
}

/// Up to `limit` due sessions of any tenant, locked (`SKIP LOCKED`: replicas share the work).
#[tracing::instrument(name = "db.session_claim_due", skip(conn))]
pub async fn claim_due(
    conn: &mut PgConnection,
    due: Due,
    now: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<(TenantId, SessionId)>> {
    let (condition, at) = match due {
        Due::Expired => ("status = 'pending_approval' AND expires_at <= $1", now),
        Due::IdleSince(before) => ("status = 'active' AND last_activity_at <= $1", before),
        Due::CapReachedSince(before) => (
            "status = 'active' AND pricing_model = 'per_minute' AND approved_at <= $1",
            before,
        ),
    };
    // The status literals match the partial indexes' predicates, which the planner needs
    // verbatim to use them.
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT tenant_id, id FROM sessions WHERE {condition} LIMIT $2 FOR UPDATE SKIP LOCKED"
    )))
    .bind(at)
    .bind(limit)
    .fetch_all(conn)
    .await
}
