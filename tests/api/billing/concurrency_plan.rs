//! What the hammer of `concurrency` does: a reproducible plan of money movements (top-ups
//! with repeated Idempotency-Keys, sessions with every way of closing them, pairs renting from
//! each other), and running it with `IN_FLIGHT` operations at once, keeping what every call
//! returned.

use crate::helpers::{TestApp, TestUser};
use clawrent_api::agents::domain::PricingModel;
use clawrent_api::billing::domain::{HoldLimits, PricingTerms, Usage};
use clawrent_api::billing::holds::{Placed, Resolved};
use clawrent_api::error::ApiResult;
use clawrent_api::money::{Currency, Money};
use clawrent_api::tenancy::domain::Tenant;
use futures_util::StreamExt;
use futures_util::future::join_all;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

const IN_FLIGHT: usize = 32;

/// A small deterministic generator (xorshift64*): the plan is reproducible, the interleaving
/// is not.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
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
    pub(super) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    /// True with probability `num / den`.
    pub(super) fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next() % den < num
    }
    pub(super) fn pick(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("index")
    }
    pub(super) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.pick(i + 1);
            items.swap(i, j);
        }
    }
}

pub(super) fn cents(n: u64) -> Decimal {
    Decimal::new(i64::try_from(n).expect("small"), 2)
}

#[derive(Debug, Clone)]
pub(super) struct TopupPlan {
    pub(super) user: usize,
    pub(super) currency: &'static str,
    pub(super) amount: Decimal,
    pub(super) key: String,
    /// How many times the key is sent (1-3).
    pub(super) copies: usize,
    /// Repeats are sent at the same moment rather than one after the other.
    pub(super) concurrent: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Close {
    Settle,
    /// Two settlements at once (with different usage).
    DoubleSettle,
    /// A settlement and a void at once.
    SettleVsVoid,
    Void,
}

#[derive(Debug, Clone)]
pub(super) struct SessionPlan {
    pub(super) id: Uuid,
    pub(super) consumer: usize,
    pub(super) provider: usize,
    pub(super) terms: PricingTerms,
    pub(super) usage: Usage,
    pub(super) usage2: Usage,
    /// The hold is placed twice at once.
    pub(super) dup_hold: bool,
    pub(super) close: Close,
}

#[derive(Debug)]
pub(super) enum Op {
    Topup(TopupPlan),
    Session(SessionPlan),
    /// A rents from B while B rents from A.
    Mirror(SessionPlan, SessionPlan),
}

pub(super) struct TopupReply {
    pub(super) status: u16,
    pub(super) replayed: bool,
    pub(super) transaction_id: Option<Uuid>,
    pub(super) amount: Option<Decimal>,
    pub(super) body: Value,
    pub(super) text: String,
}

pub(super) struct SessionDone {
    pub(super) plan: SessionPlan,
    pub(super) placed: Vec<ApiResult<Placed>>,
    /// Each close call with the usage it sent (None for a void).
    pub(super) closes: Vec<(Option<Usage>, ApiResult<Resolved>)>,
}

pub(super) enum Done {
    Topup(TopupPlan, Vec<TopupReply>),
    Sessions(Vec<SessionDone>),
}

pub(super) struct Ctx<'a> {
    pub(super) app: &'a TestApp,
    pub(super) tenant: Tenant,
    pub(super) users: Vec<TestUser>,
    pub(super) user_ids: Vec<Uuid>,
    pub(super) limits: HoldLimits,
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
pub(super) async fn hammer(ctx: &Ctx<'_>, ops: Vec<Op>) -> Vec<Done> {
    futures_util::stream::iter(ops)
        .map(|op| run_op(ctx, op))
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await
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

pub(super) fn session_plan(
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
            unit_price: Money::new(unit_price, Currency::parse(currency).expect("a code")),
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
pub(super) fn mirror_plan(
    rng: &mut Rng,
    consumer: usize,
    provider: usize,
    currency: &str,
) -> SessionPlan {
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
            unit_price: Money::new(
                cents(rng.range(1, 5)),
                Currency::parse(currency).expect("a code"),
            ),
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

pub(super) fn topup_plan(
    rng: &mut Rng,
    user: usize,
    currency: &'static str,
    lo: u64,
    hi: u64,
) -> TopupPlan {
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
