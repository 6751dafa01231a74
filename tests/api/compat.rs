//! Compatibility with the real clients: the published `@clawrent/provider` SDK (0.8.1, pinned in
//! tests/compat/package-lock.json) against this app, in two scripts run with node's test runner:
//!
//! - tests/compat/rest-flow.test.mjs: the REST session flow of the CLI, the MCP server and
//!   ProviderClient: login, rent, the provider's pending and active lists, approve, messages both
//!   ways, polling with `since`, end and settlement;
//! - tests/compat/provider-client.test.mjs: `ProviderClient` itself (with its `SessionManager`)
//!   serving an agent over `/ws/agent` and `/ws/session` on one replica while the consumer rents,
//!   talks and ends on another: welcome then activate, `session.new` then approve and attach,
//!   messages both ways with `_meta`, the end (4003), and re-attaching after a restart.
//!
//! The tests prepare the world over HTTP, run a script as a child process and check the database
//! afterwards. `deploy/test-tools.sh` installs the SDK (`npm ci`), so nothing is fetched while a
//! test runs.
//!
//! What the realtime flow found (the report the scripts refer to):
//! - fixed: the server answered a client's close without a code; the SDK reads that as 1005 and
//!   reconnects, so after `ProviderClient.stop()` its session socket came back on its own. Both
//!   sockets now answer with the client's code (tests in realtime::agent and realtime::session).
//! - open: `/ws/session` sends the 101 before the socket has joined the session's channel, and the
//!   SDK has no other readiness signal; a message stored in that window reaches the SDK only
//!   through `session.resume`, which it never sends. The script waits until one side has heard of
//!   the other (`system.peer_connected`), after which both are listening.
//! - open: frames without `_meta` set the SDK's cursor to the client's clock, so a message stored
//!   in the same millisecond is dropped as already seen. The script lets that millisecond pass
//!   before the consumer sends.

use crate::helpers::*;
use crate::money_helpers::dec;
use crate::sessions::support::{cny, market};
use clawrent_api::sessions::domain::SessionStatus;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

const PRICE: &str = "5.00";
const FUNDS: &str = "100.00";
/// A script takes a few seconds; this only bounds a hang (the child is killed on drop).
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

/// Runs `script` in tests/compat with `vars`, asserts that every step passed (none failed, none is
/// a known failure, none was skipped) and returns its output.
async fn run_script(script: &str, vars: &[(&str, &str)]) -> String {
    let dir = compat_dir().await;
    let mut child = tokio::process::Command::new("node")
        .arg(script)
        .current_dir(&dir)
        .envs(vars.iter().copied())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run node (node 20 is required)");
    // Read both pipes while waiting, so a hung script still shows how far it got.
    let stdout = tokio::spawn(read_all(child.stdout.take()));
    let stderr = tokio::spawn(read_all(child.stderr.take()));
    let status = tokio::time::timeout(NODE_GUARD, child.wait()).await;
    if status.is_err() {
        let _ = child.kill().await;
    }
    let text = format!(
        "{}{}",
        stdout.await.unwrap_or_default(),
        stderr.await.unwrap_or_default()
    );
    let Ok(status) = status else {
        panic!("the node script did not finish within {NODE_GUARD:?}:\n{text}");
    };
    let status = status.expect("wait for node");
    println!("{text}");
    assert!(status.success(), "exit {status}:\n{text}");
    assert!(text.contains("\n# fail 0\n"), "{text}");
    assert!(
        text.contains("\n# todo 0\n"),
        "no step is a known failure:\n{text}"
    );
    assert!(!text.contains("# SKIP"), "no step was skipped:\n{text}");
    text
}

async fn read_all(pipe: Option<impl tokio::io::AsyncRead + Unpin>) -> String {
    let mut text = String::new();
    if let Some(mut pipe) = pipe {
        let _ = tokio::io::AsyncReadExt::read_to_string(&mut pipe, &mut text).await;
    }
    text
}

/// The values the script printed after `prefix` (`compat-session-id: `, ...), in order.
fn printed<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix(prefix))
        .collect()
}

#[tokio::test]
async fn the_real_provider_sdk_runs_the_rest_session_flow_and_the_money_moves() {
    // Arrange: a listed, connected and activated agent with manual approval at 5.00 per session,
    // its agent token (what ProviderClient serves with), a consumer with 100.00.
    let app = spawn_app().await;
    let m = market(
        &app,
        json!({ "priceAmount": PRICE, "approvalMode": "manual" }),
        FUNDS,
    )
    .await;
    let agent_token = app.agent_token(&m.provider, &m.agent).await;

    // Act: the SDK runs the flow; every step passed, none is marked as a known failure.
    let text = run_script(
        "rest-flow.test.mjs",
        &[
            ("CLAWRENT_COMPAT_API_URL", &app.address),
            ("CLAWRENT_COMPAT_TENANT", "default"),
            ("CLAWRENT_COMPAT_CONSUMER_EMAIL", &m.consumer.email),
            ("CLAWRENT_COMPAT_CONSUMER_PASSWORD", &m.consumer.password),
            ("CLAWRENT_COMPAT_CONSUMER_ID", &m.consumer.id),
            ("CLAWRENT_COMPAT_PROVIDER_ID", &m.provider.id),
            ("CLAWRENT_COMPAT_AGENT_ID", &m.agent),
            ("CLAWRENT_COMPAT_AGENT_TOKEN", &agent_token),
            ("CLAWRENT_COMPAT_PRICE", PRICE),
            ("CLAWRENT_COMPAT_FUNDS", FUNDS),
        ],
    )
    .await;

    // Assert
    let session = printed(&text, "compat-session-id: ")
        .first()
        .expect("the script printed the session id")
        .to_string();

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

/// A stored message one side received, as the script printed it (`compat-seen: <json>`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Seen {
    by: String,
    session_id: String,
    id: String,
    seq: i64,
    #[serde(rename = "type")]
    kind: String,
    sender_role: String,
}

#[tokio::test]
async fn the_real_provider_client_serves_over_both_sockets_across_two_replicas() {
    // Arrange: two replicas on one database and Redis. An agent listed with approval mode `auto`
    // at 5.00 per session, neither connected nor activated (ProviderClient does both), its agent
    // token, and a consumer with 100.00.
    let a = spawn_app().await;
    let b = spawn_replica(&a, &[]).await;
    let provider = a.signup().await;
    let admin = a.default_admin().await;
    let agent = a
        .listed_agent_with(
            &provider,
            &admin,
            &unique_slug("sdkws"),
            json!({ "priceAmount": PRICE, "approvalMode": "auto" }),
        )
        .await;
    let agent_token = a.agent_token(&provider, &agent).await;
    let consumer = a.signup().await;
    a.topup(&consumer.auth(), FUNDS).await.expect(200);

    // Act: the SDK serves on replica A, the consumer rents, talks and ends on replica B.
    let text = run_script(
        "provider-client.test.mjs",
        &[
            ("CLAWRENT_COMPAT_API_URL_A", &a.address),
            ("CLAWRENT_COMPAT_API_URL_B", &b.address),
            ("CLAWRENT_COMPAT_CONSUMER_EMAIL", &consumer.email),
            ("CLAWRENT_COMPAT_CONSUMER_PASSWORD", &consumer.password),
            ("CLAWRENT_COMPAT_CONSUMER_ID", &consumer.id),
            ("CLAWRENT_COMPAT_AGENT_ID", &agent),
            ("CLAWRENT_COMPAT_AGENT_TOKEN", &agent_token),
        ],
    )
    .await;

    // Assert: two sessions, both settled.
    let sessions = printed(&text, "compat-session-id: ");
    assert_eq!(sessions.len(), 2, "{text}");
    let seen: Vec<Seen> = printed(&text, "compat-seen: ")
        .into_iter()
        .map(|line| serde_json::from_str(line).expect("a compat-seen line"))
        .collect();
    for session in &sessions {
        let status: SessionStatus = sqlx::query_scalar(
            "SELECT status FROM sessions WHERE id = $1::uuid AND agent_id = $2::uuid",
        )
        .bind(session)
        .bind(&agent)
        .fetch_one(&a.db)
        .await
        .expect("the session row");
        assert_eq!(status, SessionStatus::Settled, "{session}");

        // Every message a side received is stored as it was shown (id, seq, type, sender), each
        // reached the other side only, and nothing else is stored (typing is not): the seqs
        // are 1..n without gaps.
        let stored: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT seq, id::text, type, sender_role FROM session_messages
              WHERE session_id = $1::uuid ORDER BY seq",
        )
        .bind(session)
        .fetch_all(&a.db)
        .await
        .expect("the messages");
        let seqs: Vec<i64> = stored.iter().map(|row| row.0).collect();
        let expected: Vec<i64> = (1..=3).collect();
        assert_eq!(seqs, expected, "three messages per session, gap-free");
        let received: BTreeMap<i64, &Seen> = seen
            .iter()
            .filter(|s| s.session_id == *session)
            .map(|s| (s.seq, s))
            .collect();
        for s in received.values() {
            assert_ne!(
                s.by, s.sender_role,
                "a side never gets its own message back: {s:?}"
            );
        }
        let shown: BTreeSet<(i64, String, String, String)> = received
            .values()
            .map(|s| (s.seq, s.id.clone(), s.kind.clone(), s.sender_role.clone()))
            .collect();
        assert_eq!(
            shown,
            stored.into_iter().collect::<BTreeSet<_>>(),
            "{session}"
        );
    }
    assert_eq!(
        seen.len(),
        6,
        "each message was received once, by the other side: {seen:?}"
    );

    // The money: two sessions at 5.00, the provider got them less the 15% fee.
    let price = dec(PRICE);
    assert_eq!(cny(&a, &consumer).await, dec(FUNDS) - price * dec("2"));
    assert_eq!(
        cny(&a, &provider).await,
        (price - price * dec("0.15")) * dec("2")
    );
}
