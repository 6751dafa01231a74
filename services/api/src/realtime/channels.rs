//! The Redis pub/sub channels, named by tenant and id (with the deployment's prefix), shared by
//! the writers (the outbox) and the sockets (through the hub).

use crate::ids::{AgentId, SessionId, TenantId};
use crate::kv::Redis;

/// Agent control: `session.new`, `session.approved`, `agent.replaced`, `agent.revoked`.
pub fn agent_channel(redis: &Redis, tenant: TenantId, agent: AgentId) -> String {
    redis.tenant_key(tenant, &["agent", &agent.to_string()])
}

/// Session traffic: stored messages, `session.approved`, `system.session_ended`.
pub fn session_channel(redis: &Redis, tenant: TenantId, session: SessionId) -> String {
    redis.tenant_key(tenant, &["session", &session.to_string()])
}
