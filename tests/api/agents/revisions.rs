//! Revisions: re-publishing an active agent keeps it live and listed with its approved terms;
//! the submitted terms wait as its `pendingRevision`, seen by its owner (every view of the
//! agent) and the admins, never by anyone else or the marketplace. The admin's decisions on a
//! revision are in `revision_review`.

use super::support::{agent_path, stored_status};
use crate::helpers::*;
use serde_json::{Value, json};

/// The marketplace detail of `slug` as `viewer` sees it.
pub async fn detail(app: &TestApp, viewer: &TestUser, slug: &str) -> Value {
    app.get(&format!("/api/marketplace/agents/{slug}"), &viewer.auth())
        .await
        .expect(200)
        .body
}

/// The browse item of `slug`, as `viewer` sees it.
pub async fn browse_item(app: &TestApp, viewer: &TestUser, slug: &str) -> Value {
    let page = app
        .get("/api/marketplace/browse?limit=100", &viewer.auth())
        .await
        .expect(200)
        .body;
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|item| item["slug"] == slug)
        .unwrap_or_else(|| panic!("{slug} is not listed: {page}"))
        .clone()
}

/// Asserts the revision shown in `view` (an agent or a review item) proposes `price`.
pub fn assert_pending_revision(view: &Value, price: &str) {
    let revision = &view["pendingRevision"];
    assert_eq!(revision["status"], "pending_review", "{view}");
    assert_eq!(revision["priceAmount"], price, "{view}");
    assert_millis_utc(&revision["submittedAt"], "pendingRevision.submittedAt");
    assert!(revision.get("reviewReason").is_none(), "{view}");
}

#[tokio::test]
async fn republishing_an_active_agent_keeps_it_active_and_listed_at_the_approved_price() {
    // Arrange
    let app = spawn_app().await;
    let listed = app.listed_agent().await;
    let owner = &listed.provider;
    let viewer = app.signup().await;

    // Act
    let reply = app
        .publish(owner, &listed.id, json!({ "priceAmount": "9.00" }))
        .await;

    // Assert
    let body = reply.expect(200).body;
    assert_eq!(body["status"], "active", "{body}");
    assert_eq!(body["providerProfile"]["status"], "active");
    assert_eq!(body["providerProfile"]["priceAmount"], "5.00");
    assert_pending_revision(&body, "9.00");
    assert_eq!(
        stored_status(&app, &listed.id).await.as_deref(),
        Some("active")
    );
    assert_eq!(
        detail(&app, &viewer, &listed.slug).await["priceAmount"],
        "5.00"
    );
    assert_eq!(
        browse_item(&app, &viewer, &listed.slug).await["priceAmount"],
        "5.00"
    );
    let page = app
        .get("/api/marketplace/browse", &viewer.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(page["total"], 1, "still counted: {page}");
}

#[tokio::test]
async fn apply_provider_on_an_active_agent_is_a_revision_too() {
    let app = spawn_app().await;
    let listed = app.listed_agent().await;

    let body = app
        .post(
            &format!("/api/agents/{}/apply-provider", listed.id),
            &listed.provider.auth(),
            &json!({ "priceAmount": "12.50", "approvalMode": "auto" }),
        )
        .await
        .expect(200)
        .body;

    assert_eq!(body["status"], "active");
    assert_eq!(body["providerProfile"]["approvalMode"], "manual");
    assert_pending_revision(&body, "12.50");
    assert_eq!(body["pendingRevision"]["approvalMode"], "auto");
    assert_eq!(
        body["pendingRevision"]["currency"], "CNY",
        "absent terms keep the live ones"
    );
}

#[tokio::test]
async fn the_owner_sees_the_pending_revision_in_every_view_of_the_agent() {
    // Arrange
    let app = spawn_app().await;
    let listed = app.listed_agent().await;
    let owner = &listed.provider;
    let token = app.agent_token(owner, &listed.id).await;
    let draft = app
        .create_agent(owner, &unique_slug("draft"), json!({}))
        .await;
    app.publish(owner, &listed.id, json!({ "priceAmount": "9.00" }))
        .await
        .expect(200);

    // Act
    let one = app
        .get(&agent_path(&listed.id), &owner.auth())
        .await
        .expect(200)
        .body;
    let mine = app
        .get("/api/agents/my", &owner.auth())
        .await
        .expect(200)
        .body;
    let me_agent = app
        .get("/api/agents/me/agent", &Auth::bearer(&token))
        .await
        .expect(200)
        .body;

    // Assert
    assert_pending_revision(&one, "9.00");
    assert_eq!(one["providerProfile"]["priceAmount"], "5.00");
    assert_pending_revision(&me_agent, "9.00");
    let items = mine["data"].as_array().expect("data");
    let item = |id: &str| {
        items
            .iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("{id} in {mine}"))
    };
    assert_pending_revision(item(&listed.id), "9.00");
    assert!(
        item(&draft).get("pendingRevision").is_none(),
        "absent, not null, when there is none: {}",
        item(&draft)
    );
}

#[tokio::test]
async fn an_agent_without_a_revision_shows_no_pending_revision_key() {
    let app = spawn_app().await;
    let listed = app.listed_agent().await;

    let view = app
        .get(&agent_path(&listed.id), &listed.provider.auth())
        .await
        .expect(200)
        .body;

    assert!(view.get("pendingRevision").is_none(), "{view}");
}

#[tokio::test]
async fn republishing_a_draft_or_a_rejected_agent_still_goes_to_pending_review() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let draft = app
        .create_agent(&owner, &unique_slug("draft"), json!({}))
        .await;
    let rejected = app
        .create_agent(&owner, &unique_slug("rejected"), json!({}))
        .await;
    app.publish(&owner, &rejected, json!({})).await.expect(200);
    app.review(&admin, &rejected, "reject", Some("no"))
        .await
        .expect(200);

    for (why, id) in [("draft", &draft), ("rejected", &rejected)] {
        // Act
        let body = app
            .publish(&owner, id, json!({ "priceAmount": "3.00" }))
            .await
            .expect(200)
            .body;

        // Assert
        assert_eq!(body["status"], "pending_review", "{why}: {body}");
        assert_eq!(body["providerProfile"]["priceAmount"], "3.00", "{why}");
        assert!(body.get("pendingRevision").is_none(), "{why}: {body}");
        assert_eq!(
            stored_status(&app, id).await.as_deref(),
            Some("pending_review"),
            "{why}"
        );
    }
    assert_eq!(app.count("SELECT count(*) FROM profile_revisions").await, 0);
}

#[tokio::test]
async fn a_second_republish_replaces_the_pending_revision() {
    // Arrange
    let app = spawn_app().await;
    let listed = app.listed_agent().await;
    let owner = &listed.provider;
    let first = app
        .publish(
            owner,
            &listed.id,
            json!({ "priceAmount": "9.00", "approvalMode": "auto" }),
        )
        .await
        .expect(200)
        .body;
    app.clock.advance(chrono::Duration::seconds(5));

    // Act
    let second = app
        .publish(owner, &listed.id, json!({ "priceAmount": "7.00" }))
        .await
        .expect(200)
        .body;

    // Assert
    assert_pending_revision(&second, "7.00");
    assert_eq!(
        second["pendingRevision"]["approvalMode"], "manual",
        "a submission is completed from the live terms, not from the revision it replaces"
    );
    assert!(
        second["pendingRevision"]["submittedAt"].as_str()
            > first["pendingRevision"]["submittedAt"].as_str(),
        "{first} {second}"
    );
    let queue = app
        .get(
            "/api/admin/providers?status=pending_review&limit=100",
            &listed.admin.auth(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(queue["total"], 1, "one revision per agent: {queue}");
    assert_pending_revision(&queue["data"][0], "7.00");
    assert_eq!(app.count("SELECT count(*) FROM profile_revisions").await, 1);
}

#[tokio::test]
async fn the_revision_is_visible_to_nobody_but_its_owner_and_the_admins() {
    // Arrange
    let app = spawn_app().await;
    let listed = app.listed_agent().await;
    let stranger = app.signup().await;
    app.publish(
        &listed.provider,
        &listed.id,
        json!({ "priceAmount": "9.99" }),
    )
    .await
    .expect(200);
    app.post_empty(&format!("/api/favorites/{}", listed.id), &stranger.auth())
        .await
        .expect(200);

    // Act
    let theirs = app.get(&agent_path(&listed.id), &stranger.auth()).await;
    let shown = [
        app.get(
            &format!("/api/marketplace/agents/{}", listed.slug),
            &stranger.auth(),
        )
        .await,
        app.get("/api/marketplace/browse?limit=100", &stranger.auth())
            .await,
        app.get("/api/marketplace/browse?sort=price_desc", &stranger.auth())
            .await,
        app.get("/api/favorites", &stranger.auth()).await,
        app.get("/api/agents/my", &stranger.auth()).await,
    ];

    // Assert
    theirs.expect_error(404, "NOT_FOUND");
    for reply in shown {
        let reply = reply.expect(200);
        assert!(
            !reply.text.contains("9.99") && !reply.text.contains("pendingRevision"),
            "the revision leaks: {}",
            reply.text
        );
    }
    assert_eq!(
        detail(&app, &stranger, &listed.slug).await["priceAmount"],
        "5.00"
    );
}
