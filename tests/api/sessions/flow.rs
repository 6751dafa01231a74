//! The whole consumer and provider flow through HTTP, with the balances checked at every step,
//! for each pricing model.

use super::support::*;
use crate::helpers::*;
use crate::money_helpers::dec;
use chrono::Duration;
use serde_json::{Value, json};

fn transaction_of<'a>(page: &'a Value, session: &str) -> Vec<&'a Value> {
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|t| t["referenceId"] == session)
        .collect()
}

#[tokio::test]
async fn a_manual_session_is_rented_approved_used_and_settled_with_the_fee_split() {
    // Arrange: a 5.00 per-session agent with manual approval, a consumer with 100.00.
    let app = spawn_app().await;
    let m = market(
        &app,
        json!({ "priceAmount": "5.00", "approvalMode": "manual" }),
        "100.00",
    )
    .await;

    // Act: rent.
    let created = rent(&app, &m.consumer, &m.rent_body("Review my PR"))
        .await
        .expect(201);

    // Assert: pending, with its token and price; the hold left the wallet.
    let s = &created.body;
    let id = s["id"].as_str().expect("id").to_owned();
    assert_eq!(s["status"], "pending_approval");
    assert!(
        s["sessionToken"]
            .as_str()
            .expect("token")
            .starts_with("sess_")
    );
    assert_eq!(s["agentId"], m.agent.as_str());
    assert_eq!(s["providerUserId"], m.provider.id.as_str());
    assert_eq!(s["consumerUserId"], m.consumer.id.as_str());
    assert_eq!(s["slotIndex"], 0);
    assert_eq!(s["taskDescription"], "Review my PR");
    assert_eq!(s["holdAmount"], "5.00");
    assert_eq!(
        s["pricingSnapshot"],
        json!({ "pricingModel": "per_session", "priceAmount": "5.00", "currency": "CNY", "feeRate": "0.1500" })
    );
    assert_millis_utc(&s["createdAt"], "createdAt");
    for absent in ["approvedAt", "endedAt", "endReason"] {
        assert!(
            s.get(absent).is_none(),
            "{absent} is absent before it happens"
        );
    }
    assert_eq!(cny(&app, &m.consumer).await, dec("95"));

    // The provider's daemon finds it pending, with what it needs to approve.
    let pending = app
        .get(
            &format!("{SESSIONS}?role=provider&status=pending_approval"),
            &m.provider.auth(),
        )
        .await
        .expect(200);
    let item = &pending.body["data"][0];
    assert_eq!(pending.body["total"], 1);
    assert_eq!(item["id"], id.as_str());
    assert_eq!(item["sessionToken"], s["sessionToken"]);
    assert_eq!(item["taskDescription"], "Review my PR");
    assert_eq!(item["consumerUserId"], m.consumer.id.as_str());
    assert_eq!(item["slotIndex"], 0);

    // Approve, twice: the second answers the active session as it is.
    for _ in 0..2 {
        let approved = app
            .post_empty(&action(&id, "approve"), &m.provider.auth())
            .await
            .expect(200);
        assert_eq!(approved.body["status"], "active");
        assert_eq!(approved.body["sessionToken"], s["sessionToken"]);
        assert_eq!(approved.body["taskDescription"], "Review my PR");
        assert_eq!(approved.body["consumerUserId"], m.consumer.id.as_str());
        assert_millis_utc(&approved.body["approvedAt"], "approvedAt");
    }

    // The detail, as the CLI's `send` reads it.
    let detail = app
        .get(&session_path(&id), &m.consumer.auth())
        .await
        .expect(200);
    assert_eq!(detail.body["sessionToken"], s["sessionToken"]);
    assert_eq!(detail.body["providerUserId"], m.provider.id.as_str());

    // End (consumer), twice: one settlement, the same answer.
    let mut first = None;
    for _ in 0..2 {
        let ended = app
            .post_empty(&action(&id, "end"), &m.consumer.auth())
            .await
            .expect(200);
        assert_eq!(ended.body["status"], "settled");
        assert_eq!(ended.body["endReason"], "ended");
        assert_eq!(
            ended.body["settlement"],
            json!({ "amount": "5.0000", "platformFee": "0.7500", "providerIncome": "4.2500",
                    "refund": "0.0000", "currency": "CNY", "units": 1 })
        );
        if let Some(first) = &first {
            assert_eq!(&ended.body, first, "ending again answers the first result");
        }
        first = Some(ended.body);
    }

    // Balances and the transactions of both sides.
    assert_eq!(cny(&app, &m.consumer).await, dec("95"));
    assert_eq!(cny(&app, &m.provider).await, dec("4.25"));
    let consumer_tx = app
        .get("/api/billing/wallet/transactions", &m.consumer.auth())
        .await
        .expect(200);
    let payments = transaction_of(&consumer_tx.body, &id);
    assert_eq!(payments.len(), 1, "{}", consumer_tx.text);
    assert_eq!(payments[0]["type"], "payment");
    assert_eq!(payments[0]["amount"], "-5.00");
    let provider_tx = app
        .get("/api/billing/wallet/transactions", &m.provider.auth())
        .await
        .expect(200);
    let incomes = transaction_of(&provider_tx.body, &id);
    assert_eq!(incomes.len(), 1, "{}", provider_tx.text);
    assert_eq!(incomes[0]["type"], "income");
    assert_eq!(incomes[0]["amount"], "4.25");

    // The marketplace counts the session.
    let listing = app
        .get(
            &format!("/api/marketplace/agents/{}", m.slug),
            &m.consumer.auth(),
        )
        .await
        .expect(200);
    assert_eq!(listing.body["totalSessions"], 1, "{}", listing.text);
}

#[tokio::test]
async fn an_auto_session_is_active_at_once_and_a_per_minute_one_charges_minutes_started() {
    // Arrange: 0.10 per minute; the hold covers HOLD_MINUTE_CAP = 60 minutes (6.00).
    let app = spawn_app().await;
    let m = market(
        &app,
        json!({ "pricingModel": "per_minute", "priceAmount": "0.10", "approvalMode": "auto" }),
        "10.00",
    )
    .await;

    // Act
    let created = rent(&app, &m.consumer, &m.rent_body("Pair with me"))
        .await
        .expect(201);
    let id = created.body["id"].as_str().expect("id").to_owned();
    app.clock.advance(Duration::seconds(150));
    let ended = app
        .post_empty(&action(&id, "end"), &m.provider.auth())
        .await
        .expect(200);

    // Assert: active at once; 150 s are 3 minutes started = 0.30, fee 0.045.
    assert_eq!(created.body["status"], "active");
    assert_eq!(created.body["holdAmount"], "6.00");
    assert_eq!(
        ended.body["settlement"],
        json!({ "amount": "0.3000", "platformFee": "0.0450", "providerIncome": "0.2550",
                "refund": "5.7000", "currency": "CNY", "units": 3 })
    );
    assert_eq!(cny(&app, &m.consumer).await, dec("9.70"));
    assert_eq!(cny(&app, &m.provider).await, dec("0.255"));
}

#[tokio::test]
async fn a_per_token_session_charges_the_tokens_its_results_report() {
    // Arrange: 0.001 per token; the hold covers HOLD_TOKEN_BUDGET = 100000 tokens (100.00).
    let app = spawn_app().await;
    let m = market(
        &app,
        json!({ "pricingModel": "per_token", "priceAmount": "0.001", "approvalMode": "auto" }),
        "150.00",
    )
    .await;
    let id = rented(&app, &m, "Summarise").await;

    // Act: two results report 1200 and 34 tokens; a dialogue message reports none that count.
    for (kind, tokens, who) in [
        ("result.success", 1200, &m.provider),
        ("dialogue.message", 999, &m.consumer),
        ("result.partial", 34, &m.provider),
    ] {
        app.post(
            &action(&id, "messages"),
            &who.auth(),
            &json!({ "type": kind, "payload": { "usage": { "totalTokens": tokens } } }),
        )
        .await
        .expect(200);
    }
    let ended = app
        .post_empty(&action(&id, "end"), &m.consumer.auth())
        .await
        .expect(200);

    // Assert: 1234 tokens x 0.001 = 1.234; fee round-half-even(0.1851) = 0.1851.
    assert_eq!(
        ended.body["settlement"],
        json!({ "amount": "1.2340", "platformFee": "0.1851", "providerIncome": "1.0489",
                "refund": "98.7660", "currency": "CNY", "units": 1234 })
    );
    assert_eq!(cny(&app, &m.consumer).await, dec("148.766"));
}

#[tokio::test]
async fn rejecting_or_ending_a_pending_session_returns_the_whole_hold() {
    // Arrange
    let app = spawn_app().await;
    let m = market(
        &app,
        json!({ "priceAmount": "5.00", "approvalMode": "manual", "maxConsumerSlots": 2 }),
        "20.00",
    )
    .await;
    let rejected = rented(&app, &m, "one").await;
    let abandoned = rented(&app, &m, "two").await;
    assert_eq!(cny(&app, &m.consumer).await, dec("10"));

    // Act
    let reject = app
        .post(
            &action(&rejected, "reject"),
            &m.provider.auth(),
            &json!({ "reason": "Not my field" }),
        )
        .await
        .expect(200);
    let end = app
        .post_empty(&action(&abandoned, "end"), &m.consumer.auth())
        .await
        .expect(200);

    // Assert: both aborted, nothing charged, the holds back.
    assert_eq!(reject.body["status"], "aborted");
    assert_eq!(reject.body["endReason"], "rejected");
    assert_eq!(reject.body["endNote"], "Not my field");
    assert_eq!(end.body["status"], "aborted");
    assert_eq!(end.body["settlement"]["amount"], "0.0000");
    assert_eq!(end.body["settlement"]["refund"], "5.0000");
    assert_eq!(cny(&app, &m.consumer).await, dec("20"));
    assert_eq!(cny(&app, &m.provider).await, dec("0"));
    // A rejected session cannot be approved any more.
    app.post_empty(&action(&rejected, "approve"), &m.provider.auth())
        .await
        .expect_error(409, "CONFLICT");
}
