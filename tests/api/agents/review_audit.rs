//! The audit of review decisions, newest first, and the review queue filtered by status.

use super::support::{assert_field_error, audit, strings};
use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn every_review_decision_writes_one_audit_record_shown_newest_first() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let id = app.create_agent(&owner, "audited", json!({})).await;
    let other = app.create_agent(&owner, "other", json!({})).await;
    app.publish(&owner, &id, json!({})).await.expect(200);
    app.publish(&owner, &other, json!({})).await.expect(200);

    // Act
    app.review(&admin, &id, "approve", None).await.expect(200);
    app.review(&admin, &id, "suspend", Some("Spam"))
        .await
        .expect(200);
    app.review(&admin, &id, "reinstate", Some("Appeal accepted"))
        .await
        .expect(200);
    app.review(&admin, &other, "reject", Some("Too vague"))
        .await
        .expect(200);
    app.review(&admin, &id, "approve", None)
        .await
        .expect_error(409, "CONFLICT");

    // Assert
    let page = audit(&app, &admin, "").await;
    assert_eq!(
        page["total"], 4,
        "one record per successful decision: {page}"
    );
    let entries = page["data"].as_array().expect("data");
    let expected = [
        (
            "reject",
            &other,
            "pending_review",
            "rejected",
            Some("Too vague"),
        ),
        (
            "reinstate",
            &id,
            "suspended",
            "active",
            Some("Appeal accepted"),
        ),
        ("suspend", &id, "active", "suspended", Some("Spam")),
        ("approve", &id, "pending_review", "active", None),
    ];
    assert_eq!(entries.len(), expected.len());
    for (entry, (action, target, from, to, reason)) in entries.iter().zip(expected) {
        assert_eq!(entry["action"], action, "{entry}");
        assert_eq!(entry["actorId"], admin.id.as_str(), "{entry}");
        assert_eq!(entry["actorEmail"], admin.email.as_str(), "{entry}");
        assert_eq!(entry["targetType"], "provider_profile", "{entry}");
        assert_eq!(entry["targetId"], target.as_str(), "{entry}");
        assert_eq!(entry["fromStatus"], from, "{entry}");
        assert_eq!(entry["toStatus"], to, "{entry}");
        match reason {
            Some(reason) => assert_eq!(entry["reason"], reason, "{entry}"),
            None => assert!(entry.get("reason").is_none(), "{entry}"),
        }
        assert_millis_utc(&entry["createdAt"], "createdAt");
    }
    let filtered = audit(&app, &admin, &format!("&targetId={id}")).await;
    assert_eq!(filtered["total"], 3);
    assert_eq!(
        strings(&filtered, "action"),
        vec!["reinstate", "suspend", "approve"]
    );
    let paged = app
        .get("/api/admin/audit?page=2&limit=3", &admin.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(strings(&paged, "action"), vec!["approve"]);
    let invalid = app
        .get("/api/admin/audit?targetId=nope", &admin.auth())
        .await;
    invalid.expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn the_review_queue_filters_by_status() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let pending = app.create_agent(&owner, "queued", json!({})).await;
    app.publish(&owner, &pending, json!({})).await.expect(200);
    let active = app
        .listed_agent_with(&owner, &admin, "live", json!({}))
        .await;
    let rejected = app.create_agent(&owner, "refused", json!({})).await;
    app.publish(&owner, &rejected, json!({})).await.expect(200);
    app.review(&admin, &rejected, "reject", Some("no"))
        .await
        .expect(200);
    app.create_agent(&owner, "just-a-draft", json!({})).await;
    let queue = |query: &'static str| {
        let path = format!("/api/admin/providers{query}");
        let auth = admin.auth();
        let app = &app;
        async move { app.get(&path, &auth).await }
    };

    // Act
    let only_pending = queue("?status=pending_review").await.expect(200).body;
    let only_active = queue("?status=active").await.expect(200).body;
    let everything = queue("").await.expect(200).body;
    let invalid = queue("?status=approved").await;

    // Assert
    assert_eq!(strings(&only_pending, "agentId"), vec![pending.clone()]);
    assert_eq!(only_pending["total"], 1);
    let item = &only_pending["data"][0];
    assert_eq!(item["agentSlug"], "queued");
    assert_eq!(item["agentName"], "Agent queued");
    assert_eq!(item["ownerId"], owner.id.as_str());
    assert_eq!(item["ownerEmail"], owner.email.as_str());
    assert_eq!(item["profile"]["status"], "pending_review");
    assert_eq!(strings(&only_active, "agentId"), vec![active.clone()]);
    assert_eq!(everything["total"], 3, "drafts have no profile to review");
    let mut all = strings(&everything, "agentId");
    all.sort();
    let mut expected = vec![pending, active, rejected];
    expected.sort();
    assert_eq!(all, expected);
    assert_field_error(&invalid, "unknown status", "status");
}
