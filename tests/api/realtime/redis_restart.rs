//! A Redis restart mid-conversation: REST keeps storing (the database commit is the point of
//! truth), the replica's hub reconnects and subscribes again by itself, and the connected
//! sockets get everything stored meanwhile, in order, once Redis is back. The app runs against
//! a Redis server of its own, started and killed by the test.

use super::support::*;
use crate::helpers::*;
use crate::sessions::support::action;
use serde_json::json;
use std::time::Duration;
use tokio::process::{Child, Command};

/// A redis-server of this test's own on `port` (no persistence: a restart loses every key).
async fn redis_server(port: u16) -> Child {
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server (installed by deploy/local-services.sh)");
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).expect("url");
    // Ready when it answers PING; the bound only stops a broken test.
    for _ in 0..200 {
        if let Ok(mut conn) = client.get_multiplexed_async_connection().await
            && redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .is_ok()
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("redis-server on port {port} did not answer");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

#[tokio::test]
async fn a_redis_restart_loses_nothing_for_connected_sockets() {
    // Arrange: the app on its own Redis; an agent connected and activated; a live session with
    // both sides' sockets.
    let port = free_port();
    let mut redis = redis_server(port).await;
    let url = format!("redis://127.0.0.1:{port}");
    let app = spawn_app_with(&[("REDIS_URL", &url)]).await;
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    let agent = app
        .listed_agent_with(
            &provider,
            &admin,
            &unique_slug("redis"),
            json!({ "approvalMode": "auto", "priceAmount": "1.00" }),
        )
        .await;
    let token = app.agent_token(&provider, &agent).await;
    let mut daemon = agent_socket(&app, &token).await;
    next_of(&mut daemon, "agent.connected").await;
    app.post_empty(&format!("/api/agents/{agent}/activate"), &provider.auth())
        .await
        .expect(200);
    let consumer = app.signup().await;
    app.topup(&consumer.auth(), "10.00").await.expect(200);
    let session = app
        .post(
            "/api/sessions",
            &consumer.auth(),
            &json!({ "agentId": agent, "taskDescription": "redis", "grantedPermissions": {} }),
        )
        .await
        .expect(201);
    let id = session.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        next_of(&mut daemon, "session.new").await["payload"]["sessionId"],
        id.as_str()
    );
    let path = format!(
        "/ws/session?sessionId={id}&token={}&role=provider",
        session.body["sessionToken"].as_str().expect("token")
    );
    let mut provider_socket = connect(&app, &path).await;
    let send = |n: i64| {
        let (app, path, auth) = (&app, action(&id, "messages"), consumer.auth());
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
    assert_eq!(
        next_of(&mut provider_socket, "dialogue.message").await["seq"],
        1
    );

    // Act: Redis dies; two messages are stored while it is down; Redis comes back empty.
    redis.kill().await.expect("kill redis");
    send(2).await;
    send(3).await;
    let _redis = redis_server(port).await;
    send(4).await;

    // Assert: the provider's socket gets 2, 3 and 4, in order, without reconnecting.
    let seqs = [
        next_of(&mut provider_socket, "dialogue.message").await["seq"].as_i64(),
        next_of(&mut provider_socket, "dialogue.message").await["seq"].as_i64(),
        next_of(&mut provider_socket, "dialogue.message").await["seq"].as_i64(),
    ];
    assert_eq!(seqs, [Some(2), Some(3), Some(4)]);
    // The daemon's socket is still open and was sent nothing of the hub's own (the reconnect is
    // not a frame of the contract): the ack of its heartbeat is the next frame (the heartbeat
    // also re-creates the presence the restart lost).
    send_json(
        &mut daemon,
        &json!({ "type": "system.heartbeat", "payload": {} }),
    )
    .await;
    assert_eq!(
        next_json(&mut daemon).await,
        json!({ "type": "system.heartbeat_ack" })
    );
}
