//! `Idempotency-Key` on the money-moving POSTs (top-up, admin adjustment): a repeat replays the
//! first response byte for byte and moves no money; the same key with another request is 422;
//! keys belong to one user; malformed keys are 400; client errors are stored and replayed;
//! concurrent repeats wait for the first; an expired key works again.

use crate::helpers::*;
use crate::money_helpers::dec;
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

const TOPUP: &str = "/api/billing/wallet/topup";
const REPLAYED: &str = "idempotent-replayed";

fn new_key() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn keyed(auth: Auth, key: &str) -> Auth {
    auth.with("idempotency-key", key.to_owned())
}

fn adjustments(user: &TestUser) -> String {
    format!("/api/admin/wallets/{}/adjustments", user.id)
}

async fn topups(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM ledger_entries WHERE kind = 'topup'")
        .await
}

async fn audit_entries(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM admin_audit").await
}

/// A POST whose body is sent exactly as written (spacing and key order preserved).
async fn post_text(app: &TestApp, path: &str, auth: &Auth, body: &'static str) -> Reply {
    read(
        app.request(Method::POST, path, auth)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request"),
    )
    .await
}

fn assert_replay_of(first: &Reply, repeat: &Reply, why: &str) {
    assert_eq!(repeat.status, first.status, "{why}: the same status");
    assert_eq!(
        repeat.header("content-type"),
        first.header("content-type"),
        "{why}: the same content type"
    );
    assert_eq!(repeat.text, first.text, "{why}: a byte-identical body");
    assert_eq!(
        repeat.header(REPLAYED),
        Some("true"),
        "{why}: the repeat is marked as a replay"
    );
    assert_eq!(
        first.header(REPLAYED),
        None,
        "{why}: the first response is not a replay"
    );
}

#[tokio::test]
async fn a_repeated_top_up_replays_the_first_response_and_credits_once() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let key = new_key();
    let body = json!({ "amount": "25.00" });
    let first = app.topup_keyed(user.auth(), &key, &body).await.expect(200);

    // Act
    let repeat = app.topup_keyed(user.auth(), &key, &body).await;
    let by_api_key = app
        .topup_keyed(Auth::api_key(&user.api_key), &key, &body)
        .await;

    // Assert
    assert_replay_of(&first, &repeat, "a repeat");
    assert_replay_of(
        &first,
        &by_api_key,
        "a repeat with another credential of the user",
    );
    assert_eq!(first.body["balance"], "25.00");
    assert_eq!(app.balance(&user, None).await, dec("25"));
    assert_eq!(topups(&app).await, 1, "one credit");
}

#[tokio::test]
async fn a_key_reused_with_another_body_is_refused_without_effect() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let key = new_key();
    app.topup_keyed(user.auth(), &key, &json!({ "amount": "10.00" }))
        .await
        .expect(200);
    let cases = [
        (json!({ "amount": "11.00" }), "another amount"),
        (
            json!({ "amount": "10.00", "currency": "USD" }),
            "another currency",
        ),
        (
            json!({ "amount": "10.0" }),
            "the same value spelled differently",
        ),
    ];

    for (body, why) in cases {
        // Act
        let reply = app.topup_keyed(user.auth(), &key, &body).await;

        // Assert
        let reply = reply.expect_error(422, "IDEMPOTENCY_KEY_REUSED");
        assert_eq!(reply.header(REPLAYED), None, "{why}");
        assert_eq!(app.balance(&user, None).await, dec("10"), "{why}");
        assert_eq!(app.balance(&user, Some("USD")).await, dec("0"), "{why}");
        assert_eq!(topups(&app).await, 1, "{why}: no second credit");
    }
}

#[tokio::test]
async fn a_key_reused_on_another_endpoint_is_refused() {
    // Arrange: an admin tops up their own wallet with a key ...
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let user = app.signup().await;
    let key = new_key();
    app.topup_keyed(admin.auth(), &key, &json!({ "amount": "5.00" }))
        .await
        .expect(200);
    let audited = audit_entries(&app).await;

    // Act: ... then sends the same key with an adjustment.
    let reply = app
        .post(
            &adjustments(&user),
            &keyed(admin.auth(), &key),
            &json!({ "type": "credit", "amount": "5.00", "reason": "Same key" }),
        )
        .await;

    // Assert
    reply.expect_error(422, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(app.balance(&user, None).await, dec("0"));
    assert_eq!(app.balance(&admin, None).await, dec("5"));
    assert_eq!(audit_entries(&app).await, audited, "nothing audited");
}

#[tokio::test]
async fn a_key_reused_for_another_users_wallet_is_refused() {
    // Arrange: the path is part of the request, so the same adjustment for another user differs.
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let first_user = app.signup().await;
    let second_user = app.signup().await;
    let key = new_key();
    let credit = json!({ "type": "credit", "amount": "2.00", "reason": "Welcome" });
    app.post(
        &adjustments(&first_user),
        &keyed(admin.auth(), &key),
        &credit,
    )
    .await
    .expect(200);

    // Act
    let reply = app
        .post(
            &adjustments(&second_user),
            &keyed(admin.auth(), &key),
            &credit,
        )
        .await;

    // Assert
    reply.expect_error(422, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(app.balance(&first_user, None).await, dec("2"));
    assert_eq!(app.balance(&second_user, None).await, dec("0"));
}

#[tokio::test]
async fn a_replayed_adjustment_moves_money_and_is_audited_once() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let user = app.signup().await;
    let key = new_key();
    let credit = json!({ "type": "credit", "amount": "3.3333", "reason": "Refund of ticket 42" });
    let first = app
        .post(&adjustments(&user), &keyed(admin.auth(), &key), &credit)
        .await
        .expect(200);

    // Act
    let repeat = app
        .post(&adjustments(&user), &keyed(admin.auth(), &key), &credit)
        .await;

    // Assert
    assert_replay_of(&first, &repeat, "a repeated adjustment");
    assert_eq!(app.balance(&user, None).await, dec("3.3333"));
    assert_eq!(audit_entries(&app).await, 1, "one audit entry");
    assert_eq!(
        app.count("SELECT count(*) FROM ledger_entries WHERE kind = 'adjustment'")
            .await,
        1
    );
}

#[tokio::test]
async fn another_spelling_of_the_same_user_id_is_the_same_request() {
    // Arrange: the uuid parser accepts upper case, simple, braced and URN spellings in paths
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let user = app.signup().await;
    let key = new_key();
    let credit = json!({ "type": "credit", "amount": "1.25", "reason": "Goodwill" });
    let id = uuid::Uuid::parse_str(&user.id).expect("a uuid");
    let first = app
        .post(&adjustments(&user), &keyed(admin.auth(), &key), &credit)
        .await
        .expect(200);
    let spellings = [
        id.hyphenated().to_string().to_uppercase(),
        id.simple().to_string(),
        format!("%7B{}%7D", id.hyphenated()),
        format!("urn:uuid:{}", id.hyphenated()),
    ];

    // Act
    let mut repeats = Vec::new();
    for spelling in &spellings {
        let path = format!("/api/admin/wallets/{spelling}/adjustments");
        repeats.push((
            spelling,
            app.post(&path, &keyed(admin.auth(), &key), &credit).await,
        ));
    }

    // Assert
    for (spelling, repeat) in &repeats {
        assert_replay_of(&first, repeat, spelling);
    }
    assert_eq!(app.balance(&user, None).await, dec("1.25"), "credited once");
    assert_eq!(audit_entries(&app).await, 1, "one audit entry");
}

#[tokio::test]
async fn keys_are_scoped_per_user() {
    // Arrange
    let app = spawn_app().await;
    let alice = app.signup().await;
    let bob = app.signup().await;
    let key = new_key();
    let body = json!({ "amount": "6.00" });
    let alices = app.topup_keyed(alice.auth(), &key, &body).await.expect(200);

    // Act
    let bobs = app.topup_keyed(bob.auth(), &key, &body).await;

    // Assert
    let bobs = bobs.expect(200);
    assert_eq!(bobs.header(REPLAYED), None, "Bob's request is fresh");
    assert_ne!(
        bobs.body["transactionId"], alices.body["transactionId"],
        "Bob gets his own entry"
    );
    assert_eq!(app.balance(&bob, None).await, dec("6"));
    assert_eq!(
        app.balance(&alice, None).await,
        dec("6"),
        "Alice was credited once"
    );
    assert_eq!(topups(&app).await, 2);
}

#[tokio::test]
async fn json_spacing_and_key_order_do_not_make_a_different_request() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let key = new_key();
    let auth = || keyed(user.auth(), &key);
    let first = post_text(
        &app,
        TOPUP,
        &auth(),
        r#"{"amount":"4.00","currency":"USD"}"#,
    )
    .await
    .expect(200);
    let variants = [
        (
            r#"{"currency":"USD","amount":"4.00"}"#,
            "the keys in another order",
        ),
        (
            "{\n  \"amount\" : \"4.00\",\n  \"currency\" : \"USD\"\n}\n",
            "pretty-printed",
        ),
        (
            r#"  { "currency" :"USD" ,  "amount":"4.00" }  "#,
            "spaces and reordered keys",
        ),
    ];

    for (body, why) in variants {
        // Act
        let repeat = post_text(&app, TOPUP, &auth(), body).await;

        // Assert
        assert_replay_of(&first, &repeat, why);
    }
    assert_eq!(app.balance(&user, Some("USD")).await, dec("4"));
    assert_eq!(topups(&app).await, 1);
}

#[tokio::test]
async fn malformed_keys_are_refused_and_the_longest_valid_key_works() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let body = json!({ "amount": "1.00" });
    let cases = [
        (String::new(), "an empty key"),
        ("k".repeat(256), "a key of 256 characters"),
        ("two words".to_owned(), "a key with a space"),
        ("tab\there".to_owned(), "a key with a tab"),
    ];

    for (key, why) in cases {
        // Act
        let reply = app.topup_keyed(user.auth(), &key, &body).await;

        // Assert
        assert_eq!(reply.status.as_u16(), 400, "{why}: {}", reply.text);
        assert_eq!(reply.body["error"], "VALIDATION_ERROR", "{why}");
        assert!(
            reply.body["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Idempotency-Key: ")),
            "{why}: the message names the header: {}",
            reply.text
        );
        assert_eq!(topups(&app).await, 0, "{why}: nothing credited");
    }
    assert_eq!(
        app.count("SELECT count(*) FROM idempotency_keys").await,
        0,
        "no key was stored"
    );

    // The longest valid key works, and is a key like any other.
    let longest = "k".repeat(255);
    let first = app
        .topup_keyed(user.auth(), &longest, &body)
        .await
        .expect(200);
    let repeat = app.topup_keyed(user.auth(), &longest, &body).await;
    assert_replay_of(&first, &repeat, "a 255-character key");
    assert_eq!(app.balance(&user, None).await, dec("1"));
}

#[tokio::test]
async fn a_request_refused_before_it_runs_does_not_use_up_its_key() {
    // Arrange: an invalid amount is refused before the key is claimed.
    let app = spawn_app().await;
    let user = app.signup().await;
    let key = new_key();
    app.topup_keyed(user.auth(), &key, &json!({ "amount": "-1.00" }))
        .await
        .expect_error(400, "VALIDATION_ERROR");

    // Act
    let corrected = app
        .topup_keyed(user.auth(), &key, &json!({ "amount": "1.00" }))
        .await;

    // Assert
    let corrected = corrected.expect(200);
    assert_eq!(corrected.header(REPLAYED), None);
    assert_eq!(app.balance(&user, None).await, dec("1"));
}

#[tokio::test]
async fn a_stored_client_error_is_replayed_even_after_its_cause_is_gone() {
    // Arrange: a debit beyond the balance is refused with a key.
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let user = app.signup().await;
    let key = new_key();
    let debit = json!({ "type": "debit", "amount": "5.00", "reason": "Chargeback" });
    let refused = app
        .post(&adjustments(&user), &keyed(admin.auth(), &key), &debit)
        .await
        .expect_error(402, "INSUFFICIENT_BALANCE");
    app.topup(&user.auth(), "20.00").await.expect(200);

    // Act: the same request with the same key, now that the wallet could pay ...
    let repeat = app
        .post(&adjustments(&user), &keyed(admin.auth(), &key), &debit)
        .await;
    // ... and with a new key.
    let fresh = app
        .post(
            &adjustments(&user),
            &keyed(admin.auth(), &new_key()),
            &debit,
        )
        .await;

    // Assert: client errors are answers to the request as sent, so they are stored.
    assert_replay_of(&refused, &repeat, "a stored 402");
    assert_eq!(
        app.balance(&user, None).await,
        dec("15"),
        "only the new key debited"
    );
    let fresh = fresh.expect(200);
    assert_eq!(fresh.header(REPLAYED), None);
    assert_eq!(fresh.body["balance"], "15.00");
    assert_eq!(
        audit_entries(&app).await,
        1,
        "only the successful debit is audited"
    );
}

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
