//! SQL of idempotency keys. Claiming inserts the row inside the transaction of the effect, so a
//! concurrent request with the same key blocks on it and then sees the stored response.

use crate::ids::{TenantId, UserId};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredResponse {
    pub request_hash: Vec<u8>,
    pub response_status: Option<i16>,
    pub response_body: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

/// Claims `key` for this request. `true` when claimed: the key was new, or older than
/// `expired_before` (then it is reused). `false` when a live row exists.
#[tracing::instrument(name = "db.idempotency_claim", skip_all)]
pub async fn claim(
    conn: &mut PgConnection,
    tenant: TenantId,
    user: UserId,
    key: &str,
    request_hash: &[u8],
    now: DateTime<Utc>,
    expired_before: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let claimed: Option<bool> = sqlx::query_scalar(
        "INSERT INTO idempotency_keys (tenant_id, user_id, key, request_hash, created_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, user_id, key) DO UPDATE
            SET request_hash = EXCLUDED.request_hash, response_status = NULL,
                response_body = NULL, created_at = EXCLUDED.created_at
            WHERE idempotency_keys.created_at < $6
         RETURNING true",
    )
    .bind(tenant)
    .bind(user)
    .bind(key)
    .bind(request_hash)
    .bind(now)
    .bind(expired_before)
    .fetch_optional(conn)
    .await?;
    Ok(claimed.unwrap_or(false))
}

#[tracing::instrument(name = "db.idempotency_find", skip_all)]
pub async fn find(
    conn: &mut PgConnection,
    tenant: TenantId,
    user: UserId,
    key: &str,
) -> sqlx::Result<Option<StoredResponse>> {
    sqlx::query_as(
        "SELECT request_hash, response_status, response_body, created_at FROM idempotency_keys
         WHERE tenant_id = $1 AND user_id = $2 AND key = $3",
    )
    .bind(tenant)
    .bind(user)
    .bind(key)
    .fetch_optional(conn)
    .await
}

#[tracing::instrument(name = "db.idempotency_complete", skip_all)]
pub async fn complete(
    conn: &mut PgConnection,
    tenant: TenantId,
    user: UserId,
    key: &str,
    status: i16,
    body: &serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET response_status = $4, response_body = $5
         WHERE tenant_id = $1 AND user_id = $2 AND key = $3",
    )
    .bind(tenant)
    .bind(user)
    .bind(key)
    .bind(status)
    .bind(body)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes up to `batch` keys older than `before`; returns how many went.
#[tracing::instrument(name = "db.idempotency_purge", skip_all)]
pub async fn purge(
    conn: &mut PgConnection,
    before: DateTime<Utc>,
    batch: i64,
) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "DELETE FROM idempotency_keys WHERE ctid IN (
            SELECT ctid FROM idempotency_keys WHERE created_at < $1 LIMIT $2)",
    )
    .bind(before)
    .bind(batch)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
