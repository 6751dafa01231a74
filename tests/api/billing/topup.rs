//! `POST /api/billing/wallet/topup` in the sandbox: what it credits at the edges of the range
//! and in each currency, the amounts, currencies, bodies and credentials it refuses without
//! moving any money, its rate limit per user and its kill switch (`PAYMENT_MODE=disabled`).

use super::support::{WALLET, assert_invalid_field, keys, ledger_entries, money_snapshot};
use crate::helpers::*;
use crate::money_helpers::{TOPUP, dec};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

/// A POST with a body sent exactly as given (for malformed JSON and odd content types).
async fn post_raw(
    app: &TestApp,
    path: &str,
    auth: &Auth,
    content_type: &str,
    body: &'static str,
) -> Reply {
    read(
        app.request(Method::POST, path, auth)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request"),
    )
    .await
}

#[tokio::test]
async fn a_top_up_with_an_invalid_amount_is_refused_and_moves_no_money() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let before = money_snapshot(&app).await;
    // 20 requests: within the default RATE_LIMIT_TOPUP (30/1m), which counts refused ones too.
    let cases = [
        (json!({ "amount": "-5.00" }), "a negative amount"),
        (json!({ "amount": "0" }), "zero"),
        (json!({ "amount": "0.00" }), "zero with decimals"),
        (json!({ "amount": "1.005" }), "three decimals"),
        (
            json!({ "amount": "10000.01" }),
            "more than the 10000 maximum",
        ),
        (json!({ "amount": 12.5 }), "a JSON number with decimals"),
        (json!({ "amount": 10 }), "a JSON integer"),
        (json!({ "amount": "NaN" }), "NaN"),
        (json!({ "amount": "Infinity" }), "Infinity"),
        (json!({ "amount": "1e309" }), "an exponent beyond a double"),
        (json!({ "amount": "1e3" }), "an exponent"),
        (json!({ "amount": "" }), "an empty string"),
        (json!({ "amount": " 5" }), "a leading space"),
        (json!({ "amount": "+5" }), "a plus sign"),
        (json!({ "amount": "5." }), "a trailing decimal point"),
        (json!({}), "no amount"),
        (json!({ "amount": null }), "a null amount"),
        (json!({ "amount": true }), "a boolean"),
        (json!({ "amount": { "value": "5.00" } }), "an object"),
        (json!({ "amount": ["5.00"] }), "an array"),
    ];

    for (body, why) in cases {
        // Act
        let reply = app.post(TOPUP, &user.auth(), &body).await;

        // Assert
        assert_invalid_field(&reply, "amount: ", why);
        let wallet = app.get(WALLET, &user.auth()).await.expect(200);
        assert_eq!(
            wallet.body["balance"], "0.00",
            "{why}: the balance is unchanged"
        );
        assert_eq!(ledger_entries(&app).await, 0, "{why}: nothing was recorded");
        assert_eq!(money_snapshot(&app).await, before, "{why}: nothing changed");
    }
}

#[tokio::test]
async fn top_ups_at_the_edges_of_the_range_credit_exactly() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    // (amount sent, amount shown, balance after)
    let cases = [
        ("0.01", "0.01", "0.01", "the smallest top-up"),
        ("10000", "10000.00", "10000.01", "the largest top-up"),
        ("12.5", "12.50", "10012.51", "one decimal"),
    ];

    for (amount, shown, balance, why) in cases {
        // Act
        let reply = app.topup(&user.auth(), amount).await;

        // Assert
        assert_eq!(reply.status.as_u16(), 200, "{why}: {}", reply.text);
        assert_eq!(
            keys(&reply.body),
            ["amount", "balance", "currency", "status", "transactionId"],
            "{why}"
        );
        assert_eq!(reply.body["amount"], shown, "{why}");
        assert_eq!(reply.body["balance"], balance, "{why}");
        assert_eq!(reply.body["currency"], "CNY", "{why}");
        assert_eq!(reply.body["status"], "completed", "{why}");
        assert!(
            reply.body["transactionId"]
                .as_str()
                .is_some_and(|id| id.parse::<Uuid>().is_ok()),
            "{why}"
        );
        let wallet = app.get(WALLET, &user.auth()).await.expect(200);
        assert_eq!(wallet.body["balance"], balance, "{why}");
    }
    assert_eq!(app.balance(&user, None).await, dec("10012.51"));
    assert_eq!(
        app.count("SELECT count(*) FROM ledger_entries WHERE kind = 'topup'")
            .await,
        3
    );
}

#[tokio::test]
async fn a_top_up_in_usd_credits_only_the_usd_wallet() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;

    // Act
    let reply = app.topup_in(&user.auth(), "9.99", "USD").await;

    // Assert
    let reply = reply.expect(200);
    assert_eq!(reply.body["currency"], "USD");
    assert_eq!(reply.body["balance"], "9.99");
    assert_eq!(app.balance(&user, Some("USD")).await, dec("9.99"));
    assert_eq!(app.balance(&user, Some("CNY")).await, dec("0"));
    assert_eq!(
        app.balance(&user, None).await,
        dec("0"),
        "CNY is the default"
    );
}

#[tokio::test]
async fn a_top_up_in_a_currency_the_marketplace_does_not_use_is_refused() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let before = money_snapshot(&app).await;
    let cases = [
        (json!({ "amount": "5.00", "currency": "EUR" }), "EUR"),
        (
            json!({ "amount": "5.00", "currency": "usd" }),
            "a lower-case code",
        ),
        (json!({ "amount": "5.00", "currency": 840 }), "a number"),
    ];

    for (body, why) in cases {
        // Act
        let reply = app.post(TOPUP, &user.auth(), &body).await;

        // Assert
        assert_invalid_field(&reply, "currency: ", why);
        assert_eq!(money_snapshot(&app).await, before, "{why}: nothing changed");
    }
}

#[tokio::test]
async fn a_top_up_that_is_not_well_formed_or_not_authenticated_is_refused() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let before = money_snapshot(&app).await;
    let json = "application/json";
    let cases = [
        (
            user.auth(),
            json,
            r#"{"amount": "5.00""#,
            400,
            "INVALID_JSON",
            "an unterminated object",
        ),
        (
            user.auth(),
            json,
            r#"{"amount": "5.00"} trailing"#,
            400,
            "INVALID_JSON",
            "text after the object",
        ),
        (user.auth(), json, "", 400, "INVALID_JSON", "no body at all"),
        (
            user.auth(),
            "text/plain",
            r#"{"amount": "5.00"}"#,
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "a body that is not JSON",
        ),
        (
            Auth::none(),
            json,
            r#"{"amount": "5.00"}"#,
            401,
            "UNAUTHORIZED",
            "no credentials",
        ),
        (
            Auth::bearer("not-a-token"),
            json,
            r#"{"amount": "5.00"}"#,
            401,
            "INVALID_TOKEN",
            "a malformed token",
        ),
    ];

    for (auth, content_type, body, status, code, why) in cases {
        // Act
        let reply = post_raw(&app, TOPUP, &auth, content_type, body).await;

        // Assert
        assert_eq!(reply.status.as_u16(), status, "{why}: {}", reply.text);
        assert_eq!(reply.body["error"], code, "{why}: {}", reply.text);
        assert_eq!(money_snapshot(&app).await, before, "{why}: nothing changed");
    }
    assert_eq!(app.balance(&user, None).await, dec("0"));
}

#[tokio::test]
async fn top_ups_are_rate_limited_per_user() {
    // Arrange
    let app = spawn_app_with(&[("RATE_LIMIT_TOPUP", "3/1m")]).await;
    let user = app.signup().await;
    let other = app.signup().await;
    for _ in 0..3 {
        app.topup(&user.auth(), "1.00").await.expect(200);
    }

    // Act
    let limited = app.topup(&user.auth(), "1.00").await;
    let others = app.topup(&other.auth(), "1.00").await;

    // Assert
    let limited = limited.expect_error(429, "RATE_LIMITED");
    let retry_after: u64 = limited
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .expect("whole seconds");
    assert!(
        (1..=60).contains(&retry_after),
        "within the 1m window: {retry_after}"
    );
    assert_eq!(
        app.balance(&user, None).await,
        dec("3"),
        "the limited top-up credited nothing"
    );
    assert_eq!(
        others.expect(200).body["balance"],
        "1.00",
        "another user has their own allowance"
    );
}

#[tokio::test]
async fn top_ups_are_refused_when_payments_are_disabled() {
    // Arrange
    let app = spawn_app_with(&[("PAYMENT_MODE", "disabled")]).await;
    let user = app.signup().await;
    let before = money_snapshot(&app).await;
    let bodies = [
        json!({ "amount": "5.00" }),
        json!({ "amount": "5.00", "currency": "USD" }),
    ];

    for body in bodies {
        // Act
        let reply = app.post(TOPUP, &user.auth(), &body).await;

        // Assert
        reply.expect_error(403, "TOPUPS_DISABLED");
        assert_eq!(
            money_snapshot(&app).await,
            before,
            "{body}: nothing changed"
        );
    }
    let wallet = app.get(WALLET, &user.auth()).await.expect(200);
    assert_eq!(
        wallet.body["balance"], "0.00",
        "the wallet is still readable"
    );
}
