//! `GET /api/billing/wallet` as its clients see it: the wallet and its currencies, the same
//! wallet through every credential of its owner, and the isolation between users and
//! marketplaces (no balance, transaction or credential crosses from one to the other).

use super::support::{TRANSACTIONS, WALLET, assert_invalid_field, ledger_entries, money_snapshot};
use crate::helpers::*;
use crate::money_helpers::dec;
use serde_json::{Value, json};

/// The wallet of the default currency (CNY), with the balance of each marketplace currency.
fn cny_wallet(cny: &str, usd: &str) -> Value {
    json!({
        "balance": cny,
        "currency": "CNY",
        "wallets": [
            { "currency": "CNY", "balance": cny },
            { "currency": "USD", "balance": usd },
        ],
    })
}

// ---------------------------------------------------------------------------------------------
// GET /api/billing/wallet
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_new_user_has_an_empty_wallet_in_every_marketplace_currency() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;

    // Act
    let reply = app.get(WALLET, &user.auth()).await;

    // Assert
    let reply = reply.expect(200);
    assert_eq!(reply.body, cny_wallet("0.00", "0.00"), "{}", reply.text);
    assert_eq!(
        ledger_entries(&app).await,
        0,
        "reading a wallet writes nothing"
    );
}

#[tokio::test]
async fn the_wallet_shows_the_balance_of_the_requested_currency() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    app.topup_in(&user.auth(), "7.25", "USD").await.expect(200);

    // Act
    let usd = app
        .get(&format!("{WALLET}?currency=USD"), &user.auth())
        .await;
    let default = app.get(WALLET, &user.auth()).await;

    // Assert
    let usd = usd.expect(200);
    assert_eq!(usd.body["balance"], "7.25");
    assert_eq!(usd.body["currency"], "USD");
    let default = default.expect(200);
    assert_eq!(default.body, cny_wallet("0.00", "7.25"));
}

#[tokio::test]
async fn the_wallet_refuses_a_currency_the_marketplace_does_not_use() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let cases = [
        ("EUR", "a currency the marketplace does not use"),
        ("usd", "a lower-case code"),
        ("", "an empty code"),
        ("USDX", "four letters"),
    ];

    for (currency, why) in cases {
        // Act
        let reply = app
            .get(&format!("{WALLET}?currency={currency}"), &user.auth())
            .await;

        // Assert
        assert_invalid_field(&reply, "currency: ", why);
    }
}

#[tokio::test]
async fn every_credential_of_the_owner_reads_the_same_wallet() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    app.topup(&owner.auth(), "31.40").await.expect(200);
    let agent = app
        .create_agent(&owner, &unique_slug("wallet"), json!({}))
        .await;
    let agent_token = app.agent_token(&owner, &agent).await;
    let credentials = [
        ("a JWT", owner.auth()),
        ("an API key", Auth::api_key(&owner.api_key)),
        (
            "an agent token acting as its owner",
            Auth::bearer(&agent_token),
        ),
    ];

    for (why, auth) in credentials {
        // Act
        let reply = app.get(WALLET, &auth).await;

        // Assert
        assert_eq!(reply.status.as_u16(), 200, "{why}: {}", reply.text);
        assert_eq!(reply.body, cny_wallet("31.40", "0.00"), "{why}");
    }
}

// ---------------------------------------------------------------------------------------------
// Isolation between users and marketplaces
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_user_never_sees_another_users_balance_or_transactions() {
    // Arrange
    let app = spawn_app().await;
    let alice = app.signup().await;
    let bob = app.signup().await;
    let topped = app.topup(&alice.auth(), "42.42").await.expect(200);
    let alices_entry = topped.body["transactionId"]
        .as_str()
        .expect("id")
        .to_owned();

    // Act
    let wallet = app.get(WALLET, &bob.auth()).await;
    let transactions = app.get(TRANSACTIONS, &bob.auth()).await;

    // Assert
    let wallet = wallet.expect(200);
    assert_eq!(wallet.body["balance"], "0.00");
    assert!(!wallet.text.contains("42.42"), "{}", wallet.text);
    let transactions = transactions.expect(200);
    assert_eq!(transactions.body["data"], json!([]));
    assert_eq!(transactions.body["total"], 0);
    assert!(!transactions.text.contains(&alices_entry));
    assert_eq!(
        app.balance(&alice, None).await,
        dec("42.42"),
        "Alice's own view is intact"
    );
}

#[tokio::test]
async fn a_user_of_another_marketplace_has_separate_wallets() {
    // Arrange
    let app = spawn_app().await;
    let slug = app.create_tenant("wallets").await;
    let here = app.signup().await;
    let there = app.signup_in(Some(&slug)).await;
    app.topup(&here.auth(), "15.00").await.expect(200);

    // Act
    let theirs_before = app.get(WALLET, &there.auth()).await.expect(200);
    app.topup_in(&there.auth(), "3.00", "USD").await.expect(200);

    // Assert
    assert_eq!(theirs_before.body["balance"], "0.00");
    assert_eq!(app.balance(&there, Some("USD")).await, dec("3"));
    assert_eq!(app.balance(&there, Some("CNY")).await, dec("0"));
    assert_eq!(app.balance(&here, Some("USD")).await, dec("0"));
    assert_eq!(app.balance(&here, Some("CNY")).await, dec("15"));
    let there_tx = app.get(TRANSACTIONS, &there.auth()).await.expect(200);
    assert_eq!(there_tx.body["total"], 1);
    let tenants = app
        .count("SELECT count(DISTINCT tenant_id) FROM wallets")
        .await;
    assert_eq!(tenants, 2, "each marketplace keeps its own wallets");
}

#[tokio::test]
async fn a_credential_of_one_marketplace_is_refused_by_another() {
    // Arrange
    let app = spawn_app().await;
    let slug = app.create_tenant("tokens").await;
    let here = app.signup().await;
    let there = app.signup_in(Some(&slug)).await;
    app.topup(&here.auth(), "8.00").await.expect(200);
    app.topup(&there.auth(), "9.00").await.expect(200);
    let before = money_snapshot(&app).await;
    let cases = [
        (Auth::bearer(&there.token), "their JWT sent here"),
        (Auth::api_key(&there.api_key), "their API key sent here"),
        (
            Auth::bearer(&here.token).tenant(&slug),
            "a JWT from here sent there",
        ),
        (
            Auth::api_key(&here.api_key).tenant(&slug),
            "an API key from here sent there",
        ),
    ];

    for (auth, why) in cases {
        // Act
        let read_wallet = app.get(WALLET, &auth).await;
        let top_up = app.topup(&auth, "1.00").await;
        let list = app.get(TRANSACTIONS, &auth).await;

        // Assert
        for (what, reply) in [
            ("wallet", read_wallet),
            ("topup", top_up),
            ("transactions", list),
        ] {
            assert_eq!(reply.status.as_u16(), 401, "{why}, {what}: {}", reply.text);
            assert_eq!(reply.body["error"], "INVALID_TOKEN", "{why}, {what}");
        }
        assert_eq!(money_snapshot(&app).await, before, "{why}: nothing changed");
    }
}
