//! Account value types, each built only through `parse`.

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ids::{TenantId, UserId};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema, sqlx::Type)]
#[sqlx(type_name = "user_role", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum UserRole {
    Consumer,
    Provider,
    Both,
    Admin,
}

impl UserRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Consumer => "consumer",
            Self::Provider => "provider",
            Self::Both => "both",
            Self::Admin => "admin",
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role: UserRole,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A syntactically valid email, trimmed and lowercased (emails are unique per tenant, case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> ApiResult<Self> {
        let email = raw.trim().to_lowercase();
        let invalid = || ApiError::field("email", "must be a valid email address");
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        let local_ok = (1..=64).contains(&local.len())
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let domain_ok = domain.len() <= 253
            && domain.contains('.')
            && domain.split('.').all(|l| {
                (1..=63).contains(&l.len())
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        if email.len() <= 254 && local_ok && domain_ok {
            Ok(Self(email))
        } else {
            Err(invalid())
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 8-128 characters, not a well-known password, not the email itself. No composition rules (NIST 800-63B).
pub struct Password(String);

const COMMON_PASSWORDS: &[&str] = &[
    "password",
    "password1",
    "password123",
    "12345678",
    "123456789",
    "1234567890",
    "qwerty123",
    "qwertyuiop",
    "11111111",
    "00000000",
    "iloveyou",
    "abc12345",
    "abcd1234",
    "letmein1",
    "welcome1",
    "admin123",
    "passw0rd",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "1q2w3e4r",
    "qwerty12",
    "zaq12wsx",
    "trustno1",
    "changeme",
    "clawrent",
];

impl Password {
    pub fn parse(raw: &str, email: &Email) -> ApiResult<Self> {
        let weak = |why: &str| ApiError::new(ErrorCode::WeakPassword, format!("password: {why}"));
        let chars = raw.chars().count();
        if chars < 8 {
            return Err(weak("must be at least 8 characters"));
        }
        if chars > 128 {
            return Err(weak("must be at most 128 characters"));
        }
        let lower = raw.to_lowercase();
        if COMMON_PASSWORDS.contains(&lower.as_str()) || raw.chars().all(|c| raw.starts_with(c)) {
            return Err(weak("is too common; choose a less guessable one"));
        }
        if lower == email.as_str() || lower == email.as_str().split('@').next().unwrap_or_default()
        {
            return Err(weak("must not be your email address"));
        }
        Ok(Self(raw.to_owned()))
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A display name: 1-100 characters after trimming, no control characters.
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> ApiResult<Self> {
        let name = raw.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ApiError::field("name", "must be 1-100 characters"));
        }
        if name.chars().any(char::is_control) {
            return Err(ApiError::field(
                "name",
                "must not contain control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Exactly six ASCII digits.
pub struct VerificationCode(String);

impl VerificationCode {
    pub fn parse(raw: &str) -> ApiResult<Self> {
        let code = raw.trim();
        if code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()) {
            Ok(Self(code.to_owned()))
        } else {
            Err(ApiError::field(
                "verificationCode",
                "must be the 6-digit code from the email",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An API key's label: 1-100 characters, default "default".
pub fn parse_key_name(raw: Option<&str>) -> ApiResult<String> {
    let name = raw.map(str::trim).unwrap_or("default");
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::field(
            "name",
            "must be 1-100 characters without control characters",
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").map(|e| e.0).ok(),
            Some("ada@example.com".into())
        );
        for ok in ["a.b+tag@sub.example.io", "x@y.co"] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a b@c.com",
            "a@@b.com",
            ".a@b.com",
            "a..b@c.com",
            "a@-b.com",
            "a@b..com",
            &format!("{}@x.com", "a".repeat(65)),
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords() {
        let email = Email::parse("ada@example.com").expect("email");
        assert!(Password::parse("correct horse battery", &email).is_ok());
        for bad in [
            "short",
            "password123",
            "aaaaaaaaaa",
            "ADA@example.com",
            &"x".repeat(129),
        ] {
            let err = Password::parse(bad, &email).err().expect(bad);
            assert_eq!(err.code, ErrorCode::WeakPassword, "{bad}");
        }
    }

    #[test]
    fn codes_and_names() {
        assert!(VerificationCode::parse("012345").is_ok());
        for bad in ["12345", "1234567", "12a456", ""] {
            assert!(VerificationCode::parse(bad).is_err(), "{bad}");
        }
        assert!(DisplayName::parse("  Ada  ").is_ok());
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse("a\u{0007}b").is_err());
    }
}
