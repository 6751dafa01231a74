//! Session holds and settlement: the service the sessions context calls. Each function works in
//! the caller's transaction, so a session's status change and its money move commit together.
//!
//! - [`place_hold`] moves the hold (by pricing model) from the consumer's wallet to the session's
//!   hold account; a short wallet is 402 `INSUFFICIENT_BALANCE`.
//! - [`settle`] charges what the session used: the provider gets `charge - fee`, the platform fee
//!   account gets `fee = round_half_even(charge x tenant fee rate, 4 dp)`, the consumer gets the
//!   rest of the hold back.
//! - [`void`] returns the whole hold.
//!
//! All three are idempotent per session: the first call has the effect, a repeat returns the
//! first result (`replayed`), and the hold closes exactly once (a conditional update).

use super::domain::{
    EntryKind, HoldLimits, HoldStatus, PricingTerms, TxType, Usage, billable_units, platform_fee,
};
use super::ledger::{self, Account, Entry};
use super::repo::{self, HoldRow, SettlementRow};
use crate::error::{ApiError, ApiResult};
use crate::ids::{HoldId, SessionId, UserId};
use crate::money::Money;
use crate::tenancy::domain::Tenant;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;

#[derive(Debug, Clone)]
pub struct HoldRequest {
    pub session_id: SessionId,
    pub consumer_id: UserId,
    pub provider_id: UserId,
    pub terms: PricingTerms,
}

#[derive(Debug, Clone)]
pub struct Placed {
    pub hold: HoldRow,
    /// The session already had this hold; nothing moved.
    pub replayed: bool,
}

/// How a hold ended.
#[derive(Debug, Clone)]
pub enum Resolution {
    Settled(SettlementRow),
    Voided(HoldRow),
}

#[derive(Debug, Clone)]
pub struct Resolved {
    pub resolution: Resolution,
    /// The hold had already been closed by an earlier call; this is its first result.
    pub replayed: bool,
}

fn hold_not_found() -> ApiError {
    ApiError::not_found("Hold for this session")
}

#[tracing::instrument(name = "billing.place_hold", skip_all, fields(session.id = %req.session_id))]
pub async fn place_hold(
    conn: &mut PgConnection,
    tenant: &Tenant,
    req: &HoldRequest,
    limits: HoldLimits,
    now: DateTime<Utc>,
) -> ApiResult<Placed> {
    let mut parties = vec![req.consumer_id, req.provider_id];
    parties.dedup();
    if repo::count_users(conn, tenant.id, &parties).await? != parties.len() as i64 {
        return Err(ApiError::not_found("Consumer or provider"));
    }
    let new = HoldRow {
        id: HoldId::new_v7(),
        session_id: req.session_id,
        consumer_id: req.consumer_id,
        provider_id: req.provider_id,
        currency: req.terms.unit_price.currency.clone(),
        amount: req.terms.hold_amount(limits).amount,
        pricing_model: req.terms.model,
        unit_price: req.terms.unit_price.amount,
        max_units: req.terms.max_units(limits),
        status: HoldStatus::Held,
        created_at: now,
        resolved_at: None,
    };
    let Some(hold) = repo::insert_hold(conn, tenant.id, &new).await? else {
        let existing = repo::find_hold(conn, tenant.id, req.session_id)
            .await?
            .ok_or_else(hold_not_found)?;
        if existing.consumer_id != req.consumer_id
            || existing.provider_id != req.provider_id
            || existing.currency != req.terms.unit_price.currency
        {
            return Err(ApiError::conflict(
                "This session already has a hold for other parties",
            ));
        }
        return Ok(Placed {
            hold: existing,
            replayed: true,
        });
    };
    let entry = Entry::new(EntryKind::Hold, &hold.currency)
        .reference(hold.session_id)
        .transfer(
            (Account::Wallet(hold.consumer_id), TxType::Payment),
            (Account::Hold(hold.id), TxType::Payment),
            hold.amount,
        );
    ledger::record(conn, tenant.id, entry, now).await?;
    Ok(Placed {
        hold,
        replayed: false,
    })
}

/// The first result of a hold that is already closed.
async fn earlier_result(
    conn: &mut PgConnection,
    tenant: &Tenant,
    session: SessionId,
) -> ApiResult<Resolved> {
    let hold = repo::find_hold(conn, tenant.id, session)
        .await?
        .ok_or_else(hold_not_found)?;
    let resolution = match hold.status {
        HoldStatus::Settled => Resolution::Settled(
            repo::find_settlement(conn, tenant.id, session)
                .await?
                .ok_or_else(|| {
                    ApiError::internal(anyhow::anyhow!("settled hold without settlement"))
                })?,
        ),
        HoldStatus::Voided => Resolution::Voided(hold),
        HoldStatus::Held => {
            return Err(ApiError::internal(anyhow::anyhow!(
                "hold is open but could not be closed"
            )));
        }
    };
    Ok(Resolved {
        resolution,
        replayed: true,
    })
}

/// The parts of a settlement: what is charged, the fee, the provider's income, the refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    pub units: i64,
    pub charge: Decimal,
    pub fee: Decimal,
    pub income: Decimal,
    pub refund: Decimal,
}

/// Splits a hold for the usage: the charge never exceeds the hold.
pub fn split(hold: &HoldRow, usage: Usage, fee_rate: Decimal) -> Split {
    let units = billable_units(hold.pricing_model, usage, hold.max_units);
    let charge = (hold.unit_price * Decimal::from(units)).min(hold.amount);
    let fee = platform_fee(charge, fee_rate);
    Split {
        units,
        charge,
        fee,
        income: charge - fee,
        refund: hold.amount - charge,
    }
}

#[tracing::instrument(name = "billing.settle", skip_all, fields(session.id = %session))]
pub async fn settle(
    conn: &mut PgConnection,
    tenant: &Tenant,
    session: SessionId,
    usage: Usage,
    now: DateTime<Utc>,
) -> ApiResult<Resolved> {
    let Some(hold) = repo::close_hold(conn, tenant.id, session, HoldStatus::Settled, now).await?
    else {
        return earlier_result(conn, tenant, session).await;
    };
    let parts = split(&hold, usage, tenant.fee_rate);
    let entry = Entry::new(EntryKind::Settlement, &hold.currency)
        .reference(session)
        .split(
            (Account::Hold(hold.id), TxType::Payment),
            &[
                (
                    Account::Wallet(hold.provider_id),
                    TxType::Income,
                    parts.income,
                ),
                (Account::PlatformFee, TxType::Fee, parts.fee),
                (
                    Account::Wallet(hold.consumer_id),
                    TxType::Refund,
                    parts.refund,
                ),
            ],
        );
    let recorded = ledger::record(conn, tenant.id, entry, now).await?;
    let settlement = SettlementRow {
        session_id: session,
        hold_id: hold.id,
        entry_id: recorded.entry_id,
        currency: hold.currency.clone(),
        units: parts.units,
        amount: parts.charge,
        platform_fee: parts.fee,
        provider_income: parts.income,
        refund: parts.refund,
        fee_rate: tenant.fee_rate,
        created_at: now,
    };
    repo::insert_settlement(conn, tenant.id, &settlement).await?;
    Ok(Resolved {
        resolution: Resolution::Settled(settlement),
        replayed: false,
    })
}

#[tracing::instrument(name = "billing.void", skip_all, fields(session.id = %session))]
pub async fn void(
    conn: &mut PgConnection,
    tenant: &Tenant,
    session: SessionId,
    now: DateTime<Utc>,
) -> ApiResult<Resolved> {
    let Some(hold) = repo::close_hold(conn, tenant.id, session, HoldStatus::Voided, now).await?
    else {
        return earlier_result(conn, tenant, session).await;
    };
    let entry = Entry::new(EntryKind::Void, &hold.currency)
        .reference(session)
        .transfer(
            (Account::Hold(hold.id), TxType::Refund),
            (Account::Wallet(hold.consumer_id), TxType::Refund),
            hold.amount,
        );
    ledger::record(conn, tenant.id, entry, now).await?;
    Ok(Resolved {
        resolution: Resolution::Voided(hold),
        replayed: false,
    })
}

/// A session's settlement record, if it was settled.
pub async fn settlement(
    conn: &mut PgConnection,
    tenant: &Tenant,
    session: SessionId,
) -> ApiResult<Option<SettlementRow>> {
    Ok(repo::find_settlement(conn, tenant.id, session).await?)
}

/// The consumer's balance in a currency (zero without a wallet), to explain a refused hold.
pub async fn balance(
    conn: &mut PgConnection,
    tenant: &Tenant,
    user: UserId,
    currency: &crate::money::Currency,
) -> ApiResult<Money> {
    let wallets = repo::wallets_of(conn, tenant.id, user).await?;
    let amount = wallets
        .iter()
        .find(|w| *currency == *w.currency)
        .map_or(Decimal::ZERO, |w| w.balance);
    Ok(Money::new(amount, currency.clone()))
}
