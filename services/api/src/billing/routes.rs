//! `/api/billing/*`: the caller's wallets, sandbox top-ups and transactions.

use super::domain::parse_currency;
use super::service::{self, TopupInput};
use super::views::{
    TopupView, TransactionView, TransactionsPageView, WalletSummaryView, WalletView,
};
use super::wallets;
use crate::auth::principal::Principal;
use crate::error::{ApiResult, ErrorBody};
use crate::http::extract::Json;
use crate::http::pagination::PageQuery;
use crate::http::responses::{AuthErrors, BodyErrors};
use crate::idempotency::Scope;
use crate::money::Currency;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WalletQuery {
    /// A currency of the marketplace (default: its first, e.g. `CNY`).
    pub currency: Option<String>,
}

/// The caller's balance in one currency, and all their wallets.
#[utoipa::path(
    tag = "billing",
    security(("bearer" = []), ("apiKey" = [])),
    params(WalletQuery),
    responses(
        (status = 200, description = "Balances (decimal strings)", body = WalletSummaryView),
        (status = 400, description = "Currency not used by this marketplace (VALIDATION_ERROR)", body = ErrorBody),
        AuthErrors,
    )
)]
#[get("/api/billing/wallet")]
pub async fn wallet(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<WalletQuery>,
) -> ApiResult<web::Json<WalletSummaryView>> {
    let currency = parse_currency(&principal.tenant, query.currency.as_deref())?;
    let rows = wallets::wallets(&state, &principal.tenant, principal.user_id).await?;
    let wallets: Vec<WalletView> = rows.iter().map(WalletView::from).collect();
    let balance = wallets
        .iter()
        .find(|w| currency == *w.currency)
        .map_or_else(|| "0.00".to_owned(), |w| w.balance.clone());
    Ok(web::Json(WalletSummaryView {
        balance,
        currency: currency.to_string(),
        wallets,
    }))
}

#[derive(Deserialize, Serialize, ToSchema)]
pub struct TopupRequest {
    /// A decimal string from "0.01" to "10000" with at most 2 decimals (not a JSON number).
    #[schema(value_type = String, example = "12.50")]
    pub amount: Option<serde_json::Value>,
    /// A currency of the marketplace (default: its first).
    #[schema(example = "USD")]
    pub currency: Option<String>,
}

/// Adds money to the caller's wallet. In the sandbox payment mode it is credited at once.
/// Send `Idempotency-Key` to make retries safe: a repeat returns the first response (with
/// `Idempotent-Replayed: true`) and moves no money.
#[utoipa::path(
    tag = "billing",
    security(("bearer" = []), ("apiKey" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 visible ASCII characters; a repeat replays the first response")),
    request_body = TopupRequest,
    responses(
        (status = 200, description = "Credited; `balance` is the new balance", body = TopupView),
        (status = 400, description = "Invalid amount or currency, malformed Idempotency-Key (VALIDATION_ERROR, INVALID_JSON)", body = ErrorBody),
        AuthErrors,
        (status = 403, description = "Top-ups disabled (TOPUPS_DISABLED)", body = ErrorBody),
        BodyErrors,
        (status = 422, description = "Idempotency-Key reused with another body (IDEMPOTENCY_KEY_REUSED)", body = ErrorBody),
        (status = 429, description = "Too many top-ups (RATE_LIMITED)", body = ErrorBody),
    )
)]
#[post("/api/billing/wallet/topup")]
pub async fn topup(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    Json(body): Json<TopupRequest>,
) -> ApiResult<HttpResponse> {
    let scope = Scope::from_request(&req, &principal, &body)?;
    let input = TopupInput {
        amount: body.amount.as_ref(),
        currency: body.currency.as_deref(),
    };
    let outcome = service::topup(&state, &principal, input, scope.as_ref()).await?;
    Ok(outcome.into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TransactionsQuery {
    /// Only this currency (default: all of the caller's wallets).
    pub currency: Option<String>,
    /// 1-based page number (default 1).
    #[param(value_type = Option<u32>, minimum = 1)]
    pub page: Option<String>,
    /// Items per page, 1-100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `nextCursor` of the previous page; `page` is then ignored.
    pub cursor: Option<String>,
}

/// The caller's wallet transactions, newest first: `topup`, `payment` (a session's hold),
/// `refund` (the unused hold back), `income` (a provider's share), `adjustment`.
#[utoipa::path(
    tag = "billing",
    security(("bearer" = []), ("apiKey" = [])),
    params(TransactionsQuery),
    responses(
        (status = 200, description = "A page of transactions", body = TransactionsPageView),
        (status = 400, description = "Invalid currency, page, limit or cursor (VALIDATION_ERROR)", body = ErrorBody),
        AuthErrors,
    )
)]
#[get("/api/billing/wallet/transactions")]
pub async fn transactions(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<TransactionsQuery>,
) -> ApiResult<web::Json<TransactionsPageView>> {
    let page = PageQuery {
        page: query.page.clone(),
        limit: query.limit.clone(),
    }
    .parse()?;
    let currency = match query.currency.as_deref() {
        Some(raw) => Some(parse_currency(&principal.tenant, Some(raw))?),
        None => None,
    };
    let result = wallets::transactions(
        &state,
        &principal,
        currency.as_ref().map(Currency::as_str),
        page,
        query.cursor.as_deref(),
    )
    .await?;
    Ok(web::Json(TransactionsPageView {
        data: result
            .rows
            .into_iter()
            .map(|row| TransactionView::new(row, &principal.tenant.posting_id_key))
            .collect(),
        total: result.total,
        page: page.page,
        limit: page.limit,
        next_cursor: result.next_cursor,
    }))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(wallet).service(topup).service(transactions);
}
