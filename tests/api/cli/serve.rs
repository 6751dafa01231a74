//! `clawrent serve` as a process: its address, SIGTERM, the request log line, OTLP export.

use super::*;

#[tokio::test]
async fn serve_prints_its_address_and_stops_gracefully_on_sigterm() {
    let app = spawn_app().await;
    let (child, address) = serve(&app, &[]).await;
    let health = http_client()
        .get(format!("{address}/api/health"))
        .send()
        .await
        .expect("request");
    assert_eq!(health.status().as_u16(), 200);
    let status = terminate(child).await;
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}

#[tokio::test]
async fn every_request_logs_one_json_line_with_id_route_tenant_status_and_latency() {
    let app = spawn_app().await;
    let (child, address, mut stdout) = serve_with_output(&app, &[("RUST_LOG", "info")]).await;
    let client = http_client();
    let reply = client
        .delete(format!(
            "{address}/api/auth/api-keys/01a1fccf-d43c-7477-a649-a660dea1a2ca"
        ))
        .header("x-request-id", "log-test-42")
        .send()
        .await
        .expect("request");
    assert_eq!(reply.status().as_u16(), 401);
    let status = terminate(child).await;
    assert!(status.success());

    let mut found = None;
    while let Some(line) = stdout.next_line().await.expect("read") {
        if line.contains("log-test-42") && line.contains("request completed") {
            found = Some(line);
        }
    }
    let line = found.expect("a `request completed` line for the request");
    let entry: serde_json::Value = serde_json::from_str(&line).expect("the line is JSON");
    let span = &entry["span"];
    assert_eq!(span["request_id"], "log-test-42", "{line}");
    assert_eq!(span["http.route"], "/api/auth/api-keys/{id}", "{line}");
    assert_eq!(span["http.method"], "DELETE", "{line}");
    assert_eq!(span["tenant"], "default", "{line}");
    assert_eq!(entry["http.status"], 401, "{line}");
    assert!(entry["latency_ms"].as_f64().is_some(), "{line}");
}

#[tokio::test]
async fn traces_are_exported_over_otlp_http_when_an_endpoint_is_set() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = spawn_app().await;
    // A minimal OTLP/HTTP collector: records the request line of the first POST it receives.
    let collector = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = format!("http://{}", collector.local_addr().expect("addr"));
    let received = tokio::spawn(async move {
        let (mut stream, _) = collector.accept().await.expect("the exporter connects");
        let mut buffer = vec![0u8; 64 * 1024];
        let read = stream.read(&mut buffer).await.unwrap_or(0);
        let _ = stream
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
            )
            .await;
        String::from_utf8_lossy(&buffer[..read])
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    });

    // Spans below the RUST_LOG level are neither logged nor exported.
    let (child, address) = serve(
        &app,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("RUST_LOG", "info"),
        ],
    )
    .await;
    let health = http_client()
        .get(format!("{address}/api/health"))
        .send()
        .await
        .expect("request");
    assert_eq!(health.status().as_u16(), 200);
    // SIGTERM flushes the batch exporter on the way out.
    let status = terminate(child).await;
    assert!(status.success(), "{status:?}");
    let request_line = received.await.expect("collector");
    assert_eq!(request_line, "POST /v1/traces HTTP/1.1");
}

#[tokio::test]
async fn sigterm_closes_agent_sockets_with_1012_so_their_clients_reconnect_elsewhere() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    // Arrange: an agent socket on the real binary.
    let app = spawn_app().await;
    let owner = app.signup().await;
    let agent = app
        .create_agent(&owner, &unique_slug("sigterm"), serde_json::json!({}))
        .await;
    let token = app.agent_token(&owner, &agent).await;
    let (child, address) = serve(&app, &[("SHUTDOWN_DELAY_SECONDS", "1")]).await;
    let url = format!(
        "{}/ws/agent?token={token}",
        address.replacen("http", "ws", 1)
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("handshake");
    let welcome = socket.next().await.expect("a frame").expect("valid");
    assert!(matches!(welcome, Message::Text(ref t) if t.contains("agent.connected")));

    // Act
    let stopped = tokio::spawn(terminate(child));

    // Assert: 1012 ("service restart": the clients reconnect, to another replica), then a
    // clean exit.
    let code = loop {
        match tokio::time::timeout(std::time::Duration::from_secs(30), socket.next())
            .await
            .expect("a close within the deadline")
        {
            Some(Ok(Message::Close(Some(close)))) => break u16::from(close.code),
            Some(Ok(_)) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(code, 1012);
    let status = stopped.await.expect("join");
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}
