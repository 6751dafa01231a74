//! The hammer: many parallel top-ups (with repeated Idempotency-Keys), holds, settlements,
//! double settlements, voids racing settlements and overspends, on one hot wallet and on many
//! wallets (including pairs renting from each other at the same time). Afterwards independent
//! SQL audits (not the app's own queries) and our own bookkeeping of the returned results must
//! agree exactly:
//!
//! - per currency the postings sum to zero, and every journal entry does;
//! - every wallet equals the sum (and count) of its postings, and its history's running sum;
//! - no balance is negative;
//! - every hold has one hold entry and closed once: settled => one settlements row, one
//!   settlement entry, no void; voided => no settlements row, one void entry; its account is empty;
//! - every Idempotency-Key sent N times made one top-up entry, and all N responses name it;
//! - every settlement adds up (income + fee = amount, amount + refund = hold, fee rounded half to
//!   even) and its fee was posted;
//! - every balance over HTTP equals top-ups - holds + refunds + income from the returned results.
//!
//! The plan and how it runs are in `concurrency_plan`, the bookkeeping of the results in
//! `concurrency_book`, the SQL audits in `concurrency_audit`. The last test races fifty closes
//! of one session.

use super::concurrency_audit::{verify_ok, violations_now};
use super::concurrency_book::{Book, Counts};
use super::concurrency_plan::{
    Close, Ctx, Op, Rng, SessionPlan, cents, hammer, mirror_plan, session_plan, topup_plan,
};
use super::support::{Deal, count_of, entries_of, parties, split, usage};
use crate::helpers::{TestApp, TestUser, spawn_app_with};
use crate::money_helpers::dec;
use clawrent_api::agents::domain::PricingModel;
use clawrent_api::billing::domain::Usage;
use clawrent_api::billing::holds::{Resolution, Resolved};
use futures_util::StreamExt;
use futures_util::future::join_all;
use rust_decimal::Decimal;
use std::time::{Duration, Instant};

fn hammer_settings() -> [(&'static str, &'static str); 3] {
    [
        ("DATABASE_MAX_CONNECTIONS", "16"),
        ("RATE_LIMIT_TOPUP", "100000/1m"),
        ("WORKERS", "2"),
    ]
}

/// Signs up `n` users, a few at a time.
async fn signups(app: &TestApp, n: usize) -> Vec<TestUser> {
    futures_util::stream::iter(0..n)
        .map(|_| app.signup())
        .buffered(4)
        .collect()
        .await
}

fn report(label: &str, n: &Counts, elapsed: Duration) {
    println!(
        "[{label}] {:.1?}: committed {} (top-ups {}, holds {}, settled {}, voided {}), \
         rejected 402 {} (of {} hold calls), replayed {} (top-ups {} of {} requests, holds {}, closes {} of {} calls)",
        elapsed,
        n.committed(),
        n.topup_committed,
        n.hold_committed,
        n.settled,
        n.voided,
        n.hold_rejected,
        n.hold_calls,
        n.replayed(),
        n.topup_replayed,
        n.topup_requests,
        n.hold_replayed,
        n.close_replayed,
        n.close_calls,
    );
}

/// The consumer's and the provider's balances in the default currency.
async fn balances(app: &TestApp, consumer: &TestUser, provider: &TestUser) -> (Decimal, Decimal) {
    (
        app.balance(consumer, None).await,
        app.balance(provider, None).await,
    )
}

#[tokio::test]
async fn the_ledger_stays_exact_under_a_hammer_of_concurrent_money_movements() {
    let started = Instant::now();
    let app = spawn_app_with(&hammer_settings()).await;
    let admin = app.default_admin().await;
    let tenant = app.tenant_row("default").await;
    let users = signups(&app, 30).await;
    let user_ids = users.iter().map(|u| u.id.parse().expect("uuid")).collect();
    let ctx = Ctx {
        app: &app,
        tenant,
        users,
        user_ids,
        limits: app.state.settings.billing.hold_limits,
    };
    let seed = std::env::var("HAMMER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1ed6_u64);
    let mut rng = Rng::new(seed);
    println!(
        "seed {seed}; {} users signed up in {:.1?}",
        ctx.users.len(),
        started.elapsed()
    );
    let mut book = Book::default();

    // Scenario A: one hot wallet. User 0 tops up ~150 times (a third of the keys sent 2-3
    // times) while renting ~150 sessions from users 1-4; flat prices alone outweigh every
    // top-up, so the wallet runs dry and holds must be refused.
    let phase = Instant::now();
    let hot = 0;
    let mut ops: Vec<Op> = Vec::new();
    let mut supply = Decimal::ZERO;
    for _ in 0..150 {
        let plan = topup_plan(&mut rng, hot, "CNY", 100, 500);
        supply += plan.amount;
        ops.push(Op::Topup(plan));
    }
    // What the hot wallet must pay whatever happens: flat-price sessions that are only ever
    // settled (never voided) charge their full price.
    let flat_settled = |plan: &SessionPlan| {
        matches!(
            plan.terms.model,
            PricingModel::PerSession | PricingModel::Fixed
        ) && matches!(plan.close, Close::Settle | Close::DoubleSettle)
    };
    let mut sure_demand = Decimal::ZERO;
    let mut sessions = 0;
    while sessions < 150 || sure_demand <= supply * Decimal::new(12, 1) {
        let provider = 1 + rng.pick(4);
        let mut plan = session_plan(&mut rng, hot, provider, "CNY", 60);
        if sessions >= 150 {
            // Topping the plan up with flat sessions that are always settled.
            plan.terms.model = PricingModel::PerSession;
            plan.terms.unit_price.amount = cents(rng.range(300, 1_200));
            plan.close = Close::Settle;
        }
        if flat_settled(&plan) {
            sure_demand += plan.terms.unit_price.amount;
        }
        ops.push(Op::Session(plan));
        sessions += 1;
    }
    println!(
        "[A] plan: 150 top-up keys worth {supply}; {sessions} sessions, whose sure charges are {sure_demand}"
    );
    rng.shuffle(&mut ops);
    for done in hammer(&ctx, ops).await {
        book.record(&ctx, done);
    }
    let a = book.n;
    report("A: one hot wallet", &a, phase.elapsed());
    assert!(
        a.hold_rejected > 0,
        "flat charges of {sure_demand} exceed the {supply} topped up, so holds must be refused"
    );
    let after_a = violations_now(&ctx, &book, &admin).await;
    println!("[A] invariant violations: {}", after_a.len());

    // Scenario B: many wallets. Every user tops up a few times (in CNY and USD) and rents
    // from random others, with pairs renting from each other at the same moment.
    let phase = Instant::now();
    let n = ctx.users.len();
    let mut ops: Vec<Op> = Vec::new();
    for user in 0..n {
        for _ in 0..4 {
            let currency = if rng.chance(1, 4) { "USD" } else { "CNY" };
            ops.push(Op::Topup(topup_plan(&mut rng, user, currency, 300, 2_000)));
        }
    }
    let currency = |rng: &mut Rng| if rng.chance(1, 5) { "USD" } else { "CNY" };
    for _ in 0..400 {
        let consumer = rng.pick(n);
        let provider = (consumer + 1 + rng.pick(n - 1)) % n;
        let cur = currency(&mut rng);
        ops.push(Op::Session(session_plan(
            &mut rng, consumer, provider, cur, 50,
        )));
    }
    for _ in 0..60 {
        let x = rng.pick(n);
        let y = (x + 1 + rng.pick(n - 1)) % n;
        let cur = currency(&mut rng);
        let there = mirror_plan(&mut rng, x, y, cur);
        let back = mirror_plan(&mut rng, y, x, cur);
        ops.push(Op::Mirror(there, back));
    }
    rng.shuffle(&mut ops);
    for done in hammer(&ctx, ops).await {
        book.record(&ctx, done);
    }
    report("B: many wallets", &book.n.since(&a), phase.elapsed());

    let violations = violations_now(&ctx, &book, &admin).await;
    report("total", &book.n, started.elapsed());
    println!("invariant violations: {}", violations.len());
    for v in violations.iter().take(30) {
        println!("  {v}");
    }
    assert!(
        book.n.hold_replayed + book.n.close_replayed + book.n.topup_replayed > 0,
        "the hammer sent repeats"
    );
    assert!(
        after_a.is_empty(),
        "{} invariant violations after scenario A, first: {:?}",
        after_a.len(),
        after_a.first()
    );
    assert!(
        violations.is_empty(),
        "{} invariant violations, first: {:?}",
        violations.len(),
        violations.first()
    );
}

#[tokio::test]
async fn fifty_concurrent_settlements_of_one_session_settle_it_once() {
    let app = spawn_app_with(&hammer_settings()).await;
    let (admin, tenant, consumer, provider) = parties(&app).await;
    app.topup(&consumer.auth(), "10.00").await.expect(200);

    let deal = Deal::new(&app, &tenant, &consumer, &provider);
    // A hold of 6.00.
    let session = deal.held(PricingModel::PerMinute, "0.10", "CNY").await;
    assert_eq!(app.balance(&consumer, None).await, dec("4"));

    // Every call reports a different usage: whichever wins, all must report its result.
    let usages: Vec<Usage> = (0..50u64).map(|i| usage(i * 30, 0)).collect();
    let results = join_all(usages.iter().map(|u| app.settle(&tenant, session, *u))).await;
    let mut fresh = Vec::new();
    let mut all = Vec::new();
    for (usage, r) in usages.iter().zip(&results) {
        let r = r.as_ref().unwrap_or_else(|e| panic!("settle failed: {e}"));
        let Resolution::Settled(s) = &r.resolution else {
            panic!("only settlements were asked for: {:?}", r.resolution);
        };
        if !r.replayed {
            fresh.push((*usage, s.clone()));
        }
        all.push(s.clone());
    }
    assert_eq!(fresh.len(), 1, "exactly one call settles the session");
    let (usage, first) = &fresh[0];
    let minutes = usage.active.as_secs().div_ceil(60).clamp(1, 60);
    let charge = dec("0.10") * Decimal::from(minutes);
    assert_eq!(first.amount, charge, "the winner's own usage is charged");
    for s in &all {
        assert_eq!(
            (s.entry_id, split(s)),
            (first.entry_id, split(first)),
            "every call reports the one settlement"
        );
    }
    assert_eq!(
        app.balance(&provider, None).await,
        first.provider_income,
        "the provider is credited once"
    );
    assert_eq!(app.balance(&consumer, None).await, dec("10") - charge);
    assert_eq!(entries_of(&app, session, "settlement").await, 1);
    let rows = count_of(
        &app,
        "SELECT count(*) FROM settlements WHERE session_id = $1",
        session,
    )
    .await;
    assert_eq!(rows, 1);

    // 25 settlements racing 25 voids: one wins, and everyone reports the winner.
    let session = deal.held(PricingModel::PerSession, "1.00", "CNY").await;
    let before = balances(&app, &consumer, &provider).await;
    let calls = (0..50).map(|i| {
        let app = &app;
        let tenant = &tenant;
        async move {
            if i % 2 == 0 {
                app.settle(tenant, session, Usage::default()).await
            } else {
                app.void(tenant, session).await
            }
        }
    });
    let results = join_all(calls).await;
    let resolved: Vec<&Resolved> = results
        .iter()
        .map(|r| r.as_ref().unwrap_or_else(|e| panic!("close failed: {e}")))
        .collect();
    assert_eq!(resolved.iter().filter(|r| !r.replayed).count(), 1);
    let settled = resolved
        .iter()
        .filter(|r| matches!(r.resolution, Resolution::Settled(_)))
        .count();
    assert!(
        settled == 0 || settled == 50,
        "all calls report the same outcome, got {settled} settlements of 50"
    );
    let after = balances(&app, &consumer, &provider).await;
    if settled == 50 {
        assert_eq!(after, (before.0, before.1 + dec("0.85")));
    } else {
        assert_eq!(after, (before.0 + dec("1"), before.1));
    }
    verify_ok(&app, &admin).await.expect("ledger ok");
}
