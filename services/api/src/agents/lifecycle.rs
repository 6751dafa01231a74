//! The review lifecycle of provider profiles: submit (publish, apply-provider), the admin's
//! decisions, the review queue and the audit log. Each change is one transaction that locks the
//! agent row, asks the state machine, and keeps the marketplace listing and the audit log in step.
//!
//! Submitting an active profile does not touch the live profile: the terms wait as its revision
//! (`revision_repo`), which the admin approves (the terms go live, the listing follows) or
//! rejects (the live terms stay; the provider reads the reason on the revision).

use super::domain::{
    AgentRoles, Outcome, ProfileStatus, ReviewAction, ReviewState, RevisionStatus, parse_text,
    transition,
};
use super::repo::{self, AgentRow, ProfileRow, RevisionRow};
use super::service::{AgentDetail, not_found, owned};
use super::terms::{TermsInput, resolve_terms};
use super::views::TermsView;
use crate::audit::{self, AuditEntry};
use crate::auth::principal::Principal;
use crate::error::{ApiError, ApiResult};
use crate::http::pagination::PageRequest;
use crate::ids::{AgentId, TenantId};
use crate::marketplace::listing;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

fn review_state(profile: &ProfileRow, revision: Option<&RevisionRow>) -> ReviewState {
    ReviewState {
        status: profile.status,
        revision_pending: revision.is_some_and(|r| r.status == RevisionStatus::PendingReview),
    }
}

fn impossible(action: ReviewAction, outcome: Outcome) -> ApiError {
    ApiError::internal(anyhow::anyhow!(
        "the state machine answered {outcome:?} to {}",
        action.as_str()
    ))
}

/// Publishes (or resubmits) the provider profile. A new, pending or rejected profile takes the
/// terms and goes to `pending_review`, out of the marketplace; an active one stays live and
/// listed with its approved terms, and the submitted terms become its pending revision.
pub async fn submit(
    state: &AppState,
    principal: &Principal,
    id: AgentId,
    input: TermsInput,
) -> ApiResult<AgentDetail> {
    let tenant = principal.tenant_id();
    let mut tx = state.db.begin().await?;
    let agent = owned(&mut tx, principal, id, true).await?;
    let current = repo::find_profile(&mut tx, tenant, id).await?;
    let revision = repo::find_revision(&mut tx, tenant, id).await?;
    let terms = resolve_terms(input, current.as_ref(), &principal.tenant.currencies)?;
    let from = current.as_ref().map(|p| review_state(p, revision.as_ref()));
    let now = state.clock.now();
    let (profile, revision) = match (transition(from, ReviewAction::Submit)?, current) {
        (Outcome::Status(to), _) => {
            let profile = repo::submit_profile(&mut tx, tenant, id, &terms, to, now).await?;
            listing::unlist(&mut tx, tenant, id).await?;
            (profile, revision)
        }
        (Outcome::Revise, Some(live)) => {
            let revision = repo::save_revision(&mut tx, tenant, id, &terms, now).await?;
            (live, Some(revision))
        }
        (outcome, _) => return Err(impossible(ReviewAction::Submit, outcome)),
    };
    tx.commit().await?;
    Ok(AgentDetail {
        agent,
        profile: Some(profile),
        revision,
    })
}

/// An admin's decision as the audit log records it.
struct Decision<'a> {
    admin: &'a Principal,
    action: ReviewAction,
    reason: Option<&'a str>,
    now: DateTime<Utc>,
}

impl Decision<'_> {
    async fn audit(
        &self,
        conn: &mut PgConnection,
        target: (&str, AgentId),
        from: &str,
        to: &str,
        details: Option<serde_json::Value>,
    ) -> ApiResult<()> {
        let entry = AuditEntry {
            actor: self.admin.user_id,
            action: self.action.as_str(),
            target_type: target.0,
            target: target.1.into(),
            reason: self.reason,
            from_status: Some(from),
            to_status: Some(to),
            details,
            now: self.now,
        };
        Ok(audit::insert_audit(conn, self.admin.tenant_id(), entry).await?)
    }
}

/// The audit record of a decision on a revision: its status before and after, and the proposed
/// terms as details.
async fn audit_revision(
    conn: &mut PgConnection,
    decision: &Decision<'_>,
    pending: &RevisionRow,
    to: &str,
) -> ApiResult<()> {
    let terms =
        serde_json::to_value(TermsView::from(&pending.terms)).map_err(ApiError::internal)?;
    let target = ("provider_revision", pending.agent_id);
    decision
        .audit(conn, target, pending.status.as_str(), to, Some(terms))
        .await
}

/// An admin's review decision on an agent's provider profile, or on the pending revision of an
/// active one (approve, reject), audited.
pub async fn review(
    state: &AppState,
    admin: &Principal,
    agent_id: AgentId,
    action: ReviewAction,
    reason: Option<String>,
) -> ApiResult<AgentDetail> {
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
    let decision = Decision {
        admin,
        action,
        reason: reason.as_deref(),
        now: state.clock.now(),
    };
    let mut tx = state.db.begin().await?;
    let agent = repo::lock_agent(&mut tx, tenant, agent_id)
        .await?
        .ok_or_else(not_found)?;
    let current = repo::find_profile(&mut tx, tenant, agent_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Provider profile"))?;
    let revision = repo::find_revision(&mut tx, tenant, agent_id).await?;
    let outcome = transition(Some(review_state(&current, revision.as_ref())), action)?;
    let detail = match (outcome, revision) {
        (Outcome::Status(to), revision) => {
            let profile = decide_status(&mut tx, &decision, &agent, &current, to).await?;
            let roles = if to == ProfileStatus::Active {
                AgentRoles::Both
            } else {
                agent.roles
            };
            AgentDetail {
                agent: AgentRow { roles, ..agent },
                profile: Some(profile),
                revision,
            }
        }
        (Outcome::ApplyRevision, Some(pending)) => {
            let profile =
                repo::apply_revision(&mut tx, tenant, agent_id, admin.user_id, decision.now)
                    .await?
                    .ok_or_else(|| impossible(action, outcome))?;
            listing::list(&mut tx, tenant, agent_id, decision.now).await?;
            audit_revision(&mut tx, &decision, &pending, ProfileStatus::Active.as_str()).await?;
            AgentDetail {
                agent,
                profile: Some(profile),
                revision: None,
            }
        }
        (Outcome::RejectRevision, Some(pending)) => {
            let (reason, reviewer) = (decision.reason, admin.user_id);
            let rejected =
                repo::reject_revision(&mut tx, tenant, agent_id, reason, reviewer, decision.now)
                    .await?;
            audit_revision(&mut tx, &decision, &pending, rejected.status.as_str()).await?;
            AgentDetail {
                agent,
                profile: Some(current),
                revision: Some(rejected),
            }
        }
        (outcome, _) => return Err(impossible(action, outcome)),
    };
    tx.commit().await?;
    Ok(detail)
}

/// A decision that moves the profile itself (approve or reject a submission, suspend,
/// reinstate): the profile, the owner's roles, the listing and the audit record.
async fn decide_status(
    tx: &mut PgConnection,
    decision: &Decision<'_>,
    agent: &AgentRow,
    current: &ProfileRow,
    to: ProfileStatus,
) -> ApiResult<ProfileRow> {
    let tenant: TenantId = decision.admin.tenant_id();
    // The profile keeps the reason of the last rejection or suspension; every reason is audited.
    let shown = matches!(
        decision.action,
        ReviewAction::Reject | ReviewAction::Suspend
    );
    let shown_reason = if shown { decision.reason } else { None };
    let profile = repo::review_profile(
        tx,
        tenant,
        agent.id,
        to,
        shown_reason,
        decision.admin.user_id,
        decision.now,
    )
    .await?;
    if to == ProfileStatus::Active {
        repo::set_roles(tx, tenant, agent.id, AgentRoles::Both).await?;
        repo::promote_owner_to_both(tx, tenant, agent.owner_id).await?;
        listing::list(tx, tenant, agent.id, decision.now).await?;
    } else {
        listing::unlist(tx, tenant, agent.id).await?;
    }
    let target = ("provider_profile", agent.id);
    decision
        .audit(tx, target, current.status.as_str(), to.as_str(), None)
        .await?;
    Ok(profile)
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
