//! Routing errors: unknown routes (404) and wrong methods (405).

use super::support::{KEYS, LOGIN, assert_envelope, send_raw};
use crate::helpers::*;
use reqwest::Method;

#[tokio::test]
async fn an_unknown_route_is_404_route_not_found() {
    let app = spawn_app().await;
    let cases = [
        ("unknown API path", Method::GET, "/api/nope"),
        ("unknown path outside /api", Method::GET, "/nope"),
        ("POST to an unknown path", Method::POST, "/api/nope"),
        ("an extra segment", Method::GET, "/api/auth/me/extra"),
        ("a prefix of a route", Method::GET, "/api/auth"),
        ("a case variant", Method::GET, "/API/HEALTH"),
    ];
    for (why, method, path) in cases {
        let reply = send_raw(
            &app,
            method,
            path,
            &Auth::none(),
            Some("application/json"),
            "{}",
        )
        .await;
        assert_envelope(&reply, 404, "ROUTE_NOT_FOUND", why);
    }
}

#[tokio::test]
async fn a_wrong_method_on_an_existing_path_is_405_method_not_allowed() {
    let app = spawn_app().await;
    let key_path = format!("{KEYS}/{}", uuid::Uuid::now_v7());
    let cases = [
        ("GET on login", Method::GET, LOGIN),
        ("DELETE on me", Method::DELETE, "/api/auth/me"),
        ("PUT on tenants", Method::PUT, "/api/platform/tenants"),
        ("PATCH on api-keys", Method::PATCH, KEYS),
        ("GET on one api key", Method::GET, key_path.as_str()),
        ("POST on health", Method::POST, "/api/health"),
    ];
    for (why, method, path) in cases {
        let reply = send_raw(&app, method, path, &Auth::none(), None, "").await;
        assert_envelope(&reply, 405, "METHOD_NOT_ALLOWED", why);
    }
}
