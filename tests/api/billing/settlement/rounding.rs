//! The platform fee rounded half to even at 4 decimals; the fee and the income add up to the
//! charge.

use super::case::{Case, run_case};
use crate::billing::support::{assert_ledger_ok, parties};
use crate::helpers::{Auth, TestApp, TestUser, spawn_app};
use crate::money_helpers::{dec, terms};
use clawrent_api::agents::domain::PricingModel;
use clawrent_api::billing::domain::Usage;
use clawrent_api::tenancy::domain::Tenant;
use rust_decimal::Decimal;
use serde_json::json;

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
