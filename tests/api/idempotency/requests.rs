//! What makes two requests the same, malformed keys, and stored client errors.

use super::support::*;
use crate::helpers::*;
use crate::money_helpers::{TOPUP, adjustments, dec};
use serde_json::json;

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
        app.audit_count().await,
        1,
        "only the successful debit is audited"
    );
}
