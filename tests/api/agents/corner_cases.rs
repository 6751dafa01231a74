//! Corner cases: over-long review reasons, duplicate permissions, which agents the marketplace
//! shows, and malformed bodies refused before anything changes.

use super::support::{
    AGENTS, action_path, agent_body, agent_count, assert_field_error, browse_slugs, stored_status,
    with_field,
};
use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn a_review_reason_longer_than_1000_characters_is_400() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let id = app.create_agent(&owner, "long-reason", json!({})).await;
    app.publish(&owner, &id, json!({})).await.expect(200);

    let reply = app
        .review(&admin, &id, "reject", Some(&"r".repeat(1001)))
        .await;

    assert_field_error(&reply, "1001-character reason", "reason");
    assert_eq!(
        stored_status(&app, &id).await.as_deref(),
        Some("pending_review")
    );
    assert_eq!(app.audit_count().await, 0);
}

#[tokio::test]
async fn duplicate_permissions_are_stored_once() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let body = with_field(
        &agent_body("dedup"),
        "requiredPermissions",
        json!(["system.exec", "fs:read", "system.exec"]),
    );

    let reply = app.post(AGENTS, &owner.auth(), &body).await;

    let created = reply.expect(201).body;
    assert_eq!(
        created["requiredPermissions"],
        json!(["system.exec", "fs:read"])
    );
}

#[tokio::test]
async fn only_active_agents_are_in_the_marketplace() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    app.create_agent(&owner, "state-draft", json!({})).await;
    let pending = app.create_agent(&owner, "state-pending", json!({})).await;
    app.publish(&owner, &pending, json!({})).await.expect(200);
    let rejected = app.create_agent(&owner, "state-rejected", json!({})).await;
    app.publish(&owner, &rejected, json!({})).await.expect(200);
    app.review(&admin, &rejected, "reject", Some("no"))
        .await
        .expect(200);
    let suspended = app
        .listed_agent_with(&owner, &admin, "state-suspended", json!({}))
        .await;
    app.review(&admin, &suspended, "suspend", Some("no"))
        .await
        .expect(200);
    let active = app
        .listed_agent_with(&owner, &admin, "state-active", json!({}))
        .await;
    let cases = [
        ("draft", "state-draft", 404),
        ("pending", "state-pending", 404),
        ("rejected", "state-rejected", 404),
        ("suspended", "state-suspended", 404),
        ("active", "state-active", 200),
    ];

    for (why, slug, status) in cases {
        // Act
        let reply = app
            .get(&format!("/api/marketplace/agents/{slug}"), &owner.auth())
            .await;

        // Assert
        assert_eq!(reply.status.as_u16(), status, "{why}: {}", reply.text);
    }
    assert_eq!(
        browse_slugs(&app, &owner.auth(), "").await,
        vec!["state-active".to_owned()]
    );
    let page = app
        .get("/api/marketplace/browse", &owner.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(page["total"], 1);
    assert_eq!(page["data"][0]["id"], active.as_str());
}

#[tokio::test]
async fn malformed_bodies_are_refused_before_anything_changes() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let id = app.create_agent(&owner, "bodies", json!({})).await;
    let send =
        |path: String, auth: Auth, content_type: Option<&'static str>, body: &'static str| {
            let app = &app;
            async move {
                // Every endpoint here takes POST, except the status change.
                let method = if path.ends_with("/status") {
                    reqwest::Method::PATCH
                } else {
                    reqwest::Method::POST
                };
                let mut request = app.request(method, &path, &auth);
                if let Some(content_type) = content_type {
                    request = request.header("content-type", content_type);
                }
                read(request.body(body).send().await.expect("request")).await
            }
        };
    let json_type = Some("application/json");
    let cases = [
        (
            "create: broken JSON",
            AGENTS.to_owned(),
            owner.auth(),
            json_type,
            "{",
            400,
            "INVALID_JSON",
        ),
        (
            "create: no body",
            AGENTS.to_owned(),
            owner.auth(),
            json_type,
            "",
            400,
            "INVALID_JSON",
        ),
        (
            "create: text/plain",
            AGENTS.to_owned(),
            owner.auth(),
            Some("text/plain"),
            "{}",
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "publish: broken JSON",
            action_path(&id, "publish"),
            owner.auth(),
            json_type,
            "{\"priceAmount\":",
            400,
            "INVALID_JSON",
        ),
        (
            "publish: text/plain",
            action_path(&id, "publish"),
            owner.auth(),
            Some("text/plain"),
            "{}",
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            "publish: a JSON array",
            action_path(&id, "publish"),
            owner.auth(),
            json_type,
            "[]",
            400,
            "VALIDATION_ERROR",
        ),
        (
            "status: broken JSON",
            action_path(&id, "status"),
            owner.auth(),
            json_type,
            "{",
            400,
            "INVALID_JSON",
        ),
    ];

    for (why, path, auth, content_type, body, status, code) in cases {
        // Act
        let reply = send(path, auth, content_type, body).await;

        // Assert
        assert_eq!(reply.status.as_u16(), status, "{why}: {}", reply.text);
        assert_eq!(reply.body["error"], code, "{why}: {}", reply.text);
    }
    assert_eq!(agent_count(&app).await, 1, "nothing was created");
    assert_eq!(
        stored_status(&app, &id).await,
        None,
        "nothing was published"
    );

    // A Content-Type without a body is still a bodyless publish.
    let reply = send(action_path(&id, "publish"), owner.auth(), json_type, "").await;
    assert_eq!(reply.expect(200).body["status"], "pending_review");
    let reject = format!("/api/admin/providers/{id}/reject");
    let refused = send(reject, admin.auth(), Some("text/plain"), "reason=no").await;
    refused.expect_error(415, "UNSUPPORTED_MEDIA_TYPE");
    assert_eq!(
        stored_status(&app, &id).await.as_deref(),
        Some("pending_review")
    );
    assert_eq!(app.audit_count().await, 0);
}
