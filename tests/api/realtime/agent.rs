//! `/ws/agent`: authentication close codes, the welcome after presence, heartbeats, session
//! events from another replica, replacement with 4009, revocation with 4001, the idle close.

use super::support::*;
use crate::helpers::*;
use crate::sessions::support::rent;
use clawrent_api::ids::{AgentId, TenantId};
use clawrent_api::realtime::presence;
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

struct Provider {
    user: TestUser,
    admin: TestUser,
    agent: String,
    token: String,
    tenant: TenantId,
}

/// A provider with a listed agent and its token (not connected).
async fn provider(app: &TestApp, terms: serde_json::Value) -> Provider {
    let user = app.signup().await;
    let admin = app.default_admin().await;
    let agent = app
        .listed_agent_with(&user, &admin, &unique_slug("ws"), terms)
        .await;
    let token = app.agent_token(&user, &agent).await;
    let tenant = app.tenant_id("default").await.into();
    Provider {
        user,
        admin,
        agent,
        token,
        tenant,
    }
}

async fn connected(app: &TestApp, p: &Provider) -> bool {
    let agent: AgentId = p.agent.parse().expect("agent id");
    presence::is_connected(&app.state.redis, p.tenant, agent)
        .await
        .expect("redis")
}

#[tokio::test]
async fn a_missing_token_closes_4000_and_an_invalid_one_4001() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let mut missing = connect(&app, "/ws/agent").await;
    let mut empty = connect(&app, "/ws/agent?token=").await;
    let mut invalid = agent_socket(&app, "agt_clawrent_notarealtoken").await;

    // Assert
    assert_eq!(close_code(&mut missing).await, 4000);
    assert_eq!(close_code(&mut empty).await, 4000);
    assert_eq!(close_code(&mut invalid).await, 4001);
}

#[tokio::test]
async fn the_welcome_comes_after_presence_and_heartbeats_are_answered() {
    // Arrange
    let app = spawn_app().await;
    let p = provider(&app, json!({})).await;
    assert!(!connected(&app, &p).await);

    // Act
    let mut socket = agent_socket(&app, &p.token).await;
    let welcome = next_json(&mut socket).await;

    // Assert: presence is registered by the time the welcome arrives, so activate works.
    assert_eq!(
        welcome,
        json!({ "type": "agent.connected", "payload": { "agentId": p.agent } })
    );
    assert!(connected(&app, &p).await);
    app.post_empty(&format!("/api/agents/{}/activate", p.agent), &p.user.auth())
        .await
        .expect(200);
    send_json(
        &mut socket,
        &json!({ "type": "system.heartbeat", "payload": {} }),
    )
    .await;
    assert_eq!(
        next_json(&mut socket).await,
        json!({ "type": "system.heartbeat_ack" })
    );

    // A clean close ends the presence: the server answers the close after releasing it.
    socket.close(None).await.expect("close");
    assert_eq!(close_code(&mut socket).await, 1005, "the close is answered");
    assert!(
        !connected(&app, &p).await,
        "presence released after a clean close"
    );
}

#[tokio::test]
async fn a_clients_close_is_answered_with_its_own_code() {
    // Arrange: `clawrent serve` reconnects after every close but 1000 and 4009.
    let app = spawn_app().await;
    let p = provider(&app, json!({})).await;
    let mut socket = agent_socket(&app, &p.token).await;
    next_of(&mut socket, "agent.connected").await;

    // Act
    socket
        .close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "Shutting down".into(),
        }))
        .await
        .expect("close");

    // Assert
    assert_eq!(close_code(&mut socket).await, 1000);
}

#[tokio::test]
async fn a_session_rented_on_one_replica_reaches_the_agent_on_the_other() {
    // Arrange: the agent's socket on replica A; the consumer rents on replica B.
    let a = spawn_app().await;
    let b = spawn_replica(&a, &[]).await;
    let p = provider(
        &a,
        json!({ "priceAmount": "2.00", "approvalMode": "manual" }),
    )
    .await;
    let mut socket = agent_socket(&a, &p.token).await;
    next_of(&mut socket, "agent.connected").await;
    a.post_empty(&format!("/api/agents/{}/activate", p.agent), &p.user.auth())
        .await
        .expect(200);
    let consumer = b.signup().await;
    b.topup(&consumer.auth(), "10.00").await.expect(200);

    // Act
    let created = rent(
        &b,
        &consumer,
        &json!({ "agentId": p.agent, "taskDescription": "cross-replica", "grantedPermissions": {} }),
    )
    .await
    .expect(201);
    let new = next_of(&mut socket, "session.new").await;
    let id = created.body["id"].as_str().expect("id");
    b.post_empty(&format!("/api/sessions/{id}/approve"), &p.user.auth())
        .await
        .expect(200);
    let approved = next_of(&mut socket, "session.approved").await;

    // Assert: the contract's payloads, optional fields present or absent but never null.
    let payload = &new["payload"];
    assert_eq!(payload["sessionId"], created.body["id"]);
    assert_eq!(payload["sessionToken"], created.body["sessionToken"]);
    assert_eq!(payload["status"], "pending_approval");
    assert_eq!(payload["taskDescription"], "cross-replica");
    assert_eq!(payload["consumerUserId"], consumer.id.as_str());
    assert!(payload["timestamp"].is_string());
    assert!(
        payload
            .as_object()
            .expect("object")
            .values()
            .all(|v| !v.is_null())
    );
    assert_eq!(approved["payload"]["sessionId"], created.body["id"]);
    assert_eq!(
        approved["payload"]["sessionToken"],
        created.body["sessionToken"]
    );
    assert_eq!(approved["payload"]["status"], "active");
    let _ = &p.admin;
}

#[tokio::test]
async fn a_second_connection_on_another_replica_replaces_the_first_with_4009() {
    // Arrange
    let a = spawn_app().await;
    let b = spawn_replica(&a, &[]).await;
    let p = provider(&a, json!({})).await;
    let mut first = agent_socket(&a, &p.token).await;
    next_of(&mut first, "agent.connected").await;

    // Act
    let mut second = agent_socket(&b, &p.token).await;
    next_of(&mut second, "agent.connected").await;

    // Assert: the first is replaced; the agent stays present through the second, whose
    // heartbeats still work after the first one's disconnect.
    assert_eq!(close_code(&mut first).await, 4009);
    drop(first);
    send_json(
        &mut second,
        &json!({ "type": "system.heartbeat", "payload": {} }),
    )
    .await;
    assert_eq!(
        next_json(&mut second).await,
        json!({ "type": "system.heartbeat_ack" })
    );
    assert!(
        connected(&a, &p).await,
        "the newer connection keeps the presence"
    );
}

#[tokio::test]
async fn replacing_or_revoking_the_token_closes_its_sockets_with_4001() {
    // Arrange
    let app = spawn_app().await;
    let p = provider(&app, json!({})).await;
    let mut old = agent_socket(&app, &p.token).await;
    next_of(&mut old, "agent.connected").await;

    // Act: a new token replaces the old one.
    let fresh = app.agent_token(&p.user, &p.agent).await;

    // Assert: the old token's socket closes; a socket opened with the new one stays (the
    // revocation names the old token by its hash).
    assert_eq!(close_code(&mut old).await, 4001);
    let mut new = agent_socket(&app, &fresh).await;
    next_of(&mut new, "agent.connected").await;
    send_json(
        &mut new,
        &json!({ "type": "system.heartbeat", "payload": {} }),
    )
    .await;
    assert_eq!(
        next_json(&mut new).await,
        json!({ "type": "system.heartbeat_ack" })
    );
    let mut stale = agent_socket(&app, &p.token).await;
    assert_eq!(
        close_code(&mut stale).await,
        4001,
        "the replaced token is refused"
    );

    // Act and assert: revoking closes the socket of the current token.
    app.delete(&format!("/api/agents/{}/token", p.agent), &p.user.auth())
        .await
        .expect(200);
    assert_eq!(close_code(&mut new).await, 4001);
}

#[tokio::test]
async fn a_silent_socket_is_closed_4008_and_its_agent_goes_offline() {
    // Arrange: a 2 s idle limit (heartbeats would come every 25 s).
    let app = spawn_app_with(&[("REALTIME_IDLE_TIMEOUT", "2s")]).await;
    let p = provider(&app, json!({})).await;
    let mut socket = agent_socket(&app, &p.token).await;
    next_of(&mut socket, "agent.connected").await;

    // Act: say nothing.
    let code = close_code(&mut socket).await;

    // Assert
    assert_eq!(code, 4008);
    assert!(!connected(&app, &p).await);
}
