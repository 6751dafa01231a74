//! Who is calling. One extractor turns any credential into a [`Principal`]:
//! `Authorization: Bearer <JWT>`, `Authorization: Bearer agt_clawrent_...` (agent tokens) or
//! `x-api-key: clr_...`. Handlers declare what they need in their signature: [`Principal`]
//! (any user), [`CredentialManager`] (a user with their login or API key: the only callers that
//! may create, list or revoke credentials), [`AdminPrincipal`] (tenant admin), [`PlatformOperator`]
//! (the operator token).
//!
//! What an agent token may do: it lives on a daemon's machine and acts as its owner for every
//! user-level endpoint the clients call with it (wallet, top-ups, agents, sessions, messages,
//! activate, status, `agents/my`, `me/agent`). It never manages credentials (API keys, agent
//! tokens of any agent) and never reaches admin endpoints, even when its owner is an admin, so a
//! leaked agent token cannot outlive its revocation by minting a longer-lived credential.

use super::tokens::{self, AGENT_TOKEN_PREFIX, API_KEY_PREFIX};
use crate::accounts::domain::UserRole;
use crate::accounts::repo;
use crate::error::{ApiError, ErrorCode};
use crate::ids::{AgentId, ApiKeyId, TenantId, UserId};
use crate::state::AppState;
use crate::tenancy::domain::Tenant;
use crate::tenancy::resolve::CurrentTenant;
use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub const API_KEY_HEADER: &str = "x-api-key";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Jwt,
    ApiKey {
        key_id: ApiKeyId,
    },
    /// An agent token acts as the agent's owner and identifies the agent.
    AgentToken {
        agent_id: AgentId,
    },
}

#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant: Arc<Tenant>,
    pub user_id: UserId,
    pub role: UserRole,
    pub credential: Credential,
}

impl Principal {
    pub fn tenant_id(&self) -> TenantId {
        self.tenant.id
    }

    pub fn is_admin(&self) -> bool {
        self.role == UserRole::Admin
    }
}

fn invalid(message: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidToken, message)
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("app state missing")))
}

/// The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive).
fn bearer_token(header: &actix_web::http::header::HeaderValue) -> Result<&str, ApiError> {
    let malformed = || invalid("Authorization must be 'Bearer <token>'");
    let header = header.to_str().map_err(|_| malformed())?;
    let (scheme, token) = header.split_once(' ').ok_or_else(malformed)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(malformed());
    }
    Ok(token)
}

async fn authenticate(req: HttpRequest) -> Result<Principal, ApiError> {
    let state = state(&req)?;
    let tenant = CurrentTenant::extract(&req).await?.0;
    let now = state.clock.now();

    if let Some(header) = req.headers().get(AUTHORIZATION) {
        let token = bearer_token(header)?;
        if token.starts_with(AGENT_TOKEN_PREFIX) {
            return agent_token_principal(&state, tenant, token).await;
        }
        if token.starts_with(API_KEY_PREFIX) {
            return api_key_principal(&state, tenant, token).await;
        }
        let claims = state.jwt.verify(token, now)?;
        if claims.tid != tenant.id {
            return Err(invalid("Invalid or expired token"));
        }
        let mut conn = state.db.acquire().await?;
        let user = repo::find_user(&mut conn, tenant.id, claims.sub)
            .await?
            .ok_or_else(|| invalid("Invalid or expired token"))?;
        return Ok(Principal {
            tenant,
            user_id: user.id,
            role: user.role,
            credential: Credential::Jwt,
        });
    }

    if let Some(key) = req.headers().get(API_KEY_HEADER) {
        let key = key.to_str().map_err(|_| invalid("Invalid API key"))?.trim();
        return api_key_principal(&state, tenant, key).await;
    }

    Err(ApiError::new(
        ErrorCode::Unauthorized,
        "Authentication required: send 'Authorization: Bearer <token>' or 'x-api-key: <key>'",
    ))
}

/// An agent token acts as the agent's owner and identifies the agent (also used by `/ws/agent`).
pub async fn agent_token_principal(
    state: &AppState,
    tenant: Arc<Tenant>,
    token: &str,
) -> Result<Principal, ApiError> {
    if token.len() > 128 {
        return Err(invalid("Invalid agent token"));
    }
    let mut conn = state.db.acquire().await?;
    let owner = crate::agents::repo::find_by_token(&mut conn, tenant.id, &tokens::sha256(token))
        .await?
        .ok_or_else(|| invalid("Invalid agent token"))?;
    Ok(Principal {
        tenant,
        user_id: owner.owner_id,
        role: owner.role,
        credential: Credential::AgentToken {
            agent_id: owner.agent_id,
        },
    })
}

async fn api_key_principal(
    state: &AppState,
    tenant: Arc<Tenant>,
    key: &str,
) -> Result<Principal, ApiError> {
    if !key.starts_with(API_KEY_PREFIX) || key.len() > 128 {
        return Err(invalid("Invalid API key"));
    }
    let mut conn = state.db.acquire().await?;
    let owner = repo::authenticate_api_key(
        &mut conn,
        tenant.id,
        &tokens::sha256(key),
        state.clock.now(),
    )
    .await?
    .ok_or_else(|| invalid("Invalid API key"))?;
    Ok(Principal {
        tenant,
        user_id: owner.user_id,
        role: owner.role,
        credential: Credential::ApiKey {
            key_id: owner.key_id,
        },
    })
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}

/// Authenticates, then lets `allow` refuse the principal (403s that depend on role or credential).
fn authenticate_then(
    req: &HttpRequest,
    allow: fn(&Principal) -> Result<(), ApiError>,
) -> Pin<Box<dyn Future<Output = Result<Principal, ApiError>>>> {
    let req = req.clone();
    Box::pin(async move {
        let principal = authenticate(req).await?;
        allow(&principal)?;
        Ok(principal)
    })
}

fn is_agent_token(principal: &Principal) -> bool {
    matches!(principal.credential, Credential::AgentToken { .. })
}

/// A user acting with their own login (JWT) or API key: agent tokens get 403.
#[derive(Debug, Clone)]
pub struct CredentialManager(pub Principal);

impl FromRequest for CredentialManager {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let authenticated = authenticate_then(req, |principal| {
            if is_agent_token(principal) {
                return Err(ApiError::forbidden(
                    "An agent token cannot create, list or revoke credentials: use your login token or an API key",
                ));
            }
            Ok(())
        });
        Box::pin(async move { authenticated.await.map(CredentialManager) })
    }
}

/// A tenant admin (role `admin` in the request's tenant).
#[derive(Debug, Clone)]
pub struct AdminPrincipal(pub Principal);

impl FromRequest for AdminPrincipal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let authenticated = authenticate_then(req, |principal| {
            if !principal.is_admin() {
                return Err(ApiError::forbidden(
                    "This operation needs a marketplace admin",
                ));
            }
            // An agent token lives on a daemon's machine: it acts as its owner for user-level
            // endpoints, never with the owner's admin powers.
            if is_agent_token(principal) {
                return Err(ApiError::forbidden(
                    "Admin operations need the admin's login or API key, not an agent token",
                ));
            }
            Ok(())
        });
        Box::pin(async move { authenticated.await.map(AdminPrincipal) })
    }
}

/// The platform operator, authenticated by `Authorization: Bearer <PLATFORM_OPERATOR_TOKEN>`.
#[derive(Debug, Clone, Copy)]
pub struct PlatformOperator;

impl FromRequest for PlatformOperator {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready((|| {
            let state = state(req)?;
            let expected = state
                .settings
                .platform_operator_token
                .as_ref()
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::PlatformApiDisabled,
                        "The platform API is disabled: PLATFORM_OPERATOR_TOKEN is not set",
                    )
                })?;
            let header = req.headers().get(AUTHORIZATION).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthorized,
                    "Send 'Authorization: Bearer <platform operator token>'",
                )
            })?;
            if tokens::constant_time_eq(bearer_token(header)?, expected.expose()) {
                Ok(PlatformOperator)
            } else {
                Err(invalid("Invalid platform operator token"))
            }
        })())
    }
}
