//! The root of every request: a request id, one span carrying method, route, tenant, status and
//! latency, one JSON log line at the end, and a JSON error envelope for any error response that
//! was not produced by our handlers (so even framework-level failures answer `{error, message}`).
//! It also refuses NUL bytes in the URI, answers CORS preflights, and sets the security headers.

use super::cors;
use super::guard::refuse_hostile_request;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderName, HeaderValue,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, ResponseError, web};
use std::time::Instant;
use tracing::Instrument;
use uuid::Uuid;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request's root span, reachable by extractors that learn something worth recording.
#[derive(Clone)]
pub struct RequestSpan(pub tracing::Span);

fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
        .map_or_else(|| Uuid::now_v7().to_string(), str::to_owned)
}

pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(&req);
    let span = tracing::info_span!(
        "http.request",
        request_id = %id,
        http.method = %req.method(),
        http.target = %req.path(),
        http.route = tracing::field::Empty,
        http.status = tracing::field::Empty,
        tenant = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
        otel.kind = "server",
    );
    req.extensions_mut().insert(RequestSpan(span.clone()));

    let settings = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.settings.clone());
    let allowed_origins = settings
        .as_ref()
        .map_or(&[][..], |s| s.http.cors_allowed_origins.as_slice());
    let origin = cors::allowed_origin(req.headers(), allowed_origins);
    let preflight = cors::is_preflight(req.method(), req.headers());

    async move {
        let outcome = if let Err(error) = refuse_hostile_request(req.uri(), req.headers()) {
            Ok(req.into_response(error.error_response()))
        } else if let (true, Some(origin)) = (preflight, origin.clone()) {
            let mut answer = HttpResponse::NoContent().finish();
            cors::preflight_headers(origin, answer.headers_mut());
            Ok(req.into_response(answer))
        } else {
            next.call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)
        };
        let span = tracing::Span::current();
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        span.record("latency_ms", latency_ms);
        let mut res = match outcome {
            Ok(res) => normalize_error_body(res),
            Err(err) => {
                let status = err.as_response_error().status_code();
                span.record("http.status", status.as_u16());
                tracing::info!(
                    http.status = status.as_u16(),
                    latency_ms,
                    "request failed in middleware"
                );
                return Err(err);
            }
        };
        security_headers(&mut res);
        if let Some(origin) = origin {
            cors::response_headers(origin, res.headers_mut());
        }
        let status = res.status().as_u16();
        span.record("http.status", status);
        span.record(
            "http.route",
            res.request()
                .match_pattern()
                .as_deref()
                .unwrap_or("unmatched"),
        );
        if status >= 500 {
            tracing::error!(http.status = status, latency_ms, "request completed");
        } else {
            tracing::info!(http.status = status, latency_ms, "request completed");
        }
        if let Ok(value) = HeaderValue::from_str(&id) {
            res.headers_mut()
                .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
        }
        Ok(res)
    }
    .instrument(span)
    .await
}

const DOCS_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
    script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// `nosniff` everywhere; `no-store` on every API answer (tokens, keys, balances and personal data
/// must not sit in shared or browser caches); a CSP and frame denial on the docs pages.
fn security_headers(res: &mut ServiceResponse<BoxBody>) {
    let path = res.request().path().to_owned();
    let headers = res.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if path.starts_with("/api/") {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if path == "/docs" || path.starts_with("/docs/") {
        headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOCS_CSP));
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
}

/// Error responses produced outside our handlers (actix's own 404/405/400s) get the JSON envelope.
fn normalize_error_body(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = res.status();
    let is_json = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let error = match status {
        StatusCode::NOT_FOUND => {
            ApiError::new(ErrorCode::RouteNotFound, "No endpoint has this path")
        }
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            ErrorCode::MethodNotAllowed,
            "This path does not accept this method",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(ErrorCode::PayloadTooLarge, "Request body too large")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::new(ErrorCode::UnsupportedMediaType, "Unsupported Content-Type")
        }
        StatusCode::UNAUTHORIZED => {
            ApiError::new(ErrorCode::Unauthorized, "Authentication required")
        }
        StatusCode::FORBIDDEN => ApiError::forbidden("Forbidden"),
        StatusCode::SERVICE_UNAVAILABLE => {
            ApiError::new(ErrorCode::ServiceUnavailable, "Service unavailable")
        }
        s if s.is_server_error() => {
            ApiError::new(ErrorCode::InternalError, "Internal server error")
        }
        _ => ApiError::validation(format!(
            "Bad request ({})",
            status.canonical_reason().unwrap_or("client error")
        )),
    };
    let (req, original) = res.into_parts();
    let mut replacement = error.error_response();
    *replacement.status_mut() = original.status();
    for (name, value) in original.headers() {
        if name != CONTENT_TYPE && name != actix_web::http::header::CONTENT_LENGTH {
            replacement
                .headers_mut()
                .insert(name.clone(), value.clone());
        }
    }
    ServiceResponse::new(req, replacement)
}
