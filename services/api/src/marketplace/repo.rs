//! Listing SQL: the denormalised `listings` table that browse reads, kept in step with agents and
//! profiles inside their transactions; browse with keyset pagination; favourites.

use crate::agents::domain::{
    ApprovalMode, Capability, HostingType, OnlineStatus, PricingModel, TransparencyLevel,
};
use crate::ids::{AgentId, TenantId, UserId};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;
use sqlx::types::Json;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListingRow {
    pub agent_id: AgentId,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub long_description: Option<String>,
    pub capabilities: Json<Vec<Capability>>,
    pub categories: Vec<String>,
    pub pricing_model: PricingModel,
    pub price_amount: Decimal,
    pub currency: String,
    pub approval_mode: ApprovalMode,
    pub transparency_level: TransparencyLevel,
    pub hosting_type: HostingType,
    pub online_status: OnlineStatus,
    pub provider_name: String,
    pub total_sessions: i64,
    pub completed_sessions: i64,
    pub rating_count: i64,
    pub avg_rating: Decimal,
    pub published_at: DateTime<Utc>,
}

pub(super) const LISTING_COLUMNS: &str = "agent_id, slug, name, description, long_description, capabilities, categories, \
     pricing_model, price_amount, currency, approval_mode, transparency_level, hosting_type, online_status, \
     provider_name, total_sessions, completed_sessions, rating_count, avg_rating, published_at";

/// Publishes (or refreshes) the agent's listing from its agent, profile and owner rows.
/// Keeps the per-tenant count exact.
#[tracing::instrument(name = "db.listing_upsert", skip(conn))]
pub async fn upsert_listing(
    conn: &mut PgConnection,
    tenant: TenantId,
    agent: AgentId,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let inserted: bool = sqlx::query_scalar(
        "INSERT INTO listings AS l (agent_id, tenant_id, slug, name, description, long_description, capabilities, categories,
             pricing_model, price_amount, currency, approval_mode, transparency_level, hosting_type, online_status,
             provider_name, total_sessions, completed_sessions, rating_sum, rating_count, published_at, search_vector)
         SELECT a.id, a.tenant_id, a.slug, a.name, a.description, a.long_description, a.capabilities,
             ARRAY(SELECT DISTINCT lower(c->>'category') FROM jsonb_array_elements(a.capabilities) c
                   WHERE coalesce(c->>'category', '') <> ''),
             p.pricing_model, p.price_amount, p.currency, p.approval_mode, p.transparency_level, p.hosting_type,
             a.online_status, u.name, p.total_sessions, p.completed_sessions, p.rating_sum, p.rating_count, $3,
             setweight(to_tsvector('simple', a.name || ' ' || replace(a.slug, '-', ' ')), 'A')
             || setweight(to_tsvector('simple', a.description), 'B')
             || setweight(to_tsvector('simple', coalesce(a.long_description, '') || ' ' || coalesce((
                    SELECT string_agg(concat_ws(' ', c->>'category', c->>'name', c->>'description',
                        (SELECT string_agg(t, ' ') FROM jsonb_array_elements_text(coalesce(c->'tags', '[]'::jsonb)) t)), ' ')
                    FROM jsonb_array_elements(a.capabilities) c), '')), 'C')
         FROM agents a
         JOIN provider_profiles p ON p.tenant_id = a.tenant_id AND p.agent_id = a.id
         JOIN users u ON u.tenant_id = a.tenant_id AND u.id = a.owner_id
         WHERE a.tenant_id = $1 AND a.id = $2
         ON CONFLICT (agent_id) DO UPDATE SET slug = EXCLUDED.slug, name = EXCLUDED.name,
             description = EXCLUDED.description, long_description = EXCLUDED.long_description,
             capabilities = EXCLUDED.capabilities, categories = EXCLUDED.categories,
             pricing_model = EXCLUDED.pricing_model, price_amount = EXCLUDED.price_amount, currency = EXCLUDED.currency,
             approval_mode = EXCLUDED.approval_mode, transparency_level = EXCLUDED.transparency_level,
             hosting_type = EXCLUDED.hosting_type, online_status = EXCLUDED.online_status,
             provider_name = EXCLUDED.provider_name, total_sessions = EXCLUDED.total_sessions,
             completed_sessions = EXCLUDED.completed_sessions, rating_sum = EXCLUDED.rating_sum,
             rating_count = EXCLUDED.rating_count, search_vector = EXCLUDED.search_vector
         WHERE l.tenant_id = EXCLUDED.tenant_id
         RETURNING (xmax = 0)",
    )
    .bind(tenant)
    .bind(agent)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    if inserted {
        adjust_count(conn, tenant, 1).await?;
    }
    Ok(())
}

/// The listing's online status after a presence change: the agent's own status (its opt-in)
/// while a `/ws/agent` socket is held, `offline` otherwise. No-op when the agent is not listed.
#[tracing::instrument(name = "db.listing_presence", skip(conn))]
pub async fn set_listing_presence(
    conn: &mut PgConnection,
    tenant: TenantId,
    agent: AgentId,
    connected: bool,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE listings l
         SET online_status = CASE WHEN $3 THEN a.online_status ELSE $4 END
         FROM agents a
         WHERE l.tenant_id = $1 AND l.agent_id = $2 AND a.tenant_id = l.tenant_id AND a.id = l.agent_id
           AND l.online_status IS DISTINCT FROM (CASE WHEN $3 THEN a.online_status ELSE $4 END)",
    )
    .bind(tenant)
    .bind(agent)
    .bind(connected)
    .bind(OnlineStatus::Offline)
    .execute(conn)
    .await
    .map(|_| ())
}

/// A page of listings shown online, across tenants, after `(tenant, agent)`: what the presence
/// reconciler checks against Redis.
#[tracing::instrument(name = "db.listings_shown_online", skip(conn))]
pub async fn listings_shown_online(
    conn: &mut PgConnection,
    after: Option<(TenantId, AgentId)>,
    limit: i64,
) -> sqlx::Result<Vec<(TenantId, AgentId)>> {
    sqlx::query_as(
        "SELECT tenant_id, agent_id FROM listings
         WHERE online_status <> 'offline' AND ($1::uuid IS NULL OR (tenant_id, agent_id) > ($1, $2))
         ORDER BY tenant_id, agent_id LIMIT $3",
    )
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// One more session on the listing's counters (popularity sort, completion); no-op when the
/// agent is not listed.
#[tracing::instrument(name = "db.listing_count_session", skip(conn))]
pub async fn count_listing_session(
    conn: &mut PgConnection,
    tenant: TenantId,
    agent: AgentId,
    completed: bool,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE listings
         SET total_sessions = total_sessions + 1,
             completed_sessions = completed_sessions + CASE WHEN $3 THEN 1 ELSE 0 END
         WHERE tenant_id = $1 AND agent_id = $2",
    )
    .bind(tenant)
    .bind(agent)
    .bind(completed)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Takes the agent out of the marketplace (no-op when it is not listed).
#[tracing::instrument(name = "db.listing_delete", skip(conn))]
pub async fn delete_listing(
    conn: &mut PgConnection,
    tenant: TenantId,
    agent: AgentId,
) -> sqlx::Result<()> {
    let deleted = sqlx::query("DELETE FROM listings WHERE tenant_id = $1 AND agent_id = $2")
        .bind(tenant)
        .bind(agent)
        .execute(&mut *conn)
        .await?;
    if deleted.rows_affected() == 1 {
        adjust_count(conn, tenant, -1).await?;
    }
    Ok(())
}

async fn adjust_count(conn: &mut PgConnection, tenant: TenantId, delta: i64) -> sqlx::Result<()> {
    // Postgres checks CHECK constraints on the proposed row of an upsert too, so only
    // increments may insert; a decrement always follows an increment and updates.
    let sql = if delta > 0 {
        "INSERT INTO listing_counts (tenant_id, listed) VALUES ($1, $2)
         ON CONFLICT (tenant_id) DO UPDATE SET listed = listing_counts.listed + EXCLUDED.listed"
    } else {
        "UPDATE listing_counts SET listed = listed + $2 WHERE tenant_id = $1"
    };
    sqlx::query(sql)
        .bind(tenant)
        .bind(delta)
        .execute(conn)
        .await
        .map(|_| ())
}

#[tracing::instrument(name = "db.listing_count", skip(conn))]
pub async fn listed_count(conn: &mut PgConnection, tenant: TenantId) -> sqlx::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT listed FROM listing_counts WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_optional(conn)
            .await?
            .unwrap_or(0),
    )
}

#[tracing::instrument(name = "db.listing_by_slug", skip(conn))]
pub async fn find_by_slug(
    conn: &mut PgConnection,
    tenant: TenantId,
    slug: &str,
) -> sqlx::Result<Option<ListingRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {LISTING_COLUMNS} FROM listings WHERE tenant_id = $1 AND slug = $2"
    )))
    .bind(tenant)
    .bind(slug)
    .fetch_optional(conn)
    .await
}

#[tracing::instrument(name = "db.listing_exists", skip(conn))]
pub async fn is_listed(
    conn: &mut PgConnection,
    tenant: TenantId,
    agent: AgentId,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM listings WHERE tenant_id = $1 AND agent_id = $2)",
    )
    .bind(tenant)
    .bind(agent)
    .fetch_one(conn)
    .await
}

#[tracing::instrument(name = "db.favorite_add", skip(conn))]
pub async fn add_favorite(
    conn: &mut PgConnection,
    tenant: TenantId,
    user: UserId,
    agent: AgentId,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO favorites (tenant_id, user_id, agent_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(tenant)
    .bind(user)
    .bind(agent)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[tracing::instrument(name = "db.favorite_remove", skip(conn))]
pub async fn remove_favorite(
    conn: &mut PgConnection,
    tenant: TenantId,
    user: UserId,
    agent: AgentId,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "DELETE FROM favorites WHERE tenant_id = $1 AND user_id = $2 AND agent_id = $3",
    )
    .bind(tenant)
    .bind(user)
    .bind(agent)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A favourite and the agent's listing, absent when it has left the marketplace.
pub type Favorite = (FavoriteEntry, Option<ListingRow>);

#[derive(Debug, sqlx::FromRow)]
pub struct FavoriteEntry {
    pub agent_id: AgentId,
    pub favorited_at: DateTime<Utc>,
}

/// The user's favourites, newest first, with the listing of each agent still in the marketplace.
#[tracing::instrument(name = "db.favorite_list", skip(conn))]
pub async fn list_favorites(
    conn: &mut PgConnection,
    tenant: TenantId,
    user: UserId,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<Favorite>, i64)> {
    let entries: Vec<FavoriteEntry> = sqlx::query_as(
        "SELECT agent_id, created_at AS favorited_at FROM favorites WHERE tenant_id = $1 AND user_id = $2
         ORDER BY created_at DESC, agent_id DESC LIMIT $3 OFFSET $4",
    )
    .bind(tenant)
    .bind(user)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<AgentId> = entries.iter().map(|e| e.agent_id).collect();
    let listings: Vec<ListingRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {LISTING_COLUMNS} FROM listings WHERE tenant_id = $1 AND agent_id = ANY($2)"
    )))
    .bind(tenant)
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let total =
        sqlx::query_scalar("SELECT count(*) FROM favorites WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant)
            .bind(user)
            .fetch_one(conn)
            .await?;
    let joined = entries
        .into_iter()
        .map(|e| {
            let listing = listings.iter().find(|l| l.agent_id == e.agent_id).cloned();
            (e, listing)
        })
        .collect();
    Ok((joined, total))
}

pub use super::browse_sql::*;
