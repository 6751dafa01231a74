//! Time moves, nobody sleeps: pending sessions expire (hold voided), per-minute sessions end at
//! their cap, idle sessions end, and two replicas sweeping at once end each session once. The
//! background sweep is pushed out (SESSION_SWEEP_INTERVAL=24h after its first pass) so each test
//! runs the passes itself.

use super::support::*;
use crate::helpers::*;
use crate::money_helpers::dec;
use chrono::Duration;
use clawrent_api::sessions::sweeper::{Swept, sweep_once};
use serde_json::json;

const QUIET: &[(&str, &str)] = &[("SESSION_SWEEP_INTERVAL", "24h")];

async fn status(app: &TestApp, m: &Market, id: &str) -> serde_json::Value {
    app.get(&session_path(id), &m.consumer.auth())
        .await
        .expect(200)
        .body
}

#[tokio::test]
async fn a_pending_session_expires_after_the_ttl_and_its_hold_comes_back() {
    // Arrange: SESSION_PENDING_TTL is 15 minutes by default.
    let app = spawn_app_with(QUIET).await;
    let m = market(
        &app,
        json!({ "priceAmount": "4.00", "approvalMode": "manual" }),
        "10.00",
    )
    .await;
    let id = rented(&app, &m, "waiting").await;

    // Act: not yet at 14 minutes; expired at 16.
    app.clock.advance(Duration::minutes(14));
    let early = sweep_once(&app.state).await.expect("sweep");
    let before = status(&app, &m, &id).await;
    app.clock.advance(Duration::minutes(2));
    let late = sweep_once(&app.state).await.expect("sweep");
    let after = status(&app, &m, &id).await;

    // Assert
    assert_eq!(early.expired, 0);
    assert_eq!(before["status"], "pending_approval");
    assert_millis_utc(&before["expiresAt"], "expiresAt");
    assert_eq!(late.expired, 1);
    assert_eq!(after["status"], "expired");
    assert_eq!(after["endReason"], "expired");
    assert!(after.get("expiresAt").is_none());
    assert_eq!(cny(&app, &m.consumer).await, dec("10"));
    app.post_empty(&action(&id, "approve"), &m.provider.auth())
        .await
        .expect_error(409, "CONFLICT");
}

#[tokio::test]
async fn a_per_minute_session_ends_and_settles_by_itself_at_its_minute_cap() {
    // Arrange: 0.10 per minute, the hold covers HOLD_MINUTE_CAP = 60 minutes.
    let app = spawn_app_with(&[
        ("SESSION_SWEEP_INTERVAL", "24h"),
        ("SESSION_IDLE_TIMEOUT", "2h"),
    ])
    .await;
    let m = market(
        &app,
        json!({ "pricingModel": "per_minute", "priceAmount": "0.10", "approvalMode": "auto" }),
        "10.00",
    )
    .await;
    let id = rented(&app, &m, "long call").await;

    // Act
    app.clock.advance(Duration::minutes(59));
    let early = sweep_once(&app.state).await.expect("sweep");
    app.clock.advance(Duration::minutes(2));
    let late = sweep_once(&app.state).await.expect("sweep");
    let ended = app
        .post_empty(&action(&id, "end"), &m.consumer.auth())
        .await
        .expect(200);

    // Assert: 60 minutes charged, never above the hold.
    assert_eq!(early, Swept::default());
    assert_eq!(late.capped, 1);
    assert_eq!(ended.body["status"], "settled");
    assert_eq!(ended.body["endReason"], "minute_cap_reached");
    assert_eq!(ended.body["settlement"]["amount"], "6.0000");
    assert_eq!(ended.body["settlement"]["units"], 60);
    assert_eq!(cny(&app, &m.consumer).await, dec("4"));
}

#[tokio::test]
async fn an_idle_session_ends_after_the_idle_timeout_and_a_message_keeps_it_alive() {
    // Arrange: SESSION_IDLE_TIMEOUT is 30 minutes by default.
    let app = spawn_app_with(QUIET).await;
    let m = market(
        &app,
        json!({ "priceAmount": "2.00", "approvalMode": "auto", "maxConsumerSlots": 2 }),
        "10.00",
    )
    .await;
    let quiet = rented(&app, &m, "quiet").await;
    let talking = rented(&app, &m, "talking").await;

    // Act: a message at 20 minutes keeps `talking` alive at 35.
    app.clock.advance(Duration::minutes(20));
    app.post(
        &action(&talking, "messages"),
        &m.consumer.auth(),
        &json!({ "type": "dialogue.message", "payload": {} }),
    )
    .await
    .expect(200);
    app.clock.advance(Duration::minutes(15));
    let swept = sweep_once(&app.state).await.expect("sweep");

    // Assert
    assert_eq!(swept.idle, 1);
    let ended = status(&app, &m, &quiet).await;
    assert_eq!(ended["status"], "settled");
    assert_eq!(ended["endReason"], "idle_timeout");
    assert_eq!(status(&app, &m, &talking).await["status"], "active");
}

#[tokio::test]
async fn two_replicas_sweeping_at_once_end_each_session_once() {
    // Arrange: twelve pending sessions from twelve consumers, two replicas.
    let app = spawn_app_with(QUIET).await;
    let replica = spawn_replica(&app, QUIET).await;
    let m = market(
        &app,
        json!({ "priceAmount": "1.00", "approvalMode": "manual", "maxConcurrentSessions": 20 }),
        "0",
    )
    .await;
    for _ in 0..12 {
        let user = app.signup().await;
        app.topup(&user.auth(), "1.00").await.expect(200);
        rent(&app, &user, &m.rent_body("expiring"))
            .await
            .expect(201);
    }
    app.clock.advance(Duration::minutes(16));
    replica.clock.advance(Duration::minutes(16));

    // Act
    let (a, b) = tokio::join!(sweep_once(&app.state), sweep_once(&replica.state));

    // Assert
    let (a, b) = (a.expect("sweep a"), b.expect("sweep b"));
    assert_eq!(a.expired + b.expired, 12);
    assert_eq!(
        app.count("SELECT count(*) FROM sessions WHERE status = 'expired'")
            .await,
        12
    );
    assert_eq!(
        app.count("SELECT count(*) FROM holds WHERE status = 'voided'")
            .await,
        12
    );
    assert_eq!(
        app.count("SELECT count(*) FROM ledger_entries WHERE kind = 'void'")
            .await,
        12,
        "one void entry per session"
    );
}
