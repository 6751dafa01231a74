//! The one error-code table and the error type every handler returns.
//!
//! Every error body is `{"error": "<CODE>", "message": "<human text>"}` (plus optional `details`).
//! 5xx bodies never carry internals: the cause chain goes to the log with the request id.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;
use utoipa::ToSchema;

macro_rules! error_codes {
    ($($variant:ident => ($status:ident, $code:literal, $doc:literal)),* $(,)?) => {
        /// Stable error codes. The string and the HTTP status of each are part of the API.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode { $($variant),* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code),* }
            }

            pub fn status(self) -> StatusCode {
                match self { $(ErrorCode::$variant => StatusCode::$status),* }
            }

            /// When the client sees this code.
            pub fn description(self) -> &'static str {
                match self { $(ErrorCode::$variant => $doc),* }
            }
        }
    };
}

error_codes! {
    ValidationError => (BAD_REQUEST, "VALIDATION_ERROR", "A field is missing, has the wrong type or an invalid value; `message` names it."),
    InvalidJson => (BAD_REQUEST, "INVALID_JSON", "The body is not well-formed JSON, or is empty where a body is required."),
    WeakPassword => (BAD_REQUEST, "WEAK_PASSWORD", "The password is shorter than 8 characters, longer than 128, too common, or equal to the email."),
    InvalidVerificationCode => (BAD_REQUEST, "INVALID_VERIFICATION_CODE", "The verification code is wrong, or none was requested for this email."),
    VerificationCodeExpired => (BAD_REQUEST, "VERIFICATION_CODE_EXPIRED", "The verification code is older than 10 minutes; request a new one."),
    VerificationAttemptsExceeded => (BAD_REQUEST, "VERIFICATION_ATTEMPTS_EXCEEDED", "Five wrong codes were entered; request a new code."),
    Unauthorized => (UNAUTHORIZED, "UNAUTHORIZED", "No credentials were sent (Authorization: Bearer, or x-api-key)."),
    InvalidToken => (UNAUTHORIZED, "INVALID_TOKEN", "The token or API key is malformed, expired, revoked, or belongs to another tenant."),
    InvalidCredentials => (UNAUTHORIZED, "INVALID_CREDENTIALS", "Login failed: unknown email or wrong password (the two are indistinguishable)."),
    Forbidden => (FORBIDDEN, "FORBIDDEN", "Authenticated, but the role does not allow this operation."),
    TenantSuspended => (FORBIDDEN, "TENANT_SUSPENDED", "The marketplace (tenant) is suspended by the platform operator."),
    PlatformApiDisabled => (FORBIDDEN, "PLATFORM_API_DISABLED", "PLATFORM_OPERATOR_TOKEN is not configured, so the platform API is off."),
    NotFound => (NOT_FOUND, "NOT_FOUND", "The object does not exist, or belongs to another user or tenant."),
    RouteNotFound => (NOT_FOUND, "ROUTE_NOT_FOUND", "No endpoint has this path."),
    TenantNotFound => (NOT_FOUND, "TENANT_NOT_FOUND", "The X-Tenant header names no tenant."),
    MethodNotAllowed => (METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", "The path exists but not with this HTTP method."),
    EmailAlreadyRegistered => (CONFLICT, "EMAIL_ALREADY_REGISTERED", "An account with this email already exists in this tenant."),
    Conflict => (CONFLICT, "CONFLICT", "The request conflicts with existing data (a slug or hostname taken, an illegal state change)."),
    PayloadTooLarge => (PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", "The body is larger than MAX_BODY_BYTES."),
    UnsupportedMediaType => (UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE", "A body was sent with a Content-Type other than application/json."),
    RequestTimeout => (REQUEST_TIMEOUT, "REQUEST_TIMEOUT", "The request line, headers or body did not arrive in time (REQUEST_BODY_TIMEOUT for bodies); the connection is closed."),
    MalformedRequest => (BAD_REQUEST, "MALFORMED_REQUEST", "The HTTP request could not be parsed (a malformed request line or header, a URL over 64 KiB, a duplicate Host)."),
    HeadersTooLarge => (REQUEST_HEADER_FIELDS_TOO_LARGE, "HEADERS_TOO_LARGE", "The request line and headers together exceed the server's limit."),
    RateLimited => (TOO_MANY_REQUESTS, "RATE_LIMITED", "Too many requests; retry after the number of seconds in Retry-After."),
    InsufficientBalance => (PAYMENT_REQUIRED, "INSUFFICIENT_BALANCE", "The wallet does not hold enough in this currency; top up first."),
    IdempotencyKeyReused => (UNPROCESSABLE_ENTITY, "IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was already used with another request body or endpoint."),
    TopupsDisabled => (FORBIDDEN, "TOPUPS_DISABLED", "Top-ups are switched off on this deployment (PAYMENT_MODE=disabled)."),
    InternalError => (INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "An unexpected server error; the log has the cause under the request id."),
    ServiceUnavailable => (SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", "A dependency (Postgres, Redis, mail) is unavailable; retry after Retry-After."),
    Overloaded => (SERVICE_UNAVAILABLE, "OVERLOADED", "Too much password hashing in progress (from this address, or overall); retry after Retry-After."),
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable error code, see docs/errors.md.
    #[schema(example = "VALIDATION_ERROR")]
    pub error: String,
    /// Human-readable explanation.
    #[schema(example = "email: must be a valid email address")]
    pub message: String,
    /// Optional structured details (for example the field that failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<serde_json::Value>,
    pub retry_after: Option<u64>,
    source: Option<anyhow::Error>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
            retry_after: None,
            source: None,
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationError, message)
    }

    /// A field-level validation error; `details.field` names the offending field.
    pub fn field(field: &str, message: impl fmt::Display) -> Self {
        Self::new(ErrorCode::ValidationError, format!("{field}: {message}"))
            .with_details(serde_json::json!({ "field": field }))
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut err = Self::new(
            ErrorCode::RateLimited,
            format!("Too many requests; retry in {retry_after_secs} s"),
        );
        err.retry_after = Some(retry_after_secs.max(1));
        err
    }

    /// A dependency is down: 503 with Retry-After, the cause logged, never shown.
    pub fn unavailable(what: &str, cause: impl Into<anyhow::Error>) -> Self {
        let mut err = Self::new(
            ErrorCode::ServiceUnavailable,
            format!("{what} is temporarily unavailable; retry shortly"),
        );
        err.retry_after = Some(1);
        err.source = Some(cause.into());
        err
    }

    /// The server sheds load (a bounded queue is full): 503 with Retry-After, nothing logged.
    pub fn overloaded(message: impl Into<String>, retry_after_secs: u64) -> Self {
        let mut err = Self::new(ErrorCode::Overloaded, message);
        err.retry_after = Some(retry_after_secs.max(1));
        err
    }

    /// An unexpected failure: an opaque 500 whose cause goes only to the log.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        let mut err = Self::new(ErrorCode::InternalError, "Internal server error");
        err.source = Some(cause.into());
        err
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Adds what was being done to the logged cause (the client sees nothing of it).
    pub fn context(mut self, what: String) -> Self {
        self.source = self.source.map(|cause| cause.context(what));
        self
    }

    /// A copy of an error shared between extractors: what the client sees, and the cause as text
    /// so the response that carries it still logs why (a 503 from a saturated pool names the
    /// pool timeout in the log, not just the status).
    pub fn shared_clone(&self) -> Self {
        Self {
            code: self.code,
            message: self.message.clone(),
            details: self.details.clone(),
            retry_after: self.retry_after,
            source: self
                .source
                .as_ref()
                .map(|cause| anyhow::anyhow!("{cause:#}")),
        }
    }

    /// Postgres aborted the transaction to break a deadlock or a serialization conflict: running
    /// it again is safe and usually succeeds.
    pub fn is_transient_conflict(&self) -> bool {
        self.source
            .as_ref()
            .and_then(|e| e.downcast_ref::<sqlx::Error>())
            .and_then(|e| match e {
                sqlx::Error::Database(db) => db.code(),
                _ => None,
            })
            .is_some_and(|code| code == "40P01" || code == "40001")
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.code.as_str().to_owned(),
            message: self.message.clone(),
            details: self.details.clone(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)?;
        if let Some(source) = &self.source {
            write!(f, " (caused by: {source:#})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(source) = &self.source {
            tracing::error!(error.code = self.code.as_str(), error.cause = %format!("{source:#}"), "request failed");
        }
        let mut builder = HttpResponse::build(self.status_code());
        if let Some(secs) = self.retry_after {
            builder.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        builder.json(self.body())
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                ApiError::unavailable("The database", err)
            }
            sqlx::Error::Database(db) if db.code().as_deref() == Some("57014") => {
                // statement_timeout: the database is overloaded, not the request malformed.
                ApiError::unavailable("The database", err)
            }
            _ => ApiError::internal(err),
        }
    }
}

impl From<redis::RedisError> for ApiError {
    fn from(err: redis::RedisError) -> Self {
        ApiError::unavailable("Redis", err)
    }
}

/// Maps a named constraint violation to a client error where the query runs.
pub trait OnConstraint<T> {
    fn on_constraint(self, name: &str, to: impl FnOnce() -> ApiError) -> ApiResult<T>;
}

impl<T> OnConstraint<T> for Result<T, sqlx::Error> {
    fn on_constraint(self, name: &str, to: impl FnOnce() -> ApiError) -> ApiResult<T> {
        self.map_err(|err| match &err {
            sqlx::Error::Database(db) if db.constraint() == Some(name) => to(),
            _ => ApiError::from(err),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_unique_and_documented() {
        let docs = include_str!("../../../docs/errors.md");
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(
                seen.insert(code.as_str()),
                "duplicate code {}",
                code.as_str()
            );
            assert!(
                docs.contains(&format!("`{}`", code.as_str())),
                "docs/errors.md does not document {}",
                code.as_str()
            );
        }
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let err = ApiError::internal(anyhow::anyhow!("password=hunter2 at db.internal:5432"));
        let body = serde_json::to_string(&err.body()).expect("serializes");
        assert!(!body.contains("hunter2"), "{body}");
        assert_eq!(
            body,
            r#"{"error":"INTERNAL_ERROR","message":"Internal server error"}"#
        );
    }
}
