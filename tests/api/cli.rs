//! The `clawrent` binary itself: subcommands, configuration errors, graceful shutdown.

use crate::helpers::*;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn binary() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(|_| workspace_root().join("target"), PathBuf::from);
    let path = target.join("debug/clawrent");
    assert!(path.exists(), "{} is missing: run `cargo build --workspace --bins` first (make test does)", path.display());
    path
}

/// The binary with a clean environment plus `vars`.
fn clawrent(vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(binary());
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).env("RUST_LOG", "warn");
    for (k, v) in vars {
        command.env(k, v);
    }
    command
}

#[test]
fn openapi_prints_the_committed_document() {
    let output = clawrent(&[]).arg("openapi").output().expect("run");
    assert!(output.status.success());
    let committed = std::fs::read_to_string(workspace_root().join("openapi/openapi.json")).expect("file");
    assert!(String::from_utf8_lossy(&output.stdout) == committed, "openapi/openapi.json is stale: run `make openapi`");
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
        let output = clawrent(&[(name, value)]).arg("serve").output().expect("run");
        assert_eq!(output.status.code(), Some(2), "{name}={value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{name}: {stderr}");
        assert!(stderr.starts_with(&format!("invalid configuration: {name}: ")), "{stderr}");
        if name == "JWT_SECRET" {
            assert!(!stderr.contains(value), "a secret is echoed: {stderr}");
        }
    }
}

#[test]
fn production_refuses_to_start_without_a_jwt_secret() {
    let output = clawrent(&[("CLAWRENT_ENV", "production")]).arg("serve").output().expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("JWT_SECRET"));
}

#[tokio::test]
async fn migrate_creates_a_missing_database_and_applies_migrations() {
    let app = spawn_app().await; // provides the server URL convention and cleans nothing of ours
    let name = format!("clawrent_t_{}", uuid::Uuid::now_v7().simple());
    let url = app_database_url(&app, &name);
    let output = clawrent(&[("DATABASE_URL", &url)]).arg("migrate").output().expect("run");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let pool = sqlx::PgPool::connect(&url).await.expect("database exists");
    let tenants: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants WHERE slug = 'default'").fetch_one(&pool).await.expect("migrated");
    assert_eq!(tenants, 1);
    pool.close().await;
    // Idempotent.
    assert!(clawrent(&[("DATABASE_URL", &url)]).arg("migrate").output().expect("run").status.success());
    drop_database(&app, &name).await;
}

fn app_database_url(app: &TestApp, name: &str) -> String {
    let own = app.state.settings.database_url.expose();
    format!("{}/{name}", own.rsplit_once('/').expect("url has a database").0)
}

async fn drop_database(app: &TestApp, name: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
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
        clawrent(&[("DATABASE_URL", &url), ("AUTO_MIGRATE", "false"), ("CLAWRENT_ADMIN_PASSWORD", PASSWORD)])
            .args(["admin", "create-admin", "--tenant", &tenant, "--email", email, "--name", "Boss"])
            .output()
            .expect("run")
    };
    let output = run(&email);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("created admin"));
    let login = app.login(&email, PASSWORD, &Auth::none().tenant(&tenant)).await.expect(200);
    assert_eq!(login.body["user"]["role"], "admin");
    // Not in the default tenant.
    app.login(&email, PASSWORD, &Auth::none()).await.expect_error(401, "INVALID_CREDENTIALS");

    let consumer = app.signup_in(Some(&tenant)).await;
    let output = run(&consumer.email);
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("promoted admin"), "{output:?}");
    let me = app.me(&consumer.auth()).await.expect(200);
    assert_eq!(me.body["role"], "admin");

    let unknown = clawrent(&[("DATABASE_URL", &url), ("AUTO_MIGRATE", "false"), ("CLAWRENT_ADMIN_PASSWORD", PASSWORD)])
        .args(["admin", "create-admin", "--tenant", "no-such-tenant", "--email", &email])
        .output()
        .expect("run");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("Tenant not found"));
}

#[tokio::test]
async fn serve_prints_its_address_and_stops_gracefully_on_sigterm() {
    let app = spawn_app().await;
    let url = app.state.settings.database_url.expose().to_owned();
    let mut child = clawrent(&[("DATABASE_URL", &url), ("PORT", "0"), ("LOG_FORMAT", "json")])
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    // RUST_LOG=warn: the only stdout lines are warnings (JSON) and the address line.
    while !line.starts_with("clawrent listening on ") {
        line.clear();
        assert!(reader.read_line(&mut line).expect("read") > 0, "exited before listening");
    }
    let address = line.trim_start_matches("clawrent listening on ").split_whitespace().next().expect("address").to_owned();
    let health = reqwest::get(format!("{address}/api/health")).await.expect("request");
    assert_eq!(health.status().as_u16(), 200);

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait()).await.expect("join").expect("wait");
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}
