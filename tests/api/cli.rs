//! The `clawrent` binary itself: subcommands, configuration errors, graceful shutdown.

use crate::helpers::*;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn binary() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map_or_else(|_| workspace_root().join("target"), PathBuf::from);
    let path = target.join("debug/clawrent");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (make test does)",
        path.display()
    );
    path
}

/// The binary with a clean environment plus `vars`.
fn clawrent(vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(binary());
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn");
    for (k, v) in vars {
        command.env(k, v);
    }
    command
}

#[test]
fn openapi_prints_the_committed_document() {
    let output = clawrent(&[]).arg("openapi").output().expect("run");
    assert!(output.status.success());
    let committed =
        std::fs::read_to_string(workspace_root().join("openapi/openapi.json")).expect("file");
    assert!(
        String::from_utf8_lossy(&output.stdout) == committed,
        "openapi/openapi.json is stale: run `make openapi`"
    );
}

#[test]
fn an_invalid_value_stops_the_process_with_one_line_naming_the_variable() {
    let cases = [
        ("PORT", "abc"),
        ("CLAWRENT_ENV", "staging"),
        ("JWT_SECRET", "too-short"),
        ("RATE_LIMIT_LOGIN_IP", "lots"),
        ("SMTP_URL", "http://mail.example.com"),
    ];
    for (name, value) in cases {
        let output = clawrent(&[(name, value)])
            .arg("serve")
            .output()
            .expect("run");
        assert_eq!(output.status.code(), Some(2), "{name}={value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{name}: {stderr}");
        assert!(
            stderr.starts_with(&format!("invalid configuration: {name}: ")),
            "{stderr}"
        );
        if name == "JWT_SECRET" {
            assert!(!stderr.contains(value), "a secret is echoed: {stderr}");
        }
    }
}

#[test]
fn production_refuses_to_start_without_a_jwt_secret() {
    let output = clawrent(&[("CLAWRENT_ENV", "production")])
        .arg("serve")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("JWT_SECRET"));
}

#[tokio::test]
async fn migrate_creates_a_missing_database_and_applies_migrations() {
    let app = spawn_app().await; // provides the server URL convention and cleans nothing of ours
    let name = format!("clawrent_t_{}", uuid::Uuid::now_v7().simple());
    let url = app_database_url(&app, &name);
    let output = clawrent(&[("DATABASE_URL", &url)])
        .arg("migrate")
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let pool = sqlx::PgPool::connect(&url).await.expect("database exists");
    let tenants: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants WHERE slug = 'default'")
        .fetch_one(&pool)
        .await
        .expect("migrated");
    assert_eq!(tenants, 1);
    pool.close().await;
    // Idempotent.
    assert!(
        clawrent(&[("DATABASE_URL", &url)])
            .arg("migrate")
            .output()
            .expect("run")
            .status
            .success()
    );
    drop_database(&app, &name).await;
}

fn app_database_url(app: &TestApp, name: &str) -> String {
    let own = app.state.settings.database_url.expose();
    format!(
        "{}/{name}",
        own.rsplit_once('/').expect("url has a database").0
    )
}

async fn drop_database(app: &TestApp, name: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&app.db)
    .await
    .expect("drop");
}

#[tokio::test]
async fn admin_create_admin_creates_then_promotes() {
    let app = spawn_app().await;
    let url = app.state.settings.database_url.expose().to_owned();
    let tenant = app.create_tenant("cli").await;
    let email = unique_email("cli-admin");
    let run = |email: &str| {
        clawrent(&[
            ("DATABASE_URL", &url),
            ("AUTO_MIGRATE", "false"),
            ("CLAWRENT_ADMIN_PASSWORD", PASSWORD),
        ])
        .args([
            "admin",
            "create-admin",
            "--tenant",
            &tenant,
            "--email",
            email,
            "--name",
            "Boss",
        ])
        .output()
        .expect("run")
    };
    let output = run(&email);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("created admin"));
    let login = app
        .login(&email, PASSWORD, &Auth::none().tenant(&tenant))
        .await
        .expect(200);
    assert_eq!(login.body["user"]["role"], "admin");
    // Not in the default tenant.
    app.login(&email, PASSWORD, &Auth::none())
        .await
        .expect_error(401, "INVALID_CREDENTIALS");

    let consumer = app.signup_in(Some(&tenant)).await;
    let output = run(&consumer.email);
    assert!(
        String::from_utf8_lossy(&output.stdout).starts_with("promoted admin"),
        "{output:?}"
    );
    let me = app.me(&consumer.auth()).await.expect(200);
    assert_eq!(me.body["role"], "admin");

    let unknown = clawrent(&[
        ("DATABASE_URL", &url),
        ("AUTO_MIGRATE", "false"),
        ("CLAWRENT_ADMIN_PASSWORD", PASSWORD),
    ])
    .args([
        "admin",
        "create-admin",
        "--tenant",
        "no-such-tenant",
        "--email",
        &email,
    ])
    .output()
    .expect("run");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("Tenant not found"));
}

#[tokio::test]
async fn serve_prints_its_address_and_stops_gracefully_on_sigterm() {
    let app = spawn_app().await;
    let (child, address) = serve(&app, &[]);
    let health = reqwest::get(format!("{address}/api/health"))
        .await
        .expect("request");
    assert_eq!(health.status().as_u16(), 200);
    let status = terminate(child).await;
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}

/// Sends SIGTERM and waits for the process to exit.
async fn terminate(mut child: std::process::Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    let signalled = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(signalled.success());
    tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait")
}

/// Starts the real binary against the test database; returns it, its base URL and its stdout.
fn serve_with_output(
    app: &TestApp,
    extra: &[(&str, &str)],
) -> (
    std::process::Child,
    String,
    BufReader<std::process::ChildStdout>,
) {
    let url = app.state.settings.database_url.expose().to_owned();
    let mut vars = vec![
        ("DATABASE_URL", url.as_str()),
        ("PORT", "0"),
        ("LOG_FORMAT", "json"),
    ];
    vars.extend_from_slice(extra);
    let mut child = clawrent(&vars)
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    while !line.starts_with("clawrent listening on ") {
        line.clear();
        assert!(
            reader.read_line(&mut line).expect("read") > 0,
            "exited before listening"
        );
    }
    let address = line
        .trim_start_matches("clawrent listening on ")
        .split_whitespace()
        .next()
        .expect("address")
        .to_owned();
    (child, address, reader)
}

fn serve(app: &TestApp, extra: &[(&str, &str)]) -> (std::process::Child, String) {
    let (child, address, _) = serve_with_output(app, extra);
    (child, address)
}

#[tokio::test]
async fn every_request_logs_one_json_line_with_id_route_tenant_status_and_latency() {
    let app = spawn_app().await;
    let (child, address, mut stdout) = serve_with_output(&app, &[("RUST_LOG", "info")]);
    let client = reqwest::Client::new();
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

    let mut line = String::new();
    let mut found = None;
    while stdout.read_line(&mut line).expect("read") > 0 {
        if line.contains("log-test-42") && line.contains("request completed") {
            found = Some(line.clone());
        }
        line.clear();
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
    use std::io::{Read, Write};
    let app = spawn_app().await;
    // A minimal OTLP/HTTP collector: records the request line of every POST it receives.
    let collector = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", collector.local_addr().expect("addr"));
    let received = std::thread::spawn(move || {
        collector.set_nonblocking(false).expect("blocking");
        let (mut stream, _) = collector.accept().expect("the exporter connects");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .expect("timeout");
        let mut buffer = vec![0u8; 64 * 1024];
        let read = stream.read(&mut buffer).unwrap_or(0);
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
        );
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
    );
    let health = reqwest::get(format!("{address}/api/health"))
        .await
        .expect("request");
    assert_eq!(health.status().as_u16(), 200);
    // SIGTERM flushes the batch exporter on the way out.
    let status = terminate(child).await;
    assert!(status.success(), "{status:?}");
    let request_line = tokio::task::spawn_blocking(move || received.join().expect("collector"))
        .await
        .expect("join");
    assert_eq!(request_line, "POST /v1/traces HTTP/1.1");
}

#[tokio::test]
async fn seed_demo_fills_the_marketplace_once() {
    let app = spawn_app().await;
    let url = app.state.settings.database_url.expose().to_owned();
    let seed = || {
        clawrent(&[("DATABASE_URL", &url), ("AUTO_MIGRATE", "false")])
            .args(["admin", "seed-demo"])
            .output()
            .expect("run")
    };
    let first = seed();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        String::from_utf8_lossy(&first.stdout)
            .starts_with("seeded tenant default: 12 agents created")
    );

    let consumer = app
        .login(
            "demo-consumer@clawrent.local",
            "clawrent-demo-password",
            &Auth::none(),
        )
        .await
        .expect(200);
    let auth = Auth::bearer(consumer.body["token"].as_str().expect("token"));
    let browse = app
        .get("/api/marketplace/browse?limit=50", &auth)
        .await
        .expect(200);
    assert_eq!(browse.body["total"], 12);
    assert_eq!(browse.body["data"].as_array().expect("data").len(), 12);
    let search = app
        .get("/api/marketplace/browse?search=translate", &auth)
        .await
        .expect(200);
    assert_eq!(
        search.body["data"][0]["slug"], "translator-pro",
        "{}",
        search.text
    );

    let second = seed();
    assert!(
        String::from_utf8_lossy(&second.stdout)
            .starts_with("seeded tenant default: 0 agents created, 12 already there")
    );
    let again = app
        .get("/api/marketplace/browse?limit=50", &auth)
        .await
        .expect(200);
    assert_eq!(again.body["total"], 12);
    let audit: i64 =
        sqlx::query_scalar("SELECT count(*) FROM admin_audit WHERE action = 'approve'")
            .fetch_one(&app.db)
            .await
            .expect("count");
    assert_eq!(audit, 12, "each approval is audited once");
}

/// `kill -9` the server while hundreds of keyed top-ups are in flight, start it again and retry
/// every key: each top-up is credited exactly once, the answers given before the crash are
/// replayed unchanged, and the ledger verifies.
#[tokio::test]
async fn a_server_killed_mid_top_ups_loses_no_money_and_retries_replay() {
    let app = spawn_app().await;
    let user = app.signup().await;
    let admin = app.default_admin().await;
    let limits = [("RATE_LIMIT_TOPUP", "100000/1m")];
    let (child, address) = serve(&app, &limits);
    let client = reqwest::Client::new();
    let keys: Vec<String> = (0..300).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let topup = |client: reqwest::Client, address: String, key: String, api_key: String| async move {
        let response = client
            .post(format!("{address}/api/billing/wallet/topup"))
            .header("x-api-key", api_key)
            .header("idempotency-key", key)
            .json(&serde_json::json!({ "amount": "1.00" }))
            .send()
            .await
            .ok()?;
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.ok()?;
        Some((status, body))
    };
    let (answered_tx, mut answered_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut in_flight = Vec::new();
    for key in &keys {
        let (client, address, key, api_key) = (
            client.clone(),
            address.clone(),
            key.clone(),
            user.api_key.clone(),
        );
        let answered = answered_tx.clone();
        in_flight.push(tokio::spawn(async move {
            let reply = topup(client, address, key, api_key).await;
            let _ = answered.send(());
            reply
        }));
    }
    // Let some requests complete, then crash the server with the rest in flight.
    for _ in 0..20 {
        answered_rx.recv().await.expect("answers");
    }
    let killed = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let mut child = child;
    tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    let mut before = Vec::new();
    for task in in_flight {
        before.push(task.await.expect("join"));
    }
    let answered_before = before.iter().filter(|r| r.is_some()).count();
    assert!(answered_before >= 20, "{answered_before}");

    // Some requests may have committed without their answer reaching the client.
    let committed_at_crash: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'topup'")
            .fetch_one(&app.db)
            .await
            .expect("count");
    assert!(committed_at_crash >= answered_before as i64);

    let (child, address) = serve(&app, &limits);
    for (key, first) in keys.iter().zip(&before) {
        let (status, body) = topup(
            client.clone(),
            address.clone(),
            key.clone(),
            user.api_key.clone(),
        )
        .await
        .expect("the restarted server answers");
        assert_eq!(status, 200, "{body}");
        if let Some((first_status, first_body)) = first {
            assert_eq!(
                (*first_status, first_body),
                (status, &body),
                "replayed unchanged"
            );
        }
    }
    terminate(child).await;

    let topups: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'topup'")
            .fetch_one(&app.db)
            .await
            .expect("count");
    assert_eq!(
        topups, 300,
        "one credit per key ({answered_before} answered before the crash)"
    );
    let wallet = app
        .get("/api/billing/wallet", &user.auth())
        .await
        .expect(200);
    assert_eq!(wallet.body["balance"], "300.00");
    let report = app
        .get("/api/admin/ledger/verify", &admin.auth())
        .await
        .expect(200);
    assert_eq!(report.body["ok"], true, "{}", report.text);
    println!(
        "answered before the crash: {answered_before} of 300; committed at the crash: {committed_at_crash}"
    );
}
