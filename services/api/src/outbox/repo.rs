//! Outbox SQL. Rows are written in the transaction of the change they announce and deleted by
//! the relay once published.

use crate::ids::TenantId;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;

#[tracing::instrument(name = "db.outbox_insert", skip_all, fields(event = event))]
pub async fn insert(
    conn: &mut PgConnection,
    tenant: TenantId,
    channel: &str,
    event: &str,
    payload: &Value,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO outbox_events (tenant_id, channel, event, payload, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tenant)
    .bind(channel)
    .bind(event)
    .bind(payload)
    .bind(now)
    .execute(conn)
    .await
    .map(|_| ())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub channel: String,
    pub event: String,
    pub payload: Value,
}

/// The oldest unpublished events that no other relay holds, locked until the caller commits.
#[tracing::instrument(name = "db.outbox_claim", skip(conn))]
pub async fn claim(conn: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<EventRow>> {
    sqlx::query_as(
        "SELECT id, channel, event, payload FROM outbox_events
         ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(conn)
    .await
}

#[tracing::instrument(name = "db.outbox_delete", skip_all)]
pub async fn delete(conn: &mut PgConnection, ids: &[i64]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM outbox_events WHERE id = ANY($1)")
        .bind(ids)
        .execute(conn)
        .await
        .map(|_| ())
}
