//! Agent and provider-profile value types, and the one state machine of the review lifecycle.

use crate::error::{ApiError, ApiResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::wire_enum::wire_enum;

wire_enum!(AgentRoles, "agent_roles", "roles", { Consumer => "consumer", Both => "both" });
wire_enum!(OnlineStatus, "online_status", "onlineStatus", { Online => "online", Offline => "offline", Busy => "busy" });
wire_enum!(
    /// The review lifecycle of a provider profile.
    ProfileStatus, "profile_status", "status",
    { PendingReview => "pending_review", Active => "active", Suspended => "suspended", Rejected => "rejected" }
);
wire_enum!(PricingModel, "pricing_model", "pricingModel",
    { PerSession => "per_session", PerMinute => "per_minute", PerToken => "per_token", Fixed => "fixed" });
wire_enum!(HostingType, "hosting_type", "hostingType", { SelfHosted => "self_hosted", PlatformHosted => "platform_hosted" });
wire_enum!(ApprovalMode, "approval_mode", "approvalMode", { Auto => "auto", Manual => "manual" });
wire_enum!(TransparencyLevel, "transparency_level", "transparencyLevel",
    { Opaque => "opaque", Moderate => "moderate", Transparent => "transparent" });
wire_enum!(SlotAssignmentMode, "slot_assignment_mode", "slotAssignmentMode", { Auto => "auto", Manual => "manual" });

/// What happens to a provider profile. Every change of status goes through [`transition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewAction {
    /// The owner publishes (or resubmits) the profile for review.
    Submit,
    Approve,
    Reject,
    Suspend,
    Reinstate,
}

impl ReviewAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Suspend => "suspend",
            Self::Reinstate => "reinstate",
        }
    }
}

wire_enum!(
    /// The review state of a revision of a live profile: waiting for a decision, or rejected.
    RevisionStatus, "revision_status", "status",
    { PendingReview => "pending_review", Rejected => "rejected" }
);

/// A provider profile as the review lifecycle sees it: its status, and whether a revision of it
/// (terms its owner submitted while it was live) awaits a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewState {
    pub status: ProfileStatus,
    pub revision_pending: bool,
}

/// What a review action does to a provider profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The profile takes this status (a submission also replaces its terms).
    Status(ProfileStatus),
    /// The submitted terms become the live profile's pending revision, replacing an earlier one;
    /// the profile, its status and its marketplace listing stay as they are.
    Revise,
    /// The pending revision's terms become the live profile's; it stays active and listed.
    ApplyRevision,
    /// The pending revision is rejected; the live profile stays as it is.
    RejectRevision,
}

/// The lifecycle: `(none) -submit-> pending_review -approve-> active -suspend-> suspended
/// -reinstate-> active`; `pending_review -reject-> rejected -submit-> pending_review`;
/// resubmitting a pending profile replaces its terms. Submitting an active profile leaves it
/// live and stores the terms as its revision, which an admin approves (the terms go live) or
/// rejects (the live terms stay). Anything else is 409 naming the current state.
pub fn transition(from: Option<ReviewState>, action: ReviewAction) -> ApiResult<Outcome> {
    use Outcome::*;
    use ProfileStatus::*;
    use ReviewAction::*;
    let revision_pending = from.is_some_and(|s| s.revision_pending);
    let outcome = match (from.map(|s| s.status), revision_pending, action) {
        (None | Some(PendingReview | Rejected), _, Submit) => Status(PendingReview),
        (Some(Active), _, Submit) => Revise,
        (Some(PendingReview), _, Approve) => Status(Active),
        (Some(PendingReview), _, Reject) => Status(Rejected),
        (Some(Active), true, Approve) => ApplyRevision,
        (Some(Active), true, Reject) => RejectRevision,
        (Some(Active), _, Suspend) => Status(Suspended),
        (Some(Suspended), _, Reinstate) => Status(Active),
        (None, _, _) => {
            return Err(ApiError::conflict(
                "The agent has no provider profile; publish it first",
            ));
        }
        (Some(current), _, action) => {
            let hint = if current == Active && matches!(action, Approve | Reject) {
                " (no revision of it awaits review)"
            } else {
                ""
            };
            return Err(ApiError::conflict(format!(
                "Cannot {} a provider profile whose status is '{}'{hint}",
                action.as_str(),
                current.as_str()
            ))
            .with_details(serde_json::json!({ "status": current.as_str() })));
        }
    };
    Ok(outcome)
}

/// 3-50 characters: lowercase letters, digits and inner hyphens; unique per tenant.
pub fn parse_slug(raw: &str) -> ApiResult<String> {
    let ok = (3..=50).contains(&raw.len())
        && raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !raw.starts_with('-')
        && !raw.ends_with('-');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(ApiError::field(
            "slug",
            "must be 3-50 lowercase letters, digits or inner hyphens",
        ))
    }
}

/// Trimmed text of `min..=max` characters without control characters (newlines and tabs allowed
/// where `multiline`).
pub fn parse_text(
    field: &str,
    raw: &str,
    min: usize,
    max: usize,
    multiline: bool,
) -> ApiResult<String> {
    let text = raw.trim();
    let len = text.chars().count();
    if len < min || len > max {
        return Err(ApiError::field(
            field,
            format!("must be {min}-{max} characters"),
        ));
    }
    let allowed = |c: char| !c.is_control() || (multiline && (c == '\n' || c == '\t' || c == '\r'));
    if !text.chars().all(allowed) {
        return Err(ApiError::field(
            field,
            "must not contain control characters",
        ));
    }
    Ok(text.to_owned())
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Capability {
    #[schema(example = "coding")]
    pub category: String,
    #[schema(example = "Rust review")]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

pub fn parse_capabilities(raw: Vec<Capability>) -> ApiResult<Vec<Capability>> {
    if raw.len() > 50 {
        return Err(ApiError::field("capabilities", "at most 50 capabilities"));
    }
    raw.into_iter()
        .enumerate()
        .map(|(i, c)| {
            let at = |f: &str| format!("capabilities[{i}].{f}");
            let tags = if c.tags.len() > 20 {
                return Err(ApiError::field(&at("tags"), "at most 20 tags"));
            } else {
                c.tags
                    .iter()
                    .map(|t| parse_text(&at("tags"), t, 1, 50, false))
                    .collect::<ApiResult<Vec<_>>>()?
            };
            Ok(Capability {
                category: parse_text(&at("category"), &c.category, 1, 50, false)?.to_lowercase(),
                name: parse_text(&at("name"), &c.name, 1, 100, false)?,
                description: if c.description.trim().is_empty() {
                    String::new()
                } else {
                    parse_text(&at("description"), &c.description, 1, 500, true)?
                },
                tags,
            })
        })
        .collect()
}

/// Permission ids such as `system.exec`: 1-100 characters of letters, digits, `.`, `_`, `-`, `:`.
pub fn parse_permissions(raw: Vec<String>) -> ApiResult<Vec<String>> {
    if raw.len() > 50 {
        return Err(ApiError::field(
            "requiredPermissions",
            "at most 50 permissions",
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for p in raw {
        let ok = (1..=100).contains(&p.len())
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-:*".contains(c));
        if !ok {
            return Err(ApiError::field(
                "requiredPermissions",
                format!("{p:?} is not a permission id like \"system.exec\""),
            ));
        }
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// An absolute http(s) URL. It is stored and shown, never fetched by this server.
pub fn parse_url(field: &str, raw: &str) -> ApiResult<String> {
    let url = raw.trim();
    let invalid = || {
        ApiError::field(
            field,
            "must be an absolute http:// or https:// URL of at most 2048 characters",
        )
    };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(invalid)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_ok = !host.is_empty()
        && !host.contains('@')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    if url.len() > 2048 || !host_ok || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests;
