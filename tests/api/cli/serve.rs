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
