//! Message SQL: the per-session sequence, the rows, and history pages (index range scans only).

use crate::ids::{AgentId, MessageId, SessionId, TenantId, UserId};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;

/// Takes the session's next `seq` and a `createdAt` strictly after the previous message's (at
/// millisecond precision: the wire shows three decimals), and records activity. The update
/// locks the session row, so concurrent sends get gap-free, ordered numbers.
#[tracing::instrument(name = "db.message_next_seq", skip(conn))]
pub async fn next_seq(
    conn: &mut PgConnection,
    tenant: TenantId,
    session: SessionId,
    now: DateTime<Utc>,
) -> sqlx::Result<(i64, DateTime<Utc>)> {
    sqlx::query_as(
        "UPDATE sessions
         SET message_seq = message_seq + 1,
             last_message_at = GREATEST(date_trunc('milliseconds', $3::timestamptz),
                                        last_message_at + interval '1 millisecond'),
             last_activity_at = $3
         WHERE tenant_id = $1 AND id = $2
         RETURNING message_seq, last_message_at",
    )
    .bind(tenant)
    .bind(session)
    .bind(now)
    .fetch_one(conn)
    .await
}

/// The session's last `seq` (0 before its first message).
#[tracing::instrument(name = "db.message_last_seq", skip(conn))]
pub async fn last_seq(
    conn: &mut PgConnection,
    tenant: TenantId,
    session: SessionId,
) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT message_seq FROM sessions WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(session)
        .fetch_optional(conn)
        .await
        .map(Option::unwrap_or_default)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: MessageId,
    pub seq: i64,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub payload: Value,
    pub sender_role: String,
    pub sender_user_id: Option<UserId>,
    pub sender_agent_id: Option<AgentId>,
    pub client_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, seq, type, payload, sender_role, sender_user_id, sender_agent_id, client_id, created_at";

#[tracing::instrument(name = "db.message_insert", skip_all)]
pub async fn insert(
    conn: &mut PgConnection,
    tenant: TenantId,
    session: SessionId,
    m: &MessageRow,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO session_messages (tenant_id, session_id, seq, id, type, payload, sender_role,
            sender_user_id, sender_agent_id, client_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(tenant)
    .bind(session)
    .bind(m.seq)
    .bind(m.id)
    .bind(&m.kind)
    .bind(&m.payload)
    .bind(&m.sender_role)
    .bind(m.sender_user_id)
    .bind(m.sender_agent_id)
    .bind(&m.client_id)
    .bind(m.created_at)
    .execute(conn)
    .await
    .map(|_| ())
}

/// The message a client id already stored in this session (a retried send).
#[tracing::instrument(name = "db.message_find_client_id", skip(conn))]
pub async fn find_by_client_id(
    conn: &mut PgConnection,
    tenant: TenantId,
    session: SessionId,
    client_id: &str,
) -> sqlx::Result<Option<MessageRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM session_messages
         WHERE tenant_id = $1 AND session_id = $2 AND client_id = $3"
    )))
    .bind(tenant)
    .bind(session)
    .bind(client_id)
    .fetch_optional(conn)
    .await
}

/// Where a history page starts.
#[derive(Debug, Clone, Copy)]
pub enum After {
    /// After this sequence number (0: from the start).
    Seq(i64),
    /// Strictly after this time (`since`, exclusive).
    Time(DateTime<Utc>),
}

fn page_sql(after: After) -> &'static str {
    match after {
        After::Seq(_) => {
            "SELECT id, seq, type, payload, sender_role, sender_user_id, sender_agent_id, client_id, created_at
             FROM session_messages WHERE session_id = $2 AND seq > $3 AND tenant_id = $1
             ORDER BY seq LIMIT $4"
        }
        After::Time(_) => {
            "SELECT id, seq, type, payload, sender_role, sender_user_id, sender_agent_id, client_id, created_at
             FROM session_messages WHERE session_id = $2 AND created_at > $3 AND tenant_id = $1
             ORDER BY created_at LIMIT $4"
        }
    }
}

/// Ascending. `createdAt` grows with `seq` inside a session, so both starts read one index range
/// (the primary key, or `session_messages_created`) and never skip rows with an offset.
#[tracing::instrument(name = "db.message_page", skip(conn))]
pub async fn page(
    conn: &mut PgConnection,
    tenant: TenantId,
    session: SessionId,
    after: After,
    limit: i64,
) -> sqlx::Result<Vec<MessageRow>> {
    let q = sqlx::query_as(page_sql(after)).bind(tenant).bind(session);
    let q = match after {
        After::Seq(seq) => q.bind(seq),
        After::Time(at) => q.bind(at),
    };
    q.bind(limit).fetch_all(conn).await
}

/// The plan of [`page`] (`EXPLAIN (ANALYZE, FORMAT JSON)`), for the tests that hold it to index
/// range scans at any depth.
pub async fn explain_page(
    conn: &mut PgConnection,
    tenant: TenantId,
    session: SessionId,
    after: After,
    limit: i64,
) -> sqlx::Result<Value> {
    let sql = format!("EXPLAIN (ANALYZE, FORMAT JSON) {}", page_sql(after));
    let q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(tenant)
        .bind(session);
    let q = match after {
        After::Seq(seq) => q.bind(seq),
        After::Time(at) => q.bind(at),
    };
    let plan: sqlx::types::Json<Value> = q.bind(limit).fetch_one(conn).await?;
    Ok(plan.0)
}
