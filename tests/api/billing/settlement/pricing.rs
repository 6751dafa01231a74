//! The hold and the charge by pricing model: flat prices whatever the usage, started minutes and
//! metered tokens up to the default caps, and the caps taken from the config.

use super::case::{Case, run_case};
use crate::billing::support::{assert_ledger_ok, parties, usage};
use crate::helpers::{spawn_app, spawn_app_with};
use crate::money_helpers::{dec, terms};
use clawrent_api::agents::domain::PricingModel;
use clawrent_api::billing::domain::Usage;
use rust_decimal::Decimal;
use uuid::Uuid;

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
