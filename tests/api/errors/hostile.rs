//! Hostile input: deeply nested JSON, control characters, huge strings, hostile headers and
//! paths, all 4xx and never 5xx.

use super::support::{KEYS, LOGIN, assert_envelope, post_json_text};
use crate::helpers::*;
use reqwest::Method;
use reqwest::header::HeaderValue;
use serde_json::{Value, json};

#[tokio::test]
async fn deeply_nested_json_is_400_and_the_server_keeps_answering() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let arrays = "[".repeat(10_000);
    let objects = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    let in_field = format!(r#"{{"email": {}, "password": "x"}}"#, "[".repeat(10_000));

    // Act
    let replies = [
        (
            "10 000 [ on login",
            post_json_text(&app, LOGIN, &Auth::none(), arrays.clone()).await,
        ),
        (
            "10 000 nested objects on login",
            post_json_text(&app, LOGIN, &Auth::none(), objects).await,
        ),
        (
            "nesting inside a field",
            post_json_text(&app, LOGIN, &Auth::none(), in_field).await,
        ),
        (
            "10 000 [ on an optional body",
            post_json_text(&app, KEYS, &user.auth(), arrays).await,
        ),
    ];

    // Assert
    for (why, reply) in replies {
        assert_eq!(reply.status.as_u16(), 400, "{why}: {}", reply.text);
        assert!(
            ["INVALID_JSON", "VALIDATION_ERROR"]
                .contains(&reply.body["error"].as_str().unwrap_or_default()),
            "{why}: {}",
            reply.text
        );
    }
    app.get("/api/health", &Auth::none()).await.expect(200);
    app.login(&user.email, &user.password, &Auth::none())
        .await
        .expect(200);
}

#[tokio::test]
async fn control_characters_and_huge_strings_are_4xx_never_5xx() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let huge = "x".repeat(10_000);
    let huge_email = format!("{huge}@example.com");
    let register = |email: &str, name: &str, password: &str| json!({ "email": email, "password": password, "name": name, "verificationCode": "123456" });
    let cases: Vec<(&str, &str, Auth, Value)> = vec![
        (
            "NUL in a login email",
            LOGIN,
            Auth::none(),
            json!({ "email": "a\u{0000}@example.com", "password": "x" }),
        ),
        (
            "NUL in a login password",
            LOGIN,
            Auth::none(),
            json!({ "email": user.email, "password": "pass\u{0000}word" }),
        ),
        (
            "newline in a login email",
            LOGIN,
            Auth::none(),
            json!({ "email": "a@example.com\r\nBcc: x@y.z", "password": "x" }),
        ),
        (
            "huge login email",
            LOGIN,
            Auth::none(),
            json!({ "email": huge_email, "password": "x" }),
        ),
        (
            "huge login password",
            LOGIN,
            Auth::none(),
            json!({ "email": user.email, "password": huge }),
        ),
        (
            "header injection in send-verification",
            "/api/auth/send-verification",
            Auth::none(),
            json!({ "email": "a@example.com\r\nBcc: x@y.z" }),
        ),
        (
            "NUL in send-verification",
            "/api/auth/send-verification",
            Auth::none(),
            json!({ "email": "\u{0000}" }),
        ),
        (
            "huge send-verification email",
            "/api/auth/send-verification",
            Auth::none(),
            json!({ "email": huge_email }),
        ),
        (
            "NUL in a register name",
            "/api/auth/register",
            Auth::none(),
            register("n@example.com", "a\u{0000}b", PASSWORD),
        ),
        (
            "huge register name",
            "/api/auth/register",
            Auth::none(),
            register("n@example.com", &huge, PASSWORD),
        ),
        (
            "NUL in a register password",
            "/api/auth/register",
            Auth::none(),
            register("n@example.com", "Name", "correct\u{0000}horse battery"),
        ),
        (
            "huge register password",
            "/api/auth/register",
            Auth::none(),
            register("n@example.com", "Name", &huge),
        ),
        (
            "NUL in a key name",
            KEYS,
            user.auth(),
            json!({ "name": "\u{0000}" }),
        ),
        ("huge key name", KEYS, user.auth(), json!({ "name": huge })),
        (
            "NUL in a tenant name",
            "/api/platform/tenants",
            Auth::operator(),
            json!({ "slug": "nul", "name": "\u{0000}" }),
        ),
        (
            "NUL in a tenant slug",
            "/api/platform/tenants",
            Auth::operator(),
            json!({ "slug": "a\u{0000}b", "name": "N" }),
        ),
        (
            "huge tenant slug",
            "/api/platform/tenants",
            Auth::operator(),
            json!({ "slug": huge, "name": "N" }),
        ),
        (
            "NUL in a hostname",
            "/api/platform/tenants",
            Auth::operator(),
            json!({ "slug": "host", "name": "N", "hostnames": ["a\u{0000}.example.test"] }),
        ),
        (
            "huge hostname",
            "/api/platform/tenants",
            Auth::operator(),
            json!({ "slug": "host", "name": "N", "hostnames": [huge] }),
        ),
        (
            "NUL in a currency",
            "/api/platform/tenants",
            Auth::operator(),
            json!({ "slug": "cur", "name": "N", "currencies": ["U\u{0000}D"] }),
        ),
        (
            "NUL in a fee rate",
            "/api/platform/tenants",
            Auth::operator(),
            json!({ "slug": "fee", "name": "N", "feeRate": "0.1\u{0000}" }),
        ),
        (
            "NUL in an admin email",
            "/api/platform/tenants/default/admins",
            Auth::operator(),
            json!({ "email": "a\u{0000}@example.com", "password": PASSWORD, "name": "N" }),
        ),
        (
            "NUL in an admin name",
            "/api/platform/tenants/default/admins",
            Auth::operator(),
            json!({ "email": "adm@example.com", "password": PASSWORD, "name": "\u{0000}" }),
        ),
    ];

    for (why, path, auth, body) in cases {
        // Act
        let reply = app.post(path, &auth, &body).await;

        // Assert
        assert!(
            reply.status.is_client_error(),
            "{why}: {} {}",
            reply.status,
            reply.text
        );
        assert!(
            reply.body["error"].is_string(),
            "{why}: the error envelope: {}",
            reply.text
        );
    }
    assert_eq!(
        app.count("SELECT count(*) FROM tenants").await,
        1,
        "no tenant was created"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM users").await,
        1,
        "no user was created"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM api_keys").await,
        1,
        "no key was created"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM email_verifications").await,
        0,
        "no code was stored"
    );
}

#[tokio::test]
async fn hostile_headers_and_paths_are_4xx_never_5xx() {
    let app = spawn_app().await;
    let user = app.signup().await;
    let huge = "a".repeat(10_000);
    let cases: Vec<(&str, Reply)> = vec![
        (
            "huge X-Tenant",
            app.me(&Auth::bearer(&user.token).with("x-tenant", huge.clone()))
                .await,
        ),
        (
            "huge x-api-key",
            app.me(&Auth::api_key(&format!("clr_{huge}"))).await,
        ),
        ("huge bearer", app.me(&Auth::bearer(&huge)).await),
        (
            "huge path id",
            app.delete(&format!("{KEYS}/{huge}"), &user.auth()).await,
        ),
        (
            "huge tenant slug in the path",
            app.get(&format!("/api/platform/tenants/{huge}"), &Auth::operator())
                .await,
        ),
        (
            "encoded NUL in the path",
            app.delete(&format!("{KEYS}/%00"), &user.auth()).await,
        ),
        (
            "huge query",
            app.get(&format!("{KEYS}?limit={huge}"), &user.auth()).await,
        ),
    ];
    for (why, reply) in cases {
        assert!(
            reply.status.is_client_error(),
            "{why}: {} {}",
            reply.status,
            reply.text
        );
        assert!(reply.body["error"].is_string(), "{why}: {}", reply.text);
    }
    let huge_host = app
        .me(&Auth::bearer(&user.token).with("host", huge.clone()))
        .await;
    assert_eq!(
        huge_host.expect(200).body["tenant"]["slug"],
        "default",
        "an invalid Host falls back to the default tenant"
    );
    let non_utf8 = HeaderValue::from_bytes(b"Bearer \xff\xfe").expect("opaque header value");
    let reply = read(
        app.request(Method::GET, "/api/auth/me", &Auth::none())
            .header("authorization", non_utf8)
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_envelope(&reply, 401, "INVALID_TOKEN", "non-UTF-8 Authorization");
    let non_utf8 = HeaderValue::from_bytes(b"\xff\xfe").expect("opaque header value");
    let reply = read(
        app.request(Method::GET, "/api/auth/me", &Auth::none())
            .header("x-tenant", non_utf8)
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_envelope(&reply, 404, "TENANT_NOT_FOUND", "non-UTF-8 X-Tenant");
}
