//! Provider terms as submitted (publish, apply-provider): parsed and completed from the current
//! live profile, else the defaults the clients assume.

use super::domain::{
    ApprovalMode, HostingType, PricingModel, SlotAssignmentMode, TransparencyLevel, parse_url,
};
use super::repo::{ProfileRow, ProfileTerms};
use crate::error::{ApiError, ApiResult};
use crate::money::parse_price;

/// The provider terms as sent; absent fields keep the live profile's value, else the contract's
/// default (per_session, "1.00", CNY, self_hosted, manual, moderate, 5, 1). A revision of an
/// active profile is completed from the live terms too, never from an earlier revision: each
/// submission is the whole proposal and replaces the previous one.
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

pub(super) fn resolve_terms(
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
