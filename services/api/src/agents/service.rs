//! Agent use-cases: registry, provider profiles and their review lifecycle, agent tokens,
//! activation and status. Each lifecycle change is one transaction that locks the agent row,
//! asks the state machine, and keeps the marketplace listing and the audit log in step.

use super::domain::{
    AgentRoles, ApprovalMode, Capability, HostingType, OnlineStatus, PricingModel, ProfileStatus,
    ReviewAction, SlotAssignmentMode, TransparencyLevel, parse_capabilities, parse_permissions,
    parse_slug, parse_text, parse_url, transition,
};
use super::repo::{self, AgentChanges, AgentRow, NewAgent, ProfileRow, ProfileTerms};
use crate::audit::{self, AuditEntry};
use crate::auth::principal::{Credential, Principal};
use crate::auth::tokens::{self, AGENT_TOKEN_PREFIX};
use crate::error::{ApiError, ApiResult, ErrorCode, OnConstraint};
use crate::http::pagination::PageRequest;
use crate::marketplace::listing;
use crate::money::parse_price;
use crate::realtime::presence;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

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

/// The provider terms as sent; absent fields keep the current profile's value, else the
/// contract's default (per_session, "1.00", CNY, self_hosted, manual, moderate, 5, 1).
#[derive(Default)]
pub struct TermsInput {
    pub pricing_model: Option<String>,
    pub price_amount: Option<String>,
    pub currency: Option<String>,
    pub hosting_type: Option<String>,
    pub approval_mode: Option<String>,
    pub transparency_level: Option<String>,
    pub max_concurrent_sessions: Option<i64>,
    pub max_consumer_slots: Option<i64>,
    pub slot_assignment_mode: Option<String>,
    pub allow_shared_consumer: Option<bool>,
    pub endpoint: Option<String>,
    pub health_check_url: Option<String>,
}

fn not_found() -> ApiError {
    ApiError::not_found("Agent")
}

/// The agent if the principal owns it; another user's or tenant's agent is 404.
async fn owned(
    conn: &mut PgConnection,
    principal: &Principal,
    id: Uuid,
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
            id: Uuid::now_v7(),
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

pub async fn get(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
) -> ApiResult<(AgentRow, Option<ProfileRow>)> {
    let mut conn = state.db.acquire().await?;
    let agent = owned(&mut conn, principal, id, false).await?;
    let profile = repo::find_profile(&mut conn, principal.tenant_id(), id).await?;
    Ok((agent, profile))
}

pub async fn list_mine(
    state: &AppState,
    principal: &Principal,
    roles: Option<AgentRoles>,
    page: PageRequest,
) -> ApiResult<(Vec<(AgentRow, Option<ProfileRow>)>, i64)> {
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
    let ids: Vec<Uuid> = agents.iter().map(|a| a.id).collect();
    let mut profiles = repo::find_profiles(&mut conn, principal.tenant_id(), &ids).await?;
    let out = agents
        .into_iter()
        .map(|agent| {
            let profile = profiles
                .iter()
                .position(|p| p.agent_id == agent.id)
                .map(|i| profiles.swap_remove(i));
            (agent, profile)
        })
        .collect();
    Ok((out, total))
}

/// Edits the descriptive fields while the agent is a draft (no profile) or rejected.
pub async fn update(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    patch: AgentPatch,
) -> ApiResult<(AgentRow, Option<ProfileRow>)> {
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
    tx.commit().await?;
    Ok((agent, profile))
}

fn count(field: &str, raw: i64, max: i64) -> ApiResult<i32> {
    if (1..=max).contains(&raw) {
        Ok(raw as i32)
    } else {
        Err(ApiError::field(
            field,
            format!("must be between 1 and {max}"),
        ))
    }
}

fn resolve_terms(
    input: TermsInput,
    current: Option<&ProfileRow>,
    currencies: &[String],
) -> ApiResult<ProfileTerms> {
    let currency = match input.currency {
        Some(code) if currencies.contains(&code) => code,
        Some(_) => {
            return Err(ApiError::field(
                "currency",
                format!("must be one of {}", currencies.join(", ")),
            ));
        }
        None => current.map_or_else(|| "CNY".to_owned(), |p| p.currency.clone()),
    };
    Ok(ProfileTerms {
        pricing_model: match input.pricing_model {
            Some(raw) => PricingModel::parse(&raw)?,
            None => current.map_or(PricingModel::PerSession, |p| p.pricing_model),
        },
        price_amount: match input.price_amount {
            Some(raw) => parse_price(&raw)?,
            None => current.map_or(rust_decimal::Decimal::new(100, 2), |p| p.price_amount),
        },
        currency,
        hosting_type: match input.hosting_type {
            Some(raw) => HostingType::parse(&raw)?,
            None => current.map_or(HostingType::SelfHosted, |p| p.hosting_type),
        },
        approval_mode: match input.approval_mode {
            Some(raw) => ApprovalMode::parse(&raw)?,
            None => current.map_or(ApprovalMode::Manual, |p| p.approval_mode),
        },
        transparency_level: match input.transparency_level {
            Some(raw) => TransparencyLevel::parse(&raw)?,
            None => current.map_or(TransparencyLevel::Moderate, |p| p.transparency_level),
        },
        max_concurrent_sessions: match input.max_concurrent_sessions {
            Some(n) => count("maxConcurrentSessions", n, 1000)?,
            None => current.map_or(5, |p| p.max_concurrent_sessions),
        },
        max_consumer_slots: match input.max_consumer_slots {
            Some(n) => count("maxConsumerSlots", n, 100)?,
            None => current.map_or(1, |p| p.max_consumer_slots),
        },
        slot_assignment_mode: match input.slot_assignment_mode {
            Some(raw) => SlotAssignmentMode::parse(&raw)?,
            None => current.map_or(SlotAssignmentMode::Auto, |p| p.slot_assignment_mode),
        },
        allow_shared_consumer: input
            .allow_shared_consumer
            .or(current.map(|p| p.allow_shared_consumer))
            .unwrap_or(false),
        endpoint: match input.endpoint.as_deref().map(str::trim) {
            Some("") => None,
            Some(raw) => Some(parse_url("endpoint", raw)?),
            None => current.and_then(|p| p.endpoint.clone()),
        },
        health_check_url: match input.health_check_url.as_deref().map(str::trim) {
            Some("") => None,
            Some(raw) => Some(parse_url("healthCheckUrl", raw)?),
            None => current.and_then(|p| p.health_check_url.clone()),
        },
    })
}

/// Publishes (or resubmits) the provider profile: status `pending_review`, out of the marketplace.
pub async fn submit(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    input: TermsInput,
) -> ApiResult<(AgentRow, ProfileRow)> {
    let tenant = principal.tenant_id();
    let mut tx = state.db.begin().await?;
    let agent = owned(&mut tx, principal, id, true).await?;
    let current = repo::find_profile(&mut tx, tenant, id).await?;
    let terms = resolve_terms(input, current.as_ref(), &principal.tenant.currencies)?;
    let to = transition(current.as_ref().map(|p| p.status), ReviewAction::Submit)?;
    let now = state.clock.now();
    let profile = repo::submit_profile(&mut tx, tenant, id, &terms, to, now).await?;
    listing::unlist(&mut tx, tenant, id).await?;
    tx.commit().await?;
    Ok((agent, profile))
}

/// An admin's review decision on an agent's provider profile, audited.
pub async fn review(
    state: &AppState,
    admin: &Principal,
    agent_id: Uuid,
    action: ReviewAction,
    reason: Option<String>,
) -> ApiResult<(AgentRow, ProfileRow)> {
    let reason = match reason.as_deref().map(str::trim) {
        Some("") | None if matches!(action, ReviewAction::Reject | ReviewAction::Suspend) => {
            return Err(ApiError::field(
                "reason",
                "is required to reject or suspend",
            ));
        }
        Some("") | None => None,
        Some(text) => Some(parse_text("reason", text, 1, 1000, true)?),
    };
    let tenant = admin.tenant_id();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let agent = repo::lock_agent(&mut tx, tenant, agent_id)
        .await?
        .ok_or_else(not_found)?;
    let current = repo::find_profile(&mut tx, tenant, agent_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Provider profile"))?;
    let to = transition(Some(current.status), action)?;
    // The profile keeps the reason of the last rejection or suspension; every reason is audited.
    let shown = matches!(action, ReviewAction::Reject | ReviewAction::Suspend);
    let shown_reason = if shown { reason.as_deref() } else { None };
    let profile = repo::review_profile(
        &mut tx,
        tenant,
        agent_id,
        to,
        shown_reason,
        admin.user_id,
        now,
    )
    .await?;
    if to == ProfileStatus::Active {
        repo::set_roles(&mut tx, tenant, agent_id, AgentRoles::Both).await?;
        repo::promote_owner_to_both(&mut tx, tenant, agent.owner_id).await?;
        listing::list(&mut tx, tenant, agent_id, now).await?;
    } else {
        listing::unlist(&mut tx, tenant, agent_id).await?;
    }
    audit::insert_audit(
        &mut tx,
        tenant,
        AuditEntry {
            actor: admin.user_id,
            action: action.as_str(),
            target_type: "provider_profile",
            target: agent_id,
            reason: reason.as_deref(),
            from_status: Some(current.status.as_str()),
            to_status: Some(to.as_str()),
            details: None,
            now,
        },
    )
    .await?;
    tx.commit().await?;
    let agent = AgentRow {
        roles: if to == ProfileStatus::Active {
            AgentRoles::Both
        } else {
            agent.roles
        },
        ..agent
    };
    Ok((agent, profile))
}

pub struct IssuedToken {
    pub agent_id: Uuid,
    pub token: String,
    pub created_at: DateTime<Utc>,
}

/// A new agent token (`agt_clawrent_` + 40 random characters), shown once; the old one stops working.
pub async fn issue_token(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
) -> ApiResult<IssuedToken> {
    let token = format!("{AGENT_TOKEN_PREFIX}{}", tokens::random_alphanumeric(40));
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    owned(&mut tx, principal, id, true).await?;
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
    Ok(IssuedToken {
        agent_id: id,
        token,
        created_at: now,
    })
}

/// Revokes the agent's token; true when there was one.
pub async fn revoke_token(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<bool> {
    let mut tx = state.db.begin().await?;
    let agent = owned(&mut tx, principal, id, true).await?;
    repo::set_token(&mut tx, principal.tenant_id(), id, None, None, None).await?;
    tx.commit().await?;
    Ok(agent.token_prefix.is_some())
}

async fn is_connected(state: &AppState, tenant: Uuid, agent: Uuid) -> ApiResult<bool> {
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
    id: Uuid,
) -> ApiResult<(AgentRow, ProfileRow)> {
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
    tx.commit().await?;
    Ok((
        AgentRow {
            online_status: status,
            ..agent
        },
        profile,
    ))
}

/// `busy` and back to `online` need a live connection; `offline` is always allowed.
pub async fn set_status(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    raw: &str,
) -> ApiResult<(AgentRow, Option<ProfileRow>)> {
    let status = OnlineStatus::parse(raw)?;
    let tenant = principal.tenant_id();
    let mut tx = state.db.begin().await?;
    let agent = owned(&mut tx, principal, id, true).await?;
    if status != OnlineStatus::Offline && !is_connected(state, tenant, id).await? {
        return Err(not_connected());
    }
    repo::set_online_status(&mut tx, tenant, id, status).await?;
    let profile = repo::find_profile(&mut tx, tenant, id).await?;
    tx.commit().await?;
    Ok((
        AgentRow {
            online_status: status,
            ..agent
        },
        profile,
    ))
}

/// The agent identified by the caller's agent token.
pub async fn me_agent(
    state: &AppState,
    principal: &Principal,
) -> ApiResult<(AgentRow, Option<ProfileRow>)> {
    let Credential::AgentToken { agent_id } = principal.credential else {
        return Err(ApiError::new(
            ErrorCode::InvalidToken,
            "This endpoint needs an agent token (Bearer agt_clawrent_...)",
        ));
    };
    get(state, principal, agent_id).await
}

pub async fn review_queue(
    state: &AppState,
    admin: &Principal,
    status: Option<ProfileStatus>,
    page: PageRequest,
) -> ApiResult<(Vec<repo::ReviewItem>, i64)> {
    let mut conn = state.db.acquire().await?;
    Ok(repo::list_for_review(
        &mut conn,
        admin.tenant_id(),
        status,
        page.limit(),
        page.offset(),
    )
    .await?)
}

pub async fn audit_log(
    state: &AppState,
    admin: &Principal,
    target: Option<Uuid>,
    page: PageRequest,
) -> ApiResult<(Vec<audit::AuditRow>, i64)> {
    let mut conn = state.db.acquire().await?;
    Ok(audit::list_audit(
        &mut conn,
        admin.tenant_id(),
        target,
        page.limit(),
        page.offset(),
    )
    .await?)
}
