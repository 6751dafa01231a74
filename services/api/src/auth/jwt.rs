//! JWT access tokens: HS256 only, with a key id for rotation, issuer, audience, type, tenant,
//! role, expiry and not-before. Anything else (`none`, other algorithms, unknown key ids, another
//! token type) is rejected.

use crate::config::Settings;
use crate::error::{ApiError, ErrorCode};
use crate::ids::{TenantId, UserId};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const ISSUER: &str = "clawrent";
pub const AUDIENCE: &str = "clawrent-api";
pub const ACCESS_TOKEN_TYPE: &str = "access";
const LEEWAY_SECONDS: u64 = 30;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: UserId,
    /// Tenant id: a token is only valid in the tenant that issued it.
    pub tid: TenantId,
    pub role: String,
    pub typ: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: Uuid,
}

struct Key {
    kid: String,
    decoding: DecodingKey,
}

pub struct JwtKeys {
    current_kid: String,
    encoding: EncodingKey,
    verifying: Vec<Key>,
    ttl: chrono::Duration,
}

/// The key id is derived from the secret, so every replica with the same secret agrees on it.
fn key_id(secret: &str) -> String {
    hex::encode(&Sha256::digest(secret.as_bytes())[..6])
}

impl JwtKeys {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let current = settings.jwt_secret.expose();
        let mut verifying = vec![Key {
            kid: key_id(current),
            decoding: DecodingKey::from_secret(current.as_bytes()),
        }];
        if let Some(previous) = &settings.jwt_previous_secret {
            verifying.push(Key {
                kid: key_id(previous.expose()),
                decoding: DecodingKey::from_secret(previous.expose().as_bytes()),
            });
        }
        Ok(Self {
            current_kid: key_id(current),
            encoding: EncodingKey::from_secret(current.as_bytes()),
            verifying,
            ttl: chrono::Duration::from_std(settings.jwt_ttl)?,
        })
    }

    pub fn issue(
        &self,
        tenant: TenantId,
        user: UserId,
        role: &str,
        now: DateTime<Utc>,
    ) -> Result<String, ApiError> {
        let claims = Claims {
            sub: user,
            tid: tenant,
            role: role.to_owned(),
            typ: ACCESS_TOKEN_TYPE.to_owned(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: (now + self.ttl).timestamp(),
            jti: Uuid::now_v7(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.current_kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).map_err(ApiError::internal)
    }

    /// Verifies signature, algorithm, key id, issuer, audience, type, expiry and not-before.
    /// Expiry is checked against `now` (the injected clock) with a small leeway.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, ApiError> {
        let invalid = || ApiError::new(ErrorCode::InvalidToken, "Invalid or expired token");
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        if header.alg != Algorithm::HS256 {
            return Err(invalid());
        }
        let kid = header.kid.ok_or_else(invalid)?;
        let key = self
            .verifying
            .iter()
            .find(|k| k.kid == kid)
            .ok_or_else(invalid)?;

        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        // Time is checked below against the injected clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let claims = jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation)
            .map_err(|_| invalid())?
            .claims;

        let now = now.timestamp();
        let leeway = LEEWAY_SECONDS as i64;
        if claims.typ != ACCESS_TOKEN_TYPE || claims.exp + leeway < now || claims.nbf - leeway > now
        {
            return Err(invalid());
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn keys(secret: &str, previous: Option<&str>) -> JwtKeys {
        let mut vars = HashMap::from([("JWT_SECRET".to_owned(), secret.to_owned())]);
        if let Some(previous) = previous {
            vars.insert("JWT_PREVIOUS_SECRET".to_owned(), previous.to_owned());
        }
        JwtKeys::from_settings(&Settings::from_vars(&vars).expect("settings")).expect("keys")
    }

    const A: &str = "a-secret-that-is-long-enough-for-hs256-use";
    const B: &str = "b-secret-that-is-long-enough-for-hs256-use";

    #[test]
    fn round_trip_and_expiry() {
        let keys = keys(A, None);
        let now = Utc::now();
        let (tenant, user) = (TenantId::new_v7(), UserId::new_v7());
        let token = keys.issue(tenant, user, "consumer", now).expect("issue");
        let claims = keys.verify(&token, now).expect("valid");
        assert_eq!((claims.sub, claims.tid), (user, tenant));
        assert!(
            keys.verify(&token, now + chrono::Duration::days(31))
                .is_err()
        );
        assert!(
            keys.verify(&token, now - chrono::Duration::minutes(5))
                .is_err(),
            "not before"
        );
    }

    #[test]
    fn rotation_keeps_old_tokens_valid_and_foreign_keys_fail() {
        let now = Utc::now();
        let old = keys(A, None)
            .issue(TenantId::new_v7(), UserId::new_v7(), "consumer", now)
            .expect("issue");
        assert!(keys(B, Some(A)).verify(&old, now).is_ok());
        assert!(keys(B, None).verify(&old, now).is_err());
    }

    #[test]
    fn alg_none_and_tampering_fail() {
        let keys = keys(A, None);
        let now = Utc::now();
        let token = keys
            .issue(TenantId::new_v7(), UserId::new_v7(), "consumer", now)
            .expect("issue");
        let mut parts: Vec<&str> = token.split('.').collect();
        let none_header = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            br#"{"alg":"none","typ":"JWT"}"#,
        );
        parts[0] = &none_header;
        assert!(
            keys.verify(&format!("{}.{}.", parts[0], parts[1]), now)
                .is_err()
        );
        let tampered = format!("{}x", token);
        assert!(keys.verify(&tampered, now).is_err());
        assert!(keys.verify("not-a-jwt", now).is_err());
    }
}
