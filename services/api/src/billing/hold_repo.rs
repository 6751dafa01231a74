//! Hold and settlement SQL: a session's hold, closed exactly once by a conditional update, and
//! its settlement record. Every function takes the tenant. Re-exported by `repo`.

use super::domain::HoldStatus;
use crate::agents::domain::PricingModel;
use crate::ids::{EntryId, HoldId, SessionId, TenantId, UserId};
use crate::money::Currency;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HoldRow {
    pub id: HoldId,
    pub session_id: SessionId,
    pub consumer_id: UserId,
    pub provider_id: UserId,
    pub currency: Currency,
    pub amount: Decimal,
    pub pricing_model: PricingModel,
    pub unit_price: Decimal,
    pub max_units: i64,
    pub status: HoldStatus,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

const HOLD_COLUMNS: &str = "id, session_id, consumer_id, provider_id, currency, amount, pricing_model, \
     unit_price, max_units, status, created_at, resolved_at";

/// Inserts a hold unless the session already has one (`None` then).
#[tracing::instrument(name = "db.hold_insert", skip_all)]
pub async fn insert_hold(
    conn: &mut PgConnection,
    tenant: TenantId,
    hold: &HoldRow,
) -> sqlx::Result<Option<HoldRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO holds (id, tenant_id, session_id, consumer_id, provider_id, currency, amount,
                            pricing_model, unit_price, max_units, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (tenant_id, session_id) DO NOTHING
         RETURNING {HOLD_COLUMNS}"
    )))
    .bind(hold.id)
    .bind(tenant)
    .bind(hold.session_id)
    .bind(hold.consumer_id)
    .bind(hold.provider_id)
    .bind(&hold.currency)
    .bind(hold.amount)
    .bind(hold.pricing_model)
    .bind(hold.unit_price)
    .bind(hold.max_units)
    .bind(HoldStatus::Held)
    .bind(hold.created_at)
    .fetch_optional(conn)
    .await
}

#[tracing::instrument(name = "db.hold_find", skip_all)]
pub async fn find_hold(
    conn: &mut PgConnection,
    tenant: TenantId,
    session: SessionId,
) -> sqlx::Result<Option<HoldRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {HOLD_COLUMNS} FROM holds WHERE tenant_id = $1 AND session_id = $2"
    )))
    .bind(tenant)
    .bind(session)
    .fetch_optional(conn)
    .await
}

/// Closes an open hold (`held` → settled or voided) in one conditional update; `None` when the
/// session has no hold or it is already closed. The row stays locked until the transaction ends,
/// so a concurrent close waits and then finds it closed.
#[tracing::instrument(name = "db.hold_close", skip_all)]
pub async fn close_hold(
    conn: &mut PgConnection,
    tenant: TenantId,
    session: SessionId,
    to: HoldStatus,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<HoldRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE holds SET status = $3, resolved_at = $4
         WHERE tenant_id = $1 AND session_id = $2 AND status = $5
         RETURNING {HOLD_COLUMNS}"
    )))
    .bind(tenant)
    .bind(session)
    .bind(to)
    .bind(now)
    .bind(HoldStatus::Held)
    .fetch_optional(conn)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SettlementRow {
    pub session_id: SessionId,
    pub hold_id: HoldId,
    pub entry_id: EntryId,
    pub currency: Currency,
    pub units: i64,
    pub amount: Decimal,
    pub platform_fee: Decimal,
    pub provider_income: Decimal,
    pub refund: Decimal,
    pub fee_rate: Decimal,
    pub created_at: DateTime<Utc>,
}

const SETTLEMENT_COLUMNS: &str = "session_id, hold_id, entry_id, currency, units, amount, platform_fee, \
     provider_income, refund, fee_rate, created_at";

#[tracing::instrument(name = "db.settlement_insert", skip_all)]
pub async fn insert_settlement(
    conn: &mut PgConnection,
    tenant: TenantId,
    s: &SettlementRow,
) -> sqlx::Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO settlements (tenant_id, {SETTLEMENT_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    )))
    .bind(tenant)
    .bind(s.session_id)
    .bind(s.hold_id)
    .bind(s.entry_id)
    .bind(&s.currency)
    .bind(s.units)
    .bind(s.amount)
    .bind(s.platform_fee)
    .bind(s.provider_income)
    .bind(s.refund)
    .bind(s.fee_rate)
    .bind(s.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

#[tracing::instrument(name = "db.settlement_find", skip_all)]
pub async fn find_settlement(
    conn: &mut PgConnection,
    tenant: TenantId,
    session: SessionId,
) -> sqlx::Result<Option<SettlementRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SETTLEMENT_COLUMNS} FROM settlements WHERE tenant_id = $1 AND session_id = $2"
    )))
    .bind(tenant)
    .bind(session)
    .fetch_optional(conn)
    .await
}
