//! Marketplace use-cases: browse, agent detail, favourites.

use super::cursor;
use super::repo::{self, BrowseRow, Filter, ListingRow, Position, Sort};
use crate::agents::domain::PricingModel;
use crate::auth::principal::Principal;
use crate::error::{ApiError, ApiResult};
use crate::http::pagination::{MAX_LIMIT, PageRequest};
use crate::ids::AgentId;
use crate::money::parse_price;
use crate::state::AppState;
use sha2::{Digest, Sha256};

/// Offsets beyond this must use the cursor.
/// Filtered totals are counted exactly when the planner expects at most this many matches ...
pub const EXACT_COUNT_BELOW: i64 = 200;
/// ... and the count stops here all the same, in case the estimate was far off.
pub const COUNT_CAP: i64 = 1_000;

pub struct BrowseInput {
    pub search: Option<String>,
    pub category: Option<String>,
    pub pricing_model: Option<String>,
    pub min_price: Option<String>,
    pub max_price: Option<String>,
    pub currency: Option<String>,
    pub online: Option<String>,
    pub sort: Option<String>,
    pub page: PageRequest,
    pub cursor: Option<String>,
}

pub struct BrowsePage {
    pub rows: Vec<ListingRow>,
    pub total: i64,
    pub total_is_exact: bool,
    pub next_cursor: Option<String>,
}

fn non_empty(raw: Option<String>) -> Option<String> {
    raw.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn parse_filter(input: &BrowseInput) -> ApiResult<(Filter, Sort)> {
    let search = non_empty(input.search.clone());
    if search.as_ref().is_some_and(|s| s.chars().count() > 200) {
        return Err(ApiError::field("search", "must be at most 200 characters"));
    }
    let price = |field: &str, raw: Option<String>| {
        non_empty(raw)
            .map(|p| {
                parse_price(&p)
                    .map_err(|_| ApiError::field(field, "must be a decimal such as 1.50"))
            })
            .transpose()
    };
    let filter = Filter {
        search: search.clone(),
        category: non_empty(input.category.clone()).map(|c| c.to_lowercase()),
        pricing_model: non_empty(input.pricing_model.clone())
            .map(|m| PricingModel::parse(&m))
            .transpose()?,
        min_price: price("minPrice", input.min_price.clone())?,
        max_price: price("maxPrice", input.max_price.clone())?,
        currency: non_empty(input.currency.clone()).map(|c| c.to_uppercase()),
        online: match non_empty(input.online.clone()).as_deref() {
            None => None,
            Some("true" | "1") => Some(true),
            Some("false" | "0") => Some(false),
            Some(_) => return Err(ApiError::field("online", "must be true or false")),
        },
    };
    let sort = match non_empty(input.sort.clone()).as_deref() {
        None if search.is_some() => Sort::Relevance,
        None => Sort::Newest,
        Some("relevance") => Sort::Relevance,
        Some("newest") => Sort::Newest,
        Some("price_asc") => Sort::PriceAsc,
        Some("price_desc") => Sort::PriceDesc,
        Some("popularity" | "popular") => Sort::Popularity,
        Some("rating") => Sort::Rating,
        Some(_) => {
            return Err(ApiError::field(
                "sort",
                "must be relevance, newest, price_asc, price_desc, popularity or rating",
            ));
        }
    };
    Ok((filter, sort))
}

fn fingerprint(filter: &Filter, sort: Sort) -> String {
    let text = format!("{filter:?}|{sort:?}");
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

pub async fn browse(
    state: &AppState,
    principal: &Principal,
    input: BrowseInput,
) -> ApiResult<BrowsePage> {
    let tenant = principal.tenant_id();
    let (filter, sort) = parse_filter(&input)?;
    let print = fingerprint(&filter, sort);
    let owner = cursor::Owner {
        tenant,
        user: principal.user_id,
        fingerprint: &print,
    };
    let limit = i64::from(input.page.limit.min(MAX_LIMIT));
    let position = match &input.cursor {
        Some(raw) if !raw.trim().is_empty() => cursor::decode(&state.cursors, raw, owner, sort)?,
        _ => Position::Offset(input.page.bounded_offset()?),
    };
    let relevance = sort == Sort::Relevance && filter.search.is_some();

    let mut conn = state.db.acquire().await?;
    let mut rows: Vec<BrowseRow> =
        repo::browse(&mut conn, tenant, &filter, sort, &position, limit + 1).await?;
    let start = match position {
        Position::Offset(o) => o,
        Position::After { .. } => 0,
    };
    if relevance {
        // Never show the extra candidate fetched past the window.
        rows.truncate((repo::RELEVANCE_WINDOW - start).max(0) as usize);
    }
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = match rows.last() {
        // Relevance has no index order to seek in: its cursor is an offset within the ranked window.
        Some(_) if more && relevance && start + limit < repo::RELEVANCE_WINDOW => Some(
            cursor::encode(&state.cursors, owner, &Position::Offset(start + limit)),
        ),
        Some(last) if more && !relevance => Some(cursor::encode(
            &state.cursors,
            owner,
            &Position::After {
                key: repo::sort_key(sort, &last.listing),
                id: last.listing.agent_id,
            },
        )),
        _ => None,
    };
    let window = rows.first().and_then(|r| r.candidates);
    let (total, total_is_exact) = if filter.is_empty() {
        (repo::listed_count(&mut conn, tenant).await?, true)
    } else if let Some(candidates) = window {
        // The ranked window already counted its candidates: no second scan.
        (
            candidates.min(repo::RELEVANCE_WINDOW),
            candidates <= repo::RELEVANCE_WINDOW,
        )
    } else if let (Position::Offset(offset), false) = (&position, more)
        && (*offset == 0 || !rows.is_empty())
    {
        // A short page by offset is the end of the matches: the total is known without counting.
        (offset + rows.len() as i64, true)
    } else {
        // Counting every match of a broad filter costs a scan per request: count exactly only
        // when the planner expects few matches, else report its estimate (never below what this
        // walk has already seen).
        let seen = start + rows.len() as i64 + i64::from(more);
        let estimate = repo::estimate_matching(&mut conn, tenant, &filter).await?;
        if estimate <= EXACT_COUNT_BELOW {
            match repo::count_matching(&mut conn, tenant, &filter, COUNT_CAP).await? {
                Some(n) => (n, true),
                None => (COUNT_CAP.max(seen), false),
            }
        } else {
            (estimate.max(seen), false)
        }
    };
    Ok(BrowsePage {
        rows: rows.into_iter().map(|r| r.listing).collect(),
        total,
        total_is_exact,
        next_cursor,
    })
}

pub async fn detail(state: &AppState, principal: &Principal, slug: &str) -> ApiResult<ListingRow> {
    let mut conn = state.db.acquire().await?;
    repo::find_by_slug(&mut conn, principal.tenant_id(), slug.trim())
        .await?
        .ok_or_else(|| ApiError::not_found("Agent"))
}

/// Idempotent; only agents currently in the marketplace can be favourited.
pub async fn add_favorite(
    state: &AppState,
    principal: &Principal,
    agent: AgentId,
) -> ApiResult<bool> {
    let mut conn = state.db.acquire().await?;
    if !repo::is_listed(&mut conn, principal.tenant_id(), agent).await? {
        return Err(ApiError::not_found("Agent"));
    }
    Ok(repo::add_favorite(
        &mut conn,
        principal.tenant_id(),
        principal.user_id,
        agent,
        state.clock.now(),
    )
    .await?)
}

pub async fn remove_favorite(
    state: &AppState,
    principal: &Principal,
    agent: AgentId,
) -> ApiResult<bool> {
    let mut conn = state.db.acquire().await?;
    Ok(repo::remove_favorite(&mut conn, principal.tenant_id(), principal.user_id, agent).await?)
}

pub async fn list_favorites(
    state: &AppState,
    principal: &Principal,
    page: PageRequest,
) -> ApiResult<(Vec<repo::Favorite>, i64)> {
    let mut conn = state.db.acquire().await?;
    Ok(repo::list_favorites(
        &mut conn,
        principal.tenant_id(),
        principal.user_id,
        page.limit(),
        page.offset(),
    )
    .await?)
}
