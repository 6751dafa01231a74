//! Admin review: approving, rejecting with a reason, suspending and reinstating, illegal
//! transitions (409, no audit) and reviews of drafts or unknown agents (404).

use super::support::{
    assert_conflict_naming, assert_field_error, audit, browse_slugs, stored_status, view,
};
use crate::helpers::*;
use serde_json::{Value, json};

#[tokio::test]
async fn approving_lists_the_agent_and_makes_its_owner_a_provider() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let id = app.create_agent(&owner, "approved", json!({})).await;
    app.publish(&owner, &id, json!({ "priceAmount": "4.00" }))
        .await
        .expect(200);
    let role_before = app.me(&owner.auth()).await.expect(200).body["role"].clone();

    // Act
    let reply = app.review(&admin, &id, "approve", None).await;

    // Assert
    let body = reply.expect(200).body;
    assert_eq!(body["status"], "active");
    assert_eq!(body["roles"], "both");
    assert_eq!(body["providerProfile"]["status"], "active");
    assert_millis_utc(&body["providerProfile"]["reviewedAt"], "reviewedAt");
    let owned = view(&app, &owner, &id).await;
    assert_eq!(owned["roles"], "both");
    assert_eq!(owned["status"], "active");
    assert_eq!(role_before, "consumer");
    assert_eq!(app.me(&owner.auth()).await.expect(200).body["role"], "both");
    let listed = browse_slugs(&app, &owner.auth(), "").await;
    assert_eq!(listed, vec!["approved".to_owned()]);
    let detail = app
        .get("/api/marketplace/agents/approved", &owner.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(detail["id"], id.as_str());
    assert_eq!(detail["priceAmount"], "4.00");
    assert_eq!(detail["online"], false);
}

#[tokio::test]
async fn rejecting_needs_a_reason_and_the_owner_can_resubmit() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let id = app.create_agent(&owner, "rejectable", json!({})).await;
    app.publish(&owner, &id, json!({})).await.expect(200);
    let reject = format!("/api/admin/providers/{id}/reject");

    // Act and assert: a missing or blank reason is refused and nothing changes.
    let cases: Vec<(&str, Option<Value>)> = vec![
        ("no body", None),
        ("empty object", Some(json!({}))),
        ("null reason", Some(json!({ "reason": null }))),
        ("blank reason", Some(json!({ "reason": "   " }))),
    ];
    for (why, body) in cases {
        let reply = match &body {
            Some(body) => app.post(&reject, &admin.auth(), body).await,
            None => app.post_empty(&reject, &admin.auth()).await,
        };
        assert_field_error(&reply, why, "reason");
        assert_eq!(
            stored_status(&app, &id).await.as_deref(),
            Some("pending_review"),
            "{why}"
        );
    }
    assert_eq!(
        app.audit_count().await,
        0,
        "refused reviews are not audited"
    );

    let rejected = app
        .review(&admin, &id, "reject", Some("Describe the pricing"))
        .await;
    let rejected = rejected.expect(200).body;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["roles"], "consumer");
    assert_eq!(
        rejected["providerProfile"]["reviewReason"],
        "Describe the pricing"
    );
    let owned = view(&app, &owner, &id).await;
    assert_eq!(owned["providerProfile"]["status"], "rejected");
    assert_eq!(
        owned["providerProfile"]["reviewReason"],
        "Describe the pricing"
    );
    assert!(browse_slugs(&app, &owner.auth(), "").await.is_empty());

    let resubmitted = app.publish(&owner, &id, json!({})).await.expect(200).body;
    assert_eq!(resubmitted["status"], "pending_review");
    assert!(
        resubmitted["providerProfile"].get("reviewReason").is_none(),
        "the old reason is cleared: {resubmitted}"
    );
    app.review(&admin, &id, "approve", None).await.expect(200);
    assert_eq!(
        browse_slugs(&app, &owner.auth(), "").await,
        vec!["rejectable".to_owned()]
    );
}

#[tokio::test]
async fn suspending_hides_the_agent_and_reinstating_brings_it_back() {
    // Arrange
    let app = spawn_app().await;
    let listed = app.listed_agent().await;
    let (owner, admin) = (&listed.provider, &listed.admin);
    let detail = format!("/api/marketplace/agents/{}", listed.slug);
    let total = |page: Value| page["total"].clone();
    let before = app
        .get("/api/marketplace/browse", &owner.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(total(before), 1);

    // Act and assert: the reason is required.
    let no_reason = app.review(admin, &listed.id, "suspend", None).await;
    assert_field_error(&no_reason, "suspend without a reason", "reason");
    assert_eq!(
        stored_status(&app, &listed.id).await.as_deref(),
        Some("active")
    );

    let suspended = app
        .review(admin, &listed.id, "suspend", Some("Reported by users"))
        .await
        .expect(200)
        .body;
    assert_eq!(suspended["status"], "suspended");
    assert_eq!(
        suspended["providerProfile"]["reviewReason"],
        "Reported by users"
    );
    assert!(browse_slugs(&app, &owner.auth(), "").await.is_empty());
    let after = app
        .get("/api/marketplace/browse", &owner.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(total(after), 0, "the total follows");
    app.get(&detail, &owner.auth())
        .await
        .expect_error(404, "NOT_FOUND");

    let republish = app.publish(owner, &listed.id, json!({})).await;
    assert_conflict_naming(&republish, "publish while suspended", "suspended");
    assert_eq!(
        stored_status(&app, &listed.id).await.as_deref(),
        Some("suspended")
    );

    let reinstated = app
        .review(admin, &listed.id, "reinstate", None)
        .await
        .expect(200)
        .body;
    assert_eq!(reinstated["status"], "active");
    assert_eq!(
        browse_slugs(&app, &owner.auth(), "").await,
        vec![listed.slug.clone()]
    );
    let shown = app.get(&detail, &owner.auth()).await.expect(200).body;
    assert_eq!(shown["id"], listed.id.as_str());
    assert_eq!(shown["priceAmount"], "5.00", "the terms survive suspension");
    let again = app
        .get("/api/marketplace/browse", &owner.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(total(again), 1, "the total follows");
}

#[tokio::test]
async fn illegal_review_transitions_are_409_naming_the_status_and_write_no_audit() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let pending = app.create_agent(&owner, "pending", json!({})).await;
    app.publish(&owner, &pending, json!({})).await.expect(200);
    let active = app
        .listed_agent_with(&owner, &admin, "active", json!({}))
        .await;
    let rejected = app.create_agent(&owner, "rejected", json!({})).await;
    app.publish(&owner, &rejected, json!({})).await.expect(200);
    app.review(&admin, &rejected, "reject", Some("no"))
        .await
        .expect(200);
    let suspended = app
        .listed_agent_with(&owner, &admin, "suspended", json!({}))
        .await;
    app.review(&admin, &suspended, "suspend", Some("no"))
        .await
        .expect(200);
    let cases = [
        ("approve active", &active, "approve", "active"),
        ("reject active", &active, "reject", "active"),
        ("reinstate active", &active, "reinstate", "active"),
        ("suspend pending", &pending, "suspend", "pending_review"),
        ("reinstate pending", &pending, "reinstate", "pending_review"),
        ("approve rejected", &rejected, "approve", "rejected"),
        ("suspend rejected", &rejected, "suspend", "rejected"),
        ("approve suspended", &suspended, "approve", "suspended"),
        ("suspend suspended", &suspended, "suspend", "suspended"),
    ];
    let audited = app.audit_count().await;

    for (why, id, action, status) in cases {
        // Act
        let reply = app.review(&admin, id, action, Some("a reason")).await;

        // Assert
        assert_conflict_naming(&reply, why, status);
        assert_eq!(
            reply.body["details"]["status"], status,
            "{why}: {}",
            reply.text
        );
        assert_eq!(
            stored_status(&app, id).await.as_deref(),
            Some(status),
            "{why}: unchanged"
        );
        assert_eq!(app.audit_count().await, audited, "{why}: no audit record");
    }
    let page = audit(&app, &admin, "").await;
    assert_eq!(page["total"], audited, "the audit API agrees");
}

#[tokio::test]
async fn reviewing_a_draft_or_unknown_agent_is_404() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let draft = app.create_agent(&owner, "draft-only", json!({})).await;
    let unknown = uuid::Uuid::now_v7().to_string();
    for (why, id) in [("draft", &draft), ("unknown", &unknown)] {
        for action in ["approve", "reinstate"] {
            let reply = app.review(&admin, id, action, None).await;
            assert_eq!(reply.status.as_u16(), 404, "{why} {action}: {}", reply.text);
            assert_eq!(reply.body["error"], "NOT_FOUND", "{why} {action}");
        }
    }
    assert_eq!(stored_status(&app, &draft).await, None);
    assert_eq!(app.audit_count().await, 0);
}
