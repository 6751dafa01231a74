//! Request ids: every response carries `X-Request-Id`; valid client ids are echoed.

use super::support::{KEYS, LOGIN, post_json_text, send_raw};
use crate::helpers::*;
use reqwest::Method;

#[tokio::test]
async fn every_response_carries_an_x_request_id() {
    // Arrange
    let app = spawn_app_with(&[("MAX_BODY_BYTES", "2048")]).await;
    let user = app.signup().await;

    // Act
    let replies = [
        ("200 health", app.get("/api/health", &Auth::none()).await),
        ("200 me", app.me(&user.auth()).await),
        ("201 key", app.post_empty(KEYS, &user.auth()).await),
        (
            "400 invalid JSON",
            post_json_text(&app, LOGIN, &Auth::none(), "{").await,
        ),
        ("401 no credentials", app.me(&Auth::none()).await),
        ("404 route", app.get("/api/nope", &Auth::none()).await),
        (
            "404 tenant",
            app.me(&Auth::none().tenant("no-such-tenant")).await,
        ),
        ("405 method", app.get(LOGIN, &Auth::none()).await),
        (
            "413 too large",
            post_json_text(&app, LOGIN, &Auth::none(), "x".repeat(4096)).await,
        ),
        (
            "415 media type",
            send_raw(
                &app,
                Method::POST,
                LOGIN,
                &Auth::none(),
                Some("text/plain"),
                "hi",
            )
            .await,
        ),
        ("308 docs redirect", app.get("/docs", &Auth::none()).await),
    ];

    // Assert
    let mut seen = std::collections::HashSet::new();
    for (why, reply) in replies {
        let id = reply
            .header("x-request-id")
            .unwrap_or_else(|| panic!("{why}: no x-request-id"));
        uuid::Uuid::parse_str(id)
            .unwrap_or_else(|_| panic!("{why}: a generated id is a UUID: {id}"));
        assert!(
            seen.insert(id.to_owned()),
            "{why}: ids are unique per request"
        );
    }
}

#[tokio::test]
async fn a_valid_client_request_id_is_echoed_and_an_invalid_one_replaced() {
    // Arrange
    let app = spawn_app().await;
    let sixty_four = "a".repeat(64);
    let echoed = [
        ("simple", "abc-123"),
        ("dots and underscores", "trace_1.2-x"),
        ("64 characters", sixty_four.as_str()),
    ];
    let too_long = "a".repeat(65);
    let replaced = [
        ("a space", "abc 123"),
        ("a slash", "abc/123"),
        ("65 characters", too_long.as_str()),
        ("a quote", "abc\"123"),
    ];

    for (why, id) in echoed {
        // Act
        let ok = app
            .get(
                "/api/health",
                &Auth::none().with("x-request-id", id.to_owned()),
            )
            .await;
        let error = app
            .get(
                "/api/nope",
                &Auth::none().with("x-request-id", id.to_owned()),
            )
            .await;

        // Assert
        assert_eq!(ok.header("x-request-id"), Some(id), "{why}");
        assert_eq!(error.header("x-request-id"), Some(id), "{why} on an error");
    }
    for (why, id) in replaced {
        let reply = app
            .get(
                "/api/health",
                &Auth::none().with("x-request-id", id.to_owned()),
            )
            .await;
        let got = reply.header("x-request-id").expect("x-request-id");
        assert_ne!(got, id, "{why}");
        assert!(uuid::Uuid::parse_str(got).is_ok(), "{why}: {got}");
    }
}
