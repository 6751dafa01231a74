//! Session tokens: what both participants present on `/ws/session`. A token is derived, never
//! stored: `sess_` + base64url(HMAC-SHA256(key, tenant, session))[..32 chars], with the key
//! derived from JWT_SECRET. Rotating JWT_SECRET therefore changes every session's token (the
//! clients read it again from the session list or detail).

use crate::auth::tokens;
use crate::ids::{SessionId, TenantId};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::sync::Arc;

pub const PREFIX: &str = "sess_";

#[derive(Clone)]
pub struct SessionTokens {
    key: Arc<[u8]>,
}

impl SessionTokens {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: tokens::hmac_sha256(secret, &["session-token-key"]).into(),
        }
    }

    pub fn token(&self, tenant: TenantId, session: SessionId) -> String {
        let mac = tokens::hmac_sha256(&self.key, &[&tenant.to_string(), &session.to_string()]);
        format!("{PREFIX}{}", &URL_SAFE_NO_PAD.encode(&mac[..24]))
    }

    /// Whether `presented` is this session's token (constant time).
    pub fn verify(&self, tenant: TenantId, session: SessionId, presented: &str) -> bool {
        tokens::constant_time_eq(&self.token(tenant, session), presented)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_belongs_to_one_session_of_one_tenant_under_one_secret() {
        let tokens = SessionTokens::new(b"secret-a");
        let (tenant, session) = (TenantId::new_v7(), SessionId::new_v7());
        let token = tokens.token(tenant, session);
        assert!(token.starts_with(PREFIX));
        assert_eq!(token.len(), PREFIX.len() + 32);
        assert_eq!(token, tokens.token(tenant, session), "derivable, stable");
        assert!(tokens.verify(tenant, session, &token));
        assert!(!tokens.verify(tenant, SessionId::new_v7(), &token));
        assert!(!tokens.verify(TenantId::new_v7(), session, &token));
        assert!(!SessionTokens::new(b"secret-b").verify(tenant, session, &token));
    }
}
