//! Only the participants see a session: another user, an admin who takes no part, and another
//! tenant's user get 404 on every session endpoint, and change nothing.

use super::support::*;
use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn a_session_is_404_for_everyone_but_its_participants() {
    // Arrange
    let app = spawn_app().await;
    let m = market(
        &app,
        json!({ "priceAmount": "1.00", "approvalMode": "manual" }),
        "10.00",
    )
    .await;
    let id = rented(&app, &m, "private").await;
    let stranger = app.signup().await;
    let other_tenant = app.create_tenant("sessions-iso").await;
    let foreigner = app.signup_in(Some(&other_tenant)).await;
    let outsiders = [
        ("another user", stranger.auth()),
        ("an admin who is not a participant", m.admin.auth()),
        ("a user of another tenant", foreigner.auth()),
    ];

    for (who, auth) in &outsiders {
        // Act and assert
        app.get(&session_path(&id), auth)
            .await
            .expect_error(404, "NOT_FOUND");
        app.get(&action(&id, "messages"), auth)
            .await
            .expect_error(404, "NOT_FOUND");
        for verb in ["approve", "reject", "end"] {
            let reply = app.post_empty(&action(&id, verb), auth).await;
            assert_eq!(reply.status.as_u16(), 404, "{who} {verb}: {}", reply.text);
        }
        app.post(
            &action(&id, "messages"),
            auth,
            &json!({ "type": "dialogue.message", "payload": { "text": "hi" } }),
        )
        .await
        .expect_error(404, "NOT_FOUND");
        let listed = app.get(SESSIONS, auth).await.expect(200);
        assert_eq!(listed.body["total"], 0, "{who} lists nothing");
    }

    // Nothing changed: still pending, the hold still held.
    let s = app
        .get(&session_path(&id), &m.consumer.auth())
        .await
        .expect(200);
    assert_eq!(s.body["status"], "pending_approval");
    assert_eq!(cny(&app, &m.consumer).await, crate::money_helpers::dec("9"));
}

#[tokio::test]
async fn the_consumer_cannot_approve_or_reject_and_the_provider_lists_by_role() {
    // Arrange
    let app = spawn_app().await;
    let m = market(
        &app,
        json!({ "priceAmount": "1.00", "approvalMode": "manual" }),
        "10.00",
    )
    .await;
    let id = rented(&app, &m, "mine").await;

    // Act and assert: approving and rejecting are the provider's.
    for verb in ["approve", "reject"] {
        app.post_empty(&action(&id, verb), &m.consumer.auth())
            .await
            .expect_error(403, "FORBIDDEN");
    }
    let as_consumer = app.get(SESSIONS, &m.consumer.auth()).await.expect(200);
    let as_provider = app
        .get(&format!("{SESSIONS}?role=provider"), &m.provider.auth())
        .await
        .expect(200);
    let providers_own = app.get(SESSIONS, &m.provider.auth()).await.expect(200);
    assert_eq!(as_consumer.body["data"][0]["id"], id.as_str());
    assert_eq!(as_provider.body["data"][0]["id"], id.as_str());
    assert_eq!(
        providers_own.body["total"], 0,
        "the provider rented nothing"
    );
}

#[tokio::test]
async fn an_idempotency_key_replays_only_for_the_agent_token_that_sent_it() {
    // Arrange: the provider ends a session with their agent's token and a key; another of
    // their agents' tokens (which may not see the session) retries with the same key.
    let app = spawn_app().await;
    let m = market(&app, json!({ "approvalMode": "auto" }), "10.00").await;
    let id = rented(&app, &m, "keyed end").await;
    let own = app.agent_token(&m.provider, &m.agent).await;
    let other_agent = app
        .create_agent(&m.provider, &unique_slug("other"), json!({}))
        .await;
    let other = app.agent_token(&m.provider, &other_agent).await;
    let with_key = |token: &str| Auth::bearer(token).with("Idempotency-Key", "end-k1".into());

    // Act
    let first = app.post_empty(&action(&id, "end"), &with_key(&own)).await;
    let replay = app.post_empty(&action(&id, "end"), &with_key(&own)).await;
    let stranger = app.post_empty(&action(&id, "end"), &with_key(&other)).await;

    // Assert: the session's own agent replays; the other agent's token gets no copy of it.
    first.expect(200);
    let replay = replay.expect(200);
    assert_eq!(replay.header("Idempotent-Replayed"), Some("true"));
    let stranger = stranger.expect_error(422, "IDEMPOTENCY_KEY_REUSED");
    assert!(!stranger.text.contains(&id), "{}", stranger.text);
}
