//! A 503 names its cause in the log: the request's line says what failed, not only the status.

use crate::helpers::*;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;

#[tokio::test]
async fn a_503_on_the_tenant_lookup_logs_why_under_the_request_id() {
    // Arrange: a replica whose database does not answer (port 1 refuses connections).
    let mut child = Command::new(clawrent_binary())
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")
        .env("DATABASE_ACQUIRE_TIMEOUT", "1s")
        .env("AUTO_MIGRATE", "false")
        .env("PORT", "0")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env(
            "MAIL_OUTBOX_DIR",
            std::env::temp_dir().join("clawrent-pool-logs"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the clawrent binary (make test builds it)");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut address = None;
    while let Some(line) = lines.next_line().await.expect("read") {
        if let Some(rest) = line.strip_prefix("clawrent listening on ") {
            address = rest.split_whitespace().next().map(str::to_owned);
            break;
        }
    }
    let address = address.expect("the server printed its address");

    // Act
    let reply = http_client()
        .get(format!("{address}/api/marketplace/browse"))
        .header("x-request-id", "pool-log-7")
        .header("x-api-key", "clr_whatever")
        .send()
        .await
        .expect("request");

    // Assert
    assert_eq!(reply.status().as_u16(), 503);
    assert_eq!(
        reply
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let mut cause = None;
    while let Some(line) = lines.next_line().await.expect("read") {
        if line.contains("pool-log-7") && line.contains("request failed") {
            cause = Some(line);
            break;
        }
    }
    child.kill().await.expect("stop the server");
    let line = cause.expect("a `request failed` line for the request");
    let entry: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    let text = entry["error.cause"].as_str().unwrap_or_default();
    assert!(
        text.contains("tenant lookup") && text.contains("acquire"),
        "the cause names the tenant lookup and the pool: {line}"
    );
    assert_eq!(entry["error.code"], "SERVICE_UNAVAILABLE", "{line}");
}
