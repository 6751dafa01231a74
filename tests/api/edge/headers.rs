//! Security headers: `nosniff` on every response, `no-store` on every API answer (credentials
//! included), and a CSP with frame denial on the docs pages.

use crate::helpers::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn every_response_is_nosniff_and_every_api_response_is_no_store() {
    // Arrange: answers of every kind, including those that hand out credentials
    let app = spawn_app().await;
    let email = unique_email("headers");
    let sent = app.send_verification(&email, &Auth::none()).await;
    let code = smtp().latest_code(&email).await;
    let register = app.register(&email, PASSWORD, &code, &Auth::none()).await;
    let user = app.signup().await;
    let login = app.login(&user.email, PASSWORD, &Auth::none()).await;
    let api_key = app
        .post("/api/auth/api-keys", &user.auth(), &json!({ "name": "ci" }))
        .await;
    let agent = app
        .create_agent(&user, &unique_slug("hdr"), json!({}))
        .await;
    let token = app
        .post_empty(&format!("/api/agents/{agent}/token"), &user.auth())
        .await;
    let put_me = read(
        app.request(Method::PUT, "/api/auth/me", &user.auth())
            .send()
            .await
            .expect("request"),
    )
    .await;
    let answers = vec![
        ("send-verification", sent, 200, true),
        ("register", register, 201, true),
        ("login", login, 200, true),
        ("api-key creation", api_key, 201, true),
        ("agent token issue", token, 201, true),
        ("me", app.me(&user.auth()).await, 200, true),
        (
            "me without credentials",
            app.me(&Auth::none()).await,
            401,
            true,
        ),
        (
            "invalid browse",
            app.get("/api/marketplace/browse?limit=0", &user.auth())
                .await,
            400,
            true,
        ),
        (
            "unknown API route",
            app.get("/api/nope", &Auth::none()).await,
            404,
            true,
        ),
        ("405", put_me, 405, true),
        (
            "openapi document",
            app.get("/api/openapi.json", &Auth::none()).await,
            200,
            true,
        ),
        (
            "unknown route",
            app.get("/nope", &Auth::none()).await,
            404,
            false,
        ),
        (
            "liveness",
            app.get("/healthz", &Auth::none()).await,
            200,
            false,
        ),
        ("docs", app.get("/docs/", &Auth::none()).await, 200, false),
    ];

    // Assert
    for (case, reply, status, api) in &answers {
        assert_eq!(reply.status.as_u16(), *status, "{case}: {}", reply.text);
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{case}"
        );
        if *api {
            assert_eq!(reply.header("cache-control"), Some("no-store"), "{case}");
        }
    }
}

#[tokio::test]
async fn the_docs_pages_forbid_framing_and_the_api_does_not_carry_the_docs_policy() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let docs = app.get("/docs/", &Auth::none()).await;
    let redirect = app.get("/docs", &Auth::none()).await;
    let api = app.get("/api/health", &Auth::none()).await;

    // Assert
    for (case, reply) in [("/docs/", &docs), ("/docs", &redirect)] {
        let csp = reply.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("frame-ancestors 'none'"),
            "{case}: CSP {csp:?}"
        );
        assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{case}");
    }
    assert_eq!(docs.status.as_u16(), 200, "{}", docs.text);
    assert_eq!(redirect.status.as_u16(), 308);
    assert_eq!(api.header("x-frame-options"), None);
    assert_eq!(api.header("content-security-policy"), None);
}
