//! Request-level billing use-cases: they check the payment mode and rate limit, parse the
//! amounts, and run the money movement once per idempotency key.

use super::audit_repo::{self, Invariant};
use super::domain::{ADJUSTMENT_RULE, TOPUP_RULE, parse_currency};
use super::holds;
use super::views::{InvariantCheckView, LedgerReportView, SettlementView};
use super::wallets::{self, Adjustment, Direction};
use crate::auth::principal::Principal;
use crate::config::PaymentMode;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::idempotency::{self, Outcome, Scope};
use crate::ids::{SessionId, UserId};
use crate::money::{Money, parse_amount};
use crate::state::AppState;
use actix_web::http::StatusCode;
use serde_json::Value;
use sqlx::Executor;

pub struct TopupInput<'a> {
    pub amount: Option<&'a Value>,
    pub currency: Option<&'a str>,
}

pub async fn topup(
    state: &AppState,
    principal: &Principal,
    input: TopupInput<'_>,
    scope: Option<&Scope>,
) -> ApiResult<Outcome> {
    if let Some(replayed) = idempotency::replay(state, scope).await? {
        return Ok(replayed);
    }
    if state.settings.billing.payment_mode == PaymentMode::Disabled {
        return Err(ApiError::new(
            ErrorCode::TopupsDisabled,
            "Top-ups are disabled on this marketplace",
        ));
    }
    state
        .rate_limiter
        .check(
            crate::ratelimit::Scope::Tenant(principal.tenant_id()),
            "topup",
            &principal.user_id.to_string(),
            state.settings.rate_limits.topup,
        )
        .await?;
    let amount = parse_amount("amount", input.amount, TOPUP_RULE)?;
    let currency = parse_currency(&principal.tenant, input.currency)?;
    let now = state.clock.now();
    idempotency::run(state, scope, StatusCode::OK, async |conn| {
        wallets::topup(
            conn,
            &principal.tenant,
            principal.user_id,
            &Money::new(amount, currency.clone()),
            now,
        )
        .await
    })
    .await
}

pub struct AdjustmentInput<'a> {
    pub direction: Option<&'a str>,
    pub amount: Option<&'a Value>,
    pub currency: Option<&'a str>,
    pub reason: Option<&'a str>,
}

pub async fn adjust(
    state: &AppState,
    admin: &Principal,
    user: UserId,
    input: AdjustmentInput<'_>,
    scope: Option<&Scope>,
) -> ApiResult<Outcome> {
    if let Some(replayed) = idempotency::replay(state, scope).await? {
        return Ok(replayed);
    }
    let direction = match input.direction {
        Some("credit") => Direction::Credit,
        Some("debit") => Direction::Debit,
        _ => return Err(ApiError::field("type", "must be credit or debit")),
    };
    let amount = parse_amount("amount", input.amount, ADJUSTMENT_RULE)?;
    let currency = parse_currency(&admin.tenant, input.currency)?;
    let reason = input.reason.map(str::trim).unwrap_or_default();
    if reason.is_empty() || reason.chars().count() > 500 || reason.chars().any(char::is_control) {
        return Err(ApiError::field(
            "reason",
            "is required: 1-500 characters without control characters",
        ));
    }
    let adjustment = Adjustment {
        user,
        direction,
        money: Money::new(amount, currency),
        reason,
    };
    let now = state.clock.now();
    idempotency::run(state, scope, StatusCode::OK, async |conn| {
        wallets::adjust(conn, admin, &adjustment, now).await
    })
    .await
}

/// Every invariant, checked on one consistent snapshot of the tenant's ledger.
#[tracing::instrument(name = "billing.verify", skip_all)]
pub async fn verify(state: &AppState, admin: &Principal) -> ApiResult<LedgerReportView> {
    let mut tx = state.db.begin().await?;
    tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?;
    let mut checks = Vec::with_capacity(Invariant::ALL.len());
    for invariant in Invariant::ALL {
        let violations = audit_repo::violations(&mut tx, admin.tenant_id(), invariant).await?;
        checks.push(InvariantCheckView::new(invariant, violations));
    }
    tx.commit().await?;
    Ok(LedgerReportView {
        ok: checks.iter().all(|c| c.ok),
        checks,
        checked_at: state.clock.now(),
    })
}

pub async fn settlement(
    state: &AppState,
    admin: &Principal,
    session: SessionId,
) -> ApiResult<SettlementView> {
    let mut conn = state.db.acquire().await?;
    holds::settlement(&mut conn, &admin.tenant, session)
        .await?
        .map(|s| SettlementView::from(&s))
        .ok_or_else(|| ApiError::not_found("Settlement"))
}
