//! The `clawrent` binary itself: subcommands, configuration errors, graceful shutdown.
//!
//! Every async test here runs the binary through `tokio::process` and awaits it: a blocking
//! `.output()` would stall the test's runtime, and a stall past the server's keep-alive once made
//! the next request on a pooled connection fail (`hyper::Error(IncompleteMessage)`).

mod crash;
mod serve;

use crate::helpers::*;
use std::process::{Output, Stdio};
use tokio::io::{AsyncBufReadExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

#[test]
fn openapi_prints_the_committed_document() {
    let output = clawrent_blocking(&[]).arg("openapi").output().expect("run");
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
        let output = clawrent_blocking(&[(name, value)])
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
    let output = clawrent_blocking(&[("CLAWRENT_ENV", "production")])
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
        .await
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
            .await
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
    let output = create_admin(&url, &tenant, &email).await;
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
    let output = create_admin(&url, &tenant, &consumer.email).await;
    assert!(
        String::from_utf8_lossy(&output.stdout).starts_with("promoted admin"),
        "{output:?}"
    );
    let me = app.me(&consumer.auth()).await.expect(200);
    assert_eq!(me.body["role"], "admin");

    let unknown = create_admin(&url, "no-such-tenant", &email).await;
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("Tenant not found"));
}

/// `clawrent admin create-admin` in `tenant`, awaited (the test's pooled connections stay served).
async fn create_admin(database_url: &str, tenant: &str, email: &str) -> Output {
    clawrent(&[
        ("DATABASE_URL", database_url),
        ("AUTO_MIGRATE", "false"),
        ("CLAWRENT_ADMIN_PASSWORD", PASSWORD),
    ])
    .args([
        "admin",
        "create-admin",
        "--tenant",
        tenant,
        "--email",
        email,
        "--name",
        "Boss",
    ])
    .output()
    .await
    .expect("run")
}

#[tokio::test]
async fn seed_demo_fills_the_marketplace_once() {
    let app = spawn_app().await;
    let url = app.state.settings.database_url.expose().to_owned();
    let seed = || {
        clawrent(&[("DATABASE_URL", &url), ("AUTO_MIGRATE", "false")])
            .args(["admin", "seed-demo"])
            .output()
    };
    let first = seed().await.expect("run");
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

    let second = seed().await.expect("run");
    assert!(
        String::from_utf8_lossy(&second.stdout)
            .starts_with("seeded tenant default: 0 agents created, 12 already there"),
        "status {}; stdout: {}; stderr: {}",
        second.status,
        String::from_utf8_lossy(&second.stdout),
        String::from_utf8_lossy(&second.stderr)
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

/// Starts the real binary (`serve`) against the test database; returns it, its base URL and the
/// rest of its stdout, read line by line without blocking.
async fn serve_with_output(
    app: &TestApp,
    extra: &[(&str, &str)],
) -> (Child, String, Lines<BufReader<ChildStdout>>) {
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
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let address = loop {
        let line = lines
            .next_line()
            .await
            .expect("read")
            .expect("exited before listening");
        if let Some(rest) = line.strip_prefix("clawrent listening on ") {
            break rest.split_whitespace().next().expect("address").to_owned();
        }
    };
    (child, address, lines)
}

async fn serve(app: &TestApp, extra: &[(&str, &str)]) -> (Child, String) {
    let (child, address, _) = serve_with_output(app, extra).await;
    (child, address)
}

/// Sends SIGTERM and waits for the process to exit.
async fn terminate(mut child: Child) -> std::process::ExitStatus {
    let pid = child.id().expect("the server is running").to_string();
    let signalled = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill");
    assert!(signalled.success());
    child.wait().await.expect("wait")
}
