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

use crate::helpers::{TestApp, TestUser, spawn_app_with};
use crate::money_helpers::{dec, terms};
use clawrent_api::agents::domain::PricingModel;
use clawrent_api::billing::domain::{HoldLimits, PricingTerms, Usage};
use clawrent_api::billing::holds::{Placed, Resolution, Resolved};
use clawrent_api::error::{ApiResult, ErrorCode};
use clawrent_api::tenancy::domain::Tenant;
use futures_util::StreamExt;
use futures_util::future::join_all;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use uuid::Uuid;

const IN_FLIGHT: usize = 32;
const CURRENCIES: [&str; 2] = ["CNY", "USD"];

fn hammer_settings() -> [(&'static str, &'static str); 3] {
    [
        ("DATABASE_MAX_CONNECTIONS", "16"),
        ("RATE_LIMIT_TOPUP", "100000/1m"),
        ("WORKERS", "2"),
    ]
}

/// A small deterministic generator (xorshift64*): the plan is reproducible, the interleaving
/// is not.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    /// True with probability `num / den`.
    fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next() % den < num
    }
    fn pick(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("index")
    }
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.pick(i + 1);
            items.swap(i, j);
        }
    }
}

fn cents(n: u64) -> Decimal {
    Decimal::new(i64::try_from(n).expect("small"), 2)
}

#[derive(Debug, Clone)]
struct TopupPlan {
    user: usize,
    currency: &'static str,
    amount: Decimal,
    key: String,
    /// How many times the key is sent (1-3).
    copies: usize,
    /// Repeats are sent at the same moment rather than one after the other.
    concurrent: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Close {
    Settle,
    /// Two settlements at once (with different usage).
    DoubleSettle,
    /// A settlement and a void at once.
    SettleVsVoid,
    Void,
}

#[derive(Debug, Clone)]
struct SessionPlan {
    id: Uuid,
    consumer: usize,
    provider: usize,
    terms: PricingTerms,
    usage: Usage,
    usage2: Usage,
    /// The hold is placed twice at once.
    dup_hold: bool,
    close: Close,
}

#[derive(Debug)]
enum Op {
    Topup(TopupPlan),
    Session(SessionPlan),
    /// A rents from B while B rents from A.
    Mirror(SessionPlan, SessionPlan),
}

struct TopupReply {
    status: u16,
    replayed: bool,
    transaction_id: Option<Uuid>,
    amount: Option<Decimal>,
    body: Value,
    text: String,
}

struct SessionDone {
    plan: SessionPlan,
    placed: Vec<ApiResult<Placed>>,
    /// Each close call with the usage it sent (None for a void).
    closes: Vec<(Option<Usage>, ApiResult<Resolved>)>,
}

enum Done {
    Topup(TopupPlan, Vec<TopupReply>),
    Sessions(Vec<SessionDone>),
}

struct Ctx<'a> {
    app: &'a TestApp,
    tenant: Tenant,
    users: Vec<TestUser>,
    user_ids: Vec<Uuid>,
    limits: HoldLimits,
}

async fn send_topup(ctx: &Ctx<'_>, plan: &TopupPlan) -> TopupReply {
    let body = json!({ "amount": plan.amount.to_string(), "currency": plan.currency });
    let reply = ctx
        .app
        .topup_keyed(ctx.users[plan.user].auth(), &plan.key, &body)
        .await;
    TopupReply {
        status: reply.status.as_u16(),
        replayed: reply.header("idempotent-replayed") == Some("true"),
        transaction_id: reply.body["transactionId"]
            .as_str()
            .and_then(|s| s.parse().ok()),
        amount: reply.body["amount"].as_str().and_then(|s| s.parse().ok()),
        body: reply.body,
        text: reply.text,
    }
}

async fn run_topup(ctx: &Ctx<'_>, plan: &TopupPlan) -> Vec<TopupReply> {
    if plan.concurrent {
        join_all((0..plan.copies).map(|_| send_topup(ctx, plan))).await
    } else {
        let mut replies = Vec::with_capacity(plan.copies);
        for _ in 0..plan.copies {
            replies.push(send_topup(ctx, plan).await);
        }
        replies
    }
}

async fn place(ctx: &Ctx<'_>, plan: &SessionPlan) -> Vec<ApiResult<Placed>> {
    let consumer = &ctx.users[plan.consumer];
    let provider = &ctx.users[plan.provider];
    let place = || {
        ctx.app
            .place_hold(&ctx.tenant, plan.id, consumer, provider, plan.terms.clone())
    };
    if plan.dup_hold {
        let (a, b) = tokio::join!(place(), place());
        vec![a, b]
    } else {
        vec![place().await]
    }
}

async fn close(
    ctx: &Ctx<'_>,
    plan: &SessionPlan,
    placed: &[ApiResult<Placed>],
) -> Vec<(Option<Usage>, ApiResult<Resolved>)> {
    if !placed.iter().any(Result::is_ok) {
        return Vec::new();
    }
    let (app, tenant) = (ctx.app, &ctx.tenant);
    let settle = |usage| app.settle(tenant, plan.id, usage);
    match plan.close {
        Close::Settle => vec![(Some(plan.usage), settle(plan.usage).await)],
        Close::DoubleSettle => {
            let (a, b) = tokio::join!(settle(plan.usage), settle(plan.usage2));
            vec![(Some(plan.usage), a), (Some(plan.usage2), b)]
        }
        Close::SettleVsVoid => {
            let (a, b) = tokio::join!(settle(plan.usage), app.void(tenant, plan.id));
            vec![(Some(plan.usage), a), (None, b)]
        }
        Close::Void => vec![(None, app.void(tenant, plan.id).await)],
    }
}

async fn run_session(ctx: &Ctx<'_>, plan: SessionPlan) -> SessionDone {
    let placed = place(ctx, &plan).await;
    let closes = close(ctx, &plan, &placed).await;
    SessionDone {
        plan,
        placed,
        closes,
    }
}

/// A rents from B while B rents from A: both holds at once, then both closes at once, so
/// the two settlements lock the same two wallets at the same moment.
async fn run_mirror(ctx: &Ctx<'_>, a: SessionPlan, b: SessionPlan) -> Vec<SessionDone> {
    let (placed_a, placed_b) = tokio::join!(place(ctx, &a), place(ctx, &b));
    let (closes_a, closes_b) = tokio::join!(close(ctx, &a, &placed_a), close(ctx, &b, &placed_b));
    vec![
        SessionDone {
            plan: a,
            placed: placed_a,
            closes: closes_a,
        },
        SessionDone {
            plan: b,
            placed: placed_b,
            closes: closes_b,
        },
    ]
}

async fn run_op(ctx: &Ctx<'_>, op: Op) -> Done {
    match op {
        Op::Topup(plan) => {
            let replies = run_topup(ctx, &plan).await;
            Done::Topup(plan, replies)
        }
        Op::Session(plan) => Done::Sessions(vec![run_session(ctx, plan).await]),
        Op::Mirror(a, b) => Done::Sessions(run_mirror(ctx, a, b).await),
    }
}

/// Runs the operations with `IN_FLIGHT` at once, in the order given.
async fn hammer(ctx: &Ctx<'_>, ops: Vec<Op>) -> Vec<Done> {
    futures_util::stream::iter(ops)
        .map(|op| run_op(ctx, op))
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await
}

/// The split a settlement must have, computed here from the terms and the usage.
struct Expected {
    hold: Decimal,
    units: i64,
    charge: Decimal,
    fee: Decimal,
    refund: Decimal,
}

fn expected(terms: &PricingTerms, limits: HoldLimits, usage: Usage, rate: Decimal) -> Expected {
    let max_units: u64 = match terms.model {
        PricingModel::PerSession | PricingModel::Fixed => 1,
        PricingModel::PerMinute => u64::from(limits.minute_cap),
        PricingModel::PerToken => limits.token_budget,
    };
    let used: u64 = match terms.model {
        PricingModel::PerSession | PricingModel::Fixed => 1,
        PricingModel::PerMinute => usage.active.as_secs().div_ceil(60).max(1),
        PricingModel::PerToken => usage.tokens,
    };
    let units = used.min(max_units);
    let hold = terms.unit_price * Decimal::from(max_units);
    let charge = terms.unit_price * Decimal::from(units);
    let fee = (charge * rate).round_dp_with_strategy(4, RoundingStrategy::MidpointNearestEven);
    Expected {
        hold,
        units: i64::try_from(units).expect("units"),
        charge,
        fee,
        refund: hold - charge,
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    topup_requests: usize,
    topup_committed: usize,
    topup_replayed: usize,
    hold_calls: usize,
    hold_committed: usize,
    hold_rejected: usize,
    hold_replayed: usize,
    close_calls: usize,
    settled: usize,
    voided: usize,
    close_replayed: usize,
}

impl Counts {
    fn committed(&self) -> usize {
        self.topup_committed + self.hold_committed + self.settled + self.voided
    }
    fn replayed(&self) -> usize {
        self.topup_replayed + self.hold_replayed + self.close_replayed
    }
}

/// Our own bookkeeping of what the calls returned.
#[derive(Default)]
struct Book {
    /// (user index, currency) → expected balance.
    balances: HashMap<(usize, String), Decimal>,
    topups: HashMap<String, Decimal>,
    fees: HashMap<String, Decimal>,
    /// Every key: its transaction id, the user, the amount, and how often it was sent.
    keys: Vec<(String, Uuid, usize, Decimal, usize)>,
    /// Sessions whose hold was placed.
    held_sessions: usize,
    n: Counts,
    violations: Vec<String>,
}

impl Book {
    fn add(&mut self, user: usize, currency: &str, amount: Decimal) {
        *self
            .balances
            .entry((user, currency.to_owned()))
            .or_default() += amount;
    }

    fn balance(&self, user: usize, currency: &str) -> Decimal {
        self.balances
            .get(&(user, currency.to_owned()))
            .copied()
            .unwrap_or_default()
    }

    fn violation(&mut self, what: String) {
        self.violations.push(what);
    }

    fn record(&mut self, ctx: &Ctx<'_>, done: Done) {
        match done {
            Done::Topup(plan, replies) => self.topup(&plan, &replies),
            Done::Sessions(sessions) => {
                for s in sessions {
                    self.session(ctx, s);
                }
            }
        }
    }

    fn topup(&mut self, plan: &TopupPlan, replies: &[TopupReply]) {
        self.n.topup_requests += replies.len();
        let key = &plan.key;
        for r in replies {
            if r.status != 200 {
                self.violation(format!("top-up {key}: status {}: {}", r.status, r.text));
                return;
            }
        }
        let fresh: Vec<&TopupReply> = replies.iter().filter(|r| !r.replayed).collect();
        self.n.topup_committed += fresh.len();
        self.n.topup_replayed += replies.len() - fresh.len();
        if fresh.len() != 1 {
            self.violation(format!(
                "top-up {key}: {} of {} responses were not replays",
                fresh.len(),
                replies.len()
            ));
        }
        let first = fresh.first().copied().unwrap_or(&replies[0]);
        let Some(id) = first.transaction_id else {
            self.violation(format!("top-up {key}: no transactionId: {}", first.text));
            return;
        };
        for r in replies {
            if r.transaction_id != Some(id) || r.body != first.body {
                self.violation(format!(
                    "top-up {key}: responses differ: {} vs {}",
                    first.text, r.text
                ));
            }
        }
        if first.amount != Some(plan.amount) || first.body["currency"] != plan.currency {
            self.violation(format!("top-up {key}: wrong amount: {}", first.text));
        }
        self.add(plan.user, plan.currency, plan.amount);
        *self.topups.entry(plan.currency.to_owned()).or_default() += plan.amount;
        self.keys
            .push((key.clone(), id, plan.user, plan.amount, replies.len()));
    }

    fn session(&mut self, ctx: &Ctx<'_>, s: SessionDone) {
        let plan = &s.plan;
        let sid = plan.id;
        let currency = plan.terms.currency.clone();
        let rate = ctx.tenant.fee_rate;
        self.n.hold_calls += s.placed.len();
        let mut fresh_hold = None;
        let mut fresh_count = 0;
        for r in &s.placed {
            match r {
                Ok(p) if p.replayed => self.n.hold_replayed += 1,
                Ok(p) => {
                    self.n.hold_committed += 1;
                    fresh_count += 1;
                    fresh_hold = Some(p.hold.clone());
                }
                Err(e) if e.code == ErrorCode::InsufficientBalance => {
                    if e.code.status().as_u16() != 402 {
                        self.violation(format!("session {sid}: 402 expected, got {e}"));
                    }
                    self.n.hold_rejected += 1;
                }
                Err(e) => self.violation(format!("session {sid}: hold failed: {e}")),
            }
        }
        if fresh_count > 1 {
            self.violation(format!(
                "session {sid}: the hold was placed {fresh_count} times"
            ));
        }
        let any_ok = s.placed.iter().any(Result::is_ok);
        let Some(hold) = fresh_hold else {
            if any_ok {
                self.violation(format!(
                    "session {sid}: a replayed hold without a first one"
                ));
            }
            return;
        };
        self.held_sessions += 1;
        let exp_hold = expected(&plan.terms, ctx.limits, Usage::default(), rate).hold;
        if hold.amount != exp_hold || hold.consumer_id != ctx.user_ids[plan.consumer] {
            self.violation(format!(
                "session {sid}: hold {} expected {exp_hold}",
                hold.amount
            ));
        }
        self.add(plan.consumer, &currency, -hold.amount);

        // Exactly one close has the effect; every other call reports that same first result.
        self.n.close_calls += s.closes.len();
        let mut fresh: Vec<(Option<Usage>, &Resolution)> = Vec::new();
        let mut replays: Vec<&Resolution> = Vec::new();
        for (usage, r) in &s.closes {
            match r {
                Ok(r) if r.replayed => {
                    self.n.close_replayed += 1;
                    replays.push(&r.resolution);
                }
                Ok(r) => fresh.push((*usage, &r.resolution)),
                Err(e) => self.violation(format!("session {sid}: close failed: {e}")),
            }
        }
        if fresh.len() != 1 {
            self.violation(format!(
                "session {sid}: {} closes had an effect ({:?})",
                fresh.len(),
                plan.close
            ));
            return;
        }
        let (usage, first) = fresh[0];
        match (first, usage) {
            (Resolution::Settled(st), Some(usage)) => {
                self.n.settled += 1;
                let e = expected(&plan.terms, ctx.limits, usage, rate);
                let got = (st.units, st.amount, st.platform_fee, st.refund);
                if got != (e.units, e.charge, e.fee, e.refund)
                    || st.provider_income != e.charge - e.fee
                    || st.hold_id != hold.id
                {
                    self.violation(format!(
                        "session {sid}: settlement {got:?} expected {:?}",
                        (e.units, e.charge, e.fee, e.refund)
                    ));
                }
                self.add(plan.consumer, &currency, st.refund);
                self.add(plan.provider, &currency, st.provider_income);
                *self.fees.entry(currency.clone()).or_default() += st.platform_fee;
            }
            (Resolution::Voided(h), None) => {
                self.n.voided += 1;
                if h.id != hold.id {
                    self.violation(format!("session {sid}: voided another hold"));
                }
                self.add(plan.consumer, &currency, h.amount);
            }
            (resolution, usage) => self.violation(format!(
                "session {sid}: a {} call returned {resolution:?}",
                if usage.is_some() { "settle" } else { "void" }
            )),
        }
        for replay in replays {
            let same = match (first, replay) {
                (Resolution::Settled(a), Resolution::Settled(b)) => {
                    (
                        a.entry_id,
                        a.units,
                        a.amount,
                        a.platform_fee,
                        a.provider_income,
                        a.refund,
                    ) == (
                        b.entry_id,
                        b.units,
                        b.amount,
                        b.platform_fee,
                        b.provider_income,
                        b.refund,
                    )
                }
                (Resolution::Voided(a), Resolution::Voided(b)) => a.id == b.id,
                _ => false,
            };
            if !same {
                self.violation(format!(
                    "session {sid}: a replay reports {replay:?}, the first call {first:?}"
                ));
            }
        }
    }
}

/// A random price for `model`, so that holds range from a few cents to about 12.
fn price(rng: &mut Rng, model: PricingModel) -> Decimal {
    if rng.chance(1, 25) {
        return Decimal::ZERO; // a free agent
    }
    match model {
        // Some prices use all 4 decimals, to exercise the fee rounding.
        PricingModel::PerSession | PricingModel::Fixed if rng.chance(1, 4) => {
            Decimal::new(i64::try_from(rng.range(50, 120_000)).expect("small"), 4)
        }
        PricingModel::PerSession | PricingModel::Fixed => cents(rng.range(50, 1_200)),
        PricingModel::PerMinute => cents(rng.range(1, 20)),
        PricingModel::PerToken => Decimal::new(1, 4),
    }
}

fn session_plan(
    rng: &mut Rng,
    consumer: usize,
    provider: usize,
    currency: &str,
    flat_share: u64,
) -> SessionPlan {
    let model = if rng.chance(flat_share, 100) {
        if rng.chance(1, 2) {
            PricingModel::PerSession
        } else {
            PricingModel::Fixed
        }
    } else if rng.chance(2, 3) {
        PricingModel::PerMinute
    } else {
        PricingModel::PerToken
    };
    let unit_price = price(rng, model);
    let mut usage = || Usage {
        active: Duration::from_secs(rng.range(0, 5_000)),
        tokens: if rng.chance(1, 6) {
            0
        } else {
            rng.range(1, 150_000)
        },
    };
    let (u1, u2) = (usage(), usage());
    let close = match rng.range(0, 11) {
        0..=5 => Close::Settle,
        6..=7 => Close::DoubleSettle,
        8..=9 => Close::SettleVsVoid,
        _ => Close::Void,
    };
    SessionPlan {
        id: Uuid::now_v7(),
        consumer,
        provider,
        terms: PricingTerms {
            model,
            unit_price,
            currency: currency.to_owned(),
        },
        usage: u1,
        usage2: u2,
        dup_hold: rng.chance(1, 8),
        close,
    }
}

/// One side of a mirrored pair: a cheap per-minute session settled with both an income and a
/// refund, so its settlement credits both wallets (the pattern that deadlocks when two
/// settlements lock the same two wallets in opposite orders).
fn mirror_plan(rng: &mut Rng, consumer: usize, provider: usize, currency: &str) -> SessionPlan {
    let mut usage = || Usage {
        active: Duration::from_secs(rng.range(0, 1_200)),
        tokens: 0,
    };
    let (u1, u2) = (usage(), usage());
    SessionPlan {
        id: Uuid::now_v7(),
        consumer,
        provider,
        terms: PricingTerms {
            model: PricingModel::PerMinute,
            unit_price: cents(rng.range(1, 5)),
            currency: currency.to_owned(),
        },
        usage: u1,
        usage2: u2,
        dup_hold: false,
        close: if rng.chance(1, 4) {
            Close::DoubleSettle
        } else {
            Close::Settle
        },
    }
}

fn topup_plan(rng: &mut Rng, user: usize, currency: &'static str, lo: u64, hi: u64) -> TopupPlan {
    let copies = if rng.chance(1, 3) {
        usize::try_from(rng.range(2, 3)).expect("small")
    } else {
        1
    };
    TopupPlan {
        user,
        currency,
        amount: cents(rng.range(lo, hi)),
        key: format!("hammer-{}", Uuid::now_v7().simple()),
        copies,
        concurrent: copies > 1 && rng.chance(1, 2),
    }
}

#[derive(Debug, sqlx::FromRow)]
struct HoldAudit {
    id: Uuid,
    status: String,
    amount: Decimal,
    settlements: i64,
    /// Journal entries of each kind for the hold's session.
    placed: i64,
    settled: i64,
    voided: i64,
    /// What the hold's account still holds.
    held: Decimal,
}

#[derive(Debug, sqlx::FromRow)]
struct SettlementAudit {
    session_id: Uuid,
    amount: Decimal,
    platform_fee: Decimal,
    provider_income: Decimal,
    refund: Decimal,
    fee_rate: Decimal,
    hold: Decimal,
    fee_posted: Decimal,
}

/// Independent SQL audits of the whole ledger against the invariants and the bookkeeping.
async fn audit(ctx: &Ctx<'_>, book: &Book) -> Vec<String> {
    let db = &ctx.app.db;
    let mut bad: Vec<String> = Vec::new();

    // Per currency, the postings sum to zero.
    let rows: Vec<(String, Decimal)> = sqlx::query_as(
        "SELECT currency, sum(amount) FROM ledger_postings GROUP BY currency HAVING sum(amount) <> 0",
    )
    .fetch_all(db)
    .await
    .expect("currency sums");
    bad.extend(
        rows.iter()
            .map(|(c, s)| format!("{c}: postings sum to {s}")),
    );

    // Every entry sums to zero, in its own currency and tenant.
    let rows: Vec<(Uuid, Decimal)> = sqlx::query_as(
        "SELECT entry_id, sum(amount) FROM ledger_postings GROUP BY entry_id HAVING sum(amount) <> 0",
    )
    .fetch_all(db)
    .await
    .expect("entry sums");
    bad.extend(rows.iter().map(|(e, s)| format!("entry {e} sums to {s}")));
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id
         WHERE p.currency <> e.currency OR p.tenant_id <> e.tenant_id OR p.reference_id <> e.reference_id",
    )
    .fetch_one(db)
    .await
    .expect("posting/entry match");
    if n != 0 {
        bad.push(format!("{n} postings disagree with their entry"));
    }

    // Every wallet equals the sum and the count of its postings.
    let rows: Vec<(Uuid, Decimal, Decimal, i64, i64)> = sqlx::query_as(
        "SELECT w.id, w.balance, coalesce(p.total, 0), w.postings, coalesce(p.n, 0)
         FROM wallets w
         LEFT JOIN (SELECT account_id, sum(amount) AS total, count(*) AS n
                    FROM ledger_postings WHERE account = 'wallet' GROUP BY account_id) p
                ON p.account_id = w.id
         WHERE w.balance <> coalesce(p.total, 0) OR w.postings <> coalesce(p.n, 0)",
    )
    .fetch_all(db)
    .await
    .expect("wallet sums");
    bad.extend(rows.iter().map(|(w, b, s, n, c)| {
        format!("wallet {w}: balance {b} but postings sum to {s}; counter {n} but {c} postings")
    }));
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ledger_postings p WHERE p.account = 'wallet' AND NOT EXISTS (
            SELECT 1 FROM wallets w WHERE w.id = p.account_id AND w.user_id = p.user_id
              AND w.currency = p.currency AND w.tenant_id = p.tenant_id)",
    )
    .fetch_one(db)
    .await
    .expect("orphan wallet postings");
    if n != 0 {
        bad.push(format!("{n} wallet postings match no wallet"));
    }
    // Each wallet posting's balance_after is the running sum of the wallet's postings.
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (
            SELECT balance_after, sum(amount) OVER (PARTITION BY account_id ORDER BY id
                                                   ROWS UNBOUNDED PRECEDING) AS running
            FROM ledger_postings WHERE account = 'wallet') h
         WHERE h.running <> h.balance_after",
    )
    .fetch_one(db)
    .await
    .expect("wallet history");
    if n != 0 {
        bad.push(format!("{n} wallet postings have a wrong balanceAfter"));
    }

    // No negative balance.
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM wallets WHERE balance < 0")
        .fetch_one(db)
        .await
        .expect("negative");
    if n != 0 {
        bad.push(format!("{n} negative wallets"));
    }

    // Holds: placed once, closed once, their account empty once closed.
    let holds: Vec<HoldAudit> = sqlx::query_as(
        "SELECT h.id, h.status::text AS status, h.amount,
                (SELECT count(*) FROM settlements s WHERE s.hold_id = h.id) AS settlements,
                (SELECT count(*) FROM ledger_entries e
                  WHERE e.reference_id = h.session_id AND e.kind = 'hold') AS placed,
                (SELECT count(*) FROM ledger_entries e
                  WHERE e.reference_id = h.session_id AND e.kind = 'settlement') AS settled,
                (SELECT count(*) FROM ledger_entries e
                  WHERE e.reference_id = h.session_id AND e.kind = 'void') AS voided,
                (SELECT coalesce(sum(amount), 0) FROM ledger_postings p
                  WHERE p.account = 'hold' AND p.account_id = h.id) AS held
         FROM holds h",
    )
    .fetch_all(db)
    .await
    .expect("holds");
    for h in &holds {
        let closed_once = match h.status.as_str() {
            "settled" => h.settlements == 1 && h.settled == 1 && h.voided == 0,
            "voided" => h.settlements == 0 && h.settled == 0 && h.voided == 1,
            // Every placed hold was closed by the hammer.
            _ => false,
        };
        if h.placed != 1 || !closed_once || !h.held.is_zero() {
            bad.push(format!(
                "hold {} ({}, {}): {} settlements, {} hold / {} settlement / {} void entries, \
                 {} left in its account",
                h.id, h.status, h.amount, h.settlements, h.placed, h.settled, h.voided, h.held
            ));
        }
    }
    if holds.len() != book.held_sessions {
        bad.push(format!(
            "{} holds in the database, {} placed according to the responses",
            holds.len(),
            book.held_sessions
        ));
    }
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ledger_entries e WHERE e.kind IN ('hold', 'settlement', 'void')
         AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.session_id = e.reference_id
                         AND h.tenant_id = e.tenant_id)",
    )
    .fetch_one(db)
    .await
    .expect("orphan entries");
    if n != 0 {
        bad.push(format!(
            "{n} session entries without a hold (a refused hold left a trace)"
        ));
    }

    // Each key sent N times: one top-up entry, the one all N responses named.
    for (key, id, user, amount, copies) in &book.keys {
        let entries: i64 = sqlx::query_scalar("SELECT count(*) FROM ledger_entries WHERE id = $1")
            .bind(id)
            .fetch_one(db)
            .await
            .expect("entry");
        let credited: Option<Decimal> = sqlx::query_scalar(
            "SELECT sum(amount) FROM ledger_postings
             WHERE entry_id = $1 AND account = 'wallet' AND user_id = $2",
        )
        .bind(id)
        .bind(ctx.user_ids[*user])
        .fetch_one(db)
        .await
        .expect("credit");
        if entries != 1 || credited != Some(*amount) {
            bad.push(format!(
                "key {key} (sent {copies}x): {entries} entries with id {id}, credited {credited:?}"
            ));
        }
    }
    let topup_entries: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ledger_entries WHERE kind = 'topup'")
            .fetch_one(db)
            .await
            .expect("top-ups");
    if topup_entries != i64::try_from(book.keys.len()).expect("small") {
        bad.push(format!(
            "{topup_entries} top-up entries for {} distinct keys",
            book.keys.len()
        ));
    }

    // Settlements add up, and their fee was posted.
    let rows: Vec<SettlementAudit> = sqlx::query_as(
        "SELECT s.session_id, s.amount, s.platform_fee, s.provider_income, s.refund, s.fee_rate,
                h.amount AS hold,
                (SELECT coalesce(sum(amount), 0) FROM ledger_postings p
                  WHERE p.entry_id = s.entry_id AND p.account = 'platform_fee') AS fee_posted
         FROM settlements s JOIN holds h ON h.id = s.hold_id",
    )
    .fetch_all(db)
    .await
    .expect("settlements");
    for s in &rows {
        let rounded = (s.amount * s.fee_rate)
            .round_dp_with_strategy(4, RoundingStrategy::MidpointNearestEven);
        let parts = [s.amount, s.platform_fee, s.provider_income, s.refund];
        if s.provider_income + s.platform_fee != s.amount
            || s.amount + s.refund != s.hold
            || s.platform_fee != rounded
            || s.fee_posted != s.platform_fee
            || parts.iter().any(Decimal::is_sign_negative)
        {
            bad.push(format!(
                "settlement of {} does not add up: {s:?}",
                s.session_id
            ));
        }
    }

    // The ledger's tenant accounts agree with the bookkeeping.
    for currency in CURRENCIES {
        let (clearing, fees): (Decimal, Decimal) = sqlx::query_as(
            "SELECT coalesce(sum(amount) FILTER (WHERE account = 'payment_clearing'), 0),
                    coalesce(sum(amount) FILTER (WHERE account = 'platform_fee'), 0)
             FROM ledger_postings WHERE currency = $1",
        )
        .bind(currency)
        .fetch_one(db)
        .await
        .expect("tenant accounts");
        let topped = book.topups.get(currency).copied().unwrap_or_default();
        let earned = book.fees.get(currency).copied().unwrap_or_default();
        if clearing != -topped || fees != earned {
            bad.push(format!(
                "{currency}: clearing {clearing} vs top-ups {topped}; fees {fees} vs {earned}"
            ));
        }
    }

    // Every balance, over HTTP and in the table, is what the responses add up to.
    for (i, user) in ctx.users.iter().enumerate() {
        for currency in CURRENCIES {
            let http = ctx.app.balance(user, Some(currency)).await;
            let want = book.balance(i, currency);
            if http != want {
                bad.push(format!(
                    "user {i} {currency}: balance {http} over HTTP, {want} from the responses"
                ));
            }
        }
    }

    bad
}

async fn verify_ok(app: &TestApp, admin: &TestUser) -> Result<(), String> {
    let report = app.get("/api/admin/ledger/verify", &admin.auth()).await;
    if report.status.as_u16() == 200 && report.body["ok"] == true {
        Ok(())
    } else {
        Err(format!("ledger verify: {} {}", report.status, report.text))
    }
}

/// Everything wrong so far: the responses' own contradictions, the SQL audits, the app's
/// verification.
async fn violations_now(ctx: &Ctx<'_>, book: &Book, admin: &TestUser) -> Vec<String> {
    let mut all = book.violations.clone();
    all.extend(audit(ctx, book).await);
    if let Err(e) = verify_ok(ctx.app, admin).await {
        all.push(e);
    }
    all
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
            plan.terms.unit_price = cents(rng.range(300, 1_200));
            plan.close = Close::Settle;
        }
        if flat_settled(&plan) {
            sure_demand += plan.terms.unit_price;
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
    let mut b = book.n;
    for (total, first) in [
        (&mut b.topup_requests, a.topup_requests),
        (&mut b.topup_committed, a.topup_committed),
        (&mut b.topup_replayed, a.topup_replayed),
        (&mut b.hold_calls, a.hold_calls),
        (&mut b.hold_committed, a.hold_committed),
        (&mut b.hold_rejected, a.hold_rejected),
        (&mut b.hold_replayed, a.hold_replayed),
        (&mut b.close_calls, a.close_calls),
        (&mut b.settled, a.settled),
        (&mut b.voided, a.voided),
        (&mut b.close_replayed, a.close_replayed),
    ] {
        *total -= first;
    }
    report("B: many wallets", &b, phase.elapsed());

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
    let admin = app.default_admin().await;
    let tenant = app.tenant_row("default").await;
    let consumer = app.signup().await;
    let provider = app.signup().await;
    app.topup(&consumer.auth(), "10.00").await.expect(200);

    let session = Uuid::now_v7();
    app.place_hold(
        &tenant,
        session,
        &consumer,
        &provider,
        terms(PricingModel::PerMinute, "0.10", "CNY"),
    )
    .await
    .expect("hold of 6.00");
    assert_eq!(app.balance(&consumer, None).await, dec("4"));

    // Every call reports a different usage: whichever wins, all must report its result.
    let usages: Vec<Usage> = (0..50u64)
        .map(|i| Usage {
            active: Duration::from_secs(i * 30),
            tokens: 0,
        })
        .collect();
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
            (
                s.entry_id,
                s.units,
                s.amount,
                s.platform_fee,
                s.provider_income,
                s.refund
            ),
            (
                first.entry_id,
                first.units,
                first.amount,
                first.platform_fee,
                first.provider_income,
                first.refund
            ),
            "every call reports the one settlement"
        );
    }
    assert_eq!(
        app.balance(&provider, None).await,
        first.provider_income,
        "the provider is credited once"
    );
    assert_eq!(app.balance(&consumer, None).await, dec("10") - charge);
    let entries: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ledger_entries WHERE reference_id = $1 AND kind = 'settlement'",
    )
    .bind(session)
    .fetch_one(&app.db)
    .await
    .expect("entries");
    assert_eq!(entries, 1);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM settlements WHERE session_id = $1")
        .bind(session)
        .fetch_one(&app.db)
        .await
        .expect("rows");
    assert_eq!(rows, 1);

    // 25 settlements racing 25 voids: one wins, and everyone reports the winner.
    let session = Uuid::now_v7();
    app.place_hold(
        &tenant,
        session,
        &consumer,
        &provider,
        terms(PricingModel::PerSession, "1.00", "CNY"),
    )
    .await
    .expect("hold of 1.00");
    let before = (
        app.balance(&consumer, None).await,
        app.balance(&provider, None).await,
    );
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
    let after = (
        app.balance(&consumer, None).await,
        app.balance(&provider, None).await,
    );
    if settled == 50 {
        assert_eq!(after, (before.0, before.1 + dec("0.85")));
    } else {
        assert_eq!(after, (before.0 + dec("1"), before.1));
    }
    verify_ok(&app, &admin).await.expect("ledger ok");
}
