//! The bookkeeping of the hammer in `concurrency`: what each call returned, checked against
//! the split computed here from the terms and the usage, summed into the balances, top-ups and
//! fees every user and currency must end with, and counted.

use super::concurrency_plan::{Ctx, Done, SessionDone, TopupPlan, TopupReply};
use super::support::split;
use clawrent_api::agents::domain::PricingModel;
use clawrent_api::billing::domain::{HoldLimits, PricingTerms, Usage};
use clawrent_api::billing::holds::Resolution;
use clawrent_api::error::ErrorCode;
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::HashMap;
use uuid::Uuid;

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
    let hold = terms.unit_price.amount * Decimal::from(max_units);
    let charge = terms.unit_price.amount * Decimal::from(units);
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
pub(super) struct Counts {
    pub(super) topup_requests: usize,
    pub(super) topup_committed: usize,
    pub(super) topup_replayed: usize,
    pub(super) hold_calls: usize,
    pub(super) hold_committed: usize,
    pub(super) hold_rejected: usize,
    pub(super) hold_replayed: usize,
    pub(super) close_calls: usize,
    pub(super) settled: usize,
    pub(super) voided: usize,
    pub(super) close_replayed: usize,
}

impl Counts {
    pub(super) fn committed(&self) -> usize {
        self.topup_committed + self.hold_committed + self.settled + self.voided
    }
    pub(super) fn replayed(&self) -> usize {
        self.topup_replayed + self.hold_replayed + self.close_replayed
    }
    /// What was counted since `earlier`.
    pub(super) fn since(&self, earlier: &Counts) -> Counts {
        Counts {
            topup_requests: self.topup_requests - earlier.topup_requests,
            topup_committed: self.topup_committed - earlier.topup_committed,
            topup_replayed: self.topup_replayed - earlier.topup_replayed,
            hold_calls: self.hold_calls - earlier.hold_calls,
            hold_committed: self.hold_committed - earlier.hold_committed,
            hold_rejected: self.hold_rejected - earlier.hold_rejected,
            hold_replayed: self.hold_replayed - earlier.hold_replayed,
            close_calls: self.close_calls - earlier.close_calls,
            settled: self.settled - earlier.settled,
            voided: self.voided - earlier.voided,
            close_replayed: self.close_replayed - earlier.close_replayed,
        }
    }
}

/// Our own bookkeeping of what the calls returned.
#[derive(Default)]
pub(super) struct Book {
    /// (user index, currency) → expected balance.
    balances: HashMap<(usize, String), Decimal>,
    pub(super) topups: HashMap<String, Decimal>,
    pub(super) fees: HashMap<String, Decimal>,
    /// Every key: its transaction id, the user, the amount, and how often it was sent.
    pub(super) keys: Vec<(String, Uuid, usize, Decimal, usize)>,
    /// Sessions whose hold was placed.
    pub(super) held_sessions: usize,
    pub(super) n: Counts,
    pub(super) violations: Vec<String>,
}

impl Book {
    fn add(&mut self, user: usize, currency: &str, amount: Decimal) {
        *self
            .balances
            .entry((user, currency.to_owned()))
            .or_default() += amount;
    }

    pub(super) fn balance(&self, user: usize, currency: &str) -> Decimal {
        self.balances
            .get(&(user, currency.to_owned()))
            .copied()
            .unwrap_or_default()
    }

    fn violation(&mut self, what: String) {
        self.violations.push(what);
    }

    pub(super) fn record(&mut self, ctx: &Ctx<'_>, done: Done) {
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
        let currency = plan.terms.unit_price.currency.to_string();
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
        if hold.amount != exp_hold || hold.consumer_id != ctx.user_ids[plan.consumer].into() {
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
                    (a.entry_id, split(a)) == (b.entry_id, split(b))
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
