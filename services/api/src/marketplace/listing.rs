//! What other contexts may do to the marketplace: the review lifecycle (agents) lists and
//! unlists an agent inside its own transaction, so the listing changes with the decision.

use super::repo;
use crate::error::ApiResult;
use crate::ids::{AgentId, TenantId};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// Publishes (or refreshes) the agent's listing; the caller's transaction commits it.
pub async fn list(
    conn: &mut PgConnection,
    tenant: TenantId,
    agent: AgentId,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    Ok(repo::upsert_listing(conn, tenant, agent, now).await?)
}

/// Takes the agent out of the marketplace (no-op when it is not listed).
pub async fn unlist(conn: &mut PgConnection, tenant: TenantId, agent: AgentId) -> ApiResult<()> {
    Ok(repo::delete_listing(conn, tenant, agent).await?)
}

/// Shows the listing online or offline as the agent's `/ws/agent` presence changes.
pub async fn set_presence(
    conn: &mut PgConnection,
    tenant: TenantId,
    agent: AgentId,
    connected: bool,
) -> ApiResult<()> {
    Ok(repo::set_listing_presence(conn, tenant, agent, connected).await?)
}

/// Counts a finished session on the listing (the sessions context, through agents).
pub async fn count_session(
    conn: &mut PgConnection,
    tenant: TenantId,
    agent: AgentId,
    completed: bool,
) -> ApiResult<()> {
    Ok(repo::count_listing_session(conn, tenant, agent, completed).await?)
}

/// A page of listings shown online, across tenants (for the presence reconciler).
pub async fn shown_online(
    conn: &mut PgConnection,
    after: Option<(TenantId, AgentId)>,
    limit: i64,
) -> ApiResult<Vec<(TenantId, AgentId)>> {
    Ok(repo::listings_shown_online(conn, after, limit).await?)
}
