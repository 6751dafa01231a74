//! The root of every request: a request id, one span carrying method, route, tenant, status and
//! latency, one JSON log line at the end, and a JSON error envelope for any error response that
//! was not produced by our handlers (so even framework-level failures answer `{error, message}`).

use crate::error::{ApiError, ErrorCode};
use crate::tenancy::resolve::Resolved;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError};
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

    async move {
        let outcome = next.call(req).await;
        let span = tracing::Span::current();
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        span.record("latency_ms", latency_ms);
        let mut res = match outcome {
            Ok(res) => normalize_error_body(res.map_into_boxed_body()),
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
        let status = res.status().as_u16();
        span.record("http.status", status);
        span.record(
            "http.route",
            res.request()
                .match_pattern()
                .as_deref()
                .unwrap_or("unmatched"),
        );
        if let Some(Resolved(Ok(tenant))) = res.request().extensions().get::<Resolved>() {
            span.record("tenant", tenant.slug.as_str());
        }
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
