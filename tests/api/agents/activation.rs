//! Activation and online status: what activation needs, suspended agents, and the moves between
//! busy, online and offline.

use super::support::{action_path, assert_field_error, browse_slugs, stored_online_status};
use crate::helpers::*;
use serde_json::{Value, json};

#[tokio::test]
async fn activation_needs_an_active_profile_and_a_live_connection() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let tenant = app.tenant_id("default").await;
    let id = app.create_agent(&owner, "activated", json!({})).await;
    let activate = action_path(&id, "activate");

    // Act and assert: a draft cannot be activated.
    let draft = app.post_empty(&activate, &owner.auth()).await;
    draft.expect_error(400, "VALIDATION_ERROR");

    // Pending, even when connected.
    app.publish(&owner, &id, json!({})).await.expect(200);
    app.set_connected(tenant, &id, true).await;
    let pending = app.post_empty(&activate, &owner.auth()).await;
    let pending = pending.expect_error(400, "VALIDATION_ERROR");
    assert_eq!(
        pending.body["message"],
        "Provider profile status is 'pending_review'"
    );
    app.set_connected(tenant, &id, false).await;

    // Active but not connected.
    app.review(&admin, &id, "approve", None).await.expect(200);
    let offline = app.post_empty(&activate, &owner.auth()).await;
    let offline = offline.expect_error(400, "VALIDATION_ERROR");
    assert_eq!(
        offline.body["message"],
        "Agent is not connected via WebSocket"
    );
    assert_eq!(stored_online_status(&app, &id).await, "offline");
    assert!(
        browse_slugs(&app, &owner.auth(), "&online=true")
            .await
            .is_empty(),
        "not online yet"
    );

    // Active and connected.
    app.set_connected(tenant, &id, true).await;
    let online = app.post_empty(&activate, &owner.auth()).await;
    let online = online.expect(200).body;
    assert_eq!(online["onlineStatus"], "online");
    assert_eq!(online["status"], "active");
    assert_eq!(stored_online_status(&app, &id).await, "online");
    let detail = app
        .get("/api/marketplace/agents/activated", &owner.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(detail["online"], true);
    assert_eq!(detail["onlineStatus"], "online");
    assert_eq!(
        browse_slugs(&app, &owner.auth(), "&online=true").await,
        vec!["activated".to_owned()]
    );
    assert!(
        browse_slugs(&app, &owner.auth(), "&online=false")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_suspended_agent_cannot_be_activated_even_when_connected() {
    let app = spawn_app().await;
    let listed = app.listed_agent().await;
    let tenant = app.tenant_id("default").await;
    app.review(&listed.admin, &listed.id, "suspend", Some("paused"))
        .await
        .expect(200);
    app.set_connected(tenant, &listed.id, true).await;

    let reply = app
        .post_empty(
            &action_path(&listed.id, "activate"),
            &listed.provider.auth(),
        )
        .await;

    let reply = reply.expect_error(400, "VALIDATION_ERROR");
    assert_eq!(
        reply.body["message"],
        "Provider profile status is 'suspended'"
    );
    assert_eq!(stored_online_status(&app, &listed.id).await, "offline");
}

#[tokio::test]
async fn online_status_moves_between_busy_online_and_offline() {
    // Arrange
    let app = spawn_app().await;
    let listed = app.listed_agent().await;
    let owner = &listed.provider;
    let tenant = app.tenant_id("default").await;
    let status = action_path(&listed.id, "status");
    let detail = format!("/api/marketplace/agents/{}", listed.slug);
    let set = |value: Value| {
        let path = status.clone();
        let auth = owner.auth();
        let app = &app;
        async move {
            app.patch(&path, &auth, &json!({ "onlineStatus": value }))
                .await
        }
    };
    app.set_connected(tenant, &listed.id, true).await;

    // Act and assert: busy and back while connected.
    let busy = set(json!("busy")).await.expect(200).body;
    assert_eq!(busy["onlineStatus"], "busy");
    let shown = app.get(&detail, &owner.auth()).await.expect(200).body;
    assert_eq!(shown["onlineStatus"], "busy");
    assert_eq!(shown["online"], true, "busy agents are connected");
    let online = set(json!("online")).await.expect(200).body;
    assert_eq!(online["onlineStatus"], "online");

    // Without a connection only offline is allowed.
    app.set_connected(tenant, &listed.id, false).await;
    let refused = set(json!("busy")).await;
    let refused = refused.expect_error(400, "VALIDATION_ERROR");
    assert_eq!(
        refused.body["message"],
        "Agent is not connected via WebSocket"
    );
    assert_eq!(
        stored_online_status(&app, &listed.id).await,
        "online",
        "unchanged"
    );
    let offline = set(json!("offline")).await.expect(200).body;
    assert_eq!(offline["onlineStatus"], "offline");
    let shown = app.get(&detail, &owner.auth()).await.expect(200).body;
    assert_eq!(shown["online"], false);

    // Unknown values.
    for (why, value) in [
        ("sleeping", json!("sleeping")),
        ("uppercase", json!("ONLINE")),
        ("empty", json!("")),
        ("a number", json!(1)),
    ] {
        let reply = set(value).await;
        assert_field_error(&reply, why, "onlineStatus");
    }
    let missing = app.patch(&status, &owner.auth(), &json!({})).await;
    missing.expect_error(400, "VALIDATION_ERROR");
    assert_eq!(stored_online_status(&app, &listed.id).await, "offline");
}

#[tokio::test]
async fn a_draft_agent_can_always_be_set_offline() {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app.create_agent(&owner, "offline-draft", json!({})).await;

    let offline = app
        .patch(
            &action_path(&id, "status"),
            &owner.auth(),
            &json!({ "onlineStatus": "offline" }),
        )
        .await;
    let online = app
        .patch(
            &action_path(&id, "status"),
            &owner.auth(),
            &json!({ "onlineStatus": "online" }),
        )
        .await;

    assert_eq!(offline.expect(200).body["onlineStatus"], "offline");
    online.expect_error(400, "VALIDATION_ERROR");
    assert_eq!(stored_online_status(&app, &id).await, "offline");
}
