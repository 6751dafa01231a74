//! `/api/marketplace/*` and `/api/favorites/*`.

use super::repo::{FavoriteEntry, ListingRow};
use super::service::{self, BrowseInput};
use crate::agents::domain::{
    ApprovalMode, Capability, HostingType, OnlineStatus, PricingModel, TransparencyLevel,
};
use crate::agents::views::money;
use crate::auth::principal::Principal;
use crate::error::{ApiResult, ErrorBody};
use crate::http::pagination::{Page, PageQuery};
use crate::http::responses::AuthErrors;
use crate::ids::AgentId;
use crate::state::AppState;
use crate::time_format;
use actix_web::{delete, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderSummary {
    pub display_name: String,
}

/// An agent as the marketplace shows it: public fields only.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListingView {
    #[schema(value_type = Uuid)]
    pub id: AgentId,
    pub name: String,
    pub slug: String,
    pub description: String,
    /// Present on the detail page only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long_description: Option<String>,
    pub capabilities: Vec<Capability>,
    pub categories: Vec<String>,
    pub pricing_model: PricingModel,
    #[schema(example = "1.00")]
    pub price_amount: String,
    pub currency: String,
    pub approval_mode: ApprovalMode,
    pub transparency_level: TransparencyLevel,
    pub hosting_type: HostingType,
    pub online_status: OnlineStatus,
    /// True while the agent holds a live connection (online or busy).
    pub online: bool,
    pub provider: ProviderSummary,
    #[schema(example = "4.50")]
    pub avg_rating: String,
    pub rating_count: i64,
    pub total_sessions: i64,
    pub completed_sessions: i64,
    #[serde(serialize_with = "time_format::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub published_at: DateTime<Utc>,
}

impl ListingView {
    fn new(l: ListingRow, with_long_description: bool) -> Self {
        let mut rating = l.avg_rating;
        rating.rescale(2);
        Self {
            id: l.agent_id,
            name: l.name,
            slug: l.slug,
            description: l.description,
            long_description: if with_long_description {
                l.long_description
            } else {
                None
            },
            capabilities: l.capabilities.0,
            categories: l.categories,
            pricing_model: l.pricing_model,
            price_amount: money(l.price_amount),
            currency: l.currency,
            approval_mode: l.approval_mode,
            transparency_level: l.transparency_level,
            hosting_type: l.hosting_type,
            online: l.online_status != OnlineStatus::Offline,
            online_status: l.online_status,
            provider: ProviderSummary {
                display_name: l.provider_name,
            },
            avg_rating: rating.to_string(),
            rating_count: l.rating_count,
            total_sessions: l.total_sessions,
            completed_sessions: l.completed_sessions,
            published_at: l.published_at,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct BrowseQuery {
    /// Full-text search over name, description and capabilities; tolerant of typos in names.
    pub search: Option<String>,
    /// A capability category (case-insensitive).
    pub category: Option<String>,
    /// `per_session`, `per_minute`, `per_token` or `fixed`.
    pub pricing_model: Option<String>,
    /// Decimal, inclusive.
    pub min_price: Option<String>,
    /// Decimal, inclusive.
    pub max_price: Option<String>,
    pub currency: Option<String>,
    /// `true`: only connected agents; `false`: only offline ones.
    pub online: Option<String>,
    /// `relevance` (default with search), `newest` (default), `price_asc`, `price_desc`, `popularity`, `rating`.
    pub sort: Option<String>,
    /// 1-based page number (default 1).
    #[param(value_type = Option<u32>, minimum = 1)]
    pub page: Option<String>,
    /// Items per page, 1-100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `nextCursor` of the previous page; `page` is then ignored.
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrowseResponse {
    pub data: Vec<ListingView>,
    /// Matching agents; exact when `totalIsExact`, else an estimate (see the API guide).
    pub total: i64,
    pub total_is_exact: bool,
    pub page: u32,
    pub limit: u32,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FavoriteView {
    #[schema(value_type = Uuid)]
    pub agent_id: AgentId,
    #[serde(serialize_with = "time_format::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub favorited_at: DateTime<Utc>,
    /// False when the agent has left the marketplace (then `agent` is absent).
    pub available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<ListingView>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FavoriteResult {
    pub success: bool,
    #[schema(value_type = Uuid)]
    pub agent_id: AgentId,
    /// True when this call changed anything (added, or removed).
    pub changed: bool,
}

/// Browse the marketplace: active agents only, filtered, sorted, paged (page/limit or cursor).
#[utoipa::path(
    tag = "marketplace",
    security(("bearer" = []), ("apiKey" = [])),
    params(BrowseQuery),
    responses(
        (status = 200, description = "A page of agents", body = BrowseResponse),
        (status = 400, description = "Invalid filter, sort, page, limit or cursor (VALIDATION_ERROR)", body = ErrorBody),
        AuthErrors,
    )
)]
#[get("/api/marketplace/browse")]
pub async fn browse(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<BrowseQuery>,
) -> ApiResult<web::Json<BrowseResponse>> {
    let query = query.into_inner();
    let page = PageQuery {
        page: query.page,
        limit: query.limit,
    }
    .parse()?;
    let input = BrowseInput {
        search: query.search,
        category: query.category,
        pricing_model: query.pricing_model,
        min_price: query.min_price,
        max_price: query.max_price,
        currency: query.currency,
        online: query.online,
        sort: query.sort,
        page,
        cursor: query.cursor,
    };
    let result = service::browse(&state, &principal, input).await?;
    Ok(web::Json(BrowseResponse {
        data: result
            .rows
            .into_iter()
            .map(|l| ListingView::new(l, false))
            .collect(),
        total: result.total,
        total_is_exact: result.total_is_exact,
        page: page.page,
        limit: page.limit,
        next_cursor: result.next_cursor,
    }))
}

/// One marketplace agent by slug (public fields only).
#[utoipa::path(
    tag = "marketplace",
    security(("bearer" = []), ("apiKey" = [])),
    params(("slug" = String, Path, description = "Agent slug")),
    responses(
        (status = 200, description = "The agent", body = ListingView),
        AuthErrors,
        (status = 404, description = "No active agent with this slug (NOT_FOUND)", body = ErrorBody),
    )
)]
#[get("/api/marketplace/agents/{slug}")]
pub async fn agent_detail(
    state: web::Data<AppState>,
    principal: Principal,
    slug: web::Path<String>,
) -> ApiResult<web::Json<ListingView>> {
    let listing = service::detail(&state, &principal, &slug).await?;
    Ok(web::Json(ListingView::new(listing, true)))
}

/// Favourite an agent (idempotent).
#[utoipa::path(
    tag = "favorites",
    security(("bearer" = []), ("apiKey" = [])),
    params(("agentId" = Uuid, Path, description = "Agent id")),
    responses(
        (status = 200, description = "Favourited (`changed` false when it already was)", body = FavoriteResult),
        (status = 400, description = "Malformed id (VALIDATION_ERROR)", body = ErrorBody),
        AuthErrors,
        (status = 404, description = "No such agent in the marketplace (NOT_FOUND)", body = ErrorBody),
    )
)]
#[post("/api/favorites/{agentId}")]
pub async fn add_favorite(
    state: web::Data<AppState>,
    principal: Principal,
    agent_id: web::Path<AgentId>,
) -> ApiResult<web::Json<FavoriteResult>> {
    let agent_id = agent_id.into_inner();
    let changed = service::add_favorite(&state, &principal, agent_id).await?;
    Ok(web::Json(FavoriteResult {
        success: true,
        agent_id,
        changed,
    }))
}

/// The caller's favourites, newest first.
#[utoipa::path(
    tag = "favorites",
    security(("bearer" = []), ("apiKey" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of favourites", body = Page<FavoriteView>),
        (status = 400, description = "Invalid page or limit (VALIDATION_ERROR)", body = ErrorBody),
        AuthErrors,
    )
)]
#[get("/api/favorites")]
pub async fn list_favorites(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<PageQuery>,
) -> ApiResult<web::Json<Page<FavoriteView>>> {
    let page = query.parse()?;
    let (rows, total) = service::list_favorites(&state, &principal, page).await?;
    let data = rows
        .into_iter()
        .map(
            |(
                FavoriteEntry {
                    agent_id,
                    favorited_at,
                },
                listing,
            )| FavoriteView {
                agent_id,
                favorited_at,
                available: listing.is_some(),
                agent: listing.map(|l| ListingView::new(l, false)),
            },
        )
        .collect();
    Ok(web::Json(Page::new(data, total, page)))
}

/// Remove a favourite (idempotent).
#[utoipa::path(
    tag = "favorites",
    security(("bearer" = []), ("apiKey" = [])),
    params(("agentId" = Uuid, Path, description = "Agent id")),
    responses(
        (status = 200, description = "Removed (`changed` false when it was not a favourite)", body = FavoriteResult),
        (status = 400, description = "Malformed id (VALIDATION_ERROR)", body = ErrorBody),
        AuthErrors,
    )
)]
#[delete("/api/favorites/{agentId}")]
pub async fn remove_favorite(
    state: web::Data<AppState>,
    principal: Principal,
    agent_id: web::Path<AgentId>,
) -> ApiResult<web::Json<FavoriteResult>> {
    let agent_id = agent_id.into_inner();
    let changed = service::remove_favorite(&state, &principal, agent_id).await?;
    Ok(web::Json(FavoriteResult {
        success: true,
        agent_id,
        changed,
    }))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(browse)
        .service(agent_detail)
        .service(list_favorites)
        .service(add_favorite)
        .service(remove_favorite);
}
