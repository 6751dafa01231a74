//! Request extractors with precise JSON errors: bodies (required and optional), client IP.

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt as _;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;

pub use super::client_ip::client_ip;

/// A JSON body that must be present.
pub struct Json<T>(pub T);

/// A JSON body that may be absent: an empty body (with or without Content-Type) or `null` is `None`.
/// The real clients POST `/approve`, `/end`, `/token`, ... with no body and no Content-Type.
pub struct OptionalJson<T>(pub Option<T>);

fn max_body(req: &HttpRequest) -> usize {
    req.app_data::<web::Data<AppState>>()
        .map_or(64 * 1024, |s| s.settings.max_body_bytes)
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("Request body is larger than {limit} bytes"),
    )
}

fn body_timeout(req: &HttpRequest) -> std::time::Duration {
    req.app_data::<web::Data<AppState>>()
        .map_or(std::time::Duration::from_secs(10), |s| {
            s.settings.http.body_read_timeout
        })
}

/// Reads the body up to the limit, refusing early when Content-Length already exceeds it, and
/// answering 408 when the whole body has not arrived within REQUEST_BODY_TIMEOUT (a client
/// trickling one byte a second must not hold a worker's connection indefinitely).
async fn read_body(req: &HttpRequest, payload: &mut Payload) -> Result<web::BytesMut, ApiError> {
    let limit = max_body(req);
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large(limit));
    }
    let timeout = body_timeout(req);
    let read = async {
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidJson,
                    format!("Could not read the request body: {e}"),
                )
            })?;
            if body.len() + chunk.len() > limit {
                return Err(too_large(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    tokio::time::timeout(timeout, read).await.map_err(|_| {
        ApiError::new(
            ErrorCode::RequestTimeout,
            format!(
                "The request body did not arrive within {} seconds",
                timeout.as_secs()
            ),
        )
    })?
}

fn check_content_type(req: &HttpRequest) -> Result<(), ApiError> {
    let Some(value) = req.headers().get(CONTENT_TYPE) else {
        return Ok(()); // lenient: a body without Content-Type is read as JSON
    };
    let mime = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!("Content-Type must be application/json, got {mime:?}"),
        ))
    }
}

/// Parses JSON with the path of the offending field in the message (`user.email: invalid type ...`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if super::guard::json_has_escaped_nul(bytes) {
        let message = "must not contain the NUL character (\\u0000)";
        let path = serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|value| super::guard::nul_path(&value));
        return Err(match path.as_deref() {
            Some(".") | None => ApiError::validation(format!("Request body strings {message}")),
            Some(field) => ApiError::field(field, message),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = parsed.map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let what = strip_position(&inner.to_string());
                if path == "." || path.is_empty() {
                    ApiError::validation(format!("Invalid request body: {what}"))
                } else {
                    ApiError::field(&path, what)
                }
            }
            _ => ApiError::new(ErrorCode::InvalidJson, format!("Malformed JSON: {}", inner)),
        }
    })?;
    de.end()
        .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("Malformed JSON: {e}")))?;
    Ok(value)
}

fn strip_position(message: &str) -> String {
    message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned()
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            check_content_type(&req)?;
            let body = read_body(&req, &mut payload).await?;
            if body.iter().all(u8::is_ascii_whitespace) {
                return Err(ApiError::new(
                    ErrorCode::InvalidJson,
                    "A JSON request body is required",
                ));
            }
            parse_json(&body).map(Json)
        })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let body = read_body(&req, &mut payload).await?;
            if body.iter().all(u8::is_ascii_whitespace) {
                return Ok(OptionalJson(None));
            }
            check_content_type(&req)?;
            // `null` is the documented "no body" too (the schema is `T | null`).
            parse_json::<Option<T>>(&body).map(OptionalJson)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        email: String,
        count: Option<u32>,
    }

    #[test]
    fn messages_name_the_field() {
        let err = parse_json::<Body>(br#"{"email": 5}"#).expect_err("type");
        assert_eq!(err.code, ErrorCode::ValidationError);
        assert!(
            err.message.starts_with("email: invalid type: integer `5`"),
            "{}",
            err.message
        );
        let err = parse_json::<Body>(br#"{}"#).expect_err("missing");
        assert_eq!(err.message, "Invalid request body: missing field `email`");
        let err = parse_json::<Body>(br#"{"email": "a", "count": -1}"#).expect_err("range");
        assert!(
            err.message.starts_with("count: invalid value"),
            "{}",
            err.message
        );
    }

    #[test]
    fn malformed_and_trailing_json_are_invalid_json() {
        assert_eq!(
            parse_json::<Body>(br#"{"email": "#).expect_err("eof").code,
            ErrorCode::InvalidJson
        );
        assert_eq!(
            parse_json::<Body>(br#"{"email":"a"} x"#)
                .expect_err("trailing")
                .code,
            ErrorCode::InvalidJson
        );
        let deep = "[".repeat(10_000);
        assert_eq!(
            parse_json::<serde_json::Value>(deep.as_bytes())
                .expect_err("deep")
                .code,
            ErrorCode::InvalidJson
        );
    }
}
