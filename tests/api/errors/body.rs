//! Body errors: malformed JSON, invalid UTF-8, non-objects, fields of the wrong type (also in
//! arrays), missing fields and empty bodies.

use super::support::{KEYS, LOGIN, assert_envelope, message, post_json_text, send_raw};
use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn malformed_json_is_400_invalid_json() {
    let app = spawn_app().await;
    let cases = [
        ("truncated object", r#"{"email": "#),
        (
            "unquoted key",
            r#"{email: "a@example.com", "password": "x"}"#,
        ),
        ("single quotes", "{'email': 'a@example.com'}"),
        (
            "trailing comma",
            r#"{"email": "a@example.com", "password": "x",}"#,
        ),
        (
            "trailing garbage",
            r#"{"email": "a@example.com", "password": "x"} x"#,
        ),
        (
            "two objects",
            r#"{"email": "a@example.com", "password": "x"}{}"#,
        ),
        ("not JSON at all", "email=a@example.com&password=x"),
        (
            "invalid UTF-8 escape",
            r#"{"email": "\ud800", "password": "x"}"#,
        ),
    ];
    for (why, body) in cases {
        let reply = post_json_text(&app, LOGIN, &Auth::none(), body).await;
        assert_envelope(&reply, 400, "INVALID_JSON", why);
    }
}

#[tokio::test]
async fn invalid_utf8_in_the_body_is_400() {
    let app = spawn_app().await;
    let body: Vec<u8> = b"{\"email\": \"a\xff@example.com\", \"password\": \"x\"}".to_vec();
    let reply = post_json_text(&app, LOGIN, &Auth::none(), body).await;
    assert_envelope(&reply, 400, "INVALID_JSON", "invalid UTF-8");
}

#[tokio::test]
async fn json_that_is_not_an_object_is_400_validation_error() {
    let app = spawn_app().await;
    let cases = [
        (
            "an array",
            r#"[{"email": "a@example.com", "password": "x"}]"#,
        ),
        ("an empty array", "[]"),
        ("a string", r#""a@example.com""#),
        ("a number", "42"),
        ("null", "null"),
        ("a boolean", "true"),
    ];
    for (why, body) in cases {
        let reply = post_json_text(&app, LOGIN, &Auth::none(), body).await;
        assert_envelope(&reply, 400, "VALIDATION_ERROR", why);
    }
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_400_naming_the_field() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let register = |code: Value| json!({ "email": unique_email("typed"), "password": PASSWORD, "name": "A", "verificationCode": code });
    let cases: Vec<(&str, &str, Auth, Value, &str)> = vec![
        (
            "email as a number",
            LOGIN,
            Auth::none(),
            json!({ "email": 5, "password": "x" }),
            "email",
        ),
        (
            "password as a boolean",
            LOGIN,
            Auth::none(),
            json!({ "email": "a@example.com", "password": true }),
            "password",
        ),
        (
            "email as an object",
            "/api/auth/send-verification",
            Auth::none(),
            json!({ "email": { "a": 1 } }),
            "email",
        ),
        (
            "verificationCode as a number",
            "/api/auth/register",
            Auth::none(),
            register(json!(123_456)),
            "verificationCode",
        ),
        (
            "key name as a number",
            KEYS,
            user.auth(),
            json!({ "name": 5 }),
            "name",
        ),
        (
            "tenant name as null",
            "/api/platform/tenants",
            Auth::operator(),
            json!({ "slug": "typed", "name": null }),
            "name",
        ),
    ];

    for (why, path, auth, body, field) in cases {
        // Act
        let reply = app.post(path, &auth, &body).await;

        // Assert
        assert_envelope(&reply, 400, "VALIDATION_ERROR", why);
        assert!(
            message(&reply).starts_with(&format!("{field}:")),
            "{why}: {}",
            reply.text
        );
        assert_eq!(
            reply.body["details"]["field"], field,
            "{why}: {}",
            reply.text
        );
    }
    assert_eq!(
        app.count("SELECT count(*) FROM tenants").await,
        1,
        "no tenant was created"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM api_keys").await,
        1,
        "no key was created"
    );
}

#[tokio::test]
async fn a_wrong_type_inside_an_array_names_the_element() {
    let app = spawn_app().await;
    let body = json!({ "slug": "arr", "name": "Arr", "currencies": ["USD", 7] });
    let reply = app
        .post("/api/platform/tenants", &Auth::operator(), &body)
        .await;
    assert_envelope(&reply, 400, "VALIDATION_ERROR", "number in currencies");
    assert_eq!(
        reply.body["details"]["field"], "currencies[1]",
        "{}",
        reply.text
    );
    assert!(
        message(&reply).starts_with("currencies[1]:"),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn a_missing_required_field_is_400_naming_it() {
    let app = spawn_app().await;
    let cases = [
        (
            "login without password",
            LOGIN,
            json!({ "email": "a@example.com" }),
            "password",
        ),
        (
            "login without email",
            LOGIN,
            json!({ "password": "x" }),
            "email",
        ),
        ("empty object on login", LOGIN, json!({}), "email"),
        (
            "send-verification without email",
            "/api/auth/send-verification",
            json!({}),
            "email",
        ),
        (
            "register without code",
            "/api/auth/register",
            json!({ "email": "a@example.com", "password": PASSWORD, "name": "A" }),
            "verificationCode",
        ),
    ];
    for (why, path, body, field) in cases {
        let reply = app.post(path, &Auth::none(), &body).await;
        assert_envelope(&reply, 400, "VALIDATION_ERROR", why);
        assert!(
            message(&reply).contains(&format!("`{field}`")),
            "{why}: {}",
            reply.text
        );
    }
}

#[tokio::test]
async fn an_empty_body_on_a_required_body_endpoint_is_400_invalid_json() {
    let app = spawn_app().await;
    let cases = [
        ("login, no body, no Content-Type", LOGIN, None, ""),
        (
            "login, no body, JSON Content-Type",
            LOGIN,
            Some("application/json"),
            "",
        ),
        (
            "login, whitespace body",
            LOGIN,
            Some("application/json"),
            " \n\t ",
        ),
        ("register, no body", "/api/auth/register", None, ""),
        (
            "send-verification, no body",
            "/api/auth/send-verification",
            None,
            "",
        ),
    ];
    for (why, path, content_type, body) in cases {
        let reply = send_raw(&app, Method::POST, path, &Auth::none(), content_type, body).await;
        assert_envelope(&reply, 400, "INVALID_JSON", why);
    }
    let reply = app
        .post_empty("/api/platform/tenants", &Auth::operator())
        .await;
    assert_envelope(&reply, 400, "INVALID_JSON", "create tenant without a body");
    assert_eq!(app.count("SELECT count(*) FROM tenants").await, 1);
}
