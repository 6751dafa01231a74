//! Agent tokens: issued once and stored as a hash, a second token revoking the first, and
//! idempotent revocation.

use super::support::{PREFIX, action_path, agent_path, view};
use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn issuing_an_agent_token_shows_it_once_and_stores_only_its_hash() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app.create_agent(&owner, "tokened", json!({})).await;

    // Act
    let reply = app
        .post_empty(&action_path(&id, "token"), &owner.auth())
        .await;

    // Assert
    let body = reply.expect(201).body;
    assert_eq!(body["agentId"], id.as_str());
    let token = body["token"].as_str().expect("token");
    assert!(token.starts_with(PREFIX), "{token}");
    let secret = &token[PREFIX.len()..];
    assert!(
        secret.len() >= 32,
        "at least 32 characters after the prefix: {token}"
    );
    assert!(secret.chars().all(|c| c.is_ascii_alphanumeric()), "{token}");
    assert_millis_utc(&body["createdAt"], "createdAt");
    assert!(
        body["warning"].as_str().is_some_and(|w| !w.is_empty()),
        "{body}"
    );
    let shown = app.get(&agent_path(&id), &owner.auth()).await.expect(200);
    assert_eq!(shown.body["hasAgentToken"], true);
    assert!(
        !shown.text.contains(token),
        "the view never shows the token"
    );
    let listed = app.get("/api/agents/my", &owner.auth()).await.expect(200);
    assert!(
        !listed.text.contains(token),
        "the list never shows the token"
    );
    let (hash, prefix): (Vec<u8>, String) =
        sqlx::query_as("SELECT token_hash, token_prefix FROM agents WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db)
            .await
            .expect("row");
    assert_ne!(hash, token.as_bytes(), "not stored in clear");
    assert!(
        !String::from_utf8_lossy(&hash).contains(secret),
        "the hash does not contain the token"
    );
    assert!(token.starts_with(&prefix), "{prefix}");
    assert!(
        prefix.len() < PREFIX.len() + 8,
        "only a short prefix is kept: {prefix}"
    );
    let in_clear: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM agents WHERE token_prefix = $1 OR encode(token_hash, 'escape') = $1 OR encode(token_hash, 'hex') = $1",
    )
    .bind(token)
    .fetch_one(&app.db)
    .await
    .expect("query");
    assert_eq!(in_clear, 0);
}

#[tokio::test]
async fn a_second_token_revokes_the_first() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app.create_agent(&owner, "rotated", json!({})).await;
    let first = app.agent_token(&owner, &id).await;

    // Act
    let second = app.agent_token(&owner, &id).await;

    // Assert
    assert_ne!(first, second);
    app.get("/api/agents/me/agent", &Auth::bearer(&first))
        .await
        .expect_error(401, "INVALID_TOKEN");
    let me = app
        .get("/api/agents/me/agent", &Auth::bearer(&second))
        .await
        .expect(200)
        .body;
    assert_eq!(me["id"], id.as_str());
    assert_eq!(
        view(&app, &owner, &id).await["agentTokenPrefix"],
        &second[..PREFIX.len() + 4]
    );
}

#[tokio::test]
async fn revoking_a_token_answers_json_and_is_idempotent() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let id = app.create_agent(&owner, "revoked", json!({})).await;
    let token = app.agent_token(&owner, &id).await;
    let never = app.create_agent(&owner, "never-tokened", json!({})).await;

    // Act
    let first = app.delete(&action_path(&id, "token"), &owner.auth()).await;
    let second = app.delete(&action_path(&id, "token"), &owner.auth()).await;
    let without = app
        .delete(&action_path(&never, "token"), &owner.auth())
        .await;

    // Assert
    let first = first.expect(200).body;
    assert_eq!(first["success"], true);
    assert_eq!(first["revoked"], true);
    assert_eq!(first["agentId"], id.as_str());
    let second = second.expect(200).body;
    assert_eq!(second["success"], true);
    assert_eq!(second["revoked"], false);
    assert_eq!(without.expect(200).body["revoked"], false);
    app.get("/api/agents/me/agent", &Auth::bearer(&token))
        .await
        .expect_error(401, "INVALID_TOKEN");
    let shown = view(&app, &owner, &id).await;
    assert_eq!(shown["hasAgentToken"], false);
    assert!(shown.get("agentTokenPrefix").is_none(), "{shown}");
    let hash: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT token_hash FROM agents WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db)
            .await
            .expect("row");
    assert_eq!(hash, None);
}
