//! Agent presence in Redis: an agent is connected while its `/ws/agent` socket keeps the key
//! `{prefix}:{tenant}:presence:agent:{id}` alive (TTL refreshed by heartbeats). Every replica
//! reads the same key, so "connected anywhere in the cluster" is one EXISTS.

use crate::kv::Redis;
use uuid::Uuid;

pub fn agent_key(redis: &Redis, tenant: Uuid, agent: Uuid) -> String {
    redis.tenant_key(tenant, &["presence", "agent", &agent.to_string()])
}

#[tracing::instrument(name = "presence.is_connected", skip(redis))]
pub async fn is_connected(redis: &Redis, tenant: Uuid, agent: Uuid) -> redis::RedisResult<bool> {
    redis::cmd("EXISTS")
        .arg(agent_key(redis, tenant, agent))
        .query_async::<bool>(&mut redis.conn())
        .await
}
