//! Replays, and a key reused with another body, endpoint, user or spelling of an id.

use super::support::*;
use crate::helpers::*;
use crate::money_helpers::{adjustments, dec};
use serde_json::json;

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
    let audited = app.audit_count().await;

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
    assert_eq!(app.audit_count().await, audited, "nothing audited");
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
    assert_eq!(app.audit_count().await, 1, "one audit entry");
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
    assert_eq!(app.audit_count().await, 1, "one audit entry");
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
