//! Cross-origin access is off by default; CORS_ALLOWED_ORIGINS opens it to the listed origins only,
//! echoing the origin (never `*`), and a value that is not an origin stops the configuration.

use crate::helpers::*;
use clawrent_api::config::Settings;
use reqwest::Method;
use std::collections::HashMap;

const APP_ORIGIN: &str = "https://app.example.com";
const EVIL_ORIGIN: &str = "https://evil.example";

async fn with_origin(
    app: &TestApp,
    method: Method,
    path: &str,
    origin: &str,
    auth: &Auth,
) -> Reply {
    read(
        app.request(method, path, auth)
            .header("origin", origin)
            .send()
            .await
            .expect("request"),
    )
    .await
}

async fn preflight(app: &TestApp, path: &str, origin: &str) -> Reply {
    read(
        app.request(Method::OPTIONS, path, &Auth::none())
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
            .await
            .expect("request"),
    )
    .await
}

fn cors_headers(reply: &Reply) -> Vec<String> {
    reply
        .headers
        .keys()
        .map(|name| name.as_str().to_owned())
        .filter(|name| name.starts_with("access-control-"))
        .collect()
}

fn vary_has_origin(reply: &Reply) -> bool {
    reply
        .headers
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("origin"))
}

#[tokio::test]
async fn without_configured_origins_no_cross_origin_access_is_granted() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;

    // Act
    let answers = [
        (
            "GET from another origin",
            with_origin(&app, Method::GET, "/api/auth/me", EVIL_ORIGIN, &user.auth()).await,
        ),
        (
            "GET from the app's origin",
            with_origin(&app, Method::GET, "/api/auth/me", APP_ORIGIN, &user.auth()).await,
        ),
        (
            "preflight from another origin",
            preflight(&app, "/api/auth/login", EVIL_ORIGIN).await,
        ),
        (
            "preflight from the app's origin",
            preflight(&app, "/api/auth/login", APP_ORIGIN).await,
        ),
    ];

    // Assert
    for (case, reply) in &answers {
        assert_eq!(
            cors_headers(reply),
            Vec::<String>::new(),
            "{case}: {}",
            reply.status
        );
        assert_ne!(
            reply.status.as_u16(),
            204,
            "{case}: a preflight was granted"
        );
    }
    assert_eq!(
        answers[0].1.status.as_u16(),
        200,
        "the request itself is still answered"
    );
}

#[tokio::test]
async fn a_configured_origin_gets_preflights_and_echoed_origins_and_others_get_nothing() {
    // Arrange
    let app = spawn_app_with(&[("CORS_ALLOWED_ORIGINS", APP_ORIGIN)]).await;
    let user = app.signup().await;

    // Act
    let granted = preflight(&app, "/api/auth/login", APP_ORIGIN).await;
    let refused = preflight(&app, "/api/auth/login", EVIL_ORIGIN).await;
    let actual = with_origin(&app, Method::GET, "/api/auth/me", APP_ORIGIN, &user.auth()).await;
    let error = with_origin(&app, Method::GET, "/api/auth/me", APP_ORIGIN, &Auth::none()).await;
    let other = with_origin(&app, Method::GET, "/api/auth/me", EVIL_ORIGIN, &user.auth()).await;
    let lookalike = with_origin(
        &app,
        Method::GET,
        "/api/auth/me",
        "https://app.example.com.evil",
        &user.auth(),
    )
    .await;

    // Assert: the preflight
    assert_eq!(granted.status.as_u16(), 204, "{}", granted.text);
    assert_eq!(
        granted.header("access-control-allow-origin"),
        Some(APP_ORIGIN)
    );
    let methods = granted
        .header("access-control-allow-methods")
        .unwrap_or_default();
    assert!(methods.contains("POST"), "Allow-Methods {methods:?}");
    let allowed = granted
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    for header in ["authorization", "x-api-key", "content-type"] {
        assert!(
            allowed.contains(header),
            "Allow-Headers {allowed:?} lacks {header}"
        );
    }
    assert!(vary_has_origin(&granted), "preflight without Vary: Origin");
    assert_eq!(granted.header("access-control-allow-credentials"), None);
    // ... the actual requests, a success and an error alike
    for (case, reply, status) in [("200", &actual, 200), ("401", &error, 401)] {
        assert_eq!(reply.status.as_u16(), status, "{case}: {}", reply.text);
        assert_eq!(
            reply.header("access-control-allow-origin"),
            Some(APP_ORIGIN),
            "{case}"
        );
        let exposed = reply
            .header("access-control-expose-headers")
            .unwrap_or_default();
        assert!(
            exposed.contains("x-request-id"),
            "{case}: Expose-Headers {exposed:?}"
        );
        assert!(vary_has_origin(reply), "{case}: no Vary: Origin");
    }
    // ... and other origins get nothing
    for (case, reply) in [
        ("preflight", &refused),
        ("GET", &other),
        ("lookalike GET", &lookalike),
    ] {
        assert_eq!(
            cors_headers(reply),
            Vec::<String>::new(),
            "{case}: {}",
            reply.status
        );
    }
    assert_ne!(
        refused.status.as_u16(),
        204,
        "another origin's preflight was granted"
    );
}

fn settings_with_origins(value: &str) -> Result<Settings, clawrent_api::config::ConfigError> {
    let vars: HashMap<String, String> = [
        ("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unused"),
        ("REDIS_URL", "redis://127.0.0.1:6379"),
        ("JWT_SECRET", "test-secret-that-is-long-enough-0123456789"),
        ("CORS_ALLOWED_ORIGINS", value),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    Settings::from_vars(&vars)
}

#[test]
fn cors_allowed_origins_accepts_origins_and_refuses_anything_else() {
    // Arrange
    let valid = [
        (APP_ORIGIN, vec![APP_ORIGIN]),
        (
            "https://APP.example.com, http://localhost:3000",
            vec![APP_ORIGIN, "http://localhost:3000"],
        ),
        ("", vec![]),
    ];
    let invalid = [
        "*",
        "https://a.com/path",
        "https://a.com/",
        "https://*.example.com",
        "a.com",
        "ftp://a.com",
        "https://",
        "https://a.com?x=1",
        "https://a.com, *",
    ];

    // Act / Assert
    for (value, origins) in valid {
        let settings = settings_with_origins(value)
            .unwrap_or_else(|e| panic!("{value:?} is a valid list of origins: {e}"));
        assert_eq!(settings.http.cors_allowed_origins, origins, "{value:?}");
    }
    for value in invalid {
        match settings_with_origins(value) {
            Ok(_) => panic!("{value:?} was accepted as CORS_ALLOWED_ORIGINS"),
            Err(error) => assert_eq!(error.variable, "CORS_ALLOWED_ORIGINS", "{value:?}: {error}"),
        }
    }
}
