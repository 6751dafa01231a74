//! The admin's decisions on a revision of an active agent: the review queue shows it next to the
//! live profile; approval makes its terms live and the listing follows; rejection keeps the live
//! terms and shows the owner the reason; both are audited. Also what suspension does to it.

use super::revisions::{assert_pending_revision, browse_item, detail};
use super::support::{
    agent_path, assert_conflict_naming, assert_field_error, audit, stored_status,
};
use crate::helpers::*;
use serde_json::{Value, json};

/// A listed agent (approved at "5.00") whose owner re-published it at `price`.
async fn revised(app: &TestApp, price: &str) -> Listed {
    let listed = app.listed_agent().await;
    app.publish(
        &listed.provider,
        &listed.id,
        json!({ "priceAmount": price }),
    )
    .await
    .expect(200);
    listed
}

async fn queue(app: &TestApp, admin: &TestUser, query: &str) -> Value {
    app.get(
        &format!("/api/admin/providers?limit=100{query}"),
        &admin.auth(),
    )
    .await
    .expect(200)
    .body
}

/// The newest audit entry about `id`.
async fn last_audit(app: &TestApp, admin: &TestUser, id: &str) -> Value {
    audit(app, admin, &format!("&targetId={id}")).await["data"][0].clone()
}

#[tokio::test]
async fn the_review_queue_shows_a_revision_next_to_the_live_profile() {
    // Arrange
    let app = spawn_app().await;
    let listed = revised(&app, "9.00").await;
    let admin = &listed.admin;
    let newcomer = app
        .create_agent(&listed.provider, &unique_slug("new"), json!({}))
        .await;
    app.publish(&listed.provider, &newcomer, json!({}))
        .await
        .expect(200);

    // Act
    let pending = queue(&app, admin, "&status=pending_review").await;
    let active = queue(&app, admin, "&status=active").await;

    // Assert
    assert_eq!(pending["total"], 2, "submissions and revisions: {pending}");
    let items = pending["data"].as_array().expect("data");
    let item = items
        .iter()
        .find(|i| i["agentId"] == listed.id.as_str())
        .unwrap_or_else(|| panic!("the revision is queued: {pending}"));
    assert_eq!(
        item["profile"]["status"], "active",
        "a revision of a live profile"
    );
    assert_eq!(item["profile"]["priceAmount"], "5.00");
    assert_pending_revision(item, "9.00");
    let fresh = items
        .iter()
        .find(|i| i["agentId"] == newcomer.as_str())
        .expect("the new submission");
    assert!(fresh.get("pendingRevision").is_none(), "{fresh}");
    assert_eq!(active["total"], 1);
    assert_pending_revision(&active["data"][0], "9.00");
}

#[tokio::test]
async fn approving_a_revision_lists_the_new_price_and_clears_the_revision() {
    // Arrange
    let app = spawn_app().await;
    let listed = revised(&app, "9.00").await;
    let (owner, admin) = (&listed.provider, &listed.admin);
    let viewer = app.signup().await;

    // Act
    let approved = app
        .review(admin, &listed.id, "approve", Some("fair price"))
        .await
        .expect(200)
        .body;

    // Assert
    assert_eq!(approved["status"], "active");
    assert_eq!(approved["providerProfile"]["priceAmount"], "9.00");
    assert!(approved.get("pendingRevision").is_none(), "{approved}");
    let view = app
        .get(&agent_path(&listed.id), &owner.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(view["providerProfile"]["priceAmount"], "9.00");
    assert!(view.get("pendingRevision").is_none(), "{view}");
    assert_eq!(
        detail(&app, &viewer, &listed.slug).await["priceAmount"],
        "9.00"
    );
    assert_eq!(
        browse_item(&app, &viewer, &listed.slug).await["priceAmount"],
        "9.00"
    );
    let cheap = app
        .get("/api/marketplace/browse?maxPrice=6", &viewer.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(
        cheap["total"], 0,
        "the listing row carries the new price: {cheap}"
    );
    assert_eq!(
        queue(&app, admin, "&status=pending_review").await["total"],
        0
    );
    let entry = last_audit(&app, admin, &listed.id).await;
    assert_eq!(entry["action"], "approve", "{entry}");
    assert_eq!(entry["targetType"], "provider_revision", "{entry}");
    assert_eq!(entry["fromStatus"], "pending_review", "{entry}");
    assert_eq!(entry["toStatus"], "active", "{entry}");
    assert_eq!(entry["reason"], "fair price", "{entry}");
    assert_eq!(entry["details"]["priceAmount"], "9.00", "{entry}");
}

#[tokio::test]
async fn rejecting_a_revision_keeps_the_live_price_and_shows_the_owner_why() {
    // Arrange
    let app = spawn_app().await;
    let listed = revised(&app, "9.00").await;
    let (owner, admin) = (&listed.provider, &listed.admin);
    let viewer = app.signup().await;
    let no_reason = app.review(admin, &listed.id, "reject", None).await;
    assert_field_error(&no_reason, "reject without a reason", "reason");

    // Act
    let rejected = app
        .review(admin, &listed.id, "reject", Some("Too steep"))
        .await
        .expect(200)
        .body;

    // Assert
    assert_eq!(rejected["status"], "active");
    assert_eq!(rejected["providerProfile"]["priceAmount"], "5.00");
    let view = app
        .get(&agent_path(&listed.id), &owner.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(view["status"], "active");
    assert_eq!(view["providerProfile"]["priceAmount"], "5.00");
    assert!(
        view["providerProfile"].get("reviewReason").is_none(),
        "the live profile is untouched: {view}"
    );
    let revision = &view["pendingRevision"];
    assert_eq!(revision["status"], "rejected", "{view}");
    assert_eq!(revision["reviewReason"], "Too steep", "{view}");
    assert_eq!(revision["priceAmount"], "9.00", "{view}");
    assert_millis_utc(&revision["reviewedAt"], "reviewedAt");
    assert_eq!(
        stored_status(&app, &listed.id).await.as_deref(),
        Some("active")
    );
    assert_eq!(
        detail(&app, &viewer, &listed.slug).await["priceAmount"],
        "5.00"
    );
    assert_eq!(
        queue(&app, admin, "&status=pending_review").await["total"],
        0
    );
    let entry = last_audit(&app, admin, &listed.id).await;
    assert_eq!(entry["action"], "reject", "{entry}");
    assert_eq!(entry["targetType"], "provider_revision", "{entry}");
    assert_eq!(entry["fromStatus"], "pending_review", "{entry}");
    assert_eq!(entry["toStatus"], "rejected", "{entry}");
    assert_eq!(entry["reason"], "Too steep", "{entry}");
    let again = app.review(admin, &listed.id, "approve", None).await;
    assert_conflict_naming(&again, "approve a rejected revision", "active");
}

#[tokio::test]
async fn republishing_after_a_rejected_revision_submits_a_new_one() {
    let app = spawn_app().await;
    let listed = revised(&app, "9.00").await;
    app.review(&listed.admin, &listed.id, "reject", Some("Too steep"))
        .await
        .expect(200);

    let body = app
        .publish(
            &listed.provider,
            &listed.id,
            json!({ "priceAmount": "6.00" }),
        )
        .await
        .expect(200)
        .body;

    assert_pending_revision(&body, "6.00");
    assert_eq!(
        queue(&app, &listed.admin, "&status=pending_review").await["total"],
        1
    );
}

#[tokio::test]
async fn a_suspended_agent_keeps_its_revision_for_review_after_reinstatement() {
    // Arrange
    let app = spawn_app().await;
    let listed = revised(&app, "9.00").await;
    let admin = &listed.admin;
    app.review(admin, &listed.id, "suspend", Some("abuse report"))
        .await
        .expect(200);

    // Act
    let while_suspended = app.review(admin, &listed.id, "approve", None).await;
    let queued_while_suspended = queue(&app, admin, "&status=pending_review").await;
    app.review(admin, &listed.id, "reinstate", None)
        .await
        .expect(200);

    // Assert
    assert_conflict_naming(&while_suspended, "approve while suspended", "suspended");
    assert_eq!(
        queued_while_suspended["total"], 0,
        "{queued_while_suspended}"
    );
    let queued = queue(&app, admin, "&status=pending_review").await;
    assert_pending_revision(&queued["data"][0], "9.00");
    let approved = app
        .review(admin, &listed.id, "approve", None)
        .await
        .expect(200)
        .body;
    assert_eq!(approved["providerProfile"]["priceAmount"], "9.00");
}
