//! Audit log SQL: one row per admin decision (reviews, wallet adjustments). Every function takes
//! the tenant.

use crate::ids::{AuditId, TenantId, UserId};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

pub struct AuditEntry<'a> {
    pub actor: UserId,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target: Uuid,
    pub reason: Option<&'a str>,
    pub from_status: Option<&'a str>,
    pub to_status: Option<&'a str>,
    /// Structured facts of the decision (amounts of a wallet adjustment).
    pub details: Option<serde_json::Value>,
    pub now: DateTime<Utc>,
}

#[tracing::instrument(name = "db.audit_insert", skip_all)]
pub async fn insert_audit(
    conn: &mut PgConnection,
    tenant: TenantId,
    e: AuditEntry<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO admin_audit (id, tenant_id, actor_id, action, target_type, target_id, reason, from_status, to_status, created_at, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(AuditId::new_v7())
    .bind(tenant)
    .bind(e.actor)
    .bind(e.action)
    .bind(e.target_type)
    .bind(e.target)
    .bind(e.reason)
    .bind(e.from_status)
    .bind(e.to_status)
    .bind(e.now)
    .bind(e.details)
    .execute(conn)
    .await
    .map(|_| ())
}

#[derive(Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub id: AuditId,
    pub actor_id: UserId,
    pub actor_email: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: Uuid,
    pub reason: Option<String>,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub details: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

/// Newest first; optionally only entries about one target.
#[tracing::instrument(name = "db.audit_list", skip(conn))]
pub async fn list_audit(
    conn: &mut PgConnection,
    tenant: TenantId,
    target: Option<Uuid>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<AuditRow>, i64)> {
    let rows = sqlx::query_as(
        "SELECT l.id, l.actor_id, u.email::text AS actor_email, l.action, l.target_type, l.target_id, l.reason,
                l.from_status, l.to_status, l.details, l.created_at
         FROM admin_audit l LEFT JOIN users u ON u.tenant_id = l.tenant_id AND u.id = l.actor_id
         WHERE l.tenant_id = $1 AND ($2::uuid IS NULL OR l.target_id = $2)
         ORDER BY l.created_at DESC, l.id DESC LIMIT $3 OFFSET $4",
    )
    .bind(tenant)
    .bind(target)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let total = sqlx::query_scalar("SELECT count(*) FROM admin_audit WHERE tenant_id = $1 AND ($2::uuid IS NULL OR target_id = $2)")
        .bind(tenant)
        .bind(target)
        .fetch_one(conn)
        .await?;
    Ok((rows, total))
}
