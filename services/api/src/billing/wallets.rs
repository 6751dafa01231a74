//! Wallet use-cases: balances, sandbox top-ups, the transactions list, admin adjustments and
//! the platform-fee revenue. The money-moving ones work in the caller's transaction (the
//! idempotency runner owns it).

use super::domain::{EntryKind, TxType};
use super::ledger::{self, Account, Entry};
use super::public_ids;
use super::repo::{self, From, RevenueRow, TransactionRow, WalletRow};
use super::views::{AdjustmentView, TopupStatus, TopupView};
use crate::audit::{AuditEntry, insert_audit};
use crate::auth::principal::Principal;
use crate::error::{ApiError, ApiResult};
use crate::http::pagination::PageRequest;
use crate::ids::{TenantId, UserId};
use crate::money::{Money, format_amount};
use crate::state::AppState;
use crate::tenancy::domain::Tenant;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

/// A user's wallets: every currency of the marketplace (zero when never used) plus any other
/// currency the user holds, in the marketplace's order.
/// A user's wallets as an admin sees them: 404 for a user outside the admin's marketplace.
pub async fn user_wallets(
    state: &AppState,
    admin: &Principal,
    user: UserId,
) -> ApiResult<Vec<WalletRow>> {
    let mut conn = state.db.acquire().await?;
    crate::accounts::service::require_user(&mut conn, admin.tenant_id(), user).await?;
    drop(conn);
    wallets(state, &admin.tenant, user).await
}

pub async fn wallets(state: &AppState, tenant: &Tenant, user: UserId) -> ApiResult<Vec<WalletRow>> {
    let mut conn = state.db.acquire().await?;
    let mut rows = repo::wallets_of(&mut conn, tenant.id, user).await?;
    for currency in &tenant.currencies {
        if !rows.iter().any(|w| &w.currency == currency) {
            rows.push(WalletRow {
                currency: currency.clone(),
                balance: Decimal::ZERO,
                postings: 0,
            });
        }
    }
    let order = |c: &str| {
        tenant
            .currencies
            .iter()
            .position(|x| x == c)
            .unwrap_or(usize::MAX)
    };
    rows.sort_by(|a, b| (order(&a.currency), &a.currency).cmp(&(order(&b.currency), &b.currency)));
    Ok(rows)
}

/// A sandbox top-up: the payment-clearing account pays the wallet at once.
#[tracing::instrument(name = "billing.topup", skip_all)]
pub async fn topup(
    conn: &mut PgConnection,
    tenant: &Tenant,
    user: UserId,
    money: &Money,
    now: DateTime<Utc>,
) -> ApiResult<TopupView> {
    let entry = Entry::new(EntryKind::Topup, &money.currency)
        .actor(user)
        .memo(Some("sandbox top-up".into()))
        .transfer(
            (Account::PaymentClearing, TxType::Topup),
            (Account::Wallet(user), TxType::Topup),
            money.amount,
        );
    let recorded = ledger::record(conn, tenant.id, entry, now).await?;
    Ok(TopupView {
        balance: format_amount(recorded.balance_of(user).unwrap_or_default()),
        currency: money.currency.to_string(),
        amount: format_amount(money.amount),
        transaction_id: recorded.entry_id,
        status: TopupStatus::Completed,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Credit,
    Debit,
}

pub struct Adjustment<'a> {
    pub user: UserId,
    pub direction: Direction,
    pub money: Money,
    pub reason: &'a str,
}

/// An admin credit or debit against the tenant's adjustments account, audited with its amounts.
/// A debit never takes a wallet below zero.
#[tracing::instrument(name = "billing.adjust", skip_all)]
pub async fn adjust(
    conn: &mut PgConnection,
    admin: &Principal,
    a: &Adjustment<'_>,
    now: DateTime<Utc>,
) -> ApiResult<AdjustmentView> {
    let tenant = admin.tenant_id();
    crate::accounts::service::require_user(conn, tenant, a.user).await?;
    let (from, to, signed, action) = match a.direction {
        Direction::Credit => (
            Account::Adjustments,
            Account::Wallet(a.user),
            a.money.amount,
            "wallet_credit",
        ),
        Direction::Debit => (
            Account::Wallet(a.user),
            Account::Adjustments,
            -a.money.amount,
            "wallet_debit",
        ),
    };
    let entry = Entry::new(EntryKind::Adjustment, &a.money.currency)
        .actor(admin.user_id)
        .memo(Some(a.reason.to_owned()))
        .transfer(
            (from, TxType::Adjustment),
            (to, TxType::Adjustment),
            a.money.amount,
        );
    let recorded = ledger::record(conn, tenant, entry, now).await?;
    let balance = format_amount(recorded.balance_of(a.user).unwrap_or_default());
    insert_audit(
        conn,
        tenant,
        AuditEntry {
            actor: admin.user_id,
            action,
            target_type: "wallet",
            target: a.user.into(),
            reason: Some(a.reason),
            from_status: None,
            to_status: None,
            details: Some(serde_json::json!({
                "transactionId": recorded.entry_id,
                "currency": a.money.currency,
                "amount": format_amount(signed),
                "balanceAfter": balance,
            })),
            now,
        },
    )
    .await?;
    Ok(AdjustmentView {
        user_id: a.user,
        balance,
        currency: a.money.currency.to_string(),
        amount: format_amount(signed),
        transaction_id: recorded.entry_id,
    })
}

/// Where a transactions page starts, sealed by the server and bound to tenant, user and filter.
/// It carries the last public id shown, never the posting id.
#[derive(Serialize, Deserialize)]
struct CursorPayload {
    t: TenantId,
    u: UserId,
    c: Option<String>,
    a: String,
}

const CURSOR_PURPOSE: &str = "transactions";

fn encode_cursor(
    state: &AppState,
    principal: &Principal,
    currency: Option<&str>,
    after: i64,
) -> String {
    let payload = CursorPayload {
        t: principal.tenant_id(),
        u: principal.user_id,
        c: currency.map(str::to_owned),
        a: public_ids::conceal(&principal.tenant.posting_id_key, after),
    };
    state.cursors.seal(CURSOR_PURPOSE, &payload)
}

fn decode_cursor(
    state: &AppState,
    principal: &Principal,
    currency: Option<&str>,
    raw: &str,
) -> ApiResult<i64> {
    let invalid = || ApiError::field("cursor", "is not a nextCursor of this transactions list");
    let p: CursorPayload = state
        .cursors
        .open(CURSOR_PURPOSE, raw, 512)
        .ok_or_else(invalid)?;
    if p.t != principal.tenant_id() || p.u != principal.user_id || p.c.as_deref() != currency {
        return Err(invalid());
    }
    public_ids::reveal(&principal.tenant.posting_id_key, &p.a).ok_or_else(invalid)
}

pub struct TransactionsPage {
    pub rows: Vec<TransactionRow>,
    pub total: i64,
    pub next_cursor: Option<String>,
}

/// The user's wallet transactions, newest first, optionally in one currency. The total comes
/// from the wallets' posting counters, never a COUNT over the ledger.
#[tracing::instrument(name = "billing.transactions", skip_all)]
pub async fn transactions(
    state: &AppState,
    principal: &Principal,
    currency: Option<&str>,
    page: PageRequest,
    cursor: Option<&str>,
) -> ApiResult<TransactionsPage> {
    let (tenant, user) = (principal.tenant_id(), principal.user_id);
    let from = match cursor {
        Some(raw) => From::After(decode_cursor(state, principal, currency, raw)?),
        None => From::Offset(page.bounded_offset()?),
    };
    let mut conn = state.db.acquire().await?;
    let wallets = repo::wallets_of(&mut conn, tenant, user).await?;
    let total = wallets
        .iter()
        .filter(|w| currency.is_none_or(|c| c == w.currency))
        .map(|w| w.postings)
        .sum();
    let mut rows =
        repo::transactions(&mut conn, tenant, user, currency, from, page.limit() + 1).await?;
    let more = rows.len() > page.limit as usize;
    rows.truncate(page.limit as usize);
    let next_cursor = match rows.last() {
        Some(last) if more => Some(encode_cursor(state, principal, currency, last.id)),
        _ => None,
    };
    Ok(TransactionsPage {
        rows,
        total,
        next_cursor,
    })
}

pub async fn revenue(state: &AppState, admin: &Principal) -> ApiResult<Vec<RevenueRow>> {
    let mut conn = state.db.acquire().await?;
    Ok(repo::fee_revenue(&mut conn, admin.tenant_id()).await?)
}
