//! Hostile frames on both sockets: binary (1003), not UTF-8 (1007), oversized (1009), a flood
//! (1008); garbage text on `/ws/session` gets an error frame and the socket stays.

use super::support::*;
use crate::helpers::*;
use crate::sessions::support::{market, rent};
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

/// The path of a live session's consumer socket.
async fn session_path(app: &TestApp) -> String {
    let m = market(app, json!({ "approvalMode": "auto" }), "10.00").await;
    let s = rent(app, &m.consumer, &m.rent_body("frames"))
        .await
        .expect(201);
    format!(
        "/ws/session?sessionId={}&token={}&role=consumer",
        s.body["id"].as_str().expect("id"),
        s.body["sessionToken"].as_str().expect("token")
    )
}

async fn agent_path(app: &TestApp) -> String {
    let user = app.signup().await;
    let agent = app
        .create_agent(&user, &unique_slug("frames"), json!({}))
        .await;
    format!("/ws/agent?token={}", app.agent_token(&user, &agent).await)
}

#[tokio::test]
async fn binary_invalid_utf8_oversized_and_flooding_frames_close_with_their_codes() {
    let app = spawn_app().await;
    for path in [agent_path(&app).await, session_path(&app).await] {
        // Binary.
        let mut socket = connect(&app, &path).await;
        socket
            .send(Message::Binary(vec![1, 2, 3].into()))
            .await
            .expect("send");
        assert_eq!(close_code(&mut socket).await, 1003, "{path}");

        // A text frame that is not UTF-8.
        let mut socket = connect(&app, &path).await;
        let raw = Frame::message(vec![0xff, 0xfe, 0xfd], OpCode::Data(Data::Text), true);
        socket.send(Message::Frame(raw)).await.expect("send");
        assert_eq!(close_code(&mut socket).await, 1007, "{path}");

        // Over 64 KiB.
        let mut socket = connect(&app, &path).await;
        let big = json!({ "type": "dialogue.message", "payload": { "t": "x".repeat(70 * 1024) } });
        send_json(&mut socket, &big).await;
        assert_eq!(close_code(&mut socket).await, 1009, "{path}");

        // A flood: more than 20 frames in a second.
        let mut socket = connect(&app, &path).await;
        for _ in 0..30 {
            let heartbeat = json!({ "type": "system.heartbeat", "payload": {} });
            let sent = socket
                .send(Message::Text(heartbeat.to_string().into()))
                .await;
            if sent.is_err() {
                break;
            }
        }
        assert_eq!(close_code(&mut socket).await, 1008, "{path}");
    }

    let path = session_path(&app).await;
    // Garbage text gets an error frame; the socket stays usable.
    let mut socket = connect(&app, &path).await;
    socket
        .send(Message::Text("not json".into()))
        .await
        .expect("send");
    let error = next_of(&mut socket, "system.error").await;
    assert!(error["payload"]["message"].is_string());
    send_json(
        &mut socket,
        &json!({ "type": "system.heartbeat", "payload": {} }),
    )
    .await;
    next_of(&mut socket, "system.heartbeat_ack").await;
}
