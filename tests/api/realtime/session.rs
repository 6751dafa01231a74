//! `/ws/session` across two replicas: close codes, messages both ways stored like REST ones and
//! forwarded with `_meta`, REST messages reaching sockets (`delivered`), typing live only,
//! the end with 4003, and resume after a disconnect.

use super::support::*;
use crate::helpers::*;
use crate::sessions::support::{Market, action, market, rent};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

struct Live {
    m: Market,
    id: String,
    token: String,
}

/// An active session (auto approval).
async fn live(app: &TestApp) -> Live {
    let m = market(
        app,
        json!({ "approvalMode": "auto", "priceAmount": "1.00" }),
        "10.00",
    )
    .await;
    let created = rent(app, &m.consumer, &m.rent_body("live"))
        .await
        .expect(201);
    Live {
        id: created.body["id"].as_str().expect("id").to_owned(),
        token: created.body["sessionToken"]
            .as_str()
            .expect("token")
            .to_owned(),
        m,
    }
}

fn path(l: &Live, role: &str) -> String {
    format!(
        "/ws/session?sessionId={}&token={}&role={role}&slotIndex=0",
        l.id, l.token
    )
}

fn message(kind: &str, payload: Value, id: &str) -> Value {
    json!({ "id": id, "sessionId": "", "timestamp": 0, "sender": { "role": "x" }, "type": kind, "payload": payload })
}

#[tokio::test]
async fn bad_parameters_roles_tokens_slots_and_inactive_sessions_get_their_close_codes() {
    // Arrange
    let app = spawn_app().await;
    let l = live(&app).await;
    let pending_market = market(&app, json!({ "approvalMode": "manual" }), "10.00").await;
    let pending = rent(
        &app,
        &pending_market.consumer,
        &pending_market.rent_body("wait"),
    )
    .await
    .expect(201);
    let cases = [
        ("/ws/session".to_owned(), 4000),
        (
            format!("/ws/session?sessionId=nope&token={}&role=consumer", l.token),
            4000,
        ),
        (
            format!(
                "/ws/session?sessionId={}&token={}&role=admin",
                l.id, l.token
            ),
            4001,
        ),
        (
            format!(
                "/ws/session?sessionId={}&token=sess_wrong&role=consumer",
                l.id
            ),
            4002,
        ),
        (
            format!(
                "/ws/session?sessionId={}&token={}&role=consumer&slotIndex=3",
                l.id, l.token
            ),
            4004,
        ),
        (
            format!(
                "/ws/session?sessionId={}&token={}&role=provider",
                pending.body["id"].as_str().expect("id"),
                pending.body["sessionToken"].as_str().expect("token")
            ),
            4003,
        ),
    ];

    for (path, expected) in cases {
        // Act
        let mut socket = connect(&app, &path).await;

        // Assert
        assert_eq!(close_code(&mut socket).await, expected, "{path}");
    }
}

#[tokio::test]
async fn messages_cross_replicas_both_ways_stored_and_forwarded_with_meta() {
    // Arrange: the consumer on replica A, the provider on replica B.
    let a = spawn_app().await;
    let b = spawn_replica(&a, &[]).await;
    let l = live(&a).await;
    let mut consumer = connect(&a, &path(&l, "consumer")).await;
    let mut provider = connect(&b, &path(&l, "provider")).await;
    let joined = next_of(&mut consumer, "system.peer_connected").await;
    assert_eq!(joined["payload"]["role"], "provider");

    // Act
    send_json(
        &mut consumer,
        &message("instruction.exec", json!({ "command": "ls" }), "msg_c1"),
    )
    .await;
    let at_provider = next_of(&mut provider, "instruction.exec").await;
    send_json(
        &mut provider,
        &message(
            "result.success",
            json!({ "data": "ok", "usage": { "totalTokens": 5 } }),
            "msg_p1",
        ),
    )
    .await;
    let at_consumer = next_of(&mut consumer, "result.success").await;

    // Assert: the stored history is what the sockets carried.
    let history = a
        .get(&action(&l.id, "messages"), &l.m.consumer.auth())
        .await
        .expect(200);
    let stored = history.body["data"].as_array().expect("data");
    assert_eq!(stored.len(), 2);
    assert_eq!(at_provider["seq"], 1);
    assert_eq!(at_provider["payload"], json!({ "command": "ls" }));
    assert_eq!(at_provider["sender"]["role"], "consumer");
    assert_eq!(at_provider["sender"]["slotIndex"], 0);
    assert_eq!(at_provider["_meta"]["senderRole"], "consumer");
    assert_eq!(at_provider["_meta"]["timestamp"], stored[0]["createdAt"]);
    assert!(
        at_provider["timestamp"].is_i64(),
        "the envelope timestamp is a number"
    );
    assert_eq!(at_consumer["seq"], 2);
    assert_eq!(at_consumer["sender"]["agentId"], l.m.agent.as_str());
    assert_eq!(at_consumer["_meta"]["timestamp"], stored[1]["createdAt"]);
}

#[tokio::test]
async fn rest_messages_reach_sockets_delivered_says_whether_the_peer_was_there_and_typing_is_live_only()
 {
    // Arrange
    let a = spawn_app().await;
    let b = spawn_replica(&a, &[]).await;
    let l = live(&a).await;

    // Act: no provider socket yet.
    let unseen = a
        .post(
            &action(&l.id, "messages"),
            &l.m.consumer.auth(),
            &json!({ "type": "dialogue.message", "payload": { "n": 1 } }),
        )
        .await
        .expect(200);
    let mut provider = connect(&b, &path(&l, "provider")).await;
    // The ack comes from the socket's loop, which starts once its presence is claimed.
    send_json(
        &mut provider,
        &json!({ "type": "system.heartbeat", "payload": {} }),
    )
    .await;
    next_of(&mut provider, "system.heartbeat_ack").await;
    let mut consumer = connect(&a, &path(&l, "consumer")).await;
    next_of(&mut provider, "system.peer_connected").await;
    let seen = a
        .post(
            &action(&l.id, "messages"),
            &l.m.consumer.auth(),
            &json!({ "type": "dialogue.message", "payload": { "n": 2 } }),
        )
        .await
        .expect(200);
    let live_message = next_of(&mut provider, "dialogue.message").await;
    send_json(&mut consumer, &message("dialogue.typing", json!({}), "t1")).await;
    let typing = next_of(&mut provider, "dialogue.typing").await;

    // Assert
    assert_eq!(unseen.body["delivered"], false);
    assert_eq!(seen.body["delivered"], true);
    assert_eq!(live_message["payload"], json!({ "n": 2 }));
    assert_eq!(typing["sender"]["role"], "consumer");
    let history = a
        .get(&action(&l.id, "messages"), &l.m.consumer.auth())
        .await
        .expect(200);
    assert_eq!(
        history.body["data"].as_array().expect("data").len(),
        2,
        "typing is not stored"
    );
}

#[tokio::test]
async fn an_invalid_frame_gets_an_error_and_the_end_closes_both_sides_with_4003() {
    // Arrange
    let app = spawn_app().await;
    let l = live(&app).await;
    let mut consumer = connect(&app, &path(&l, "consumer")).await;
    let mut provider = connect(&app, &path(&l, "provider")).await;
    next_of(&mut consumer, "system.peer_connected").await;

    // Act: a type the consumer may not send, then the end over REST.
    send_json(&mut consumer, &message("result.success", json!({}), "bad1")).await;
    let error = next_of(&mut consumer, "system.error").await;
    app.post_empty(&action(&l.id, "end"), &l.m.consumer.auth())
        .await
        .expect(200);

    // Assert
    assert!(
        error["payload"]["message"]
            .as_str()
            .expect("message")
            .contains("result.*")
    );
    for socket in [&mut consumer, &mut provider] {
        let ended = next_of(socket, "system.session_ended").await;
        assert_eq!(ended["payload"]["reason"], "ended");
        assert_eq!(close_code(socket).await, 4003);
    }
}

#[tokio::test]
async fn a_client_that_reconnects_resumes_what_it_missed_in_order() {
    // Arrange: the consumer saw seq 1, then went away; two more messages came meanwhile.
    let app = spawn_app().await;
    let l = live(&app).await;
    let mut consumer = connect(&app, &path(&l, "consumer")).await;
    let send = |n: i64| {
        let (app, path) = (&app, action(&l.id, "messages"));
        let auth = l.m.provider.auth();
        async move {
            app.post(
                &path,
                &auth,
                &json!({ "type": "dialogue.message", "payload": { "n": n } }),
            )
            .await
            .expect(200);
        }
    };
    send(1).await;
    let first = next_of(&mut consumer, "dialogue.message").await;
    consumer.close(None).await.expect("close");
    drop(consumer);
    send(2).await;
    send(3).await;

    // Act: reconnect asking for what came after the last seq seen.
    let resume = format!("{}&afterSeq={}", path(&l, "consumer"), first["seq"]);
    let mut again = connect(&app, &resume).await;
    let second = next_of(&mut again, "dialogue.message").await;
    let third = next_of(&mut again, "dialogue.message").await;
    send(4).await;
    let fourth = next_of(&mut again, "dialogue.message").await;

    // Assert
    let seqs: Vec<i64> = [&first, &second, &third, &fourth]
        .iter()
        .map(|m| m["seq"].as_i64().expect("seq"))
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4]);
    assert_eq!(third["payload"], json!({ "n": 3 }));
}

#[tokio::test]
async fn a_clients_close_is_answered_with_its_own_code() {
    // Arrange: the SDK closes with 1000 when it stops and reconnects after any other code it
    // gets back (a close without a code reads as 1005), so the answer must carry the 1000.
    let app = spawn_app().await;
    let l = live(&app).await;
    let mut provider = connect(&app, &path(&l, "provider")).await;

    // Act
    provider
        .close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "Provider disconnecting".into(),
        }))
        .await
        .expect("close");

    // Assert
    assert_eq!(close_code(&mut provider).await, 1000);
}

#[tokio::test]
async fn a_message_stored_right_after_the_socket_opened_reaches_it_live() {
    // Arrange: the socket has joined the session's channel by the time its handshake completes.
    let app = spawn_app().await;
    let l = live(&app).await;
    let mut provider = connect(&app, &path(&l, "provider")).await;

    // Act: store a message at once, without waiting for anything on the socket.
    app.post(
        &action(&l.id, "messages"),
        &l.m.consumer.auth(),
        &json!({ "type": "dialogue.message", "payload": { "first": true } }),
    )
    .await
    .expect(200);

    // Assert
    let received = next_of(&mut provider, "dialogue.message").await;
    assert_eq!(received["payload"], json!({ "first": true }));
}
