//! Settlement arithmetic through the hold/settle/void service, checked against the wallets
//! (HTTP), the settlements table, the platform-fee postings and the admin ledger verification:
//! the hold by pricing model, the charge by usage (capped at the hold), the fee rounded half to
//! even at 4 decimals, refunds, overspends that leave no trace, and per-session idempotency.

use crate::helpers::{Auth, TestApp, TestUser, spawn_app, spawn_app_with};
use crate::money_helpers::{dec, terms};
use clawrent_api::agents::domain::PricingModel;
use clawrent_api::billing::domain::{PricingTerms, Usage};
use clawrent_api::billing::holds::{Resolution, Resolved};
use clawrent_api::billing::repo::SettlementRow;
use clawrent_api::error::ErrorCode;
use clawrent_api::tenancy::domain::Tenant;
use rust_decimal::Decimal;
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

fn usage(secs: u64, tokens: u64) -> Usage {
    Usage {
        active: Duration::from_secs(secs),
        tokens,
    }
}

/// The settlement of a resolution that must be one.
fn settled(resolved: &Resolved) -> &SettlementRow {
    match &resolved.resolution {
        Resolution::Settled(s) => s,
        Resolution::Voided(h) => panic!("expected a settlement, got a void of {h:?}"),
    }
}

/// GET /api/admin/ledger/verify as `admin` reports every invariant intact.
async fn assert_ledger_ok(app: &TestApp, admin: &TestUser) {
    let report = app
        .get("/api/admin/ledger/verify", &admin.auth())
        .await
        .expect(200);
    assert_eq!(report.body["ok"], true, "{}", report.text);
}

/// The settlements row of a session: units, amount, fee, income, refund, fee rate.
type StoredSettlement = (i64, Decimal, Decimal, Decimal, Decimal, Decimal);

async fn stored_settlement(app: &TestApp, session: Uuid) -> Option<StoredSettlement> {
    sqlx::query_as(
        "SELECT units, amount, platform_fee, provider_income, refund, fee_rate
         FROM settlements WHERE session_id = $1",
    )
    .bind(session)
    .fetch_optional(&app.db)
    .await
    .expect("settlement query")
}

/// How many journal entries of `kind` a session has.
async fn entries_of(app: &TestApp, session: Uuid, kind: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM ledger_entries WHERE reference_id = $1 AND kind::text = $2",
    )
    .bind(session)
    .bind(kind)
    .fetch_one(&app.db)
    .await
    .expect("entries query")
}

/// What the platform-fee account received from one journal entry.
async fn fee_posted(app: &TestApp, entry: Uuid) -> Decimal {
    sqlx::query_scalar(
        "SELECT coalesce(sum(amount), 0) FROM ledger_postings
         WHERE entry_id = $1 AND account = 'platform_fee'",
    )
    .bind(entry)
    .fetch_one(&app.db)
    .await
    .expect("fee query")
}

/// One settlement case: the terms, the usage, and the expected hold and split.
struct Case {
    name: &'static str,
    terms: PricingTerms,
    usage: Usage,
    hold: &'static str,
    units: i64,
    charge: &'static str,
    fee: &'static str,
    income: &'static str,
}

impl Case {
    #[allow(clippy::too_many_arguments)]
    fn new(
        name: &'static str,
        terms: PricingTerms,
        usage: Usage,
        hold: &'static str,
        units: i64,
        charge: &'static str,
        fee: &'static str,
        income: &'static str,
    ) -> Self {
        Self {
            name,
            terms,
            usage,
            hold,
            units,
            charge,
            fee,
            income,
        }
    }
}

/// Places the case's hold, settles it, and checks the hold, the split, both wallets (over HTTP),
/// the settlements row and the fee posting. Returns the settlement.
async fn run_case(
    app: &TestApp,
    tenant: &Tenant,
    consumer: &TestUser,
    provider: &TestUser,
    case: &Case,
) -> SettlementRow {
    let name = case.name;
    let currency = case.terms.currency.clone();
    let cur = Some(currency.as_str());
    let consumer_before = app.balance(consumer, cur).await;
    let provider_before = app.balance(provider, cur).await;
    let session = Uuid::now_v7();

    let placed = app
        .place_hold(tenant, session, consumer, provider, case.terms.clone())
        .await
        .unwrap_or_else(|e| panic!("{name}: hold refused: {e}"));
    assert!(!placed.replayed, "{name}");
    assert_eq!(placed.hold.amount, dec(case.hold), "{name}: hold amount");
    assert_eq!(
        app.balance(consumer, cur).await,
        consumer_before - dec(case.hold),
        "{name}: the hold leaves the consumer's wallet"
    );
    assert_eq!(app.balance(provider, cur).await, provider_before, "{name}");

    let resolved = app
        .settle(tenant, session, case.usage)
        .await
        .unwrap_or_else(|e| panic!("{name}: settle failed: {e}"));
    assert!(!resolved.replayed, "{name}");
    let s = settled(&resolved).clone();
    let refund = dec(case.hold) - dec(case.charge);
    assert_eq!(
        (
            s.units,
            s.amount,
            s.platform_fee,
            s.provider_income,
            s.refund
        ),
        (
            case.units,
            dec(case.charge),
            dec(case.fee),
            dec(case.income),
            refund
        ),
        "{name}: units, charge, fee, income, refund"
    );
    assert_eq!(s.provider_income + s.platform_fee, s.amount, "{name}");
    assert_eq!(s.amount + s.refund, placed.hold.amount, "{name}");
    assert_eq!(s.fee_rate, tenant.fee_rate, "{name}");
    assert_eq!(s.currency, currency, "{name}");

    assert_eq!(
        app.balance(consumer, cur).await,
        consumer_before - dec(case.charge),
        "{name}: the consumer pays the charge and gets the rest of the hold back"
    );
    assert_eq!(
        app.balance(provider, cur).await,
        provider_before + dec(case.income),
        "{name}: the provider receives the charge minus the fee"
    );

    let stored = stored_settlement(app, session)
        .await
        .unwrap_or_else(|| panic!("{name}: no settlements row"));
    assert_eq!(
        stored,
        (
            case.units,
            dec(case.charge),
            dec(case.fee),
            dec(case.income),
            refund,
            tenant.fee_rate
        ),
        "{name}: the settlements row"
    );
    assert_eq!(
        fee_posted(app, s.entry_id).await,
        dec(case.fee),
        "{name}: the fee posting"
    );
    assert_eq!(entries_of(app, session, "hold").await, 1, "{name}");
    assert_eq!(entries_of(app, session, "settlement").await, 1, "{name}");
    assert_eq!(entries_of(app, session, "void").await, 0, "{name}");
    s
}

#[tokio::test]
async fn flat_prices_charge_the_price_whatever_the_usage() {
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let tenant = app.tenant_row("default").await;
    assert_eq!(tenant.fee_rate, dec("0.15"));
    let consumer = app.signup().await;
    let provider = app.signup().await;
    app.topup(&consumer.auth(), "100.00").await.expect(200);
    app.topup(&consumer.auth(), "50.00").await.expect(200);
    app.post(
        "/api/billing/wallet/topup",
        &consumer.auth(),
        &json!({ "amount": "40.00", "currency": "USD" }),
    )
    .await
    .expect(200);

    let cases = [
        Case::new(
            "per_session, no usage",
            terms(PricingModel::PerSession, "5.00", "CNY"),
            Usage::default(),
            "5.00",
            1,
            "5.00",
            "0.7500",
            "4.2500",
        ),
        Case::new(
            "per_session, long and token-heavy",
            terms(PricingModel::PerSession, "5.00", "CNY"),
            usage(7_200, 999_999),
            "5.00",
            1,
            "5.00",
            "0.7500",
            "4.2500",
        ),
        Case::new(
            "fixed, long",
            terms(PricingModel::Fixed, "5.00", "CNY"),
            usage(86_400, 12),
            "5.00",
            1,
            "5.00",
            "0.7500",
            "4.2500",
        ),
        Case::new(
            "fixed in USD",
            terms(PricingModel::Fixed, "12.34", "USD"),
            usage(5, 0),
            "12.34",
            1,
            "12.34",
            "1.8510",
            "10.4890",
        ),
    ];
    for case in &cases {
        let s = run_case(&app, &tenant, &consumer, &provider, case).await;
        assert_eq!(
            s.refund,
            Decimal::ZERO,
            "{}: nothing is refunded",
            case.name
        );
    }
    assert_eq!(app.balance(&consumer, None).await, dec("135"));
    assert_eq!(app.balance(&provider, None).await, dec("12.75"));
    assert_eq!(app.balance(&consumer, Some("USD")).await, dec("27.66"));
    assert_eq!(app.balance(&provider, Some("USD")).await, dec("10.489"));
    assert_ledger_ok(&app, &admin).await;
}

#[tokio::test]
async fn per_minute_charges_started_minutes_up_to_the_default_cap_of_60() {
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let tenant = app.tenant_row("default").await;
    let consumer = app.signup().await;
    let provider = app.signup().await;
    app.topup(&consumer.auth(), "100.00").await.expect(200);

    let t = || terms(PricingModel::PerMinute, "0.10", "CNY");
    let cases = [
        // hold = 0.10 x 60
        Case::new(
            "0 s is one minute",
            t(),
            usage(0, 0),
            "6.00",
            1,
            "0.10",
            "0.0150",
            "0.0850",
        ),
        Case::new(
            "60 s is one minute",
            t(),
            usage(60, 0),
            "6.00",
            1,
            "0.10",
            "0.0150",
            "0.0850",
        ),
        Case::new(
            "61 s is two minutes",
            t(),
            usage(61, 5),
            "6.00",
            2,
            "0.20",
            "0.0300",
            "0.1700",
        ),
        Case::new(
            "59 min 1 s is 60 minutes",
            t(),
            usage(3_541, 0),
            "6.00",
            60,
            "6.00",
            "0.9000",
            "5.1000",
        ),
        Case::new(
            "a day is capped at the hold",
            t(),
            usage(86_400, 0),
            "6.00",
            60,
            "6.00",
            "0.9000",
            "5.1000",
        ),
        Case::new(
            "an odd price",
            terms(PricingModel::PerMinute, "0.0333", "CNY"),
            usage(150, 0),
            "1.998",
            3,
            "0.0999",
            "0.0150", // 0.014985
            "0.0849",
        ),
    ];
    let mut charged = Decimal::ZERO;
    let mut income = Decimal::ZERO;
    for case in &cases {
        let s = run_case(&app, &tenant, &consumer, &provider, case).await;
        charged += s.amount;
        income += s.provider_income;
    }
    assert_eq!(app.balance(&consumer, None).await, dec("100") - charged);
    assert_eq!(app.balance(&provider, None).await, income);
    assert_ledger_ok(&app, &admin).await;
}

#[tokio::test]
async fn per_token_charges_metered_tokens_up_to_the_default_budget() {
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let tenant = app.tenant_row("default").await;
    let consumer = app.signup().await;
    let provider = app.signup().await;
    app.topup(&consumer.auth(), "100.00").await.expect(200);

    let t = || terms(PricingModel::PerToken, "0.0001", "CNY");
    let cases = [
        // hold = 0.0001 x 100000
        Case::new(
            "no tokens: nothing charged, all refunded",
            t(),
            usage(3_600, 0),
            "10.00",
            0,
            "0",
            "0",
            "0",
        ),
        Case::new(
            "one token",
            t(),
            usage(1, 1),
            "10.00",
            1,
            "0.0001",
            "0.0000", // 0.000015
            "0.0001",
        ),
        Case::new(
            "1234 tokens",
            t(),
            usage(1, 1_234),
            "10.00",
            1_234,
            "0.1234",
            "0.0185", // 0.01851
            "0.1049",
        ),
        Case::new(
            "exactly the budget",
            t(),
            usage(1, 100_000),
            "10.00",
            100_000,
            "10.00",
            "1.5000",
            "8.5000",
        ),
        Case::new(
            "above the budget is capped",
            t(),
            usage(1, 250_000),
            "10.00",
            100_000,
            "10.00",
            "1.5000",
            "8.5000",
        ),
    ];
    let mut charged = Decimal::ZERO;
    for case in &cases {
        let s = run_case(&app, &tenant, &consumer, &provider, case).await;
        charged += s.amount;
    }
    assert_eq!(app.balance(&consumer, None).await, dec("100") - charged);
    assert_eq!(app.balance(&provider, None).await, dec("17.1050"));
    assert_ledger_ok(&app, &admin).await;
}

#[tokio::test]
async fn hold_minute_cap_and_token_budget_come_from_the_config() {
    let app = spawn_app_with(&[("HOLD_MINUTE_CAP", "10"), ("HOLD_TOKEN_BUDGET", "1000")]).await;
    let admin = app.default_admin().await;
    let tenant = app.tenant_row("default").await;
    let consumer = app.signup().await;
    let provider = app.signup().await;
    app.topup(&consumer.auth(), "20.00").await.expect(200);

    let per_minute = || terms(PricingModel::PerMinute, "0.25", "CNY");
    let per_token = || terms(PricingModel::PerToken, "0.002", "CNY");
    let cases = [
        // hold = 0.25 x 10
        Case::new(
            "61 s",
            per_minute(),
            usage(61, 0),
            "2.50",
            2,
            "0.50",
            "0.0750",
            "0.4250",
        ),
        Case::new(
            "an hour is capped at 10 minutes",
            per_minute(),
            usage(3_600, 0),
            "2.50",
            10,
            "2.50",
            "0.3750",
            "2.1250",
        ),
        // hold = 0.002 x 1000
        Case::new(
            "999 tokens",
            per_token(),
            usage(1, 999),
            "2.00",
            999,
            "1.998",
            "0.2997",
            "1.6983",
        ),
        Case::new(
            "1500 tokens are capped at 1000",
            per_token(),
            usage(1, 1_500),
            "2.00",
            1_000,
            "2.00",
            "0.3000",
            "1.7000",
        ),
    ];
    for case in &cases {
        run_case(&app, &tenant, &consumer, &provider, case).await;
    }
    // 60 minutes at 0.25 would need 15.00; the cap of 10 makes the hold 2.50, so a wallet of
    // 3.00 is enough.
    let poor = app.signup().await;
    app.topup(&poor.auth(), "3.00").await.expect(200);
    let placed = app
        .place_hold(&tenant, Uuid::now_v7(), &poor, &provider, per_minute())
        .await
        .expect("a 2.50 hold fits in 3.00");
    assert_eq!(placed.hold.amount, dec("2.5"));
    assert_eq!(placed.hold.max_units, 10);
    assert_eq!(app.balance(&poor, None).await, dec("0.5"));
    assert_ledger_ok(&app, &admin).await;
}

#[tokio::test]
async fn fees_round_half_to_even_at_four_decimals_and_the_parts_add_up() {
    let app = spawn_app().await;

    // A marketplace with a 50 % fee: every odd charge in the 4th decimal is a midpoint.
    let slug = app.create_tenant("half").await;
    let patched = app
        .patch(
            &format!("/api/platform/tenants/{slug}"),
            &Auth::operator(),
            &json!({ "feeRate": "0.5" }),
        )
        .await
        .expect(200);
    assert_eq!(patched.body["feeRate"], "0.5000", "{}", patched.text);
    let half = app.tenant_row(&slug).await;
    assert_eq!(half.fee_rate, dec("0.5"));
    let half_admin = app.admin_in(&slug).await;
    let consumer = app.signup_in(Some(&slug)).await;
    let provider = app.signup_in(Some(&slug)).await;
    app.topup(&consumer.auth(), "1.00").await.expect(200);

    let flat = |price: &'static str, fee: &'static str, income: &'static str| {
        Case::new(
            price,
            terms(PricingModel::PerSession, price, "CNY"),
            Usage::default(),
            price,
            1,
            price,
            fee,
            income,
        )
    };
    let cases = [
        flat("0.0001", "0.0000", "0.0001"), // 0.00005 -> 0.0000 (even)
        flat("0.0003", "0.0002", "0.0001"), // 0.00015 -> 0.0002 (even)
        flat("0.0005", "0.0002", "0.0003"), // 0.00025 -> 0.0002 (even)
        flat("0.0007", "0.0004", "0.0003"), // 0.00035 -> 0.0004 (even)
        flat("0.0009", "0.0004", "0.0005"), // 0.00045 -> 0.0004 (even)
        flat("0.0002", "0.0001", "0.0001"), // exact
    ];
    let mut paid = Decimal::ZERO;
    for case in &cases {
        let s = run_case(&app, &half, &consumer, &provider, case).await;
        assert_eq!(
            s.platform_fee + s.provider_income,
            s.amount,
            "{}",
            case.name
        );
        paid += s.amount;
    }
    assert_eq!(app.balance(&consumer, None).await, dec("1") - paid);
    assert_eq!(app.balance(&provider, None).await, dec("0.0014"));
    assert_ledger_ok(&app, &half_admin).await;

    // The default marketplace's 15 %.
    let admin = app.default_admin().await;
    let tenant = app.tenant_row("default").await;
    let consumer = app.signup().await;
    let provider = app.signup().await;
    app.topup(&consumer.auth(), "50.00").await.expect(200);
    let cases = [
        flat("0.001", "0.0002", "0.0008"),    // 0.00015 -> 0.0002 (even)
        flat("0.003", "0.0004", "0.0026"),    // 0.00045 -> 0.0004 (even)
        flat("0.0001", "0.0000", "0.0001"),   // 0.000015
        flat("0.0005", "0.0001", "0.0004"),   // 0.000075
        flat("0.0033", "0.0005", "0.0028"),   // 0.000495
        flat("0.0101", "0.0015", "0.0086"),   // 0.001515
        flat("33.3333", "5.0000", "28.3333"), // 4.999995 -> 5.0000
    ];
    for case in &cases {
        let s = run_case(&app, &tenant, &consumer, &provider, case).await;
        assert_eq!(
            s.platform_fee + s.provider_income,
            s.amount,
            "{}",
            case.name
        );
    }
    assert_ledger_ok(&app, &admin).await;
}

#[tokio::test]
async fn a_hold_larger_than_the_wallet_is_refused_and_leaves_no_trace() {
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let tenant = app.tenant_row("default").await;
    let consumer = app.signup().await;
    let provider = app.signup().await;
    app.topup(&consumer.auth(), "3.00").await.expect(200);

    let entries_before = app.count("SELECT count(*) FROM ledger_entries").await;
    let postings_before = app.count("SELECT count(*) FROM ledger_postings").await;
    let refused = [
        (
            "a flat price above the balance",
            PricingModel::PerSession,
            "5.00",
        ),
        ("one cent too much", PricingModel::Fixed, "3.01"),
        // One minute would fit, but the hold covers the 60-minute cap: 6.00.
        (
            "a per-minute hold above the balance",
            PricingModel::PerMinute,
            "0.10",
        ),
        // 0.0001 x 100000 = 10.00.
        (
            "a per-token hold above the balance",
            PricingModel::PerToken,
            "0.0001",
        ),
    ];
    for (name, model, price) in refused {
        let session = Uuid::now_v7();
        let err = app
            .place_hold(
                &tenant,
                session,
                &consumer,
                &provider,
                terms(model, price, "CNY"),
            )
            .await
            .expect_err(name);
        assert_eq!(err.code, ErrorCode::InsufficientBalance, "{name}: {err}");
        assert_eq!(err.code.status().as_u16(), 402, "{name}");
        let holds: i64 = sqlx::query_scalar("SELECT count(*) FROM holds WHERE session_id = $1")
            .bind(session)
            .fetch_one(&app.db)
            .await
            .expect("holds");
        assert_eq!(holds, 0, "{name}: no hold row");
        assert_eq!(entries_of(&app, session, "hold").await, 0, "{name}");
        assert_eq!(app.balance(&consumer, None).await, dec("3"), "{name}");
        // The session never had a hold: settling or voiding it finds nothing.
        let err = app
            .settle(&tenant, session, Usage::default())
            .await
            .expect_err("nothing to settle");
        assert_eq!(err.code, ErrorCode::NotFound, "{name}");
    }
    // A wallet in another currency does not pay: the consumer has no USD.
    let err = app
        .place_hold(
            &tenant,
            Uuid::now_v7(),
            &consumer,
            &provider,
            terms(PricingModel::PerSession, "0.01", "USD"),
        )
        .await
        .expect_err("no USD wallet");
    assert_eq!(err.code, ErrorCode::InsufficientBalance, "{err}");
    // Someone who never topped up cannot hold a cent.
    let broke = app.signup().await;
    let err = app
        .place_hold(
            &tenant,
            Uuid::now_v7(),
            &broke,
            &provider,
            terms(PricingModel::PerSession, "0.01", "CNY"),
        )
        .await
        .expect_err("no wallet");
    assert_eq!(err.code, ErrorCode::InsufficientBalance, "{err}");

    assert_eq!(
        app.count("SELECT count(*) FROM ledger_entries").await,
        entries_before,
        "refused holds write no journal entry"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM ledger_postings").await,
        postings_before
    );
    assert_eq!(app.count("SELECT count(*) FROM holds").await, 0);
    let history = app
        .get("/api/billing/wallet/transactions", &consumer.auth())
        .await
        .expect(200);
    assert_eq!(
        history.body["total"], 1,
        "only the top-up: {}",
        history.text
    );

    // A refused session can be retried once the wallet holds enough: nothing was left behind.
    let session = Uuid::now_v7();
    let t = || terms(PricingModel::PerSession, "5.00", "CNY");
    let err = app
        .place_hold(&tenant, session, &consumer, &provider, t())
        .await
        .expect_err("short");
    assert_eq!(err.code, ErrorCode::InsufficientBalance);
    app.topup(&consumer.auth(), "2.00").await.expect(200);
    let placed = app
        .place_hold(&tenant, session, &consumer, &provider, t())
        .await
        .expect("exactly the balance");
    assert!(!placed.replayed, "the refused attempt left no hold behind");
    assert_eq!(app.balance(&consumer, None).await, Decimal::ZERO);
    // The wallet is empty now: even a cent is refused, and the balance stays at zero.
    let err = app
        .place_hold(
            &tenant,
            Uuid::now_v7(),
            &consumer,
            &provider,
            terms(PricingModel::PerSession, "0.0001", "CNY"),
        )
        .await
        .expect_err("empty");
    assert_eq!(err.code, ErrorCode::InsufficientBalance);
    assert_eq!(app.balance(&consumer, None).await, Decimal::ZERO);
    assert_ledger_ok(&app, &admin).await;
}

#[tokio::test]
async fn holds_settlements_and_voids_are_idempotent_per_session() {
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let tenant = app.tenant_row("default").await;
    let consumer = app.signup().await;
    let provider = app.signup().await;
    let stranger = app.signup().await;
    app.topup(&consumer.auth(), "100.00").await.expect(200);
    let t = || terms(PricingModel::PerMinute, "0.05", "CNY"); // hold 3.00

    // A hold placed twice moves money once.
    let session = Uuid::now_v7();
    let first = app
        .place_hold(&tenant, session, &consumer, &provider, t())
        .await
        .expect("placed");
    assert!(!first.replayed);
    let second = app
        .place_hold(&tenant, session, &consumer, &provider, t())
        .await
        .expect("replayed");
    assert!(second.replayed);
    assert_eq!(second.hold.id, first.hold.id);
    assert_eq!(second.hold.amount, dec("3"));
    assert_eq!(app.balance(&consumer, None).await, dec("97"));
    assert_eq!(entries_of(&app, session, "hold").await, 1);
    // The same session for other parties is a conflict, and moves nothing.
    let err = app
        .place_hold(&tenant, session, &consumer, &stranger, t())
        .await
        .expect_err("other parties");
    assert_eq!(err.code, ErrorCode::Conflict, "{err}");
    assert_eq!(app.balance(&consumer, None).await, dec("97"));

    // Settled twice: the second call returns the first settlement and credits nothing.
    let one = app
        .settle(&tenant, session, usage(125, 0))
        .await
        .expect("settled");
    assert!(!one.replayed);
    let s1 = settled(&one).clone();
    assert_eq!(
        (
            s1.units,
            s1.amount,
            s1.platform_fee,
            s1.provider_income,
            s1.refund
        ),
        (3, dec("0.15"), dec("0.0225"), dec("0.1275"), dec("2.85"))
    );
    let two = app
        .settle(&tenant, session, usage(3_600, 0))
        .await
        .expect("replayed");
    assert!(two.replayed, "a second settle is a replay");
    let s2 = settled(&two);
    assert_eq!(
        (
            s2.entry_id,
            s2.hold_id,
            s2.units,
            s2.amount,
            s2.platform_fee,
            s2.provider_income,
            s2.refund,
            s2.fee_rate
        ),
        (
            s1.entry_id,
            s1.hold_id,
            s1.units,
            s1.amount,
            s1.platform_fee,
            s1.provider_income,
            s1.refund,
            s1.fee_rate
        ),
        "the replay reports the first settlement, not the new usage"
    );
    assert_eq!(app.balance(&consumer, None).await, dec("99.85"));
    assert_eq!(app.balance(&provider, None).await, dec("0.1275"));
    assert_eq!(entries_of(&app, session, "settlement").await, 1);

    // A void after the settlement replays the settlement and refunds nothing.
    let late_void = app.void(&tenant, session).await.expect("replayed");
    assert!(late_void.replayed);
    assert_eq!(settled(&late_void).entry_id, s1.entry_id);
    assert_eq!(entries_of(&app, session, "void").await, 0);
    assert_eq!(app.balance(&consumer, None).await, dec("99.85"));
    assert_eq!(app.balance(&provider, None).await, dec("0.1275"));
    // Placing the settled session's hold again does not take money again.
    let again = app
        .place_hold(&tenant, session, &consumer, &provider, t())
        .await
        .expect("replayed");
    assert!(again.replayed);
    assert_eq!(app.balance(&consumer, None).await, dec("99.85"));
    assert_eq!(entries_of(&app, session, "hold").await, 1);

    // Voided, then voided and settled again: one refund, no charge.
    let session = Uuid::now_v7();
    app.place_hold(&tenant, session, &consumer, &provider, t())
        .await
        .expect("placed");
    assert_eq!(app.balance(&consumer, None).await, dec("96.85"));
    let voided = app.void(&tenant, session).await.expect("voided");
    assert!(!voided.replayed);
    let Resolution::Voided(hold) = &voided.resolution else {
        panic!("expected a void");
    };
    assert_eq!(hold.amount, dec("3"));
    assert_eq!(app.balance(&consumer, None).await, dec("99.85"));
    let void_again = app.void(&tenant, session).await.expect("replayed");
    assert!(void_again.replayed);
    assert!(matches!(void_again.resolution, Resolution::Voided(_)));
    let late_settle = app
        .settle(&tenant, session, usage(600, 0))
        .await
        .expect("replayed");
    assert!(late_settle.replayed);
    let Resolution::Voided(h) = &late_settle.resolution else {
        panic!("a settle after a void reports the void");
    };
    assert_eq!(h.id, hold.id);
    assert!(stored_settlement(&app, session).await.is_none());
    assert_eq!(entries_of(&app, session, "void").await, 1);
    assert_eq!(entries_of(&app, session, "settlement").await, 0);
    assert_eq!(app.balance(&consumer, None).await, dec("99.85"));
    assert_eq!(app.balance(&provider, None).await, dec("0.1275"));

    // Unknown sessions.
    let unknown = Uuid::now_v7();
    let err = app
        .settle(&tenant, unknown, Usage::default())
        .await
        .expect_err("unknown");
    assert_eq!(err.code, ErrorCode::NotFound, "{err}");
    let err = app.void(&tenant, unknown).await.expect_err("unknown");
    assert_eq!(err.code, ErrorCode::NotFound, "{err}");
    // Another marketplace's session is unknown here.
    let other = app.create_tenant("other").await;
    let other = app.tenant_row(&other).await;
    let err = app
        .settle(&other, session, Usage::default())
        .await
        .expect_err("other tenant");
    assert_eq!(err.code, ErrorCode::NotFound, "{err}");

    assert_ledger_ok(&app, &admin).await;
}

#[tokio::test]
async fn a_free_agent_holds_nothing_and_settles_nothing() {
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let tenant = app.tenant_row("default").await;
    // The consumer never topped up: a free session needs no money.
    let consumer = app.signup().await;
    let provider = app.signup().await;

    for model in [
        PricingModel::PerSession,
        PricingModel::Fixed,
        PricingModel::PerMinute,
        PricingModel::PerToken,
    ] {
        let session = Uuid::now_v7();
        let placed = app
            .place_hold(
                &tenant,
                session,
                &consumer,
                &provider,
                terms(model, "0", "CNY"),
            )
            .await
            .unwrap_or_else(|e| panic!("{model:?}: a free hold is refused: {e}"));
        assert_eq!(placed.hold.amount, Decimal::ZERO, "{model:?}");
        let resolved = app
            .settle(&tenant, session, usage(7_200, 50_000))
            .await
            .expect("settled");
        let s = settled(&resolved);
        assert_eq!(
            (s.amount, s.platform_fee, s.provider_income, s.refund),
            (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO),
            "{model:?}"
        );
        let stored = stored_settlement(&app, session).await.expect("row");
        assert_eq!(stored.1, Decimal::ZERO, "{model:?}");
        assert_eq!(entries_of(&app, session, "hold").await, 1, "{model:?}");
        assert_eq!(
            entries_of(&app, session, "settlement").await,
            1,
            "{model:?}"
        );
    }
    // A free hold can be voided too.
    let session = Uuid::now_v7();
    app.place_hold(
        &tenant,
        session,
        &consumer,
        &provider,
        terms(PricingModel::PerSession, "0.00", "CNY"),
    )
    .await
    .expect("placed");
    let voided = app.void(&tenant, session).await.expect("voided");
    assert!(matches!(voided.resolution, Resolution::Voided(_)));

    assert_eq!(app.balance(&consumer, None).await, Decimal::ZERO);
    assert_eq!(app.balance(&provider, None).await, Decimal::ZERO);
    let postings: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ledger_postings WHERE user_id = ANY($1)")
            .bind(vec![
                consumer.id.parse::<Uuid>().expect("uuid"),
                provider.id.parse::<Uuid>().expect("uuid"),
            ])
            .fetch_one(&app.db)
            .await
            .expect("postings");
    assert_eq!(postings, 0, "free sessions post nothing to the wallets");
    assert_ledger_ok(&app, &admin).await;
}

#[tokio::test]
async fn a_hold_naming_a_user_outside_the_marketplace_is_refused() {
    let app = spawn_app().await;
    let tenant = app.tenant_row("default").await;
    let consumer = app.signup().await;
    app.topup(&consumer.auth(), "50.00").await.expect(200);
    let other_tenant = app.create_tenant("elsewhere").await;
    let foreigner = app.signup_in(Some(&other_tenant)).await;
    let mut ghost = consumer.clone();
    ghost.id = Uuid::now_v7().to_string();

    for (name, provider) in [
        ("unknown user", &ghost),
        ("another tenant's user", &foreigner),
    ] {
        let err = app
            .place_hold(
                &tenant,
                Uuid::now_v7(),
                &consumer,
                provider,
                terms(PricingModel::PerSession, "5.00", "CNY"),
            )
            .await
            .expect_err(name);
        assert_eq!(err.code, ErrorCode::NotFound, "{name}: {err}");
    }
    let err = app
        .place_hold(
            &tenant,
            Uuid::now_v7(),
            &ghost,
            &consumer,
            terms(PricingModel::PerSession, "0", "CNY"),
        )
        .await
        .expect_err("an unknown consumer, even for a free agent");
    assert_eq!(err.code, ErrorCode::NotFound, "{err}");
    assert_eq!(app.balance(&consumer, None).await, dec("50"));
    let holds: i64 = sqlx::query_scalar("SELECT count(*) FROM holds")
        .fetch_one(&app.db)
        .await
        .expect("holds");
    assert_eq!(holds, 0);
}
