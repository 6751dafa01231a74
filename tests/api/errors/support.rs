//! Helpers shared by the error tests: paths and secrets, raw requests with any body and content
//! type, the strict envelope assertion, and token tampering.

use crate::helpers::*;
use reqwest::Method;
use serde_json::Value;

pub const LOGIN: &str = "/api/auth/login";
pub const KEYS: &str = "/api/auth/api-keys";
pub const OTHER_SECRET: &str = "another-secret-that-is-long-enough-01234";
pub const HARNESS_SECRET: &str = "test-secret-that-is-long-enough-0123456789";
/// base64url of `{"alg":"none","typ":"JWT"}`.
pub const ALG_NONE_HEADER: &str = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";

/// Sends `body` as is, with `content_type` when given (reqwest adds none by itself).
pub async fn send_raw(
    app: &TestApp,
    method: Method,
    path: &str,
    auth: &Auth,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Reply {
    let mut builder = app.request(method, path, auth);
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    read(builder.body(body).send().await.expect("request")).await
}

pub async fn post_json_text(
    app: &TestApp,
    path: &str,
    auth: &Auth,
    body: impl Into<reqwest::Body>,
) -> Reply {
    send_raw(
        app,
        Method::POST,
        path,
        auth,
        Some("application/json"),
        body,
    )
    .await
}

/// The error envelope: JSON, the status, the code, a message, and nothing but error/message/details.
pub fn assert_envelope(reply: &Reply, status: u16, code: &str, why: &str) {
    assert_eq!(reply.status.as_u16(), status, "{why}: {}", reply.text);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|v| v.starts_with("application/json")),
        "{why}: content-type {:?}",
        reply.header("content-type")
    );
    let object = reply
        .body
        .as_object()
        .unwrap_or_else(|| panic!("{why}: not a JSON object: {}", reply.text));
    assert_eq!(
        object.get("error").and_then(Value::as_str),
        Some(code),
        "{why}: {}",
        reply.text
    );
    assert!(
        object
            .get("message")
            .and_then(Value::as_str)
            .is_some_and(|m| !m.is_empty()),
        "{why}: {}",
        reply.text
    );
    for key in object.keys() {
        assert!(
            ["error", "message", "details"].contains(&key.as_str()),
            "{why}: unexpected key {key}: {}",
            reply.text
        );
    }
}

pub fn message(reply: &Reply) -> &str {
    reply.body["message"].as_str().unwrap_or_default()
}

/// `token` with one character of the given part (0 header, 1 payload, 2 signature) changed.
pub fn tamper(token: &str, part: usize) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let first = parts[part].remove(0);
    parts[part].insert(0, if first == 'A' { 'B' } else { 'A' });
    parts.join(".")
}
