//! The agent token as a credential: `/api/me/agent`, acting as its owner, and 401 in another
//! tenant.

use super::support::{PREFIX, action_path, stored_status, strings};
use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn me_agent_answers_the_agent_of_an_agent_token_and_401_for_other_credentials() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app.create_agent(&owner, "whoami", json!({})).await;
    let token = app.agent_token(&owner, &id).await;

    // Act
    let reply = app.get("/api/agents/me/agent", &Auth::bearer(&token)).await;

    // Assert
    let body = reply.expect(200).body;
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["agentId"], id.as_str());
    assert_eq!(body["name"], "Agent whoami");
    assert_eq!(body["slug"], "whoami");
    assert_eq!(body["status"], "draft");
    assert_eq!(body["serveHosting"], "self");
    let cases = [
        ("JWT", owner.auth(), "INVALID_TOKEN"),
        ("API key", Auth::api_key(&owner.api_key), "INVALID_TOKEN"),
        (
            "unknown agent token",
            Auth::bearer(&format!("{PREFIX}{}", "x".repeat(40))),
            "INVALID_TOKEN",
        ),
        ("nothing", Auth::none(), "UNAUTHORIZED"),
    ];
    for (why, auth, code) in cases {
        let reply = app.get("/api/agents/me/agent", &auth).await;
        assert_eq!(reply.status.as_u16(), 401, "{why}: {}", reply.text);
        assert_eq!(reply.body["error"], code, "{why}");
        assert!(reply.body.get("slug").is_none(), "{why}: {}", reply.text);
    }
}

#[tokio::test]
async fn an_agent_token_acts_as_its_owner() {
    // Arrange
    let app = spawn_app().await;
    let listed = app.listed_agent().await;
    let owner = &listed.provider;
    let id = app.create_agent(owner, "second-agent", json!({})).await;
    let token = app.agent_token(owner, &id).await;
    let agent = Auth::bearer(&token);

    // Act
    let me = app.me(&agent).await;
    let mine = app.get("/api/agents/my", &agent).await;
    let browse = app.get("/api/marketplace/browse", &agent).await;
    let published = app.post_empty(&action_path(&id, "publish"), &agent).await;

    // Assert
    let me = me.expect(200).body;
    assert_eq!(me["id"], owner.id.as_str());
    assert_eq!(me["email"], owner.email.as_str());
    let mine = mine.expect(200).body;
    let mut ids = strings(&mine, "id");
    ids.sort();
    let mut expected = vec![listed.id.clone(), id.clone()];
    expected.sort();
    assert_eq!(ids, expected, "all of the owner's agents");
    assert_eq!(
        strings(&browse.expect(200).body, "slug"),
        vec![listed.slug.clone()]
    );
    assert_eq!(published.expect(200).body["status"], "pending_review");
    assert_eq!(
        stored_status(&app, &id).await.as_deref(),
        Some("pending_review")
    );
}

#[tokio::test]
async fn an_agent_token_is_401_in_another_tenant() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let tenant = app.create_tenant("other").await;
    let id = app.create_agent(&owner, "home-only", json!({})).await;
    let token = app.agent_token(&owner, &id).await;
    let abroad = Auth::bearer(&token).tenant(&tenant);

    // Act
    let me_agent = app.get("/api/agents/me/agent", &abroad).await;
    let me = app.me(&abroad).await;
    let mine = app.get("/api/agents/my", &abroad).await;

    // Assert
    me_agent.expect_error(401, "INVALID_TOKEN");
    me.expect_error(401, "INVALID_TOKEN");
    mine.expect_error(401, "INVALID_TOKEN");
    app.get("/api/agents/me/agent", &Auth::bearer(&token))
        .await
        .expect(200);
}
