//! The admin side of wallets: credits and debits (never below zero) with their audit entries,
//! the adjustments it refuses without effect, and a user's wallets, which only an admin of
//! that user's marketplace may adjust or read.

use super::support::{
    TRANSACTIONS, assert_invalid_field, items, keys, money_snapshot, movement, movements,
};
use crate::helpers::*;
use crate::money_helpers::{adjustments, dec};
use serde_json::json;
use uuid::Uuid;

/// The audit log about `user`, as `admin` reads it.
async fn audit_of(app: &TestApp, admin: &TestUser, user: &TestUser) -> Reply {
    app.get(
        &format!("/api/admin/audit?targetId={}", user.id),
        &admin.auth(),
    )
    .await
    .expect(200)
}

#[tokio::test]
async fn an_admin_credit_adds_to_the_wallet_and_is_audited_with_its_amount() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let user = app.signup().await;
    let reason = "Goodwill credit for ticket 1234";

    // Act
    let reply = app
        .post(
            &adjustments(&user),
            &admin.auth(),
            &json!({ "type": "credit", "amount": "5.00", "reason": reason }),
        )
        .await;

    // Assert: the response, the wallet, the user's transaction and the audit entry agree.
    let reply = reply.expect(200);
    assert_eq!(
        keys(&reply.body),
        ["amount", "balance", "currency", "transactionId", "userId"]
    );
    assert_eq!(reply.body["userId"], user.id.as_str());
    assert_eq!(reply.body["amount"], "5.00");
    assert_eq!(reply.body["balance"], "5.00");
    assert_eq!(reply.body["currency"], "CNY");
    let entry = reply.body["transactionId"].clone();
    assert_eq!(app.balance(&user, None).await, dec("5"));

    let transactions = app.get(TRANSACTIONS, &user.auth()).await.expect(200);
    assert_eq!(
        movements(&transactions),
        [movement("adjustment", "5.00", "CNY", "5.00")]
    );
    assert_eq!(transactions.body["data"][0]["transactionId"], entry);

    let audit = audit_of(&app, &admin, &user).await;
    assert_eq!(audit.body["total"], 1, "{}", audit.text);
    let record = &audit.body["data"][0];
    assert_eq!(record["action"], "wallet_credit");
    assert_eq!(record["targetType"], "wallet");
    assert_eq!(record["targetId"], user.id.as_str());
    assert_eq!(record["actorId"], admin.id.as_str());
    assert_eq!(record["reason"], reason);
    assert_eq!(record["details"]["amount"], "5.00");
    assert_eq!(record["details"]["currency"], "CNY");
    assert_eq!(record["details"]["balanceAfter"], "5.00");
    assert_eq!(record["details"]["transactionId"], entry);
}

#[tokio::test]
async fn an_admin_debit_takes_from_the_wallet_but_never_below_zero() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let user = app.signup().await;
    app.topup(&user.auth(), "10.00").await.expect(200);
    let debit = |amount: &str| json!({ "type": "debit", "amount": amount, "reason": "Chargeback" });

    // Act: a debit within the balance, one beyond it, then the exact remainder.
    let within = app
        .post(&adjustments(&user), &admin.auth(), &debit("2.50"))
        .await;
    let before_refusal = money_snapshot(&app).await;
    let beyond = app
        .post(&adjustments(&user), &admin.auth(), &debit("7.51"))
        .await;
    let after_refusal = money_snapshot(&app).await;
    let rest = app
        .post(&adjustments(&user), &admin.auth(), &debit("7.50"))
        .await;

    // Assert
    let within = within.expect(200);
    assert_eq!(within.body["amount"], "-2.50", "a debit is negative");
    assert_eq!(within.body["balance"], "7.50");
    let beyond = beyond.expect_error(402, "INSUFFICIENT_BALANCE");
    assert!(beyond.body.get("balance").is_none());
    assert_eq!(
        after_refusal, before_refusal,
        "the refused debit changed nothing (no entry, no audit)"
    );
    assert_eq!(rest.expect(200).body["balance"], "0.00");
    assert_eq!(app.balance(&user, None).await, dec("0"));

    let audit = audit_of(&app, &admin, &user).await;
    let amounts: Vec<(&str, &str)> = items(&audit)
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap_or_default(),
                r["details"]["amount"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        amounts,
        [("wallet_debit", "-7.50"), ("wallet_debit", "-2.50")],
        "two debits audited, newest first; the refused one is not"
    );
}

#[tokio::test]
async fn an_admin_debit_of_a_user_without_a_wallet_is_insufficient() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let user = app.signup().await;
    let before = money_snapshot(&app).await;

    // Act
    let reply = app
        .post(
            &adjustments(&user),
            &admin.auth(),
            &json!({ "type": "debit", "amount": "0.0001", "reason": "Test" }),
        )
        .await;

    // Assert
    reply.expect_error(402, "INSUFFICIENT_BALANCE");
    assert_eq!(money_snapshot(&app).await, before);
}

#[tokio::test]
async fn an_invalid_adjustment_is_refused_without_effect() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let user = app.signup().await;
    app.topup(&user.auth(), "10.00").await.expect(200);
    let before = money_snapshot(&app).await;
    let long_reason = "r".repeat(501);
    let cases = [
        (
            json!({ "type": "credit", "amount": "5.00" }),
            "reason: ",
            "no reason",
        ),
        (
            json!({ "type": "credit", "amount": "5.00", "reason": "   " }),
            "reason: ",
            "a blank reason",
        ),
        (
            json!({ "type": "credit", "amount": "5.00", "reason": long_reason }),
            "reason: ",
            "a reason of 501 characters",
        ),
        (
            json!({ "type": "credit", "amount": "5.00", "reason": "line\nbreak" }),
            "reason: ",
            "a control character in the reason",
        ),
        (
            json!({ "type": "steal", "amount": "5.00", "reason": "Because" }),
            "type: ",
            "an unknown type",
        ),
        (
            json!({ "amount": "5.00", "reason": "Because" }),
            "type: ",
            "no type",
        ),
        (
            json!({ "type": "Credit", "amount": "5.00", "reason": "Because" }),
            "type: ",
            "a capitalised type",
        ),
        (
            json!({ "type": "credit", "amount": "0", "reason": "Because" }),
            "amount: ",
            "a zero amount",
        ),
        (
            json!({ "type": "debit", "amount": "-5.00", "reason": "Because" }),
            "amount: ",
            "a negative debit",
        ),
        (
            json!({ "type": "credit", "amount": 5, "reason": "Because" }),
            "amount: ",
            "a JSON number",
        ),
        (
            json!({ "type": "credit", "amount": "0.00001", "reason": "Because" }),
            "amount: ",
            "five decimals",
        ),
        (
            json!({ "type": "credit", "amount": "1000000.01", "reason": "Because" }),
            "amount: ",
            "more than the 1000000 maximum",
        ),
        (
            json!({ "type": "credit", "reason": "Because" }),
            "amount: ",
            "no amount",
        ),
        (
            json!({ "type": "credit", "amount": "5.00", "currency": "EUR", "reason": "Because" }),
            "currency: ",
            "a currency the marketplace does not use",
        ),
    ];

    for (body, prefix, why) in cases {
        // Act
        let reply = app.post(&adjustments(&user), &admin.auth(), &body).await;

        // Assert
        assert_invalid_field(&reply, prefix, why);
        assert_eq!(money_snapshot(&app).await, before, "{why}: nothing changed");
    }
    assert_eq!(app.balance(&user, None).await, dec("10"));
}

#[tokio::test]
async fn only_an_admin_of_the_users_marketplace_may_adjust_or_read_a_wallet() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let user = app.signup().await;
    let slug = app.create_tenant("adjust").await;
    let foreign_user = app.signup_in(Some(&slug)).await;
    app.topup(&user.auth(), "4.00").await.expect(200);
    app.topup_in(&user.auth(), "1.50", "USD").await.expect(200);
    app.topup(&foreign_user.auth(), "6.00").await.expect(200);
    let before = money_snapshot(&app).await;
    let credit = json!({ "type": "credit", "amount": "5.00", "reason": "Because" });
    let unknown = Uuid::now_v7();
    let cases = [
        (
            user.auth(),
            format!("/api/admin/wallets/{}", user.id),
            403,
            "FORBIDDEN",
            "a plain user, even about their own wallet",
        ),
        (
            admin.auth(),
            format!("/api/admin/wallets/{unknown}"),
            404,
            "NOT_FOUND",
            "an unknown user",
        ),
        (
            admin.auth(),
            format!("/api/admin/wallets/{}", foreign_user.id),
            404,
            "NOT_FOUND",
            "a user of another marketplace",
        ),
        (
            admin.auth(),
            "/api/admin/wallets/not-a-uuid".to_owned(),
            400,
            "VALIDATION_ERROR",
            "a malformed user id",
        ),
    ];

    for (auth, wallet_path, status, code, why) in cases {
        // Act
        let adjusted = app
            .post(&format!("{wallet_path}/adjustments"), &auth, &credit)
            .await;
        let shown = app.get(&wallet_path, &auth).await;

        // Assert
        for (what, reply) in [("adjust", adjusted), ("read", shown)] {
            assert_eq!(
                reply.status.as_u16(),
                status,
                "{why}, {what}: {}",
                reply.text
            );
            assert_eq!(reply.body["error"], code, "{why}, {what}");
            assert!(!reply.text.contains("6.00"), "{why}: no foreign balance");
        }
        assert_eq!(money_snapshot(&app).await, before, "{why}: nothing changed");
    }

    // The admin of the user's own marketplace reads every balance.
    let shown = app
        .get(&format!("/api/admin/wallets/{}", user.id), &admin.auth())
        .await
        .expect(200);
    assert_eq!(
        shown.body,
        json!({
            "userId": user.id,
            "wallets": [
                { "currency": "CNY", "balance": "4.00" },
                { "currency": "USD", "balance": "1.50" },
            ],
        })
    );
}
