//! Money, end to end. The smoke test below walks the whole path once: a top-up, a hold, a
//! settlement with the 15 % fee, the transactions both sides see, the fee revenue and a clean
//! ledger verification. The topic modules go into each part:
//!
//! - `wallet`, `topup`, `transactions`: the billing endpoints as their clients see them,
//!   including the isolation between users and marketplaces;
//! - `admin`, `admin_ledger`, `verify`: the admin side (adjustments with their audit, wallets
//!   of a user, revenue, settlement records, and a ledger verifier that really fails when the
//!   ledger is corrupted);
//! - `principals`: every billing endpoint with every kind of caller;
//! - `settlement`, `settlement_holds`: the settlement arithmetic and the life of a hold
//!   through the hold/settle/void service;
//! - `concurrency` (with `concurrency_plan`, `concurrency_book`, `concurrency_audit`): the
//!   ledger under a hammer of concurrent money movements;
//! - `support`: the helpers several of them share.

mod admin;
mod admin_ledger;
mod concurrency;
mod concurrency_audit;
mod concurrency_book;
mod concurrency_plan;
pub mod principals;
mod settlement;
mod settlement_holds;
mod support;
mod topup;
mod transactions;
mod verify;
mod wallet;

use crate::helpers::spawn_app;
use crate::money_helpers::dec;
use clawrent_api::agents::domain::PricingModel;
use clawrent_api::billing::domain::Usage;
use support::{Deal, REVENUE, TRANSACTIONS, assert_ledger_ok, settled};
use uuid::Uuid;

#[tokio::test]
async fn a_top_up_a_hold_and_a_settlement_move_money_exactly() {
    let app = spawn_app().await;
    let consumer = app.signup().await;
    let provider = app.signup().await;
    let admin = app.default_admin().await;
    let tenant = app.tenant_row("default").await;

    let reply = app.topup(&consumer.auth(), "100.00").await.expect(200);
    assert_eq!(reply.body["balance"], "100.00");
    assert_eq!(reply.body["currency"], "CNY");

    let session = Uuid::now_v7();
    let placed = Deal::new(&app, &tenant, &consumer, &provider)
        .place(session, PricingModel::PerSession, "5.00", "CNY")
        .await
        .expect("hold placed");
    assert!(!placed.replayed);
    assert_eq!(app.balance(&consumer, None).await, dec("95"));

    let resolved = app
        .settle(&tenant, session, Usage::default())
        .await
        .expect("settled");
    let s = settled(&resolved);
    assert_eq!(
        (s.amount, s.platform_fee, s.provider_income),
        (dec("5"), dec("0.75"), dec("4.25"))
    );
    assert_eq!(app.balance(&consumer, None).await, dec("95"));
    assert_eq!(app.balance(&provider, None).await, dec("4.25"));

    let again = app
        .settle(&tenant, session, Usage::default())
        .await
        .expect("replayed");
    assert!(again.replayed);
    assert_eq!(app.balance(&provider, None).await, dec("4.25"));

    let mine = app.get(TRANSACTIONS, &consumer.auth()).await.expect(200);
    let types: Vec<&str> = mine.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|t| t["type"].as_str().expect("type"))
        .collect();
    assert_eq!(types, ["payment", "topup"]);
    assert_eq!(mine.body["data"][0]["referenceId"], session.to_string());
    assert_eq!(mine.body["data"][0]["amount"], "-5.00");
    assert_eq!(mine.body["data"][0]["balanceAfter"], "95.00");
    assert_eq!(mine.body["total"], 2);

    let theirs = app.get(TRANSACTIONS, &provider.auth()).await.expect(200);
    assert_eq!(theirs.body["data"][0]["type"], "income");
    assert_eq!(theirs.body["data"][0]["amount"], "4.25");

    let revenue = app.get(REVENUE, &admin.auth()).await.expect(200);
    assert_eq!(revenue.body["data"][0]["currency"], "CNY");
    assert_eq!(revenue.body["data"][0]["platformFee"], "0.7500");

    let settlement = app
        .get(
            &format!("/api/admin/ledger/settlements/{session}"),
            &admin.auth(),
        )
        .await
        .expect(200);
    assert_eq!(settlement.body["amount"], "5.0000");
    assert_eq!(settlement.body["platformFee"], "0.7500");
    assert_eq!(settlement.body["providerIncome"], "4.2500");

    assert_ledger_ok(&app, &admin).await;
}
