//! WebSocket clients for the realtime tests: connect, read the next JSON frame, read the close.

use crate::helpers::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Bounds a wait that should end at once; only a failing test ever reaches it.
const DEADLINE: Duration = Duration::from_secs(30);

pub async fn connect(app: &TestApp, path_and_query: &str) -> Socket {
    let url = format!("ws://127.0.0.1:{}{path_and_query}", app.port);
    let (socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket handshake");
    socket
}

pub async fn agent_socket(app: &TestApp, token: &str) -> Socket {
    connect(app, &format!("/ws/agent?token={token}")).await
}

/// The next text frame as JSON (pings and pongs skipped).
pub async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(DEADLINE, socket.next())
            .await
            .expect("a frame within the deadline")
            .expect("the socket is open")
            .expect("a valid frame");
        match frame {
            Message::Text(text) => return serde_json::from_str(&text).expect("json frame"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// The next text frame of `kind` (others, like heartbeat acks, skipped).
pub async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    loop {
        let frame = next_json(socket).await;
        if frame["type"] == kind {
            return frame;
        }
    }
}

/// The close code the server sends (text frames before it are skipped).
pub async fn close_code(socket: &mut Socket) -> u16 {
    loop {
        let frame = tokio::time::timeout(DEADLINE, socket.next())
            .await
            .expect("a close within the deadline");
        match frame {
            Some(Ok(Message::Close(Some(close)))) => return u16::from(close.code),
            Some(Ok(Message::Close(None))) | None => return 1005,
            Some(Ok(_)) => continue,
            Some(Err(error)) => panic!("socket error instead of a close: {error}"),
        }
    }
}

pub async fn send_json(socket: &mut Socket, value: &Value) {
    socket
        .send(Message::Text(value.to_string().into()))
        .await
        .expect("send");
}
