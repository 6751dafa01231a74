//! The review lifecycle of provider profiles: submit (publish, apply-provider), the admin's
//! decisions, the review queue and the audit log. Each change is one transaction that locks the
//! agent row, asks the state machine, and keeps the marketplace listing and the audit log in step.

use super::domain::{
    AgentRoles, ApprovalMode, HostingType, PricingModel, ProfileStatus, ReviewAction,
    SlotAssignmentMode, TransparencyLevel, parse_text, parse_url, transition,
};
use super::repo::{self, AgentRow, ProfileRow, ProfileTerms};
use super::service::{not_found, owned};
use crate::audit::{self, AuditEntry};
use crate::auth::principal::Principal;
use crate::error::{ApiError, ApiResult};
use crate::http::pagination::PageRequest;
use crate::ids::AgentId;
use crate::marketplace::listing;
use crate::money::parse_price;
use crate::state::AppState;
use uuid::Uuid;

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
    id: AgentId,
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
    agent_id: AgentId,
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
            target: agent_id.into(),
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
