//! Keeping an agent in service: its token (issue, revoke, resolve from the token), activation and
//! online status, which need a live `/ws/agent` connection somewhere in the cluster.

use super::domain::{OnlineStatus, ProfileStatus};
use super::repo::{self, AgentRow};
use super::service::{AgentDetail, get, owned};
use crate::auth::principal::{Credential, Principal};
use crate::auth::tokens::{self, AGENT_TOKEN_PREFIX};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ids::{AgentId, TenantId};
use crate::realtime::presence;
use crate::state::AppState;
use chrono::{DateTime, Utc};

pub struct IssuedToken {
    pub agent_id: AgentId,
    pub token: String,
    pub created_at: DateTime<Utc>,
}

/// A new agent token (`agt_clawrent_` + 40 random characters), shown once; the old one stops working.
pub async fn issue_token(
    state: &AppState,
    principal: &Principal,
    id: AgentId,
) -> ApiResult<IssuedToken> {
    let token = format!("{AGENT_TOKEN_PREFIX}{}", tokens::random_alphanumeric(40));
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    owned(&mut tx, principal, id, true).await?;
    close_sockets(state, &mut tx, principal.tenant_id(), id).await?;
    let prefix = &token[..AGENT_TOKEN_PREFIX.len() + 4];
    repo::set_token(
        &mut tx,
        principal.tenant_id(),
        id,
        Some(&tokens::sha256(&token)),
        Some(prefix),
        Some(now),
    )
    .await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(IssuedToken {
        agent_id: id,
        token,
        created_at: now,
    })
}

/// Revokes the agent's token; true when there was one.
pub async fn revoke_token(state: &AppState, principal: &Principal, id: AgentId) -> ApiResult<bool> {
    let mut tx = state.db.begin().await?;
    let agent = owned(&mut tx, principal, id, true).await?;
    close_sockets(state, &mut tx, principal.tenant_id(), id).await?;
    repo::set_token(&mut tx, principal.tenant_id(), id, None, None, None).await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(agent.token_prefix.is_some())
}

/// Tells the sockets opened with the agent's current token, after the commit, that the token is
/// gone (they close with 4001). Called before the token changes; the event names the old token
/// by its hash, so a socket opened with the new one stays.
async fn close_sockets(
    state: &AppState,
    conn: &mut sqlx::PgConnection,
    tenant: TenantId,
    agent: AgentId,
) -> ApiResult<()> {
    let Some(old) = repo::token_hash(conn, tenant, agent).await? else {
        return Ok(());
    };
    let channel = crate::realtime::channels::agent_channel(&state.redis, tenant, agent);
    let payload = serde_json::json!({ "agentId": agent, "tokenHash": hex::encode(old) });
    crate::outbox::enqueue(
        conn,
        tenant,
        &channel,
        "agent.revoked",
        &payload,
        state.clock.now(),
    )
    .await
}

async fn is_connected(state: &AppState, tenant: TenantId, agent: AgentId) -> ApiResult<bool> {
    presence::is_connected(&state.redis, tenant, agent)
        .await
        .map_err(|e| ApiError::unavailable("Presence (Redis)", e))
}

fn not_connected() -> ApiError {
    ApiError::validation("Agent is not connected via WebSocket")
}

/// Marks the agent online: its profile must be active and it must hold a live `/ws/agent`
/// connection somewhere in the cluster.
pub async fn activate(
    state: &AppState,
    principal: &Principal,
    id: AgentId,
) -> ApiResult<AgentDetail> {
    let tenant = principal.tenant_id();
    let mut tx = state.db.begin().await?;
    let agent = owned(&mut tx, principal, id, true).await?;
    let profile = repo::find_profile(&mut tx, tenant, id)
        .await?
        .ok_or_else(|| ApiError::validation("Agent has no provider profile; publish it first"))?;
    if profile.status != ProfileStatus::Active {
        return Err(ApiError::validation(format!(
            "Provider profile status is '{}'",
            profile.status.as_str()
        )));
    }
    if !is_connected(state, tenant, id).await? {
        return Err(not_connected());
    }
    let status = if agent.online_status == OnlineStatus::Busy {
        OnlineStatus::Busy
    } else {
        OnlineStatus::Online
    };
    repo::set_online_status(&mut tx, tenant, id, status).await?;
    let revision = repo::find_revision(&mut tx, tenant, id).await?;
    tx.commit().await?;
    Ok(AgentDetail {
        agent: AgentRow {
            online_status: status,
            ..agent
        },
        profile: Some(profile),
        revision,
    })
}

/// `busy` and back to `online` need a live connection; `offline` is always allowed.
pub async fn set_status(
    state: &AppState,
    principal: &Principal,
    id: AgentId,
    raw: &str,
) -> ApiResult<AgentDetail> {
    let status = OnlineStatus::parse(raw)?;
    let tenant = principal.tenant_id();
    let mut tx = state.db.begin().await?;
    let agent = owned(&mut tx, principal, id, true).await?;
    if status != OnlineStatus::Offline && !is_connected(state, tenant, id).await? {
        return Err(not_connected());
    }
    repo::set_online_status(&mut tx, tenant, id, status).await?;
    let profile = repo::find_profile(&mut tx, tenant, id).await?;
    let revision = repo::find_revision(&mut tx, tenant, id).await?;
    tx.commit().await?;
    Ok(AgentDetail {
        agent: AgentRow {
            online_status: status,
            ..agent
        },
        profile,
        revision,
    })
}

/// The agent identified by the caller's agent token.
pub async fn me_agent(state: &AppState, principal: &Principal) -> ApiResult<AgentDetail> {
    let Credential::AgentToken { agent_id } = principal.credential else {
        return Err(ApiError::new(
            ErrorCode::InvalidToken,
            "This endpoint needs an agent token (Bearer agt_clawrent_...)",
        ));
    };
    get(state, principal, agent_id).await
}
