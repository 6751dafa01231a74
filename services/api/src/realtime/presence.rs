//! Agent presence in Redis: an agent is connected while its `/ws/agent` socket keeps the key
//! `{prefix}:{tenant}:presence:agent:{id}` alive (TTL refreshed by heartbeats). Every replica
//! reads the same key, so "connected anywhere in the cluster" is one EXISTS.

use crate::ids::{AgentId, TenantId};
use crate::kv::Redis;

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
