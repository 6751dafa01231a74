//! Agent use-cases: the registry (create, read, list, edit). The review lifecycle is in
//! `lifecycle.rs`, tokens, activation and status in `serving.rs`; both are re-exported here, so
//! the routes see one service.

use super::domain::{
    AgentRoles, Capability, ProfileStatus, parse_capabilities, parse_permissions, parse_slug,
    parse_text,
};
use super::repo::{self, AgentChanges, AgentRow, NewAgent, ProfileRow, RevisionRow};
use crate::auth::principal::Principal;
use crate::error::{ApiError, ApiResult, OnConstraint};
use crate::http::pagination::PageRequest;
use crate::ids::AgentId;
use crate::state::AppState;
use sqlx::PgConnection;

pub struct AgentInput {
    pub name: String,
    pub slug: String,
    pub description: String,
    pub long_description: Option<String>,
    pub capabilities: Option<Vec<Capability>>,
    pub required_permissions: Option<Vec<String>>,
}

#[derive(Default)]
pub struct AgentPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub long_description: Option<Option<String>>,
    pub capabilities: Option<Vec<Capability>>,
    pub required_permissions: Option<Vec<String>>,
}

/// An agent as its owner (or an admin) sees it: the agent, its live provider profile (None for a
/// draft) and the revision of that profile its owner submitted while it was live (pending, or
/// rejected with the reason). Consumers and the marketplace never see a revision.
#[derive(Debug, Clone)]
pub struct AgentDetail {
    pub agent: AgentRow,
    pub profile: Option<ProfileRow>,
    pub revision: Option<RevisionRow>,
}

pub(super) fn not_found() -> ApiError {
    ApiError::not_found("Agent")
}

/// The agent if the principal owns it; another user's or tenant's agent is 404.
pub(super) async fn owned(
    conn: &mut PgConnection,
    principal: &Principal,
    id: AgentId,
    lock: bool,
) -> ApiResult<AgentRow> {
    let agent = if lock {
        repo::lock_agent(conn, principal.tenant_id(), id).await?
    } else {
        repo::find_agent(conn, principal.tenant_id(), id).await?
    };
    agent
        .filter(|a| a.owner_id == principal.user_id)
        .ok_or_else(not_found)
}

fn parse_long_description(raw: Option<&str>) -> ApiResult<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => parse_text("longDescription", text, 1, 5000, true).map(Some),
    }
}

pub async fn create(
    state: &AppState,
    principal: &Principal,
    input: AgentInput,
) -> ApiResult<AgentRow> {
    let name = parse_text("name", &input.name, 1, 100, false)?;
    let slug = parse_slug(&input.slug)?;
    let description = parse_text("description", &input.description, 10, 500, true)?;
    let long_description = parse_long_description(input.long_description.as_deref())?;
    let capabilities = parse_capabilities(input.capabilities.unwrap_or_default())?;
    let permissions = parse_permissions(input.required_permissions.unwrap_or_default())?;
    let mut conn = state.db.acquire().await?;
    repo::insert_agent(
        &mut conn,
        principal.tenant_id(),
        NewAgent {
            id: AgentId::new_v7(),
            owner: principal.user_id,
            name: &name,
            slug: &slug,
            description: &description,
            long_description: long_description.as_deref(),
            capabilities: &capabilities,
            required_permissions: &permissions,
            now: state.clock.now(),
        },
    )
    .await
    .on_constraint("agents_tenant_slug_key", || {
        ApiError::conflict(format!("The slug {slug:?} is already taken"))
            .with_details(serde_json::json!({ "field": "slug" }))
    })
}

pub async fn get(state: &AppState, principal: &Principal, id: AgentId) -> ApiResult<AgentDetail> {
    let mut conn = state.db.acquire().await?;
    let agent = owned(&mut conn, principal, id, false).await?;
    let profile = repo::find_profile(&mut conn, principal.tenant_id(), id).await?;
    let revision = repo::find_revision(&mut conn, principal.tenant_id(), id).await?;
    Ok(AgentDetail {
        agent,
        profile,
        revision,
    })
}

pub async fn list_mine(
    state: &AppState,
    principal: &Principal,
    roles: Option<AgentRoles>,
    page: PageRequest,
) -> ApiResult<(Vec<AgentDetail>, i64)> {
    let mut conn = state.db.acquire().await?;
    let (agents, total) = repo::list_owned(
        &mut conn,
        principal.tenant_id(),
        principal.user_id,
        roles,
        page.limit(),
        page.offset(),
    )
    .await?;
    let ids: Vec<AgentId> = agents.iter().map(|a| a.id).collect();
    let mut profiles = repo::find_profiles(&mut conn, principal.tenant_id(), &ids).await?;
    let mut revisions = repo::find_revisions(&mut conn, principal.tenant_id(), &ids, None).await?;
    let out = agents
        .into_iter()
        .map(|agent| {
            let profile = profiles
                .iter()
                .position(|p| p.agent_id == agent.id)
                .map(|i| profiles.swap_remove(i));
            let revision = revisions
                .iter()
                .position(|r| r.agent_id == agent.id)
                .map(|i| revisions.swap_remove(i));
            AgentDetail {
                agent,
                profile,
                revision,
            }
        })
        .collect();
    Ok((out, total))
}

/// Edits the descriptive fields while the agent is a draft (no profile) or rejected.
pub async fn update(
    state: &AppState,
    principal: &Principal,
    id: AgentId,
    patch: AgentPatch,
) -> ApiResult<AgentDetail> {
    let name = patch
        .name
        .as_deref()
        .map(|n| parse_text("name", n, 1, 100, false))
        .transpose()?;
    let description = patch
        .description
        .as_deref()
        .map(|d| parse_text("description", d, 10, 500, true))
        .transpose()?;
    let long_description = patch
        .long_description
        .map(|l| parse_long_description(l.as_deref()))
        .transpose()?;
    let capabilities = patch.capabilities.map(parse_capabilities).transpose()?;
    let permissions = patch
        .required_permissions
        .map(parse_permissions)
        .transpose()?;

    let mut tx = state.db.begin().await?;
    owned(&mut tx, principal, id, true).await?;
    let profile = repo::find_profile(&mut tx, principal.tenant_id(), id).await?;
    if let Some(p) = &profile
        && p.status != ProfileStatus::Rejected
    {
        return Err(ApiError::conflict(format!(
            "The agent can be edited only as a draft or after rejection; its provider profile status is '{}'",
            p.status.as_str()
        )));
    }
    let changes = AgentChanges {
        name: name.as_deref(),
        description: description.as_deref(),
        long_description: long_description.as_ref().map(|l| l.as_deref()),
        capabilities: capabilities.as_deref(),
        required_permissions: permissions.as_deref(),
    };
    let agent = repo::update_agent(
        &mut tx,
        principal.tenant_id(),
        id,
        changes,
        state.clock.now(),
    )
    .await?;
    // Only drafts and rejected profiles are editable, and neither has a revision.
    tx.commit().await?;
    Ok(AgentDetail {
        agent,
        profile,
        revision: None,
    })
}

pub use super::lifecycle::{audit_log, review, review_queue, submit};
pub use super::serving::{IssuedToken, activate, issue_token, me_agent, revoke_token, set_status};
pub use super::terms::TermsInput;
