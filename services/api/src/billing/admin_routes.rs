//! `/api/admin/wallets/*` and `/api/admin/ledger/*`: a tenant admin adjusts wallets (audited),
//! reads fee revenue and settlements, and verifies the ledger's invariants.

use super::service::{self, AdjustmentInput};
use super::views::{
    AdjustmentView, LedgerReportView, RevenueListView, RevenueView, SettlementView,
    UserWalletsView, WalletView,
};
use super::wallets;
use crate::auth::principal::AdminPrincipal;
use crate::error::{ApiResult, ErrorBody};
use crate::http::extract::Json;
use crate::http::responses::{AdminErrors, AuthErrors, BodyErrors};
use crate::idempotency::Scope;
use crate::ids::{SessionId, UserId};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, Serialize, ToSchema)]
pub struct AdjustmentRequest {
    /// `credit` adds to the wallet, `debit` takes from it (never below zero).
    #[serde(rename = "type")]
    #[schema(example = "credit")]
    pub direction: Option<String>,
    /// A decimal string from "0.0001" to "1000000" with at most 4 decimals.
    #[schema(value_type = String, example = "5.00")]
    pub amount: Option<serde_json::Value>,
    /// A currency of the marketplace (default: its first).
    pub currency: Option<String>,
    /// Why; required, kept in the audit log.
    #[schema(example = "Goodwill credit for ticket 1234")]
    pub reason: Option<String>,
}

/// Credits or debits a user's wallet against the marketplace's adjustments account. Audited
/// with its amounts in /api/admin/audit. `Idempotency-Key` is honoured.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = []), ("apiKey" = [])),
    params(
        ("userId" = Uuid, Path, description = "The user whose wallet changes"),
        ("Idempotency-Key" = Option<String>, Header, description = "1-255 visible ASCII characters; a repeat replays the first response"),
    ),
    request_body = AdjustmentRequest,
    responses(
        (status = 200, description = "Adjusted; `balance` is the new balance", body = AdjustmentView),
        (status = 400, description = "Invalid type, amount, currency or reason (VALIDATION_ERROR, INVALID_JSON)", body = ErrorBody),
        AuthErrors,
        (status = 402, description = "A debit larger than the balance (INSUFFICIENT_BALANCE)", body = ErrorBody),
        AdminErrors,
        (status = 404, description = "No such user in this marketplace (NOT_FOUND)", body = ErrorBody),
        BodyErrors,
        (status = 422, description = "Idempotency-Key reused with another body (IDEMPOTENCY_KEY_REUSED)", body = ErrorBody),
    )
)]
#[post("/api/admin/wallets/{userId}/adjustments")]
pub async fn adjust(
    req: HttpRequest,
    state: web::Data<AppState>,
    AdminPrincipal(admin): AdminPrincipal,
    user: web::Path<UserId>,
    Json(body): Json<AdjustmentRequest>,
) -> ApiResult<HttpResponse> {
    let scope = Scope::from_request(&req, &admin, &body)?;
    let input = AdjustmentInput {
        direction: body.direction.as_deref(),
        amount: body.amount.as_ref(),
        currency: body.currency.as_deref(),
        reason: body.reason.as_deref(),
    };
    let outcome = service::adjust(&state, &admin, user.into_inner(), input, scope.as_ref()).await?;
    Ok(outcome.into_response())
}

/// A user's wallets.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = []), ("apiKey" = [])),
    params(("userId" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The user's balances", body = UserWalletsView),
        (status = 400, description = "Malformed id (VALIDATION_ERROR)", body = ErrorBody),
        AuthErrors,
        AdminErrors,
        (status = 404, description = "No such user in this marketplace (NOT_FOUND)", body = ErrorBody),
    )
)]
#[get("/api/admin/wallets/{userId}")]
pub async fn user_wallets(
    state: web::Data<AppState>,
    AdminPrincipal(admin): AdminPrincipal,
    user: web::Path<UserId>,
) -> ApiResult<web::Json<UserWalletsView>> {
    let user = user.into_inner();
    let rows = wallets::user_wallets(&state, &admin, user).await?;
    Ok(web::Json(UserWalletsView {
        user_id: user,
        wallets: rows.iter().map(WalletView::from).collect(),
    }))
}

/// The marketplace's platform-fee revenue per currency (the sum of its fee entries).
#[utoipa::path(
    tag = "admin",
    security(("bearer" = []), ("apiKey" = [])),
    responses(
        (status = 200, description = "Revenue per currency", body = RevenueListView),
        AuthErrors,
        AdminErrors,
    )
)]
#[get("/api/admin/ledger/revenue")]
pub async fn revenue(
    state: web::Data<AppState>,
    AdminPrincipal(admin): AdminPrincipal,
) -> ApiResult<web::Json<RevenueListView>> {
    let rows = wallets::revenue(&state, &admin).await?;
    Ok(web::Json(RevenueListView {
        data: rows.into_iter().map(RevenueView::from).collect(),
    }))
}

/// Checks every ledger invariant on one snapshot and reports each breach. `ok` is false when
/// any check fails; the status is 200 either way. Scans the marketplace's ledger.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = []), ("apiKey" = [])),
    responses(
        (status = 200, description = "The report", body = LedgerReportView),
        AuthErrors,
        AdminErrors,
        (status = 503, description = "The audit exceeded the statement timeout (SERVICE_UNAVAILABLE)", body = ErrorBody),
    )
)]
#[get("/api/admin/ledger/verify")]
pub async fn verify(
    state: web::Data<AppState>,
    AdminPrincipal(admin): AdminPrincipal,
) -> ApiResult<web::Json<LedgerReportView>> {
    Ok(web::Json(service::verify(&state, &admin).await?))
}

/// A session's settlement record.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = []), ("apiKey" = [])),
    params(("sessionId" = Uuid, Path, description = "Session id")),
    responses(
        (status = 200, description = "The settlement", body = SettlementView),
        (status = 400, description = "Malformed id (VALIDATION_ERROR)", body = ErrorBody),
        AuthErrors,
        AdminErrors,
        (status = 404, description = "Not settled, or no such session in this marketplace (NOT_FOUND)", body = ErrorBody),
    )
)]
#[get("/api/admin/ledger/settlements/{sessionId}")]
pub async fn settlement(
    state: web::Data<AppState>,
    AdminPrincipal(admin): AdminPrincipal,
    session: web::Path<SessionId>,
) -> ApiResult<web::Json<SettlementView>> {
    Ok(web::Json(
        service::settlement(&state, &admin, session.into_inner()).await?,
    ))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(adjust)
        .service(user_wallets)
        .service(revenue)
        .service(verify)
        .service(settlement);
}
