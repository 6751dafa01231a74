//! Concurrent repeats, expiry, retries after client timeouts, and the purge of expired keys.

use super::support::*;
use crate::helpers::*;
use crate::money_helpers::{TOPUP, dec};
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn concurrent_repeats_of_one_key_credit_exactly_once() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let key = new_key();
    let body = json!({ "amount": "9.00" });

    // Act: twenty identical requests at once.
    let replies = join_all((0..20).map(|_| app.topup_keyed(user.auth(), &key, &body))).await;

    // Assert
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let first = &replies[0].text;
    assert!(
        replies.iter().all(|r| &r.text == first),
        "identical bodies: {:?}",
        replies.iter().map(|r| r.text.as_str()).collect::<Vec<_>>()
    );
    let replayed = replies
        .iter()
        .filter(|r| r.header(REPLAYED) == Some("true"))
        .count();
    assert_eq!(replayed, 19, "all but the first are replays");
    assert_eq!(app.balance(&user, None).await, dec("9"));
    assert_eq!(topups(&app).await, 1, "exactly one credit");
}

#[tokio::test]
async fn concurrent_requests_sharing_a_key_but_not_a_body_have_one_effect() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let key = new_key();
    let bodies = [json!({ "amount": "3.00" }), json!({ "amount": "4.00" })];

    // Act: ten of each, interleaved, at once.
    let replies =
        join_all((0..20).map(|n| app.topup_keyed(user.auth(), &key, &bodies[n % 2]))).await;

    // Assert: one body won; its requests got its response, the others 422.
    let served: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.status.as_u16() == 200)
        .collect();
    let refused = replies
        .iter()
        .filter(|r| r.status.as_u16() == 422 && r.body["error"] == "IDEMPOTENCY_KEY_REUSED")
        .count();
    assert_eq!(
        (served.len(), refused),
        (10, 10),
        "{:?}",
        replies.iter().map(|r| r.text.as_str()).collect::<Vec<_>>()
    );
    assert!(served.iter().all(|r| r.text == served[0].text));
    let credited = served[0].body["amount"].as_str().expect("amount");
    assert_eq!(app.balance(&user, None).await, dec(credited));
    assert_eq!(topups(&app).await, 1, "exactly one credit");
}

#[tokio::test]
async fn an_expired_key_takes_effect_again() {
    // Arrange
    let app = spawn_app_with(&[("IDEMPOTENCY_KEY_TTL", "1m")]).await;
    let user = app.signup().await;
    let key = new_key();
    let body = json!({ "amount": "2.00" });
    let first = app.topup_keyed(user.auth(), &key, &body).await.expect(200);
    let within_ttl = app.topup_keyed(user.auth(), &key, &body).await;
    assert_replay_of(&first, &within_ttl, "a repeat within the TTL");
    sqlx::query(
        "UPDATE idempotency_keys SET created_at = created_at - interval '2 minutes'
         WHERE user_id = $1::uuid",
    )
    .bind(&user.id)
    .execute(&app.db)
    .await
    .expect("age the key");

    // Act
    let after_ttl = app.topup_keyed(user.auth(), &key, &body).await;

    // Assert
    let after_ttl = after_ttl.expect(200);
    assert_eq!(after_ttl.header(REPLAYED), None, "a fresh response");
    assert_ne!(
        after_ttl.body["transactionId"], first.body["transactionId"],
        "a new entry"
    );
    assert_eq!(after_ttl.body["balance"], "4.00");
    assert_eq!(app.balance(&user, None).await, dec("4"));
    assert_eq!(topups(&app).await, 2);
    // The key is live again: a repeat now replays the new response.
    let again = app.topup_keyed(user.auth(), &key, &body).await;
    assert_replay_of(&after_ttl, &again, "a repeat of the renewed key");
}

#[tokio::test]
async fn an_expired_key_may_be_used_with_another_request() {
    // Arrange
    let app = spawn_app_with(&[("IDEMPOTENCY_KEY_TTL", "1m")]).await;
    let user = app.signup().await;
    let key = new_key();
    app.topup_keyed(user.auth(), &key, &json!({ "amount": "2.00" }))
        .await
        .expect(200);
    sqlx::query(
        "UPDATE idempotency_keys SET created_at = created_at - interval '2 minutes'
         WHERE user_id = $1::uuid",
    )
    .bind(&user.id)
    .execute(&app.db)
    .await
    .expect("age the key");

    // Act
    let reply: Value = app
        .topup_keyed(user.auth(), &key, &json!({ "amount": "3.00" }))
        .await
        .expect(200)
        .body;

    // Assert
    assert_eq!(
        reply["balance"], "5.00",
        "not 422: the old request is forgotten"
    );
}

/// A client that gives up mid-request does not know whether its top-up happened; retrying with
/// the same key until one answer arrives must credit exactly once, whatever the server had done.
#[tokio::test]
async fn retries_after_client_timeouts_credit_exactly_once() {
    let app = spawn_app_with(&[("RATE_LIMIT_TOPUP", "1000/1m")]).await;
    let user = app.signup().await;
    let mut answered = 0;
    for round in 0..20 {
        let key = new_key();
        let mut first_answer = None;
        // The first attempts give up after a few hundred microseconds; later ones wait.
        for attempt in 0..10u64 {
            let timeout = std::time::Duration::from_micros(300 * (1 + attempt * attempt * 50));
            let sent = app
                .request(Method::POST, TOPUP, &keyed(user.auth(), &key))
                .timeout(timeout)
                .json(&json!({ "amount": "1.00" }))
                .send()
                .await;
            if let Ok(response) = sent {
                let status = response.status().as_u16();
                let body: Value = response.json().await.expect("json body");
                first_answer = Some((status, body));
                break;
            }
        }
        let (status, body) = first_answer.unwrap_or_else(|| panic!("round {round}: no answer"));
        assert_eq!(status, 200, "round {round}: {body}");
        answered += 1;
        // However many attempts reached the server, the key credited once.
        let entry = body["transactionId"]
            .as_str()
            .expect("transactionId")
            .to_owned();
        let credits: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM ledger_entries WHERE kind = 'topup' AND reference_id = $1::uuid",
        )
        .bind(&entry)
        .fetch_one(&app.db)
        .await
        .expect("count");
        assert_eq!(credits, 1, "round {round}");
    }
    let topups: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'topup'")
            .fetch_one(&app.db)
            .await
            .expect("count");
    assert_eq!(topups, answered, "one credit per key");
    assert_eq!(app.balance(&user, None).await, dec("20"));
}

/// The janitor every replica runs deletes the expired keys and only those.
#[tokio::test]
async fn the_purge_deletes_expired_keys_only() {
    // Arrange: three keys, two of them aged past the TTL.
    let app = spawn_app_with(&[("IDEMPOTENCY_KEY_TTL", "1m")]).await;
    let user = app.signup().await;
    let keys: Vec<String> = (0..3).map(|_| new_key()).collect();
    for key in &keys {
        app.topup_keyed(user.auth(), key, &json!({ "amount": "1.00" }))
            .await
            .expect(200);
    }
    sqlx::query(
        "UPDATE idempotency_keys SET created_at = created_at - interval '2 minutes'
         WHERE key = ANY($1)",
    )
    .bind(&keys[..2])
    .execute(&app.db)
    .await
    .expect("age two keys");

    // Act
    let removed = clawrent_api::idempotency::purge_expired(&app.state)
        .await
        .expect("purge");

    // Assert
    assert_eq!(removed, 2);
    let left: Vec<String> = sqlx::query_scalar("SELECT key FROM idempotency_keys")
        .fetch_all(&app.db)
        .await
        .expect("keys");
    assert_eq!(left, vec![keys[2].clone()]);
    // The live key still replays; the money stays.
    let again = app
        .topup_keyed(user.auth(), &keys[2], &json!({ "amount": "1.00" }))
        .await
        .expect(200);
    assert_eq!(again.header(REPLAYED), Some("true"));
    assert_eq!(app.balance(&user, None).await, dec("3"));
}
