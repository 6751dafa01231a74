//! Tenant SQL. Queries are runtime-checked (`query_as`) rather than `query!` macros so the build
//! needs no database; every query runs in the black-box tests against real Postgres.

use super::domain::{Hostname, Tenant, TenantStatus};
use crate::ids::TenantId;
use rust_decimal::Decimal;
use sqlx::PgConnection;

const COLUMNS: &str = "t.id, t.slug, t.name, t.status, t.fee_rate, t.currencies, t.is_default, t.created_at, t.updated_at, t.posting_id_key";

#[tracing::instrument(name = "db.tenant_by_slug", skip(conn))]
pub async fn find_by_slug(conn: &mut PgConnection, slug: &str) -> sqlx::Result<Option<Tenant>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tenants t WHERE t.slug = $1"
    )))
    .bind(slug)
    .fetch_optional(conn)
    .await
}

#[tracing::instrument(name = "db.tenant_by_id", skip(conn))]
pub async fn find_by_id(conn: &mut PgConnection, id: TenantId) -> sqlx::Result<Option<Tenant>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tenants t WHERE t.id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await
}

#[tracing::instrument(name = "db.tenant_by_hostname", skip(conn))]
pub async fn find_by_hostname(
    conn: &mut PgConnection,
    hostname: &str,
) -> sqlx::Result<Option<Tenant>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tenants t JOIN tenant_hostnames h ON h.tenant_id = t.id WHERE h.hostname = $1"
    )))
    .bind(hostname)
    .fetch_optional(conn)
    .await
}

#[tracing::instrument(name = "db.tenant_default", skip(conn))]
pub async fn find_default(conn: &mut PgConnection) -> sqlx::Result<Tenant> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tenants t WHERE t.is_default"
    )))
    .fetch_one(conn)
    .await
}

pub struct NewTenant<'a> {
    pub id: TenantId,
    pub slug: &'a str,
    pub name: &'a str,
    pub fee_rate: Decimal,
    pub currencies: &'a [String],
}

#[tracing::instrument(name = "db.tenant_insert", skip_all)]
pub async fn insert(conn: &mut PgConnection, t: NewTenant<'_>) -> sqlx::Result<Tenant> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO tenants AS t (id, slug, name, fee_rate, currencies) VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
    )))
    .bind(t.id)
    .bind(t.slug)
    .bind(t.name)
    .bind(t.fee_rate)
    .bind(t.currencies)
    .fetch_one(conn)
    .await
}

pub struct TenantChanges<'a> {
    pub name: Option<&'a str>,
    pub fee_rate: Option<Decimal>,
    pub currencies: Option<&'a [String]>,
    pub status: Option<TenantStatus>,
}

#[tracing::instrument(name = "db.tenant_update", skip(conn, c))]
pub async fn update(
    conn: &mut PgConnection,
    tenant: TenantId,
    c: TenantChanges<'_>,
) -> sqlx::Result<Tenant> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE tenants AS t SET name = COALESCE($2, name), fee_rate = COALESCE($3, fee_rate),
                currencies = COALESCE($4, currencies), status = COALESCE($5, status), updated_at = now()
         WHERE id = $1 RETURNING {COLUMNS}"
    )))
    .bind(tenant)
    .bind(c.name)
    .bind(c.fee_rate)
    .bind(c.currencies)
    .bind(c.status)
    .fetch_one(conn)
    .await
}

#[tracing::instrument(name = "db.tenant_replace_hostnames", skip(conn, hostnames))]
pub async fn replace_hostnames(
    conn: &mut PgConnection,
    tenant: TenantId,
    hostnames: &[Hostname],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM tenant_hostnames WHERE tenant_id = $1")
        .bind(tenant)
        .execute(&mut *conn)
        .await?;
    let names: Vec<&str> = hostnames.iter().map(Hostname::as_str).collect();
    sqlx::query("INSERT INTO tenant_hostnames (hostname, tenant_id) SELECT unnest($2::text[]), $1")
        .bind(tenant)
        .bind(&names)
        .execute(conn)
        .await?;
    Ok(())
}

#[tracing::instrument(name = "db.tenant_hostnames", skip(conn))]
pub async fn hostnames(conn: &mut PgConnection, tenant: TenantId) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT hostname FROM tenant_hostnames WHERE tenant_id = $1 ORDER BY hostname",
    )
    .bind(tenant)
    .fetch_all(conn)
    .await
}

/// The hostnames of several tenants at once, as (tenant, hostname) pairs.
#[tracing::instrument(name = "db.tenant_hostnames_many", skip(conn, tenants))]
pub async fn hostnames_of(
    conn: &mut PgConnection,
    tenants: &[TenantId],
) -> sqlx::Result<Vec<(TenantId, String)>> {
    sqlx::query_as("SELECT tenant_id, hostname FROM tenant_hostnames WHERE tenant_id = ANY($1) ORDER BY hostname")
        .bind(tenants)
        .fetch_all(conn)
        .await
}

/// A page of tenants in creation order. The tenants table is small (one row per marketplace),
/// so OFFSET and an exact count are fine here.
#[tracing::instrument(name = "db.tenant_list", skip(conn))]
pub async fn list(
    conn: &mut PgConnection,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<Tenant>, i64)> {
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tenants t ORDER BY t.created_at, t.id LIMIT $1 OFFSET $2"
    )))
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let total = sqlx::query_scalar("SELECT count(*) FROM tenants")
        .fetch_one(conn)
        .await?;
    Ok((rows, total))
}
