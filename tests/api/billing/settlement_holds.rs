//! The life of a hold outside a clean settlement, through the hold/settle/void service: a hold
//! larger than the wallet is refused and leaves no trace, holds, settlements and voids are
//! idempotent per session, a free agent holds and settles nothing, and a hold naming a user
//! outside the marketplace is refused.

use super::support::{
    Deal, assert_ledger_ok, count_of, entries_of, parties, settled, split, stored_settlement, usage,
};
use crate::helpers::spawn_app;
use crate::money_helpers::{dec, terms};
use clawrent_api::agents::domain::PricingModel;
use clawrent_api::billing::domain::Usage;
use clawrent_api::billing::holds::Resolution;
use clawrent_api::error::ErrorCode;
use rust_decimal::Decimal;
use uuid::Uuid;

#[tokio::test]
async fn a_hold_larger_than_the_wallet_is_refused_and_leaves_no_trace() {
    let app = spawn_app().await;
    let (admin, tenant, consumer, provider) = parties(&app).await;
    app.topup(&consumer.auth(), "3.00").await.expect(200);
    let deal = Deal::new(&app, &tenant, &consumer, &provider);

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
        let err = deal
            .place(session, model, price, "CNY")
            .await
            .expect_err(name);
        assert_eq!(err.code, ErrorCode::InsufficientBalance, "{name}: {err}");
        assert_eq!(err.code.status().as_u16(), 402, "{name}");
        let holds = count_of(
            &app,
            "SELECT count(*) FROM holds WHERE session_id = $1",
            session,
        )
        .await;
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
    let err = deal
        .refused(PricingModel::PerSession, "0.01", "USD", "no USD wallet")
        .await;
    assert_eq!(err.code, ErrorCode::InsufficientBalance, "{err}");
    // Someone who never topped up cannot hold a cent.
    let broke = app.signup().await;
    let err = Deal::new(&app, &tenant, &broke, &provider)
        .refused(PricingModel::PerSession, "0.01", "CNY", "no wallet")
        .await;
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
    let err = deal
        .refused(PricingModel::PerSession, "0.0001", "CNY", "empty")
        .await;
    assert_eq!(err.code, ErrorCode::InsufficientBalance);
    assert_eq!(app.balance(&consumer, None).await, Decimal::ZERO);
    assert_ledger_ok(&app, &admin).await;
}

#[tokio::test]
async fn holds_settlements_and_voids_are_idempotent_per_session() {
    let app = spawn_app().await;
    let (admin, tenant, consumer, provider) = parties(&app).await;
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
        split(&s1),
        (3, dec("0.15"), dec("0.0225"), dec("0.1275"), dec("2.85"))
    );
    let two = app
        .settle(&tenant, session, usage(3_600, 0))
        .await
        .expect("replayed");
    assert!(two.replayed, "a second settle is a replay");
    let s2 = settled(&two);
    assert_eq!(
        (s2.entry_id, s2.hold_id, split(s2), s2.fee_rate),
        (s1.entry_id, s1.hold_id, split(&s1), s1.fee_rate),
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
    // The consumer never topped up: a free session needs no money.
    let (admin, tenant, consumer, provider) = parties(&app).await;
    let deal = Deal::new(&app, &tenant, &consumer, &provider);

    for model in [
        PricingModel::PerSession,
        PricingModel::Fixed,
        PricingModel::PerMinute,
        PricingModel::PerToken,
    ] {
        let session = Uuid::now_v7();
        let placed = deal
            .place(session, model, "0", "CNY")
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
    let session = deal.held(PricingModel::PerSession, "0.00", "CNY").await;
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
        let err = Deal::new(&app, &tenant, &consumer, provider)
            .refused(PricingModel::PerSession, "5.00", "CNY", name)
            .await;
        assert_eq!(err.code, ErrorCode::NotFound, "{name}: {err}");
    }
    let err = Deal::new(&app, &tenant, &ghost, &consumer)
        .refused(
            PricingModel::PerSession,
            "0",
            "CNY",
            "an unknown consumer, even for a free agent",
        )
        .await;
    assert_eq!(err.code, ErrorCode::NotFound, "{err}");
    assert_eq!(app.balance(&consumer, None).await, dec("50"));
    assert_eq!(app.count("SELECT count(*) FROM holds").await, 0);
}
