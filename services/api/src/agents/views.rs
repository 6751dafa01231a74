//! Agent and provider-profile DTOs on the wire (camelCase, money as decimal strings).

use super::domain::{
    AgentRoles, ApprovalMode, Capability, HostingType, OnlineStatus, PricingModel, ProfileStatus,
    RevisionStatus, SlotAssignmentMode, TransparencyLevel,
};
use super::repo::{AgentRow, ProfileRow, ProfileTerms, ReviewItem, RevisionRow};
use super::service::AgentDetail;
use crate::audit::AuditRow;
use crate::ids::{AgentId, AuditId, UserId};
use crate::time_format;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A price for the wire: at least 2 decimals, no trailing zeros beyond (`"1.00"`, `"0.0125"`).
pub use crate::money::format_amount as money;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    /// The profile is keyed by its agent: `id` equals `agentId`.
    #[schema(value_type = Uuid)]
    pub id: AgentId,
    #[schema(value_type = Uuid)]
    pub agent_id: AgentId,
    pub status: ProfileStatus,
    pub pricing_model: PricingModel,
    #[schema(example = "1.00")]
    pub price_amount: String,
    #[schema(example = "CNY")]
    pub currency: String,
    pub hosting_type: HostingType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check_url: Option<String>,
    pub transparency_level: TransparencyLevel,
    pub approval_mode: ApprovalMode,
    pub max_concurrent_sessions: i32,
    pub max_consumer_slots: i32,
    pub slot_assignment_mode: SlotAssignmentMode,
    pub allow_shared_consumer: bool,
    #[schema(example = "unverified")]
    pub verification_level: &'static str,
    pub total_sessions: i64,
    #[schema(example = "4.50")]
    pub avg_rating: String,
    pub rating_count: i64,
    #[schema(example = "0.9500")]
    pub completion_rate: String,
    /// The admin's reason for the last rejection or suspension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_reason: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "time_format::option::serialize"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reviewed_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "time_format::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub submitted_at: DateTime<Utc>,
    #[serde(serialize_with = "time_format::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "time_format::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

fn ratio(part: i64, whole: i64, scale: u32) -> String {
    let mut value = if whole > 0 {
        Decimal::from(part) / Decimal::from(whole)
    } else {
        Decimal::ZERO
    };
    value = value.round_dp(scale);
    value.rescale(scale);
    value.to_string()
}

impl From<&ProfileRow> for ProfileView {
    fn from(p: &ProfileRow) -> Self {
        Self {
            id: p.agent_id,
            agent_id: p.agent_id,
            status: p.status,
            pricing_model: p.pricing_model,
            price_amount: money(p.price_amount),
            currency: p.currency.clone(),
            hosting_type: p.hosting_type,
            endpoint: p.endpoint.clone(),
            health_check_url: p.health_check_url.clone(),
            transparency_level: p.transparency_level,
            approval_mode: p.approval_mode,
            max_concurrent_sessions: p.max_concurrent_sessions,
            max_consumer_slots: p.max_consumer_slots,
            slot_assignment_mode: p.slot_assignment_mode,
            allow_shared_consumer: p.allow_shared_consumer,
            verification_level: "unverified",
            total_sessions: p.total_sessions,
            avg_rating: ratio(p.rating_sum, p.rating_count, 2),
            rating_count: p.rating_count,
            completion_rate: ratio(p.completed_sessions, p.total_sessions, 4),
            review_reason: p.review_reason.clone(),
            reviewed_at: p.reviewed_at,
            submitted_at: p.submitted_at,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// Provider terms as submitted (those of a revision).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TermsView {
    pub pricing_model: PricingModel,
    #[schema(example = "1.00")]
    pub price_amount: String,
    #[schema(example = "CNY")]
    pub currency: String,
    pub hosting_type: HostingType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check_url: Option<String>,
    pub transparency_level: TransparencyLevel,
    pub approval_mode: ApprovalMode,
    pub max_concurrent_sessions: i32,
    pub max_consumer_slots: i32,
    pub slot_assignment_mode: SlotAssignmentMode,
    pub allow_shared_consumer: bool,
}

impl From<&ProfileTerms> for TermsView {
    fn from(t: &ProfileTerms) -> Self {
        Self {
            pricing_model: t.pricing_model,
            price_amount: money(t.price_amount),
            currency: t.currency.clone(),
            hosting_type: t.hosting_type,
            endpoint: t.endpoint.clone(),
            health_check_url: t.health_check_url.clone(),
            transparency_level: t.transparency_level,
            approval_mode: t.approval_mode,
            max_concurrent_sessions: t.max_concurrent_sessions,
            max_consumer_slots: t.max_consumer_slots,
            slot_assignment_mode: t.slot_assignment_mode,
            allow_shared_consumer: t.allow_shared_consumer,
        }
    }
}

/// Terms the owner submitted while the profile was active. The live profile and its listing
/// keep the approved terms until an admin approves these (they become the live terms and the
/// revision disappears); a rejection leaves the live terms and keeps the revision, `rejected`,
/// with the admin's `reviewReason`, until the next publish replaces it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevisionView {
    pub status: RevisionStatus,
    #[serde(flatten)]
    pub terms: TermsView,
    /// The admin's reason, once the revision is rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_reason: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "time_format::option::serialize"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reviewed_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "time_format::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub submitted_at: DateTime<Utc>,
}

impl From<&RevisionRow> for RevisionView {
    fn from(r: &RevisionRow) -> Self {
        Self {
            status: r.status,
            terms: TermsView::from(&r.terms),
            review_reason: r.review_reason.clone(),
            reviewed_at: r.reviewed_at,
            submitted_at: r.submitted_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentView {
    #[schema(value_type = Uuid)]
    pub id: AgentId,
    /// Same as `id` (some clients read `agentId`).
    #[schema(value_type = Uuid)]
    pub agent_id: AgentId,
    #[schema(value_type = Uuid)]
    pub owner_id: UserId,
    pub name: String,
    pub slug: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long_description: Option<String>,
    pub capabilities: Vec<Capability>,
    pub required_permissions: Vec<String>,
    pub roles: AgentRoles,
    pub online_status: OnlineStatus,
    /// `draft` until published, then the provider profile's status.
    #[schema(example = "draft")]
    pub status: &'static str,
    /// Where the agent runs: `self` (its owner's daemon) or `platform`.
    #[schema(example = "self")]
    pub serve_hosting: &'static str,
    pub has_agent_token: bool,
    /// The first characters of the current agent token, to recognise it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_token_prefix: Option<String>,
    /// The live provider profile (absent for a draft).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_profile: Option<ProfileView>,
    /// Terms submitted while the profile was active, awaiting review or rejected (absent when
    /// there are none). Only the owner and the admins see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_revision: Option<RevisionView>,
    #[serde(serialize_with = "time_format::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "time_format::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

impl AgentView {
    pub fn new(a: &AgentRow, profile: Option<&ProfileRow>, revision: Option<&RevisionRow>) -> Self {
        Self {
            id: a.id,
            agent_id: a.id,
            owner_id: a.owner_id,
            name: a.name.clone(),
            slug: a.slug.clone(),
            description: a.description.clone(),
            long_description: a.long_description.clone(),
            capabilities: a.capabilities.0.clone(),
            required_permissions: a.required_permissions.clone(),
            roles: a.roles,
            online_status: a.online_status,
            status: profile.map_or("draft", |p| p.status.as_str()),
            serve_hosting: match profile.map(|p| p.hosting_type) {
                Some(HostingType::PlatformHosted) => "platform",
                _ => "self",
            },
            has_agent_token: a.token_prefix.is_some(),
            agent_token_prefix: a.token_prefix.clone(),
            provider_profile: profile.map(ProfileView::from),
            pending_revision: revision.map(RevisionView::from),
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

impl From<&AgentDetail> for AgentView {
    fn from(d: &AgentDetail) -> Self {
        Self::new(&d.agent, d.profile.as_ref(), d.revision.as_ref())
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewItemView {
    #[schema(value_type = Uuid)]
    pub agent_id: AgentId,
    pub agent_name: String,
    pub agent_slug: String,
    #[schema(value_type = Uuid)]
    pub owner_id: UserId,
    pub owner_email: String,
    /// The live profile: `pending_review` for a submission, `active` when the item is a
    /// revision of a live profile (then `pendingRevision` holds the proposed terms).
    pub profile: ProfileView,
    /// The revision of an active profile that awaits a decision (absent when there is none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_revision: Option<RevisionView>,
}

impl From<&ReviewItem> for ReviewItemView {
    fn from(r: &ReviewItem) -> Self {
        Self {
            agent_id: r.profile.agent_id,
            agent_name: r.name.clone(),
            agent_slug: r.slug.clone(),
            owner_id: r.owner_id,
            owner_email: r.owner_email.clone(),
            profile: ProfileView::from(&r.profile),
            pending_revision: r.revision.as_ref().map(RevisionView::from),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditView {
    #[schema(value_type = Uuid)]
    pub id: AuditId,
    #[schema(value_type = Uuid)]
    pub actor_id: UserId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_email: Option<String>,
    /// `approve`, `reject`, `suspend`, `reinstate`, `wallet_credit` or `wallet_debit`.
    pub action: String,
    /// `provider_profile` (a review of the profile), `provider_revision` (a decision on the
    /// revision of an active profile; the statuses are the revision's: `pending_review` to
    /// `active` when approved, to `rejected` when rejected) or `wallet`.
    pub target_type: String,
    pub target_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_status: Option<String>,
    /// Facts of a money decision: `{"transactionId","currency","amount","balanceAfter"}`, the
    /// amount signed (`"-2.50"` for a debit); of a revision decision: the proposed terms
    /// (`pricingModel`, `priceAmount`, `currency`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
    #[serde(serialize_with = "time_format::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

impl From<AuditRow> for AuditView {
    fn from(r: AuditRow) -> Self {
        Self {
            id: r.id,
            actor_id: r.actor_id,
            actor_email: r.actor_email,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            reason: r.reason,
            from_status: r.from_status,
            to_status: r.to_status,
            details: r.details,
            created_at: r.created_at,
        }
    }
}
