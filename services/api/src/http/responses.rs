//! Error responses that many operations share, documented once: an operation lists
//! `responses(..., BodyErrors)` instead of repeating the rows.

use crate::error::ErrorBody;
use utoipa::IntoResponses;

/// The errors of an operation that reads a JSON body.
#[derive(IntoResponses)]
#[allow(dead_code)] // a documentation type: never built
pub enum BodyErrors {
    /// The body is larger than MAX_BODY_BYTES (PAYLOAD_TOO_LARGE)
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// A body was sent with a Content-Type other than application/json (UNSUPPORTED_MEDIA_TYPE)
    #[response(status = 415)]
    NotJson(ErrorBody),
}

/// The errors of an operation that needs a credential (JWT, API key or agent token).
#[derive(IntoResponses)]
#[allow(dead_code)] // a documentation type: never built
pub enum AuthErrors {
    /// No credential was sent (UNAUTHORIZED), or it is malformed, expired, revoked or of another tenant (INVALID_TOKEN)
    #[response(status = 401)]
    Unauthenticated(ErrorBody),
}

/// The refusal of an admin operation to anyone but the tenant admin's login or API key.
#[derive(IntoResponses)]
#[allow(dead_code)] // a documentation type: never built
pub enum AdminErrors {
    /// Not a marketplace admin, or an admin's agent token (FORBIDDEN)
    #[response(status = 403)]
    NotAdmin(ErrorBody),
}

/// The refusal of credential management to agent tokens.
#[derive(IntoResponses)]
#[allow(dead_code)] // a documentation type: never built
pub enum CredentialErrors {
    /// Agent tokens cannot create, list or revoke credentials (FORBIDDEN)
    #[response(status = 403)]
    AgentToken(ErrorBody),
}

/// The platform API is off unless PLATFORM_OPERATOR_TOKEN is set.
#[derive(IntoResponses)]
#[allow(dead_code)] // a documentation type: never built
pub enum PlatformErrors {
    /// PLATFORM_OPERATOR_TOKEN is not configured (PLATFORM_API_DISABLED)
    #[response(status = 403)]
    Disabled(ErrorBody),
}
