//! What other contexts may do to the marketplace: the review lifecycle (agents) lists and
//! unlists an agent inside its own transaction, so the listing changes with the decision.

use super::repo;
use crate::error::ApiResult;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// Publishes (or refreshes) the agent's listing; the caller's transaction commits it.
pub async fn list(
    conn: &mut PgConnection,
    tenant: Uuid,
    agent: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    Ok(repo::upsert_listing(conn, tenant, agent, now).await?)
}

/// Takes the agent out of the marketplace (no-op when it is not listed).
pub async fn unlist(conn: &mut PgConnection, tenant: Uuid, agent: Uuid) -> ApiResult<()> {
    Ok(repo::delete_listing(conn, tenant, agent).await?)
}
