//! Settlement arithmetic through the hold/settle/void service, checked against the wallets
//! (HTTP), the settlements table, the platform-fee postings and the admin ledger verification:
//! the hold by pricing model, the charge by usage (capped at the hold, with the caps from the
//! config), and the fee rounded half to even at 4 decimals. Each case is one table row run by
//! `run_case`; what a hold does outside a clean settlement is in `settlement_holds`.

use super::support::{
    assert_ledger_ok, entries_of, parties, settled, split, stored_settlement, usage,
};
use crate::helpers::{Auth, TestApp, TestUser, spawn_app, spawn_app_with};
use crate::money_helpers::{dec, terms};
use clawrent_api::agents::domain::PricingModel;
use clawrent_api::billing::domain::{PricingTerms, Usage};
use clawrent_api::billing::repo::SettlementRow;
use clawrent_api::tenancy::domain::Tenant;
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

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

/// One settlement case: the terms, the usage, and the expected hold and split, written
/// `Case::new(name, terms, usage).hold(hold).split(units, charge, fee, income)`.
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
    fn new(name: &'static str, terms: PricingTerms, usage: Usage) -> Self {
        Self {
            name,
            terms,
            usage,
            hold: "",
            units: 0,
            charge: "",
            fee: "",
            income: "",
        }
    }

    fn hold(self, hold: &'static str) -> Self {
        Self { hold, ..self }
    }

    fn split(
        self,
        units: i64,
        charge: &'static str,
        fee: &'static str,
        income: &'static str,
    ) -> Self {
        Self {
            units,
            charge,
            fee,
            income,
            ..self
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
    let currency = case.terms.unit_price.currency.to_string();
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
        split(&s),
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
    assert_eq!(s.currency.as_str(), currency, "{name}");

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
        fee_posted(app, s.entry_id.into()).await,
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
    let (admin, tenant, consumer, provider) = parties(&app).await;
    assert_eq!(tenant.fee_rate, dec("0.15"));
    app.topup(&consumer.auth(), "100.00").await.expect(200);
    app.topup(&consumer.auth(), "50.00").await.expect(200);
    app.topup_in(&consumer.auth(), "40.00", "USD")
        .await
        .expect(200);

    let cases = [
        Case::new(
            "per_session, no usage",
            terms(PricingModel::PerSession, "5.00", "CNY"),
            Usage::default(),
        )
        .hold("5.00")
        .split(1, "5.00", "0.7500", "4.2500"),
        Case::new(
            "per_session, long and token-heavy",
            terms(PricingModel::PerSession, "5.00", "CNY"),
            usage(7_200, 999_999),
        )
        .hold("5.00")
        .split(1, "5.00", "0.7500", "4.2500"),
        Case::new(
            "fixed, long",
            terms(PricingModel::Fixed, "5.00", "CNY"),
            usage(86_400, 12),
        )
        .hold("5.00")
        .split(1, "5.00", "0.7500", "4.2500"),
        Case::new(
            "fixed in USD",
            terms(PricingModel::Fixed, "12.34", "USD"),
            usage(5, 0),
        )
        .hold("12.34")
        .split(1, "12.34", "1.8510", "10.4890"),
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
    let (admin, tenant, consumer, provider) = parties(&app).await;
    app.topup(&consumer.auth(), "100.00").await.expect(200);

    let t = || terms(PricingModel::PerMinute, "0.10", "CNY");
    let cases = [
        // hold = 0.10 x 60
        Case::new("0 s is one minute", t(), usage(0, 0))
            .hold("6.00")
            .split(1, "0.10", "0.0150", "0.0850"),
        Case::new("60 s is one minute", t(), usage(60, 0))
            .hold("6.00")
            .split(1, "0.10", "0.0150", "0.0850"),
        Case::new("61 s is two minutes", t(), usage(61, 5))
            .hold("6.00")
            .split(2, "0.20", "0.0300", "0.1700"),
        Case::new("59 min 1 s is 60 minutes", t(), usage(3_541, 0))
            .hold("6.00")
            .split(60, "6.00", "0.9000", "5.1000"),
        Case::new("a day is capped at the hold", t(), usage(86_400, 0))
            .hold("6.00")
            .split(60, "6.00", "0.9000", "5.1000"),
        // The fee of 0.0999 is 0.014985.
        Case::new(
            "an odd price",
            terms(PricingModel::PerMinute, "0.0333", "CNY"),
            usage(150, 0),
        )
        .hold("1.998")
        .split(3, "0.0999", "0.0150", "0.0849"),
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
    let (admin, tenant, consumer, provider) = parties(&app).await;
    app.topup(&consumer.auth(), "100.00").await.expect(200);

    let t = || terms(PricingModel::PerToken, "0.0001", "CNY");
    let cases = [
        // hold = 0.0001 x 100000
        Case::new(
            "no tokens: nothing charged, all refunded",
            t(),
            usage(3_600, 0),
        )
        .hold("10.00")
        .split(0, "0", "0", "0"),
        // The fee of 0.0001 is 0.000015.
        Case::new("one token", t(), usage(1, 1))
            .hold("10.00")
            .split(1, "0.0001", "0.0000", "0.0001"),
        // The fee of 0.1234 is 0.01851.
        Case::new("1234 tokens", t(), usage(1, 1_234))
            .hold("10.00")
            .split(1_234, "0.1234", "0.0185", "0.1049"),
        Case::new("exactly the budget", t(), usage(1, 100_000))
            .hold("10.00")
            .split(100_000, "10.00", "1.5000", "8.5000"),
        Case::new("above the budget is capped", t(), usage(1, 250_000))
            .hold("10.00")
            .split(100_000, "10.00", "1.5000", "8.5000"),
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
    let (admin, tenant, consumer, provider) = parties(&app).await;
    app.topup(&consumer.auth(), "20.00").await.expect(200);

    let per_minute = || terms(PricingModel::PerMinute, "0.25", "CNY");
    let per_token = || terms(PricingModel::PerToken, "0.002", "CNY");
    let cases = [
        // hold = 0.25 x 10
        Case::new("61 s", per_minute(), usage(61, 0))
            .hold("2.50")
            .split(2, "0.50", "0.0750", "0.4250"),
        Case::new(
            "an hour is capped at 10 minutes",
            per_minute(),
            usage(3_600, 0),
        )
        .hold("2.50")
        .split(10, "2.50", "0.3750", "2.1250"),
        // hold = 0.002 x 1000
        Case::new("999 tokens", per_token(), usage(1, 999))
            .hold("2.00")
            .split(999, "1.998", "0.2997", "1.6983"),
        Case::new(
            "1500 tokens are capped at 1000",
            per_token(),
            usage(1, 1_500),
        )
        .hold("2.00")
        .split(1_000, "2.00", "0.3000", "1.7000"),
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

/// A per-session `price` settled without usage: the whole price is charged, `fee` of it to the
/// platform and `income` to the provider.
fn flat(price: &'static str, fee: &'static str, income: &'static str) -> Case {
    Case::new(
        price,
        terms(PricingModel::PerSession, price, "CNY"),
        Usage::default(),
    )
    .hold(price)
    .split(1, price, fee, income)
}

/// Runs the flat cases; the fee and the income of each add up to its charge. Returns the sum
/// of the charges.
async fn run_flat_cases(
    app: &TestApp,
    tenant: &Tenant,
    consumer: &TestUser,
    provider: &TestUser,
    cases: &[Case],
) -> Decimal {
    let mut paid = Decimal::ZERO;
    for case in cases {
        let s = run_case(app, tenant, consumer, provider, case).await;
        assert_eq!(
            s.platform_fee + s.provider_income,
            s.amount,
            "{}",
            case.name
        );
        paid += s.amount;
    }
    paid
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

    let cases = [
        flat("0.0001", "0.0000", "0.0001"), // 0.00005 -> 0.0000 (even)
        flat("0.0003", "0.0002", "0.0001"), // 0.00015 -> 0.0002 (even)
        flat("0.0005", "0.0002", "0.0003"), // 0.00025 -> 0.0002 (even)
        flat("0.0007", "0.0004", "0.0003"), // 0.00035 -> 0.0004 (even)
        flat("0.0009", "0.0004", "0.0005"), // 0.00045 -> 0.0004 (even)
        flat("0.0002", "0.0001", "0.0001"), // exact
    ];
    let paid = run_flat_cases(&app, &half, &consumer, &provider, &cases).await;
    assert_eq!(app.balance(&consumer, None).await, dec("1") - paid);
    assert_eq!(app.balance(&provider, None).await, dec("0.0014"));
    assert_ledger_ok(&app, &half_admin).await;

    // The default marketplace's 15 %.
    let (admin, tenant, consumer, provider) = parties(&app).await;
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
    run_flat_cases(&app, &tenant, &consumer, &provider, &cases).await;
    assert_ledger_ok(&app, &admin).await;
}
