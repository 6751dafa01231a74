//! The admin's ledger reads: the platform fees summed per currency, and the settlement record
//! of one session, which appears only once the session is settled and only in its own
//! marketplace.

use super::support::{Deal, REVENUE, keys, parties, per_session, usage};
use crate::helpers::*;
use crate::money_helpers::{dec, terms};
use clawrent_api::agents::domain::PricingModel;
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn revenue_sums_the_platform_fees_per_currency() {
    // Arrange
    let app = spawn_app().await;
    let (admin, tenant, consumer, provider) = parties(&app).await;
    app.topup(&consumer.auth(), "100.00").await.expect(200);
    app.topup_in(&consumer.auth(), "100.00", "USD")
        .await
        .expect(200);
    let empty = app.get(REVENUE, &admin.auth()).await.expect(200);
    per_session(&app, &consumer, &provider, "5.00", "CNY").await;
    per_session(&app, &consumer, &provider, "1.00", "CNY").await;
    Deal::new(&app, &tenant, &consumer, &provider)
        .settled(PricingModel::PerMinute, "0.10", "USD", usage(90, 0))
        .await;

    // Act
    let revenue = app.get(REVENUE, &admin.auth()).await;

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
async fn a_settlement_record_appears_only_after_settling_and_only_in_its_marketplace() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.default_admin().await;
    let slug = app.create_tenant("settle").await;
    let foreign_admin = app.admin_in(&slug).await;
    let consumer = app.signup().await;
    let provider = app.signup().await;
    app.topup_in(&consumer.auth(), "10.00", "USD")
        .await
        .expect(200);
    let tenant = app.tenant_row("default").await;
    let session = Uuid::now_v7();
    let path = format!("/api/admin/ledger/settlements/{session}");
    let unknown = app.get(&path, &admin.auth()).await;
    let per_minute = terms(PricingModel::PerMinute, "0.10", "USD");
    app.place_hold(&tenant, session, &consumer, &provider, per_minute)
        .await
        .expect("held");
    let while_held = app.get(&path, &admin.auth()).await;
    let resolved = app
        .settle(&tenant, session, usage(90, 0))
        .await
        .expect("settled");
    assert!(!resolved.replayed);

    let voided = Deal::new(&app, &tenant, &consumer, &provider)
        .voided(PricingModel::PerSession, "1.00", "USD")
        .await;

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
