//! Tenant value types, each built only through `parse`.

use crate::error::{ApiError, ApiResult};
use crate::ids::TenantId;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema, sqlx::Type)]
#[sqlx(type_name = "tenant_status", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum TenantStatus {
    Active,
    Suspended,
}

impl TenantStatus {
    pub fn parse(raw: &str) -> ApiResult<Self> {
        match raw {
            "active" => Ok(Self::Active),
            "suspended" => Ok(Self::Suspended),
            _ => Err(ApiError::field("status", "must be active or suspended")),
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: String,
    pub name: String,
    pub status: TenantStatus,
    pub fee_rate: Decimal,
    pub currencies: Vec<String>,
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Keys the public ids of wallet transactions (billing::public_ids); never shown.
    pub posting_id_key: Uuid,
}

/// 1-50 characters: lowercase letters, digits and inner hyphens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSlug(String);

impl TenantSlug {
    pub fn parse(raw: &str) -> ApiResult<Self> {
        let ok = (1..=50).contains(&raw.len())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !raw.starts_with('-')
            && !raw.ends_with('-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ApiError::field(
                "slug",
                "must be 1-50 lowercase letters, digits or inner hyphens",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A DNS hostname without port, lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hostname(String);

impl Hostname {
    pub fn parse(raw: &str) -> ApiResult<Self> {
        let host = raw.trim().trim_end_matches('.').to_ascii_lowercase();
        let label_ok = |l: &str| {
            (1..=63).contains(&l.len())
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if (1..=253).contains(&host.len()) && host.split('.').all(label_ok) {
            Ok(Self(host))
        } else {
            Err(ApiError::field(
                "hostnames",
                format!("{raw:?} is not a valid hostname"),
            ))
        }
    }

    /// The hostname part of a `Host` header (`example.com:8080` → `example.com`), if valid.
    pub fn from_host_header(header: &str) -> Option<Self> {
        let host = header
            .rsplit_once(':')
            .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()));
        let host = host.map_or(header, |(host, _)| host);
        Self::parse(host).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a hostname cannot belong to a tenant: names that reach the default tenant by address
/// (`localhost`, IP literals) or by an internal short name (`clawrent`, a Kubernetes Service)
/// would silently move that traffic to the tenant.
fn unassignable(host: &Hostname) -> Option<&'static str> {
    let name = host.as_str();
    let last = name.rsplit('.').next().unwrap_or(name);
    if name == "localhost" || name.ends_with(".localhost") {
        Some("is a loopback name")
    } else if last.chars().all(|c| c.is_ascii_digit()) {
        Some("is an IP address, not a domain name")
    } else if !name.contains('.') {
        Some("is not a fully qualified domain name (it has no dot)")
    } else {
        None
    }
}

/// The hostnames of a tenant: valid, fully qualified domain names, neither loopback nor IP
/// literals (see [`unassignable`]), at most 20, duplicates dropped.
pub fn parse_hostnames(raw: &[String]) -> ApiResult<Vec<Hostname>> {
    if raw.len() > 20 {
        return Err(ApiError::field(
            "hostnames",
            "at most 20 hostnames per tenant",
        ));
    }
    let mut out: Vec<Hostname> = Vec::with_capacity(raw.len());
    for host in raw {
        let parsed = Hostname::parse(host)?;
        if let Some(why) = unassignable(&parsed) {
            return Err(ApiError::field(
                "hostnames",
                format!("{host:?} {why}: a tenant hostname must be a public domain name"),
            ));
        }
        let host = parsed;
        if !out.contains(&host) {
            out.push(host);
        }
    }
    Ok(out)
}

/// ISO-4217-style codes: three uppercase letters, 1-16 of them, no duplicates.
pub fn parse_currencies(raw: &[String]) -> ApiResult<Vec<String>> {
    if raw.is_empty() || raw.len() > 16 {
        return Err(ApiError::field(
            "currencies",
            "must list 1 to 16 currency codes",
        ));
    }
    let mut out = Vec::with_capacity(raw.len());
    for code in raw {
        if code.len() != 3 || !code.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(ApiError::field(
                "currencies",
                format!("{code:?} is not a 3-letter uppercase code"),
            ));
        }
        if !out.contains(code) {
            out.push(code.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::parse_fee_rate;

    #[test]
    fn slugs() {
        for ok in ["default", "acme", "a", "acme-2"] {
            assert!(TenantSlug::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Acme",
            "-acme",
            "acme-",
            "ac me",
            "ac_me",
            &"a".repeat(51),
        ] {
            assert!(TenantSlug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_headers() {
        assert_eq!(
            Hostname::from_host_header("Market.Example.com:8080").map(|h| h.0),
            Some("market.example.com".into())
        );
        assert_eq!(
            Hostname::from_host_header("127.0.0.1:3001").map(|h| h.0),
            Some("127.0.0.1".into())
        );
        assert!(Hostname::from_host_header("bad host").is_none());
        assert!(Hostname::parse("-x.com").is_err());
    }

    #[test]
    fn loopback_names_ip_literals_and_short_names_cannot_be_tenant_hostnames() {
        for bad in [
            "localhost",
            "LOCALHOST.",
            "api.localhost",
            "127.0.0.1",
            "10.1.2.3",
            "127.1",
            "0",
            "clawrent",
            "::1",
            "[::1]",
        ] {
            assert!(parse_hostnames(&[bad.to_owned()]).is_err(), "{bad}");
        }
        for good in [
            "agents.acme.test",
            "market.example.com",
            "1password.example",
            "x.io",
        ] {
            assert!(parse_hostnames(&[good.to_owned()]).is_ok(), "{good}");
        }
    }

    #[test]
    fn fee_rates() {
        assert_eq!(parse_fee_rate("0.15").ok(), Some(Decimal::new(15, 2)));
        assert!(parse_fee_rate("0").is_ok());
        for bad in ["1", "1.5", "-0.1", "0.12345", "abc", ""] {
            assert!(parse_fee_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn currencies() {
        assert!(parse_currencies(&["USD".into(), "CNY".into()]).is_ok());
        assert!(parse_currencies(&[]).is_err());
        assert!(parse_currencies(&["usd".into()]).is_err());
        assert!(parse_currencies(&["USDT".into()]).is_err());
    }
}
