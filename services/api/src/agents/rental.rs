//! What the sessions context asks of agents when a session is rented: the agent and its profile,
//! with the agent row locked until the caller's transaction ends. The lock serializes the rents
//! of one agent (so its session limits hold under concurrency) and orders them with every
//! lifecycle change, which takes the same lock.

use super::domain::{OnlineStatus, ProfileStatus};
use super::repo::{self, AgentRow, ProfileRow};
use crate::error::{ApiError, ApiResult};
use crate::ids::{AgentId, TenantId, UserId};
use crate::kv::Redis;
use crate::realtime::presence;
use sqlx::PgConnection;

/// An agent that can be rented right now.
pub struct Rentable {
    pub agent: AgentRow,
    pub profile: ProfileRow,
}

/// Locks the agent and checks that `renter` can take a session of it: 404 when it does not exist
/// in this tenant, 400 when it is the renter's own, 409 when its profile is not active, it is
/// not opted in (`activate`) or no daemon holds its `/ws/agent` socket.
pub async fn lock_for_rent(
    conn: &mut PgConnection,
    redis: &Redis,
    tenant: TenantId,
    id: AgentId,
    renter: UserId,
) -> ApiResult<Rentable> {
    let agent = repo::lock_agent(conn, tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Agent"))?;
    if agent.owner_id == renter {
        return Err(ApiError::field(
            "agentId",
            "is your own agent: providers cannot rent their own agents",
        ));
    }
    let profile = repo::find_profile(conn, tenant, id).await?;
    let Some(profile) = profile.filter(|p| p.status == ProfileStatus::Active) else {
        return Err(ApiError::conflict(
            "This agent is not available for rent: its provider profile is not active",
        ));
    };
    let offline =
        || ApiError::conflict("This agent is offline: its provider's daemon is not connected");
    match agent.online_status {
        OnlineStatus::Online => {
            // Opted in, but is a daemon's `/ws/agent` socket held right now, anywhere?
            let connected = presence::is_connected(redis, tenant, id)
                .await
                .map_err(|e| ApiError::unavailable("Redis", e))?;
            if connected {
                Ok(Rentable { agent, profile })
            } else {
                Err(offline())
            }
        }
        OnlineStatus::Busy => Err(ApiError::conflict(
            "This agent is busy and takes no new sessions right now",
        )),
        OnlineStatus::Offline => Err(offline()),
    }
}

/// Counts a finished session on the provider's profile and its listing (completion rate,
/// popularity).
pub async fn record_session(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: AgentId,
    completed: bool,
) -> ApiResult<()> {
    repo::count_session(conn, tenant, id, completed).await?;
    crate::marketplace::listing::count_session(conn, tenant, id, completed).await?;
    Ok(())
}
