use crate::helpers::*;
use serde_json::Value;

#[tokio::test]
async fn health_reports_database_and_redis_up() {
    let app = spawn_app().await;
    let reply = app.get("/api/health", &Auth::none()).await.expect(200);
    assert_eq!(reply.body["status"], "healthy");
    assert_eq!(reply.body["services"]["database"], "up");
    assert_eq!(reply.body["services"]["redis"], "up");
    assert_millis_utc(&reply.body["timestamp"], "timestamp");
    assert!(
        reply.body.get("error").is_none(),
        "healthy bodies carry no error key"
    );
}

#[tokio::test]
async fn liveness_and_readiness_answer_200_when_dependencies_are_up() {
    let app = spawn_app().await;
    app.get("/healthz", &Auth::none()).await.expect(200);
    let ready = app.get("/readyz", &Auth::none()).await.expect(200);
    assert_eq!(ready.body["status"], "ready");
}

#[tokio::test]
async fn an_unreachable_redis_makes_health_fail_but_keeps_the_replica_ready_and_live() {
    // Port 1 on loopback refuses connections: a real unreachable Redis. Redis is shared by every
    // replica: failing readiness on it would empty the Service on a Redis blip.
    let app = spawn_app_with(&[("REDIS_URL", "redis://127.0.0.1:1")]).await;
    let ready = app.get("/readyz", &Auth::none()).await.expect(200);
    assert_eq!(ready.body["status"], "ready");
    assert!(ready.body.get("error").is_none(), "{}", ready.body);
    let health = app.get("/api/health", &Auth::none()).await.expect(503);
    assert_eq!(health.body["services"]["database"], "up");
    assert_eq!(health.body["error"], "SERVICE_UNAVAILABLE");
    assert_eq!(health.body["status"], "unhealthy");
    assert_eq!(health.body["services"]["redis"], "down");
    app.get("/healthz", &Auth::none()).await.expect(200);
}

#[tokio::test]
async fn rate_limited_routes_fail_closed_with_503_when_redis_is_unreachable() {
    let app = spawn_app_with(&[("REDIS_URL", "redis://127.0.0.1:1")]).await;
    let reply = app
        .login("someone@example.com", "whatever-password", &Auth::none())
        .await;
    let reply = reply.expect_error(503, "SERVICE_UNAVAILABLE");
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert!(
        !reply.text.contains("127.0.0.1:1"),
        "no internals in 5xx bodies: {}",
        reply.text
    );
}

#[tokio::test]
async fn an_unreachable_database_makes_readiness_fail_with_503() {
    let app = spawn_app().await;
    let broken = spawn_replica(
        &app,
        &[
            ("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none"),
            ("DATABASE_ACQUIRE_TIMEOUT", "1s"),
        ],
    )
    .await;
    let ready = broken.get("/readyz", &Auth::none()).await.expect(503);
    assert_eq!(ready.body["status"], "not_ready");
    assert!(
        ready.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("database pool broken")),
        "{}",
        ready.body
    );
    let health = broken.get("/api/health", &Auth::none()).await.expect(503);
    assert_eq!(health.body["services"]["database"], "down");
    // Tenant-scoped requests answer 503 with Retry-After, never a bare 500.
    let reply = broken
        .login("someone@example.com", "whatever-password", &Auth::none())
        .await;
    reply.expect_error(503, "SERVICE_UNAVAILABLE");
}

#[tokio::test]
async fn a_saturated_pool_is_busy_not_down_and_the_replica_stays_ready() {
    // Arrange: a replica with a two-connection pool, both held by the test.
    let app = spawn_app().await;
    let replica = spawn_replica(
        &app,
        &[
            ("DATABASE_MAX_CONNECTIONS", "2"),
            ("DATABASE_ACQUIRE_TIMEOUT", "1s"),
        ],
    )
    .await;
    let first = replica.state.db.acquire().await.expect("first connection");
    let second = replica.state.db.acquire().await.expect("second connection");

    // Act
    let ready = replica.get("/readyz", &Auth::none()).await;
    let health = replica.get("/api/health", &Auth::none()).await;
    let login = replica
        .login("someone@example.com", "whatever-password", &Auth::none())
        .await;

    // Assert
    let ready = ready.expect(200);
    assert_eq!(ready.body["status"], "ready");
    assert_eq!(ready.body["pool"]["saturated"], true, "{}", ready.body);
    let health = health.expect(200);
    assert_eq!(health.body["services"]["database"], "up", "{}", health.body);
    assert_eq!(health.body["pool"]["inUse"], 2, "{}", health.body);
    assert_eq!(health.body["pool"]["max"], 2, "{}", health.body);
    let login = login.expect_error(503, "SERVICE_UNAVAILABLE");
    assert_eq!(login.header("retry-after"), Some("1"));
    drop((first, second));
    replica.get("/api/health", &Auth::none()).await.expect(200);
}

#[tokio::test]
async fn served_openapi_document_equals_the_committed_file() {
    let app = spawn_app().await;
    let served = app
        .get("/api/openapi.json", &Auth::none())
        .await
        .expect(200)
        .body;
    let committed: Value = serde_json::from_str(
        &tokio::fs::read_to_string(workspace_root().join("openapi/openapi.json"))
            .await
            .expect("openapi/openapi.json is committed"),
    )
    .expect("valid JSON");
    assert!(
        served == committed,
        "openapi/openapi.json is stale: regenerate it with `make openapi` (cargo run -p clawrent-api -- openapi > openapi/openapi.json)"
    );
}

#[tokio::test]
async fn every_documented_operation_lists_error_responses_with_the_error_schema() {
    let app = spawn_app().await;
    let doc = app
        .get("/api/openapi.json", &Auth::none())
        .await
        .expect(200)
        .body;
    let paths = doc["paths"].as_object().expect("paths");
    assert!(
        paths.len() >= 10,
        "expected the whole API, got {} paths",
        paths.len()
    );
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item") {
            let responses = op["responses"].as_object().expect("responses");
            let errors: Vec<&String> = responses
                .keys()
                .filter(|s| s.starts_with('4') || s.starts_with('5'))
                .collect();
            if path.starts_with("/healthz") {
                continue;
            }
            assert!(
                !errors.is_empty(),
                "{method} {path} documents no error response"
            );
            for status in errors {
                let schema = &responses[status]["content"]["application/json"]["schema"]["$ref"];
                assert!(
                    schema.as_str().is_some_and(|r| r.ends_with("/ErrorBody")
                        || r.ends_with("/HealthResponse")
                        || r.ends_with("/ReadinessResponse")),
                    "{method} {path} {status} lacks the error schema"
                );
            }
        }
    }
}

#[tokio::test]
async fn interactive_docs_are_served_without_internet() {
    let app = spawn_app().await;
    let redirect = app.get("/docs", &Auth::none()).await;
    assert_eq!(redirect.status.as_u16(), 308);
    let page = app
        .request(reqwest::Method::GET, "/docs/", &Auth::none())
        .send()
        .await
        .expect("page");
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("https://"),
        "the page must load nothing from the internet"
    );
    let bundle = app
        .request(
            reqwest::Method::GET,
            "/docs/swagger-ui-bundle.js",
            &Auth::none(),
        )
        .send()
        .await
        .expect("js");
    assert_eq!(bundle.status().as_u16(), 200);
    let init = app
        .request(
            reqwest::Method::GET,
            "/docs/swagger-initializer.js",
            &Auth::none(),
        )
        .send()
        .await
        .expect("init");
    assert!(init.text().await.expect("js").contains("/api/openapi.json"));
}
