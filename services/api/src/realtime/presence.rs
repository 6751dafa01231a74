//! Agent presence in Redis: an agent is connected while its `/ws/agent` socket keeps the key
//! `{prefix}:{tenant}:presence:agent:{id}` alive (TTL refreshed by heartbeats). Every replica
//! reads the same key, so "connected anywhere in the cluster" is one EXISTS.
//!
//! The key holds the connection's generation (a fresh id per socket). Refreshing and releasing
//! compare it first, so a late heartbeat or disconnect of a replaced (or crashed-and-recovered)
//! connection never touches a newer connection's presence.

use crate::ids::{AgentId, SessionId, TenantId};
use crate::kv::Redis;

/// How long presence outlives the last heartbeat (heartbeats come every 25 s): a replica that
/// dies without closing its sockets leaves its agents online for at most this long.
pub const TTL_SECONDS: u64 = 60;

/// Extends this generation's key; re-creates it when it is gone (Redis restarted without its
/// data, or the TTL ran out during an outage); 0 only when another generation holds it.
const REFRESH: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  return redis.call('EXPIRE', KEYS[1], ARGV[2])
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 2
end
return 0";

/// What a heartbeat did to the presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refreshed {
    Extended,
    /// The key was gone (Redis lost it, or it expired during an outage) and is back.
    Recreated,
    /// A newer connection holds the presence.
    Replaced,
}

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

pub fn agent_key(redis: &Redis, tenant: TenantId, agent: AgentId) -> String {
    redis.tenant_key(tenant, &["presence", "agent", &agent.to_string()])
}

#[tracing::instrument(name = "presence.is_connected", skip(redis))]
pub async fn is_connected(
    redis: &Redis,
    tenant: TenantId,
    agent: AgentId,
) -> redis::RedisResult<bool> {
    redis::cmd("EXISTS")
        .arg(agent_key(redis, tenant, agent))
        .query_async::<bool>(&mut redis.conn())
        .await
}

/// This connection is the agent's presence from now on (a previous one's key is replaced).
#[tracing::instrument(name = "presence.claim", skip(redis))]
pub async fn claim(
    redis: &Redis,
    tenant: TenantId,
    agent: AgentId,
    generation: &str,
) -> redis::RedisResult<()> {
    redis::cmd("SET")
        .arg(agent_key(redis, tenant, agent))
        .arg(generation)
        .arg("EX")
        .arg(TTL_SECONDS)
        .query_async::<()>(&mut redis.conn())
        .await
}

/// Extends (or re-creates) the presence unless a newer connection holds it.
#[tracing::instrument(name = "presence.refresh", skip(redis))]
pub async fn refresh(
    redis: &Redis,
    tenant: TenantId,
    agent: AgentId,
    generation: &str,
) -> redis::RedisResult<Refreshed> {
    redis::Script::new(REFRESH)
        .key(agent_key(redis, tenant, agent))
        .arg(generation)
        .arg(TTL_SECONDS)
        .invoke_async::<i64>(&mut redis.conn())
        .await
        .map(|n| match n {
            0 => Refreshed::Replaced,
            2 => Refreshed::Recreated,
            _ => Refreshed::Extended,
        })
}

/// Ends the presence if this connection still holds it; true when it did.
#[tracing::instrument(name = "presence.release", skip(redis))]
pub async fn release(
    redis: &Redis,
    tenant: TenantId,
    agent: AgentId,
    generation: &str,
) -> redis::RedisResult<bool> {
    redis::Script::new(RELEASE)
        .key(agent_key(redis, tenant, agent))
        .arg(generation)
        .invoke_async::<i64>(&mut redis.conn())
        .await
        .map(|n| n == 1)
}

/// `{prefix}:{tenant}:presence:session:{id}:{side}`: a `/ws/session` socket of that side is held.
pub fn session_side_key(redis: &Redis, tenant: TenantId, session: SessionId, side: &str) -> String {
    redis.tenant_key(tenant, &["presence", "session", &session.to_string(), side])
}

/// Whether a socket of `side` (`consumer`, `provider`) is held for the session.
pub async fn session_side_connected(
    redis: &Redis,
    tenant: TenantId,
    session: SessionId,
    side: &str,
) -> redis::RedisResult<bool> {
    redis::cmd("EXISTS")
        .arg(session_side_key(redis, tenant, session, side))
        .query_async::<bool>(&mut redis.conn())
        .await
}

/// Marks (or refreshes) a `side` socket of the session for this generation.
pub async fn claim_session_side(
    redis: &Redis,
    tenant: TenantId,
    session: SessionId,
    side: &str,
    generation: &str,
) -> redis::RedisResult<()> {
    redis::cmd("SET")
        .arg(session_side_key(redis, tenant, session, side))
        .arg(generation)
        .arg("EX")
        .arg(TTL_SECONDS)
        .query_async::<()>(&mut redis.conn())
        .await
}

/// Ends the `side` presence if this generation still holds it.
pub async fn release_session_side(
    redis: &Redis,
    tenant: TenantId,
    session: SessionId,
    side: &str,
    generation: &str,
) -> redis::RedisResult<()> {
    redis::Script::new(RELEASE)
        .key(session_side_key(redis, tenant, session, side))
        .arg(generation)
        .invoke_async::<i64>(&mut redis.conn())
        .await
        .map(|_| ())
}
