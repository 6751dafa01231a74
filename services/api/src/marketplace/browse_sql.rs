//! The browse query: filters, sorts, keyset and offset positions built into one SQL statement
//! with `QueryBuilder` (every value bound), its plan for tests, and the capped counts. Every
//! function takes the tenant. Re-exported by `repo`.

//! profiles inside their transactions; browse with keyset pagination; favourites.

use super::repo::{LISTING_COLUMNS, ListingRow};
use crate::agents::domain::PricingModel;
use crate::ids::{AgentId, TenantId};
use rust_decimal::Decimal;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder};

/// Relevance ranks at most this many matches: the most popular ones (one more is fetched to
/// know whether the window is full).
pub const RELEVANCE_WINDOW: i64 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Relevance,
    Newest,
    PriceAsc,
    PriceDesc,
    Popularity,
    Rating,
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub search: Option<String>,
    pub category: Option<String>,
    pub pricing_model: Option<PricingModel>,
    pub min_price: Option<Decimal>,
    pub max_price: Option<Decimal>,
    pub currency: Option<String>,
    pub online: Option<bool>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.search.is_none()
            && self.category.is_none()
            && self.pricing_model.is_none()
            && self.min_price.is_none()
            && self.max_price.is_none()
            && self.currency.is_none()
            && self.online.is_none()
    }
}

/// Where a page starts: an offset (first pages, relevance), or after the last row of the previous
/// page in the sort order (keyset: deep pages cost the same as the first).
#[derive(Debug, Clone)]
pub enum Position {
    Offset(i64),
    After { key: String, id: AgentId },
}

#[derive(Debug, sqlx::FromRow)]
pub struct BrowseRow {
    #[sqlx(flatten)]
    pub listing: ListingRow,
    pub score: f64,
    /// Relevance only: how many candidates the ranked window holds (at most RELEVANCE_WINDOW).
    pub candidates: Option<i64>,
}

/// The sort key of a row as the cursor stores it.
pub fn sort_key(sort: Sort, row: &ListingRow) -> String {
    match sort {
        Sort::Newest => row.published_at.to_rfc3339(),
        Sort::PriceAsc | Sort::PriceDesc => row.price_amount.to_string(),
        Sort::Popularity | Sort::Relevance => row.total_sessions.to_string(),
        Sort::Rating => row.avg_rating.to_string(),
    }
}

/// `WHERE ...` for the tenant and the filters; shared by browse and the capped count.
fn push_filters(q: &mut QueryBuilder<Postgres>, tenant: TenantId, filter: &Filter) {
    q.push(" WHERE tenant_id = ");
    q.push_bind(tenant);
    if let Some(text) = &filter.search {
        q.push(" AND (search_vector @@ websearch_to_tsquery('simple', ");
        q.push_bind(text.clone());
        q.push(") OR ");
        q.push_bind(text.to_lowercase());
        q.push(" <% search_text)");
    }
    if let Some(category) = &filter.category {
        q.push(" AND categories @> ARRAY[");
        q.push_bind(category.clone());
        q.push("]::text[]");
    }
    if let Some(model) = filter.pricing_model {
        q.push(" AND pricing_model = ");
        q.push_bind(model);
    }
    if let Some(min) = filter.min_price {
        q.push(" AND price_amount >= ");
        q.push_bind(min);
    }
    if let Some(max) = filter.max_price {
        q.push(" AND price_amount <= ");
        q.push_bind(max);
    }
    if let Some(currency) = &filter.currency {
        q.push(" AND currency = ");
        q.push_bind(currency.clone());
    }
    // Literals, not binds: the partial index listings_online is chosen only when the planner sees
    // its predicate (`online_status <> 'offline'`) in the query text.
    match filter.online {
        Some(true) => {
            q.push(" AND online_status <> 'offline'");
        }
        Some(false) => {
            q.push(" AND online_status = 'offline'");
        }
        None => {}
    }
}

/// Builds the browse query. The same builder backs `explain_browse`, so the plan test checks
/// exactly the SQL that serves requests.
fn browse_query(
    tenant: TenantId,
    filter: &Filter,
    sort: Sort,
    position: &Position,
    limit: i64,
    explain: bool,
) -> QueryBuilder<Postgres> {
    let mut q = QueryBuilder::new(if explain {
        "EXPLAIN (FORMAT JSON) "
    } else {
        ""
    });
    let relevance = sort == Sort::Relevance && filter.search.is_some();
    if relevance {
        // Ranking scores every candidate, and a broad term can match a large share of the
        // catalogue: rank only the RELEVANCE_WINDOW most popular matches (an index-ordered scan
        // that stops early) and page within them.
        q.push("SELECT *, count(*) OVER () AS candidates FROM (");
    }
    q.push("SELECT ");
    q.push(LISTING_COLUMNS);
    match &filter.search {
        Some(text) => {
            q.push(", (ts_rank(search_vector, websearch_to_tsquery('simple', ");
            q.push_bind(text.clone());
            q.push(")) + word_similarity(");
            q.push_bind(text.to_lowercase());
            q.push(", search_text))::float8 AS score");
        }
        None => {
            q.push(", 0::float8 AS score");
        }
    }
    if !relevance {
        q.push(", NULL::bigint AS candidates");
    }
    q.push(" FROM listings");
    push_filters(&mut q, tenant, filter);
    if let Position::After { key, id } = position
        && !relevance
    {
        let (columns, cast, op) = match sort {
            Sort::Newest => ("published_at, agent_id", "timestamptz", "<"),
            Sort::PriceAsc => ("price_amount, agent_id", "numeric", ">"),
            Sort::PriceDesc => ("price_amount, agent_id", "numeric", "<"),
            Sort::Popularity | Sort::Relevance => ("total_sessions, agent_id", "bigint", "<"),
            Sort::Rating => ("avg_rating, agent_id", "numeric", "<"),
        };
        q.push(format!(" AND ({columns}) {op} ("));
        q.push_bind(key.clone());
        q.push(format!("::{cast}, "));
        q.push_bind(*id);
        q.push(")");
    }
    if relevance {
        q.push(" ORDER BY total_sessions DESC, agent_id DESC LIMIT ");
        q.push_bind(RELEVANCE_WINDOW + 1);
        q.push(") candidates");
    }
    q.push(match sort {
        Sort::Relevance if relevance => " ORDER BY score DESC, agent_id DESC",
        Sort::Newest => " ORDER BY published_at DESC, agent_id DESC",
        Sort::PriceAsc => " ORDER BY price_amount ASC, agent_id ASC",
        Sort::PriceDesc => " ORDER BY price_amount DESC, agent_id DESC",
        Sort::Popularity | Sort::Relevance => " ORDER BY total_sessions DESC, agent_id DESC",
        Sort::Rating => " ORDER BY avg_rating DESC, agent_id DESC",
    });
    q.push(" LIMIT ");
    q.push_bind(limit);
    if let Position::Offset(offset) = position
        && *offset > 0
    {
        q.push(" OFFSET ");
        q.push_bind(*offset);
    }
    q
}

#[tracing::instrument(name = "db.listing_browse", skip(conn, filter))]
pub async fn browse(
    conn: &mut PgConnection,
    tenant: TenantId,
    filter: &Filter,
    sort: Sort,
    position: &Position,
    limit: i64,
) -> sqlx::Result<Vec<BrowseRow>> {
    browse_query(tenant, filter, sort, position, limit, false)
        .build_query_as()
        .fetch_all(conn)
        .await
}

/// The plan Postgres chooses for a browse request (`EXPLAIN (FORMAT JSON)`), for plan tests.
pub async fn explain_browse(
    conn: &mut PgConnection,
    tenant: TenantId,
    filter: &Filter,
    sort: Sort,
    position: &Position,
    limit: i64,
) -> sqlx::Result<serde_json::Value> {
    let plan: Json<serde_json::Value> = browse_query(tenant, filter, sort, position, limit, true)
        .build_query_scalar()
        .fetch_one(conn)
        .await?;
    Ok(plan.0)
}

/// The planner's estimate of how many listings match (planning only, no scan).
#[tracing::instrument(name = "db.listing_estimate_matching", skip(conn, filter))]
pub async fn estimate_matching(
    conn: &mut PgConnection,
    tenant: TenantId,
    filter: &Filter,
) -> sqlx::Result<i64> {
    let mut q = QueryBuilder::new("EXPLAIN (FORMAT JSON) SELECT 1 FROM listings");
    push_filters(&mut q, tenant, filter);
    let plan: Json<serde_json::Value> = q.build_query_scalar().fetch_one(conn).await?;
    Ok(plan.0[0]["Plan"]["Plan Rows"]
        .as_f64()
        .unwrap_or(0.0)
        .round() as i64)
}

/// How many listings match, counting at most `cap + 1` rows (so a filter over a huge catalogue
/// stays cheap); `None` past the cap.
#[tracing::instrument(name = "db.listing_count_matching", skip(conn, filter))]
pub async fn count_matching(
    conn: &mut PgConnection,
    tenant: TenantId,
    filter: &Filter,
    cap: i64,
) -> sqlx::Result<Option<i64>> {
    let mut q = QueryBuilder::new("SELECT count(*) FROM (SELECT 1 FROM listings");
    push_filters(&mut q, tenant, filter);
    q.push(" LIMIT ");
    q.push_bind(cap + 1);
    q.push(") matching");
    let n: i64 = q.build_query_scalar().fetch_one(conn).await?;
    Ok((n <= cap).then_some(n))
}
