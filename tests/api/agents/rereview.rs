//! Re-review: edits made after a rejection, activating twice, and the rejection reason kept
//! through later decisions. Republishing an active agent is a revision (`revisions`).

use super::support::{action_path, agent_path, stored_online_status};
use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn edits_made_after_rejection_reach_the_marketplace_on_approval() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let admin = app.default_admin().await;
    let id = app.create_agent(&owner, "improved", json!({})).await;
    app.publish(&owner, &id, json!({})).await.expect(200);
    app.review(&admin, &id, "reject", Some("Say what it does"))
        .await
        .expect(200);

    // Act
    app.patch(
        &agent_path(&id),
        &owner.auth(),
        &json!({ "name": "Improved agent", "description": "Now it says exactly what it does" }),
    )
    .await
    .expect(200);
    app.publish(&owner, &id, json!({})).await.expect(200);
    app.review(&admin, &id, "approve", None).await.expect(200);

    // Assert
    let detail = app
        .get("/api/marketplace/agents/improved", &owner.auth())
        .await
        .expect(200)
        .body;
    assert_eq!(detail["name"], "Improved agent");
    assert_eq!(detail["description"], "Now it says exactly what it does");
}

#[tokio::test]
async fn activating_twice_is_idempotent_and_a_busy_agent_stays_busy() {
    let app = spawn_app().await;
    let listed = app.listed_agent().await;
    let owner = &listed.provider;
    let tenant = app.tenant_id("default").await;
    app.set_connected(tenant, &listed.id, true).await;
    let activate = action_path(&listed.id, "activate");

    let first = app
        .post_empty(&activate, &owner.auth())
        .await
        .expect(200)
        .body;
    let second = app
        .post_empty(&activate, &owner.auth())
        .await
        .expect(200)
        .body;
    app.patch(
        &action_path(&listed.id, "status"),
        &owner.auth(),
        &json!({ "onlineStatus": "busy" }),
    )
    .await
    .expect(200);
    let while_busy = app
        .post_empty(&activate, &owner.auth())
        .await
        .expect(200)
        .body;

    assert_eq!(first["onlineStatus"], "online");
    assert_eq!(second["onlineStatus"], "online");
    assert_eq!(while_busy["onlineStatus"], "busy");
    assert_eq!(stored_online_status(&app, &listed.id).await, "busy");
}

#[tokio::test]
async fn approving_or_reinstating_with_a_note_keeps_the_last_rejection_reason() {
    let app = spawn_app().await;
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    let id = app
        .create_agent(&provider, &unique_slug("reason"), serde_json::json!({}))
        .await;
    app.publish(&provider, &id, serde_json::json!({}))
        .await
        .expect(200);
    app.review(&admin, &id, "reject", Some("missing docs"))
        .await
        .expect(200);
    app.publish(&provider, &id, serde_json::json!({}))
        .await
        .expect(200);
    let approved = app
        .review(&admin, &id, "approve", Some("looks good now"))
        .await
        .expect(200);
    assert!(
        approved.body["providerProfile"]
            .get("reviewReason")
            .is_none(),
        "{}",
        approved.text
    );
    app.review(&admin, &id, "suspend", Some("abuse report"))
        .await
        .expect(200);
    let reinstated = app
        .review(&admin, &id, "reinstate", Some("resolved"))
        .await
        .expect(200);
    assert!(
        reinstated.body["providerProfile"]
            .get("reviewReason")
            .is_none(),
        "{}",
        reinstated.text
    );
    let audit = app
        .get(&format!("/api/admin/audit?targetId={id}"), &admin.auth())
        .await
        .expect(200);
    let reasons: Vec<&str> = audit.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert_eq!(
        reasons,
        ["resolved", "abuse report", "looks good now", "missing docs"],
        "every reason is audited"
    );
}
