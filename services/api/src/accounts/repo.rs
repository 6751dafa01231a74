//! Account SQL: users, verification codes, API keys. Every function takes the tenant.
//! Runtime-checked queries (see tenancy/repo.rs for why); all are exercised by the black-box tests.

use super::domain::{User, UserRole};
use crate::ids::{ApiKeyId, TenantId, UserId};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

const USER_COLUMNS: &str =
    "id, tenant_id, email::text AS email, name, password_hash, role, email_verified_at, created_at";

#[tracing::instrument(name = "db.user_by_id", skip(conn))]
pub async fn find_user(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: UserId,
) -> sqlx::Result<Option<User>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tenant)
    .bind(id)
    .fetch_optional(conn)
    .await
}

#[tracing::instrument(name = "db.user_by_email", skip(conn, email))]
pub async fn find_user_by_email(
    conn: &mut PgConnection,
    tenant: TenantId,
    email: &str,
) -> sqlx::Result<Option<User>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND email = $2"
    )))
    .bind(tenant)
    .bind(email)
    .fetch_optional(conn)
    .await
}

pub struct NewUser<'a> {
    pub id: UserId,
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub role: UserRole,
    pub email_verified: bool,
    pub now: DateTime<Utc>,
}

/// Fails on the `users_tenant_email_key` constraint when the email is taken in this tenant.
#[tracing::instrument(name = "db.user_insert", skip_all)]
pub async fn insert_user(
    conn: &mut PgConnection,
    tenant: TenantId,
    u: NewUser<'_>,
) -> sqlx::Result<User> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO users (id, tenant_id, email, name, password_hash, role, email_verified_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7 THEN $8::timestamptz END, $8, $8)
         RETURNING {USER_COLUMNS}"
    )))
    .bind(u.id)
    .bind(tenant)
    .bind(u.email)
    .bind(u.name)
    .bind(u.password_hash)
    .bind(u.role)
    .bind(u.email_verified)
    .bind(u.now)
    .fetch_one(conn)
    .await
}

#[tracing::instrument(name = "db.user_set_role", skip(conn))]
pub async fn set_role(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: UserId,
    role: UserRole,
    now: DateTime<Utc>,
) -> sqlx::Result<User> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE users SET role = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2 RETURNING {USER_COLUMNS}"
    )))
    .bind(tenant)
    .bind(id)
    .bind(role)
    .bind(now)
    .fetch_one(conn)
    .await
}

#[tracing::instrument(name = "db.user_set_password_hash", skip(conn, hash))]
pub async fn set_password_hash(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: UserId,
    hash: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET password_hash = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(id)
        .bind(hash)
        .execute(conn)
        .await
        .map(|_| ())
}

#[derive(Debug, sqlx::FromRow)]
pub struct Verification {
    pub code_hash: Vec<u8>,
    pub attempts: i32,
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Locks the email's pending code for the rest of the transaction.
#[tracing::instrument(name = "db.verification_lock", skip(conn, email))]
pub async fn lock_verification(
    conn: &mut PgConnection,
    tenant: TenantId,
    email: &str,
) -> sqlx::Result<Option<Verification>> {
    sqlx::query_as(
        "SELECT code_hash, attempts, sent_at, expires_at FROM email_verifications
         WHERE tenant_id = $1 AND email = $2 FOR UPDATE",
    )
    .bind(tenant)
    .bind(email)
    .fetch_optional(conn)
    .await
}

/// Replaces the email's code (attempts reset).
#[tracing::instrument(name = "db.verification_upsert", skip(conn, email, code_hash))]
pub async fn upsert_verification(
    conn: &mut PgConnection,
    tenant: TenantId,
    email: &str,
    code_hash: &[u8],
    sent_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO email_verifications (tenant_id, email, code_hash, attempts, sent_at, expires_at)
         VALUES ($1, $2, $3, 0, $4, $5)
         ON CONFLICT (tenant_id, email) DO UPDATE
         SET code_hash = EXCLUDED.code_hash, attempts = 0, sent_at = EXCLUDED.sent_at, expires_at = EXCLUDED.expires_at",
    )
    .bind(tenant)
    .bind(email)
    .bind(code_hash)
    .bind(sent_at)
    .bind(expires_at)
    .execute(conn)
    .await
    .map(|_| ())
}

#[tracing::instrument(name = "db.verification_failed_attempt", skip(conn, email))]
pub async fn count_failed_attempt(
    conn: &mut PgConnection,
    tenant: TenantId,
    email: &str,
) -> sqlx::Result<i32> {
    sqlx::query_scalar(
        "UPDATE email_verifications SET attempts = attempts + 1 WHERE tenant_id = $1 AND email = $2 RETURNING attempts",
    )
    .bind(tenant)
    .bind(email)
    .fetch_one(conn)
    .await
}

#[tracing::instrument(name = "db.verification_delete", skip(conn, email))]
pub async fn delete_verification(
    conn: &mut PgConnection,
    tenant: TenantId,
    email: &str,
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM email_verifications WHERE tenant_id = $1 AND email = $2")
        .bind(tenant)
        .bind(email)
        .execute(conn)
        .await
        .map(|_| ())
}

#[derive(Debug, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: ApiKeyId,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

pub struct NewApiKey<'a> {
    pub id: ApiKeyId,
    pub user: UserId,
    pub name: &'a str,
    pub prefix: &'a str,
    pub key_hash: &'a [u8],
    pub now: DateTime<Utc>,
}

#[tracing::instrument(name = "db.api_key_insert", skip_all)]
pub async fn insert_api_key(
    conn: &mut PgConnection,
    tenant: TenantId,
    k: NewApiKey<'_>,
) -> sqlx::Result<ApiKeyRow> {
    sqlx::query_as(
        "INSERT INTO api_keys (id, tenant_id, user_id, name, prefix, key_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING id, name, prefix, created_at, last_used_at",
    )
    .bind(k.id)
    .bind(tenant)
    .bind(k.user)
    .bind(k.name)
    .bind(k.prefix)
    .bind(k.key_hash)
    .bind(k.now)
    .fetch_one(conn)
    .await
}

/// The user's live keys, newest first; the total is per user, so small.
#[tracing::instrument(name = "db.api_key_list", skip(conn))]
pub async fn list_api_keys(
    conn: &mut PgConnection,
    tenant: TenantId,
    user: UserId,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<ApiKeyRow>, i64)> {
    let rows = sqlx::query_as(
        "SELECT id, name, prefix, created_at, last_used_at FROM api_keys
         WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL
         ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4",
    )
    .bind(tenant)
    .bind(user)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let total = sqlx::query_scalar(
        "SELECT count(*) FROM api_keys WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL",
    )
    .bind(tenant)
    .bind(user)
    .fetch_one(conn)
    .await?;
    Ok((rows, total))
}

/// Revokes the user's key; false when it does not exist, is another user's, or was revoked already.
#[tracing::instrument(name = "db.api_key_revoke", skip(conn))]
pub async fn revoke_api_key(
    conn: &mut PgConnection,
    tenant: TenantId,
    user: UserId,
    id: ApiKeyId,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE api_keys SET revoked_at = $4 WHERE tenant_id = $1 AND user_id = $2 AND id = $3 AND revoked_at IS NULL",
    )
    .bind(tenant)
    .bind(user)
    .bind(id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, sqlx::FromRow)]
pub struct ApiKeyOwner {
    pub key_id: ApiKeyId,
    pub user_id: UserId,
    pub role: UserRole,
}

/// The owner of a live key in this tenant, recording its use at most once a minute.
#[tracing::instrument(name = "db.api_key_authenticate", skip(conn, key_hash))]
pub async fn authenticate_api_key(
    conn: &mut PgConnection,
    tenant: TenantId,
    key_hash: &[u8],
    now: DateTime<Utc>,
) -> sqlx::Result<Option<ApiKeyOwner>> {
    let owner: Option<ApiKeyOwner> = sqlx::query_as(
        "SELECT k.id AS key_id, u.id AS user_id, u.role
         FROM api_keys k JOIN users u ON u.tenant_id = k.tenant_id AND u.id = k.user_id
         WHERE k.key_hash = $1 AND k.tenant_id = $2 AND k.revoked_at IS NULL",
    )
    .bind(key_hash)
    .bind(tenant)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(owner) = &owner {
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $2 WHERE id = $1
             AND (last_used_at IS NULL OR last_used_at < $2 - interval '1 minute')",
        )
        .bind(owner.key_id)
        .bind(now)
        .execute(conn)
        .await?;
    }
    Ok(owner)
}
