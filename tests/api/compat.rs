//! Compatibility with the real clients: the published `@clawrent/provider` SDK (0.8.1, pinned in
//! tests/compat/package-lock.json) runs the REST session flow of the CLI, the MCP server and
//! ProviderClient against this app: login, rent, the provider's pending and active lists, approve,
//! messages both ways, polling with `since`, end and settlement. The flow itself is
//! tests/compat/rest-flow.test.mjs (node's test runner); this test prepares the world over HTTP,
//! runs it as a child process and checks the money afterwards. `deploy/test-tools.sh` installs the
//! SDK (`npm ci`), so nothing is fetched while the test runs.

use crate::helpers::*;
use crate::money_helpers::dec;
use crate::sessions::support::{cny, market};
use clawrent_api::sessions::domain::SessionStatus;
use rust_decimal::Decimal;
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

const PRICE: &str = "5.00";
const FUNDS: &str = "100.00";
/// The script takes a few seconds; this only bounds a hang (the child is killed on drop).
const NODE_GUARD: Duration = Duration::from_secs(120);

/// tests/compat, with its dependencies installed.
async fn compat_dir() -> PathBuf {
    let dir = workspace_root().join("tests/compat");
    let installed = dir.join("node_modules/@clawrent/provider/package.json");
    assert!(
        tokio::fs::try_exists(&installed).await.unwrap_or(false),
        "{} is missing: run deploy/test-tools.sh (make test does), which runs `npm ci` there",
        installed.display()
    );
    dir
}

#[tokio::test]
async fn the_real_provider_sdk_runs_the_rest_session_flow_and_the_money_moves() {
    // Arrange: a listed, connected and activated agent with manual approval at 5.00 per session,
    // its agent token (what ProviderClient serves with), a consumer with 100.00.
    let dir = compat_dir().await;
    let app = spawn_app().await;
    let m = market(
        &app,
        json!({ "priceAmount": PRICE, "approvalMode": "manual" }),
        FUNDS,
    )
    .await;
    let agent_token = app.agent_token(&m.provider, &m.agent).await;

    // Act: the SDK runs the flow.
    let run = tokio::process::Command::new("node")
        .arg("rest-flow.test.mjs")
        .current_dir(&dir)
        .env("CLAWRENT_COMPAT_API_URL", &app.address)
        .env("CLAWRENT_COMPAT_TENANT", "default")
        .env("CLAWRENT_COMPAT_CONSUMER_EMAIL", &m.consumer.email)
        .env("CLAWRENT_COMPAT_CONSUMER_PASSWORD", &m.consumer.password)
        .env("CLAWRENT_COMPAT_CONSUMER_ID", &m.consumer.id)
        .env("CLAWRENT_COMPAT_PROVIDER_ID", &m.provider.id)
        .env("CLAWRENT_COMPAT_AGENT_ID", &m.agent)
        .env("CLAWRENT_COMPAT_AGENT_TOKEN", &agent_token)
        .env("CLAWRENT_COMPAT_PRICE", PRICE)
        .env("CLAWRENT_COMPAT_FUNDS", FUNDS)
        .env("NO_COLOR", "1")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(NODE_GUARD, run)
        .await
        .expect("the node script finishes")
        .expect("run node (node 20 is required)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{text}");

    // Assert: every step passed, none is marked as a known failure.
    assert!(output.status.success(), "exit {}:\n{text}", output.status);
    assert!(text.contains("\n# fail 0\n"), "{text}");
    assert!(
        text.contains("\n# todo 0\n"),
        "no step is a known failure:\n{text}"
    );
    assert!(!text.contains("# SKIP"), "no step was skipped:\n{text}");
    let session = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("compat-session-id: "))
        .expect("the script printed the session id")
        .to_owned();

    // The money, as the wallets show it over HTTP: the consumer paid the price, the provider got
    // it less the 15% fee.
    let price = dec(PRICE);
    let fee = price * dec("0.15");
    assert_eq!(cny(&app, &m.consumer).await, dec(FUNDS) - price);
    assert_eq!(cny(&app, &m.provider).await, price - fee);

    // And as the database holds it: one settled session, one settlement with the split.
    let status: SessionStatus = sqlx::query_scalar(
        "SELECT status FROM sessions WHERE id = $1::uuid AND agent_id = $2::uuid",
    )
    .bind(&session)
    .bind(&m.agent)
    .fetch_one(&app.db)
    .await
    .expect("the session row");
    assert_eq!(status, SessionStatus::Settled);
    let (amount, platform_fee, provider_income): (Decimal, Decimal, Decimal) = sqlx::query_as(
        "SELECT amount, platform_fee, provider_income FROM settlements WHERE session_id = $1::uuid",
    )
    .bind(&session)
    .fetch_one(&app.db)
    .await
    .expect("one settlement");
    assert_eq!(
        (amount, platform_fee, provider_income),
        (price, fee, price - fee)
    );
    let wallets: Vec<(String, Decimal)> = sqlx::query_as(
        "SELECT user_id::text, balance FROM wallets
          WHERE user_id IN ($1::uuid, $2::uuid) AND currency = 'CNY' ORDER BY user_id = $1::uuid DESC",
    )
    .bind(&m.consumer.id)
    .bind(&m.provider.id)
    .fetch_all(&app.db)
    .await
    .expect("wallets");
    assert_eq!(
        wallets,
        vec![
            (m.consumer.id.clone(), dec(FUNDS) - price),
            (m.provider.id.clone(), price - fee),
        ]
    );
}
