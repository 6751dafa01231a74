//! The billing endpoints as their clients see them: the wallet and its currencies, sandbox
//! top-ups and their validation, rate limit and kill switch, the transactions list and its
//! cursor, isolation between users and marketplaces, and the admin side (adjustments with their
//! audit, wallets of a user, revenue, settlements, and a ledger verifier that really fails when
//! the ledger is corrupted). The last test walks every endpoint with every kind of caller.

use crate::helpers::*;
use crate::money_helpers::{dec, terms};
use clawrent_api::agents::domain::PricingModel;
use clawrent_api::billing::domain::{PricingTerms, Usage};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Helpers private to this module
// ---------------------------------------------------------------------------------------------

const TOPUP: &str = "/api/billing/wallet/topup";
const WALLET: &str = "/api/billing/wallet";
const TRANSACTIONS: &str = "/api/billing/wallet/transactions";

/// The nine ledger checks of `GET /api/admin/ledger/verify`, in report order.
const CHECKS: [&str; 9] = [
    "currency_postings_sum_to_zero",
    "entries_balance",
    "wallets_equal_their_postings",
    "wallet_history_is_consistent",
    "no_negative_balance",
    "holds_match_their_postings",
    "holds_close_once",
    "settlements_add_up",
    "platform_fees_append_only",
];

fn adjustments(user: &TestUser) -> String {
    format!("/api/admin/wallets/{}/adjustments", user.id)
}

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

/// Everything a money request could change anywhere, as one JSON text: every wallet, and the
/// sizes of the ledger, the audit log, the holds, the settlements and the idempotency keys.
async fn money_snapshot(app: &TestApp) -> String {
    sqlx::query_scalar(
        "SELECT json_build_object(
            'wallets', (SELECT json_agg(json_build_object(
                            'tenant', tenant_id, 'user', user_id, 'currency', currency,
                            'balance', balance, 'postings', postings)
                        ORDER BY tenant_id, user_id, currency) FROM wallets),
            'entries', (SELECT count(*) FROM ledger_entries),
            'postings', (SELECT count(*) FROM ledger_postings),
            'audit', (SELECT count(*) FROM admin_audit),
            'holds', (SELECT json_agg(h.status ORDER BY h.id) FROM holds h),
            'settlements', (SELECT count(*) FROM settlements),
            'keys', (SELECT count(*) FROM idempotency_keys)
        )::text",
    )
    .fetch_one(&app.db)
    .await
    .expect("money snapshot")
}

/// One user's money as the database holds it: their wallets, postings and audit entries.
async fn user_snapshot(app: &TestApp, user: &TestUser) -> String {
    sqlx::query_scalar(
        "SELECT json_build_object(
            'wallets', (SELECT json_agg(json_build_object(
                            'currency', currency, 'balance', balance, 'postings', postings)
                        ORDER BY currency) FROM wallets WHERE user_id = $1::uuid),
            'postings', (SELECT count(*) FROM ledger_postings WHERE user_id = $1::uuid),
            'audit', (SELECT count(*) FROM admin_audit WHERE target_id = $1::uuid)
        )::text",
    )
    .bind(&user.id)
    .fetch_one(&app.db)
    .await
    .expect("user snapshot")
}

async fn ledger_entries(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM ledger_entries").await
}

/// The keys of a JSON object, sorted.
fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("an object: {value}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

fn items(reply: &Reply) -> &[Value] {
    reply.body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("a data array: {}", reply.text))
}

/// A transaction as (type, amount, currency, balanceAfter).
type Movement = (String, String, String, String);

fn movement(kind: &str, amount: &str, currency: &str, balance_after: &str) -> Movement {
    (
        kind.to_owned(),
        amount.to_owned(),
        currency.to_owned(),
        balance_after.to_owned(),
    )
}

/// The (type, amount, currency, balanceAfter) of each transaction of a page.
fn movements(reply: &Reply) -> Vec<Movement> {
    items(reply)
        .iter()
        .map(|t| {
            let field = |name: &str| t[name].as_str().unwrap_or_default().to_owned();
            (
                field("type"),
                field("amount"),
                field("currency"),
                field("balanceAfter"),
            )
        })
        .collect()
}

fn posting_ids(reply: &Reply) -> Vec<i64> {
    items(reply)
        .iter()
        .map(|t| {
            t["id"]
                .as_str()
                .expect("id is a string")
                .parse()
                .expect("a numeric id")
        })
        .collect()
}

/// Places a hold for a session and settles it with `usage`; returns the session id.
async fn settled_session(
    app: &TestApp,
    tenant: &str,
    consumer: &TestUser,
    provider: &TestUser,
    price: PricingTerms,
    usage: Usage,
) -> Uuid {
    let tenant = app.tenant_row(tenant).await;
    let session = Uuid::now_v7();
    app.place_hold(&tenant, session, consumer, provider, price)
        .await
        .expect("hold placed");
    app.settle(&tenant, session, usage).await.expect("settled");
    session
}

async fn per_session(
    app: &TestApp,
    consumer: &TestUser,
    provider: &TestUser,
    price: &str,
    currency: &str,
) -> Uuid {
    settled_session(
        app,
        "default",
        consumer,
        provider,
        terms(PricingModel::PerSession, price, currency),
        Usage::default(),
    )
    .await
}

async fn verify(app: &TestApp, admin: &TestUser) -> Reply {
    app.get("/api/admin/ledger/verify", &admin.auth())
        .await
        .expect(200)
}

fn check<'a>(report: &'a Reply, name: &str) -> &'a Value {
    report.body["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {}", report.text))
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
    assert_eq!(
        reply.body,
        json!({
            "balance": "0.00",
            "currency": "CNY",
            "wallets": [
                { "currency": "CNY", "balance": "0.00" },
                { "currency": "USD", "balance": "0.00" },
            ],
        }),
        "{}",
        reply.text
    );
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
    app.post(
        TOPUP,
        &user.auth(),
        &json!({ "amount": "7.25", "currency": "USD" }),
    )
    .await
    .expect(200);

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
    assert_eq!(
        default.body,
        json!({
            "balance": "0.00",
            "currency": "CNY",
            "wallets": [
                { "currency": "CNY", "balance": "0.00" },
                { "currency": "USD", "balance": "7.25" },
            ],
        })
    );
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
        assert_eq!(reply.status.as_u16(), 400, "{why}: {}", reply.text);
        assert_eq!(reply.body["error"], "VALIDATION_ERROR", "{why}");
        assert!(
            reply.body["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("currency: ")),
            "{why}: the message names the field: {}",
            reply.text
        );
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
        assert_eq!(
            reply.body,
            json!({
                "balance": "31.40",
                "currency": "CNY",
                "wallets": [
                    { "currency": "CNY", "balance": "31.40" },
                    { "currency": "USD", "balance": "0.00" },
                ],
            }),
            "{why}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// POST /api/billing/wallet/topup
// ---------------------------------------------------------------------------------------------

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
        assert_eq!(reply.status.as_u16(), 400, "{why}: {}", reply.text);
        assert_eq!(reply.body["error"], "VALIDATION_ERROR", "{why}");
        assert!(
            reply.body["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("amount: ")),
            "{why}: the message names the amount: {}",
            reply.text
        );
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
    let reply = app
        .post(
            TOPUP,
            &user.auth(),
            &json!({ "amount": "9.99", "currency": "USD" }),
        )
        .await;

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
        assert_eq!(reply.status.as_u16(), 400, "{why}: {}", reply.text);
        assert_eq!(reply.body["error"], "VALIDATION_ERROR", "{why}");
        assert!(
            reply.body["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("currency: ")),
            "{why}: {}",
            reply.text
        );
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

// ---------------------------------------------------------------------------------------------
// GET /api/billing/wallet/transactions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn transactions_list_every_movement_newest_first_with_a_fixed_shape() {
    // Arrange: the user tops up three times, pays for a session and earns from another.
    let app = spawn_app().await;
    let user = app.signup().await;
    let provider = app.signup().await;
    let consumer = app.signup().await;
    let first = app.topup(&user.auth(), "10.00").await.expect(200);
    let second = app.topup(&user.auth(), "20.00").await.expect(200);
    let dollars = app
        .post(
            TOPUP,
            &user.auth(),
            &json!({ "amount": "7.25", "currency": "USD" }),
        )
        .await
        .expect(200);
    app.topup(&consumer.auth(), "50.00").await.expect(200);
    let paid = per_session(&app, &user, &provider, "5.00", "CNY").await;
    let earned = per_session(&app, &consumer, &user, "2.00", "CNY").await;

    // Act
    let reply = app.get(TRANSACTIONS, &user.auth()).await;

    // Assert
    let reply = reply.expect(200);
    let expected_keys = [
        "amount",
        "balanceAfter",
        "createdAt",
        "currency",
        "id",
        "referenceId",
        "transactionId",
        "type",
    ];
    for item in items(&reply) {
        assert_eq!(keys(item), expected_keys, "{item}");
    }
    assert_eq!(
        movements(&reply),
        [
            movement("income", "1.70", "CNY", "26.70"),
            movement("payment", "-5.00", "CNY", "25.00"),
            movement("topup", "7.25", "USD", "7.25"),
            movement("topup", "20.00", "CNY", "30.00"),
            movement("topup", "10.00", "CNY", "10.00"),
        ]
    );
    let ids = posting_ids(&reply);
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let data = items(&reply);
    assert_eq!(data[0]["referenceId"], earned.to_string());
    assert_eq!(data[1]["referenceId"], paid.to_string());
    for (item, topup) in data[2..].iter().zip([&dollars, &second, &first]) {
        assert_eq!(item["transactionId"], topup.body["transactionId"]);
        assert_eq!(
            item["referenceId"], topup.body["transactionId"],
            "a top-up refers to itself"
        );
    }
    assert_eq!(reply.body["total"], 5);
    assert_eq!(reply.body["page"], 1);
    assert_eq!(reply.body["limit"], 20);
    assert!(reply.body.get("nextCursor").is_none(), "{}", reply.text);
}

#[tokio::test]
async fn transactions_filter_by_currency_and_count_only_that_currency() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    app.topup(&user.auth(), "10.00").await.expect(200);
    app.post(
        TOPUP,
        &user.auth(),
        &json!({ "amount": "3.00", "currency": "USD" }),
    )
    .await
    .expect(200);
    app.topup(&user.auth(), "11.00").await.expect(200);

    // Act
    let usd = app
        .get(&format!("{TRANSACTIONS}?currency=USD"), &user.auth())
        .await;
    let cny = app
        .get(&format!("{TRANSACTIONS}?currency=CNY"), &user.auth())
        .await;
    let eur = app
        .get(&format!("{TRANSACTIONS}?currency=EUR"), &user.auth())
        .await;

    // Assert
    let usd = usd.expect(200);
    assert_eq!(movements(&usd), [movement("topup", "3.00", "USD", "3.00")]);
    assert_eq!(usd.body["total"], 1);
    let cny = cny.expect(200);
    assert_eq!(
        movements(&cny).into_iter().map(|m| m.1).collect::<Vec<_>>(),
        ["11.00", "10.00"]
    );
    assert_eq!(cny.body["total"], 2);
    eur.expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn following_next_cursor_walks_every_transaction_exactly_once_in_order() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    for amount in ["1.00", "2.00", "3.00", "4.00", "5.00"] {
        app.topup(&user.auth(), amount).await.expect(200);
    }
    let everything = app.get(TRANSACTIONS, &user.auth()).await.expect(200);
    let all_ids = posting_ids(&everything);
    assert_eq!(all_ids.len(), 5);

    // Act
    let mut pages = Vec::new();
    let mut path = format!("{TRANSACTIONS}?limit=2");
    loop {
        let page = app.get(&path, &user.auth()).await.expect(200);
        let next = page.body.get("nextCursor").cloned();
        pages.push(page);
        let Some(cursor) = next else { break };
        let cursor = cursor.as_str().expect("a string cursor").to_owned();
        path = format!("{TRANSACTIONS}?limit=2&cursor={cursor}");
        assert!(pages.len() < 10, "the walk ends");
    }
    let second_by_page = app
        .get(&format!("{TRANSACTIONS}?page=2&limit=2"), &user.auth())
        .await
        .expect(200);

    // Assert
    let sizes: Vec<usize> = pages.iter().map(|p| items(p).len()).collect();
    assert_eq!(sizes, [2, 2, 1]);
    let walked: Vec<i64> = pages.iter().flat_map(posting_ids).collect();
    assert_eq!(walked, all_ids, "every transaction once, newest first");
    let amounts: Vec<String> = pages.iter().flat_map(movements).map(|m| m.1).collect();
    assert_eq!(amounts, ["5.00", "4.00", "3.00", "2.00", "1.00"]);
    for page in &pages {
        assert_eq!(page.body["total"], 5, "the total is the whole list");
    }
    assert!(
        pages[2].body.get("nextCursor").is_none(),
        "the last page has no nextCursor key: {}",
        pages[2].text
    );
    assert_eq!(
        second_by_page.body["data"], pages[1].body["data"],
        "page=2 is the cursor's second page"
    );
}

#[tokio::test]
async fn a_cursor_walk_neither_repeats_nor_skips_when_money_moves_between_pages() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    for amount in ["1.00", "2.00", "3.00", "4.00"] {
        app.topup(&user.auth(), amount).await.expect(200);
    }
    let first = app
        .get(&format!("{TRANSACTIONS}?limit=2"), &user.auth())
        .await
        .expect(200);
    let cursor = first.body["nextCursor"]
        .as_str()
        .expect("a next page")
        .to_owned();

    // Act: a new top-up lands before the client asks for the next page.
    app.topup(&user.auth(), "9.00").await.expect(200);
    let second = app
        .get(
            &format!("{TRANSACTIONS}?limit=2&cursor={cursor}"),
            &user.auth(),
        )
        .await;

    // Assert
    let second = second.expect(200);
    let amounts =
        |reply: &Reply| -> Vec<String> { movements(reply).into_iter().map(|m| m.1).collect() };
    assert_eq!(amounts(&first), ["4.00", "3.00"]);
    assert_eq!(
        amounts(&second),
        ["2.00", "1.00"],
        "the page after the cursor is where the client left off"
    );
    assert_eq!(second.body["total"], 5, "the total counts the new top-up");
    assert!(second.body.get("nextCursor").is_none());
}

#[tokio::test]
async fn a_session_shows_its_payment_and_the_refund_of_what_it_did_not_use() {
    // Arrange
    let app = spawn_app().await;
    let consumer = app.signup().await;
    let provider = app.signup().await;
    app.topup(&consumer.auth(), "10.00").await.expect(200);
    let tenant = app.tenant_row("default").await;
    let used = settled_session(
        &app,
        "default",
        &consumer,
        &provider,
        terms(PricingModel::PerMinute, "0.10", "CNY"),
        Usage {
            active: Duration::from_secs(90),
            tokens: 0,
        },
    )
    .await;
    let voided = Uuid::now_v7();
    app.place_hold(
        &tenant,
        voided,
        &consumer,
        &provider,
        terms(PricingModel::PerSession, "2.00", "CNY"),
    )
    .await
    .expect("held");
    app.void(&tenant, voided).await.expect("voided");

    // Act
    let reply = app.get(TRANSACTIONS, &consumer.auth()).await;

    // Assert
    let reply = reply.expect(200);
    assert_eq!(
        movements(&reply),
        [
            movement("refund", "2.00", "CNY", "9.80"),
            movement("payment", "-2.00", "CNY", "7.80"),
            movement("refund", "5.80", "CNY", "9.80"),
            movement("payment", "-6.00", "CNY", "4.00"),
            movement("topup", "10.00", "CNY", "10.00"),
        ],
        "a 60-minute hold of 6.00, 2 minutes used; a 2.00 hold voided"
    );
    let references: Vec<&Value> = items(&reply)[..4]
        .iter()
        .map(|t| &t["referenceId"])
        .collect();
    let (voided, used) = (json!(voided.to_string()), json!(used.to_string()));
    assert_eq!(references, [&voided, &voided, &used, &used]);
    assert_eq!(reply.body["total"], 5);
    let earned = app.get(TRANSACTIONS, &provider.auth()).await.expect(200);
    assert_eq!(
        movements(&earned),
        [movement("income", "0.17", "CNY", "0.17")]
    );
}

#[tokio::test]
async fn a_cursor_is_only_valid_for_its_own_user_and_filter() {
    // Arrange
    let app = spawn_app().await;
    let owner = app.signup().await;
    let other = app.signup().await;
    for amount in ["1.00", "2.00", "3.00"] {
        app.topup(&owner.auth(), amount).await.expect(200);
        app.topup(&other.auth(), amount).await.expect(200);
    }
    let cursor_of = |reply: Reply| {
        reply.body["nextCursor"]
            .as_str()
            .expect("a next page")
            .to_owned()
    };
    let unfiltered = cursor_of(
        app.get(&format!("{TRANSACTIONS}?limit=1"), &owner.auth())
            .await
            .expect(200),
    );
    let in_cny = cursor_of(
        app.get(
            &format!("{TRANSACTIONS}?limit=1&currency=CNY"),
            &owner.auth(),
        )
        .await
        .expect(200),
    );
    let truncated = unfiltered[..unfiltered.len() - 4].to_owned();
    let cases = [
        (
            owner.auth(),
            "cursor=not-a-cursor".to_owned(),
            "a garbage cursor",
        ),
        (
            owner.auth(),
            format!("cursor={truncated}"),
            "a truncated cursor",
        ),
        (
            other.auth(),
            format!("cursor={unfiltered}"),
            "another user's cursor",
        ),
        (
            owner.auth(),
            format!("cursor={unfiltered}&currency=CNY"),
            "an unfiltered cursor with a currency filter",
        ),
        (
            owner.auth(),
            format!("cursor={in_cny}&currency=USD"),
            "a CNY cursor with another currency",
        ),
        (
            owner.auth(),
            format!("cursor={in_cny}"),
            "a CNY cursor without the filter",
        ),
    ];

    for (auth, query, why) in cases {
        // Act
        let reply = app.get(&format!("{TRANSACTIONS}?{query}"), &auth).await;

        // Assert
        assert_eq!(reply.status.as_u16(), 400, "{why}: {}", reply.text);
        assert_eq!(reply.body["error"], "VALIDATION_ERROR", "{why}");
        assert!(
            reply.body["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("cursor: ")),
            "{why}: {}",
            reply.text
        );
    }
    // The cursors themselves work where they belong.
    app.get(
        &format!("{TRANSACTIONS}?cursor={unfiltered}"),
        &owner.auth(),
    )
    .await
    .expect(200);
    app.get(
        &format!("{TRANSACTIONS}?cursor={in_cny}&currency=CNY"),
        &owner.auth(),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn transactions_refuse_an_invalid_page_or_limit() {
    // Arrange
    let app = spawn_app().await;
    let user = app.signup().await;
    let cases = [
        ("limit=0", "limit: ", "a zero limit"),
        ("limit=101", "limit: ", "a limit above 100"),
        ("limit=ten", "limit: ", "a limit that is not a number"),
        ("page=0", "page: ", "page zero"),
        ("page=-1", "page: ", "a negative page"),
        ("page=502&limit=20", "page: ", "a page past offset 10000"),
    ];

    for (query, prefix, why) in cases {
        // Act
        let reply = app
            .get(&format!("{TRANSACTIONS}?{query}"), &user.auth())
            .await;

        // Assert
        assert_eq!(reply.status.as_u16(), 400, "{why}: {}", reply.text);
        assert_eq!(reply.body["error"], "VALIDATION_ERROR", "{why}");
        assert!(
            reply.body["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(prefix)),
            "{why}: {}",
            reply.text
        );
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
    app.post(
        TOPUP,
        &there.auth(),
        &json!({ "amount": "3.00", "currency": "USD" }),
    )
    .await
    .expect(200);

    // Assert
    assert_eq!(theirs_before.body["balance"], "0.00");
    assert_eq!(app.balance(&there, Some("USD")).await, dec("3"));
    assert_eq!(app.balance(&there, Some("CNY")).await, dec("0"));
    assert_eq!(app.balance(&here, Some("USD")).await, dec("0"));
    assert_eq!(app.balance(&here, Some("CNY")).await, dec("15"));
    let there_tx = app.get(TRANSACTIONS, &there.auth()).await.expect(200);
    assert_eq!(there_tx.body["total"], 1);
    let tenants: i64 = sqlx::query_scalar("SELECT count(DISTINCT tenant_id) FROM wallets")
        .fetch_one(&app.db)
        .await
        .expect("query");
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

// ---------------------------------------------------------------------------------------------
// Admin: adjustments and wallets of a user
// ---------------------------------------------------------------------------------------------

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

    let audit = app
        .get(
            &format!("/api/admin/audit?targetId={}", user.id),
            &admin.auth(),
        )
        .await
        .expect(200);
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

    let audit = app
        .get(
            &format!("/api/admin/audit?targetId={}", user.id),
            &admin.auth(),
        )
        .await
        .expect(200);
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
        assert_eq!(reply.status.as_u16(), 400, "{why}: {}", reply.text);
        assert_eq!(reply.body["error"], "VALIDATION_ERROR", "{why}");
        assert!(
            reply.body["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(prefix)),
            "{why}: {}",
            reply.text
        );
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
    app.post(
        TOPUP,
        &user.auth(),
        &json!({ "amount": "1.50", "currency": "USD" }),
    )
    .await
    .expect(200);
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

// ---------------------------------------------------------------------------------------------
// Admin: revenue, settlements and the ledger verifier
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn revenue_sums_the_platform_fees_per_currency() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let consumer = app.signup().await;
    let provider = app.signup().await;
    app.topup(&consumer.auth(), "100.00").await.expect(200);
    app.post(
        TOPUP,
        &consumer.auth(),
        &json!({ "amount": "100.00", "currency": "USD" }),
    )
    .await
    .expect(200);
    let empty = app
        .get("/api/admin/ledger/revenue", &admin.auth())
        .await
        .expect(200);
    per_session(&app, &consumer, &provider, "5.00", "CNY").await;
    per_session(&app, &consumer, &provider, "1.00", "CNY").await;
    settled_session(
        &app,
        "default",
        &consumer,
        &provider,
        terms(PricingModel::PerMinute, "0.10", "USD"),
        Usage {
            active: Duration::from_secs(90),
            tokens: 0,
        },
    )
    .await;

    // Act
    let revenue = app.get("/api/admin/ledger/revenue", &admin.auth()).await;

    // Assert
    assert_eq!(empty.body, json!({ "data": [] }), "no fees before settling");
    let revenue = revenue.expect(200);
    assert_eq!(
        revenue.body,
        json!({
            "data": [
                { "currency": "CNY", "platformFee": "0.9000", "entries": 2 },
                { "currency": "USD", "platformFee": "0.0300", "entries": 1 },
            ],
        }),
        "5.00 and 1.00 CNY at 15 %, and two started minutes at 0.10 USD"
    );
}

#[tokio::test]
async fn a_clean_ledger_passes_every_check() {
    // Arrange: top-ups in two currencies, a settled and a voided session, a credit and a debit.
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let consumer = app.signup().await;
    let provider = app.signup().await;
    app.topup(&consumer.auth(), "50.00").await.expect(200);
    app.post(
        TOPUP,
        &consumer.auth(),
        &json!({ "amount": "20.00", "currency": "USD" }),
    )
    .await
    .expect(200);
    per_session(&app, &consumer, &provider, "5.00", "CNY").await;
    settled_session(
        &app,
        "default",
        &consumer,
        &provider,
        terms(PricingModel::PerMinute, "0.10", "USD"),
        Usage {
            active: Duration::from_secs(61),
            tokens: 0,
        },
    )
    .await;
    let tenant = app.tenant_row("default").await;
    let voided = Uuid::now_v7();
    app.place_hold(
        &tenant,
        voided,
        &consumer,
        &provider,
        terms(PricingModel::PerSession, "3.00", "CNY"),
    )
    .await
    .expect("held");
    app.void(&tenant, voided).await.expect("voided");
    for direction in ["credit", "debit"] {
        app.post(
            &adjustments(&provider),
            &admin.auth(),
            &json!({ "type": direction, "amount": "1.25", "reason": "Correction" }),
        )
        .await
        .expect(200);
    }

    // Act
    let report = verify(&app, &admin).await;

    // Assert
    assert_eq!(report.body["ok"], true, "{}", report.text);
    let checks = report.body["checks"].as_array().expect("checks");
    let names: Vec<&str> = checks
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, CHECKS);
    for check in checks {
        assert_eq!(check["ok"], true, "{check}");
        assert_eq!(check["violations"], 0, "{check}");
        assert_eq!(check["examples"], json!([]), "{check}");
        assert!(
            check["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{check}"
        );
    }
    assert!(report.body["checkedAt"].is_string());
}

/// A way to break the ledger behind the application's back.
#[derive(Clone, Copy, Debug)]
enum Corruption {
    /// The wallet's balance moves without a posting.
    WalletDrift,
    /// A journal entry with one posting on the clearing account: money from nowhere.
    UnbalancedEntry,
    /// A balanced entry whose wallet posting records a wrong balanceAfter.
    WrongBalanceAfter,
    /// A lone posting into a wallet, outside any balanced entry, without touching the wallet.
    LoneWalletPosting,
}

/// What a corruption touched: the wallet, and the entry and posting it inserted (if any).
struct Broken {
    wallet: String,
    entry: Option<String>,
    posting: Option<String>,
}

async fn insert_entry(app: &TestApp, tenant: Uuid) -> String {
    let entry = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO ledger_entries (id, tenant_id, kind, currency, reference_id, memo, created_at)
         VALUES ($1, $2, 'topup', 'CNY', $1, 'inserted behind the app''s back', now())",
    )
    .bind(entry)
    .bind(tenant)
    .execute(&app.db)
    .await
    .expect("insert entry");
    entry.to_string()
}

/// Inserts one posting of `amount` into `entry`; a wallet posting when `wallet` is given (with
/// `balance_after`), else on the tenant's payment-clearing account. Returns the posting id.
async fn insert_posting(
    app: &TestApp,
    tenant: Uuid,
    entry: &str,
    wallet: Option<(&str, &str, &str)>,
    amount: &str,
) -> String {
    let (account, account_id, user, balance_after) = match wallet {
        Some((wallet, user, balance_after)) => (
            "wallet",
            wallet.to_owned(),
            Some(user.to_owned()),
            Some(balance_after.to_owned()),
        ),
        None => ("payment_clearing", tenant.to_string(), None, None),
    };
    sqlx::query_scalar(
        "INSERT INTO ledger_postings (entry_id, tenant_id, account, account_id, currency, amount,
                                      tx_type, reference_id, user_id, balance_after, created_at)
         VALUES ($1::uuid, $2, $3::ledger_account, $4::uuid, 'CNY', $5::numeric, 'topup', $1::uuid,
                 $6::uuid, $7::numeric, now())
         RETURNING id::text",
    )
    .bind(entry)
    .bind(tenant)
    .bind(account)
    .bind(account_id)
    .bind(amount)
    .bind(user)
    .bind(balance_after)
    .fetch_one(&app.db)
    .await
    .expect("insert posting")
}

impl Corruption {
    /// Breaks the ledger of `tenant`, where `user` holds 10.00 CNY in `wallet`.
    async fn apply(self, app: &TestApp, tenant: Uuid, user: &TestUser, wallet: &str) -> Broken {
        let broken = |entry, posting| Broken {
            wallet: wallet.to_owned(),
            entry,
            posting,
        };
        match self {
            Corruption::WalletDrift => {
                sqlx::query("UPDATE wallets SET balance = balance + 1 WHERE id = $1::uuid")
                    .bind(wallet)
                    .execute(&app.db)
                    .await
                    .expect("drift");
                broken(None, None)
            }
            Corruption::UnbalancedEntry => {
                let entry = insert_entry(app, tenant).await;
                let posting = insert_posting(app, tenant, &entry, None, "-1").await;
                broken(Some(entry), Some(posting))
            }
            Corruption::WrongBalanceAfter => {
                let entry = insert_entry(app, tenant).await;
                sqlx::query(
                    "UPDATE wallets SET balance = balance + 1, postings = postings + 1
                     WHERE id = $1::uuid",
                )
                .bind(wallet)
                .execute(&app.db)
                .await
                .expect("credit");
                // The running sum is 11.00; the posting claims 111.00.
                let posting =
                    insert_posting(app, tenant, &entry, Some((wallet, &user.id, "111")), "1").await;
                insert_posting(app, tenant, &entry, None, "-1").await;
                broken(Some(entry), Some(posting))
            }
            Corruption::LoneWalletPosting => {
                let entry = insert_entry(app, tenant).await;
                let posting =
                    insert_posting(app, tenant, &entry, Some((wallet, &user.id, "999")), "1").await;
                broken(Some(entry), Some(posting))
            }
        }
    }

    /// The checks that must fail, each with the example it must name.
    fn failing(self, broken: &Broken) -> Vec<(&'static str, String)> {
        let entry = || broken.entry.clone().expect("an entry");
        let posting = || broken.posting.clone().expect("a posting");
        match self {
            Corruption::WalletDrift => {
                vec![("wallets_equal_their_postings", broken.wallet.clone())]
            }
            Corruption::UnbalancedEntry => vec![
                ("currency_postings_sum_to_zero", "CNY".to_owned()),
                ("entries_balance", entry()),
            ],
            Corruption::WrongBalanceAfter => vec![("wallet_history_is_consistent", posting())],
            Corruption::LoneWalletPosting => vec![
                ("currency_postings_sum_to_zero", "CNY".to_owned()),
                ("entries_balance", entry()),
                ("wallets_equal_their_postings", broken.wallet.clone()),
                ("wallet_history_is_consistent", posting()),
            ],
        }
    }
}

#[tokio::test]
async fn the_verifier_names_each_kind_of_corruption_and_where_it_is() {
    let app = spawn_app().await;
    let default_admin = app.default_admin().await;
    let cases = [
        Corruption::WalletDrift,
        Corruption::UnbalancedEntry,
        Corruption::WrongBalanceAfter,
        Corruption::LoneWalletPosting,
    ];

    for corruption in cases {
        // Arrange: a marketplace of its own with a clean ledger (13.00 topped up, 3.00 spent).
        let slug = app.create_tenant("corrupt").await;
        let tenant = app.tenant_id(&slug).await;
        let admin = app.admin_in(&slug).await;
        let user = app.signup_in(Some(&slug)).await;
        let provider = app.signup_in(Some(&slug)).await;
        app.topup(&user.auth(), "13.00").await.expect(200);
        settled_session(
            &app,
            &slug,
            &user,
            &provider,
            terms(PricingModel::PerSession, "3.00", "CNY"),
            Usage::default(),
        )
        .await;
        assert_eq!(app.balance(&user, None).await, dec("10"));
        let clean = verify(&app, &admin).await;
        assert_eq!(clean.body["ok"], true, "{corruption:?}: {}", clean.text);
        let wallet: String = sqlx::query_scalar(
            "SELECT id::text FROM wallets WHERE user_id = $1::uuid AND currency = 'CNY'",
        )
        .bind(&user.id)
        .fetch_one(&app.db)
        .await
        .expect("wallet");

        // Act
        let broken = corruption.apply(&app, tenant, &user, &wallet).await;
        let report = verify(&app, &admin).await;

        // Assert
        assert_eq!(
            report.body["ok"], false,
            "{corruption:?} is detected: {}",
            report.text
        );
        let failing = corruption.failing(&broken);
        for name in CHECKS {
            let found = check(&report, name);
            match failing.iter().find(|(n, _)| *n == name) {
                Some((_, example)) => {
                    assert_eq!(found["ok"], false, "{corruption:?}: {name} fails: {found}");
                    assert_eq!(found["violations"], 1, "{corruption:?}: {found}");
                    assert_eq!(
                        found["examples"],
                        json!([example]),
                        "{corruption:?}: {name} names the culprit"
                    );
                }
                None => {
                    assert_eq!(
                        found["ok"], true,
                        "{corruption:?}: {name} still holds: {found}"
                    );
                    assert_eq!(found["examples"], json!([]), "{corruption:?}: {found}");
                }
            }
        }
        let elsewhere = verify(&app, &default_admin).await;
        assert_eq!(
            elsewhere.body["ok"], true,
            "{corruption:?}: another marketplace's ledger is not affected"
        );
    }
}

#[tokio::test]
async fn a_settlement_record_appears_only_after_settling_and_only_in_its_marketplace() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let slug = app.create_tenant("settle").await;
    let foreign_admin = app.admin_in(&slug).await;
    let consumer = app.signup().await;
    let provider = app.signup().await;
    app.post(
        TOPUP,
        &consumer.auth(),
        &json!({ "amount": "10.00", "currency": "USD" }),
    )
    .await
    .expect(200);
    let tenant = app.tenant_row("default").await;
    let session = Uuid::now_v7();
    let path = format!("/api/admin/ledger/settlements/{session}");
    let unknown = app.get(&path, &admin.auth()).await;
    app.place_hold(
        &tenant,
        session,
        &consumer,
        &provider,
        terms(PricingModel::PerMinute, "0.10", "USD"),
    )
    .await
    .expect("held");
    let while_held = app.get(&path, &admin.auth()).await;
    let resolved = app
        .settle(
            &tenant,
            session,
            Usage {
                active: Duration::from_secs(90),
                tokens: 0,
            },
        )
        .await
        .expect("settled");
    assert!(!resolved.replayed);

    let voided = Uuid::now_v7();
    app.place_hold(
        &tenant,
        voided,
        &consumer,
        &provider,
        terms(PricingModel::PerSession, "1.00", "USD"),
    )
    .await
    .expect("held");
    app.void(&tenant, voided).await.expect("voided");

    // Act
    let settled = app.get(&path, &admin.auth()).await;
    let from_elsewhere = app.get(&path, &foreign_admin.auth()).await;
    let of_a_voided_session = app
        .get(
            &format!("/api/admin/ledger/settlements/{voided}"),
            &admin.auth(),
        )
        .await;
    let malformed = app
        .get("/api/admin/ledger/settlements/not-a-uuid", &admin.auth())
        .await;

    // Assert
    unknown.expect_error(404, "NOT_FOUND");
    of_a_voided_session.expect_error(404, "NOT_FOUND");
    malformed.expect_error(400, "VALIDATION_ERROR");
    while_held.expect_error(404, "NOT_FOUND");
    let settled = settled.expect(200);
    assert_eq!(
        keys(&settled.body),
        [
            "amount",
            "currency",
            "feeRate",
            "platformFee",
            "providerIncome",
            "refund",
            "sessionId",
            "settledAt",
            "transactionId",
            "units"
        ]
    );
    assert_eq!(settled.body["sessionId"], session.to_string());
    assert_eq!(settled.body["currency"], "USD");
    assert_eq!(settled.body["units"], 2, "90 s is two started minutes");
    assert_eq!(settled.body["amount"], "0.2000");
    assert_eq!(settled.body["platformFee"], "0.0300");
    assert_eq!(settled.body["providerIncome"], "0.1700");
    assert_eq!(
        settled.body["refund"], "5.8000",
        "the unused part of the 60-minute hold"
    );
    assert_eq!(settled.body["feeRate"], "0.1500");
    assert!(
        settled.body["transactionId"]
            .as_str()
            .is_some_and(|id| id.parse::<Uuid>().is_ok())
    );
    from_elsewhere.expect_error(404, "NOT_FOUND");
    assert_eq!(app.balance(&consumer, Some("USD")).await, dec("9.80"));
    assert_eq!(app.balance(&provider, Some("USD")).await, dec("0.17"));
}

// ---------------------------------------------------------------------------------------------
// Every endpoint × every kind of caller
// ---------------------------------------------------------------------------------------------

/// The callers, in the column order of every expectation row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Anonymous,
    /// The wallet's owner with their JWT.
    Owner,
    /// The owner with their API key.
    OwnerApiKey,
    /// A token of one of the owner's agents (acts as the owner).
    AgentToken,
    /// Another user of the same marketplace.
    OtherUser,
    /// The marketplace's admin.
    Admin,
    /// A user of another marketplace, in their marketplace.
    ForeignUser,
    /// The same foreign user's JWT sent to the owner's marketplace.
    ForeignTokenHere,
    /// The other marketplace's admin, in their marketplace.
    ForeignAdmin,
}

const PRINCIPALS: [Who; 9] = [
    Who::Anonymous,
    Who::Owner,
    Who::OwnerApiKey,
    Who::AgentToken,
    Who::OtherUser,
    Who::Admin,
    Who::ForeignUser,
    Who::ForeignTokenHere,
    Who::ForeignAdmin,
];

#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Served about the owner's money.
    Allowed(u16),
    /// Served, about the caller's own money: nothing of the owner's is shown or changed.
    Blind(u16),
    /// Refused with this status and code: only the error envelope, nothing changes.
    Denied(u16, &'static str),
}

const OK: Expect = Expect::Allowed(200);
const BLIND: Expect = Expect::Blind(200);
const ANON: Expect = Expect::Denied(401, "UNAUTHORIZED");
const BAD_TOKEN: Expect = Expect::Denied(401, "INVALID_TOKEN");
const FORBIDDEN: Expect = Expect::Denied(403, "FORBIDDEN");
const NOT_FOUND: Expect = Expect::Denied(404, "NOT_FOUND");

/// The owner's money: any credential of the owner; everyone else sees their own.
const OWN_MONEY: [Expect; 9] = [ANON, OK, OK, OK, BLIND, BLIND, BLIND, BAD_TOKEN, BLIND];
/// About the owner, for the owner's marketplace admin only.
const ADMIN_ABOUT_OWNER: [Expect; 9] = [
    ANON, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, BAD_TOKEN, NOT_FOUND,
];
/// A marketplace-wide admin read: each admin sees their own marketplace.
const ADMIN_OF_ANY_MARKETPLACE: [Expect; 9] = [
    ANON, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, BAD_TOKEN, BLIND,
];

/// What an allowed reply must show.
#[derive(Clone, Copy, Debug)]
enum Shows {
    Nothing,
    OwnerBalance,
    OwnerId,
    Session,
    Fee,
}

struct Row {
    method: Method,
    /// `{user}` is the owner's id, `{session}` the owner's settled session.
    path: &'static str,
    body: Option<Value>,
    shows: Shows,
    expect: [Expect; 9],
}

impl Row {
    fn writes(&self) -> bool {
        self.method != Method::GET
    }
}

struct MoneyWorld {
    app: TestApp,
    owner: TestUser,
    agent_token: String,
    other: TestUser,
    admin: TestUser,
    foreign: TestUser,
    foreign_admin: TestUser,
    session: Uuid,
}

/// The session's price: its 15 % fee, 1.1655, is a marker no other reply contains.
const SESSION_PRICE: &str = "7.77";
const SESSION_FEE: &str = "1.1655";

async fn money_world() -> MoneyWorld {
    let app = spawn_app().await;
    let owner = app.signup().await;
    let provider = app.signup().await;
    let other = app.signup().await;
    let admin = app.default_admin().await;
    let slug = app.create_tenant("foreign").await;
    let foreign = app.signup_in(Some(&slug)).await;
    let foreign_admin = app.admin_in(&slug).await;
    app.topup(&owner.auth(), "4321.09").await.expect(200);
    let session = per_session(&app, &owner, &provider, SESSION_PRICE, "CNY").await;
    let agent = app
        .create_agent(&owner, &unique_slug("money"), json!({}))
        .await;
    let agent_token = app.agent_token(&owner, &agent).await;
    MoneyWorld {
        app,
        owner,
        agent_token,
        other,
        admin,
        foreign,
        foreign_admin,
        session,
    }
}

impl MoneyWorld {
    fn auth(&self, who: Who) -> Auth {
        match who {
            Who::Anonymous => Auth::none(),
            Who::Owner => self.owner.auth(),
            Who::OwnerApiKey => Auth::api_key(&self.owner.api_key),
            Who::AgentToken => Auth::bearer(&self.agent_token),
            Who::OtherUser => self.other.auth(),
            Who::Admin => self.admin.auth(),
            Who::ForeignUser => self.foreign.auth(),
            Who::ForeignTokenHere => Auth::bearer(&self.foreign.token),
            Who::ForeignAdmin => self.foreign_admin.auth(),
        }
    }

    async fn owner_balance(&self) -> String {
        let wallet = self.app.get(WALLET, &self.owner.auth()).await.expect(200);
        wallet.body["balance"].as_str().expect("balance").to_owned()
    }

    /// The owner's facts that must not appear in a reply that is not about the owner.
    fn leaks(&self, path: &str, balance: &str, reply: &Reply) -> Vec<String> {
        let session = self.session.to_string();
        let mut markers = vec![
            ("email", self.owner.email.as_str()),
            ("balance", balance),
            ("fee revenue", SESSION_FEE),
        ];
        if !path.contains(&self.owner.id) {
            markers.push(("id", self.owner.id.as_str()));
        }
        if !path.contains(&session) {
            markers.push(("session", session.as_str()));
        }
        markers
            .into_iter()
            .filter(|(_, marker)| reply.text.contains(marker))
            .map(|(what, _)| format!("the reply reveals the owner's {what}: {}", reply.text))
            .collect()
    }
}

/// The owner's state and the whole money state, before and after one call.
struct Observed {
    owner_before: String,
    owner_after: String,
    all_before: String,
    all_after: String,
}

fn judge(
    w: &MoneyWorld,
    row: &Row,
    expect: Expect,
    path: &str,
    balance: &str,
    reply: &Reply,
    seen: &Observed,
) -> Vec<String> {
    let status = match expect {
        Expect::Allowed(s) | Expect::Blind(s) | Expect::Denied(s, _) => s,
    };
    if reply.status.as_u16() != status {
        return vec![format!(
            "expected {status}, got {}: {}",
            reply.status.as_u16(),
            reply.text
        )];
    }
    let owner_unchanged = seen.owner_before == seen.owner_after;
    let all_unchanged = seen.all_before == seen.all_after;
    let mut problems = Vec::new();
    if !row.writes() && !all_unchanged {
        problems.push(format!(
            "a read changed data:\n  {}\n  {}",
            seen.all_before, seen.all_after
        ));
    }
    match expect {
        Expect::Allowed(_) => {
            let session = w.session.to_string();
            let marker = match row.shows {
                Shows::Nothing => None,
                Shows::OwnerBalance => Some(balance),
                Shows::OwnerId => Some(w.owner.id.as_str()),
                Shows::Session => Some(session.as_str()),
                Shows::Fee => Some(SESSION_FEE),
            };
            if let Some(marker) = marker
                && !reply.text.contains(marker)
            {
                problems.push(format!(
                    "the reply does not show {:?} ({marker}): {}",
                    row.shows, reply.text
                ));
            }
            if row.writes() && owner_unchanged {
                problems.push("the allowed write did not change the owner's money".to_owned());
            }
        }
        Expect::Blind(_) => {
            problems.extend(w.leaks(path, balance, reply));
            if !owner_unchanged {
                problems.push(format!(
                    "the owner's money changed:\n  {}\n  {}",
                    seen.owner_before, seen.owner_after
                ));
            }
        }
        Expect::Denied(_, code) => {
            if reply.body["error"] != code {
                problems.push(format!("expected error {code}: {}", reply.text));
            }
            let envelope_only = reply.body.as_object().is_some_and(|map| {
                map.keys()
                    .all(|k| ["error", "message", "details"].contains(&k.as_str()))
            });
            if !envelope_only {
                problems.push(format!("not just the error envelope: {}", reply.text));
            }
            problems.extend(w.leaks(path, balance, reply));
            if !all_unchanged {
                problems.push(format!(
                    "a refused call changed data:\n  {}\n  {}",
                    seen.all_before, seen.all_after
                ));
            }
        }
    }
    problems
}

#[tokio::test]
async fn every_billing_endpoint_refuses_the_wrong_principal() {
    let w = money_world().await;
    let rows = [
        Row {
            method: Method::GET,
            path: "/api/billing/wallet",
            body: None,
            shows: Shows::OwnerBalance,
            expect: OWN_MONEY,
        },
        Row {
            method: Method::GET,
            path: "/api/billing/wallet/transactions",
            body: None,
            shows: Shows::Session,
            expect: OWN_MONEY,
        },
        Row {
            method: Method::POST,
            path: "/api/billing/wallet/topup",
            body: Some(json!({ "amount": "1.00" })),
            shows: Shows::Nothing,
            expect: OWN_MONEY,
        },
        Row {
            method: Method::POST,
            path: "/api/admin/wallets/{user}/adjustments",
            body: Some(json!({ "type": "credit", "amount": "1.00", "reason": "Authz table" })),
            shows: Shows::OwnerId,
            expect: ADMIN_ABOUT_OWNER,
        },
        Row {
            method: Method::GET,
            path: "/api/admin/wallets/{user}",
            body: None,
            shows: Shows::OwnerId,
            expect: ADMIN_ABOUT_OWNER,
        },
        Row {
            method: Method::GET,
            path: "/api/admin/ledger/revenue",
            body: None,
            shows: Shows::Fee,
            expect: ADMIN_OF_ANY_MARKETPLACE,
        },
        Row {
            method: Method::GET,
            path: "/api/admin/ledger/verify",
            body: None,
            shows: Shows::Nothing,
            expect: ADMIN_OF_ANY_MARKETPLACE,
        },
        Row {
            method: Method::GET,
            path: "/api/admin/ledger/settlements/{session}",
            body: None,
            shows: Shows::Session,
            expect: ADMIN_ABOUT_OWNER,
        },
    ];

    let mut failures = Vec::new();
    let mut calls = 0;
    for row in &rows {
        for (who, expect) in PRINCIPALS.into_iter().zip(row.expect) {
            // Arrange
            let path = row
                .path
                .replace("{user}", &w.owner.id)
                .replace("{session}", &w.session.to_string());
            let balance = w.owner_balance().await;
            let owner_before = user_snapshot(&w.app, &w.owner).await;
            let all_before = money_snapshot(&w.app).await;

            // Act
            let mut request = w.app.request(row.method.clone(), &path, &w.auth(who));
            if let Some(body) = &row.body {
                request = request.json(body);
            }
            let reply = read(request.send().await.expect("request")).await;

            // Assert
            let seen = Observed {
                owner_before,
                owner_after: user_snapshot(&w.app, &w.owner).await,
                all_before,
                all_after: money_snapshot(&w.app).await,
            };
            calls += 1;
            for problem in judge(&w, row, expect, &path, &balance, &reply, &seen) {
                failures.push(format!(
                    "{} {} as {who:?} (expected {expect:?}): {problem}",
                    row.method, row.path
                ));
            }
        }
    }
    assert_eq!(calls, rows.len() * PRINCIPALS.len());
    assert!(
        failures.is_empty(),
        "{} of {calls} billing authorization checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
