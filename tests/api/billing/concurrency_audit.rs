//! The independent SQL audits of the hammer in `concurrency` (not the app's own queries): the
//! whole ledger against its invariants and against the bookkeeping of the returned results,
//! and the app's own verification on top.

use super::concurrency_book::Book;
use super::concurrency_plan::Ctx;
use crate::helpers::{TestApp, TestUser};
use rust_decimal::{Decimal, RoundingStrategy};
use uuid::Uuid;

const CURRENCIES: [&str; 2] = ["CNY", "USD"];

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

/// `sql` counts the rows that break an invariant: none is fine, `n` of them are the violation
/// "{n} {what}".
async fn none_of(app: &TestApp, sql: &'static str, what: &str) -> Option<String> {
    let n = app.count(sql).await;
    (n != 0).then(|| format!("{n} {what}"))
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
    bad.extend(
        none_of(
            ctx.app,
            "SELECT count(*) FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id
             WHERE p.currency <> e.currency OR p.tenant_id <> e.tenant_id
                OR p.reference_id <> e.reference_id",
            "postings disagree with their entry",
        )
        .await,
    );

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
    bad.extend(
        none_of(
            ctx.app,
            "SELECT count(*) FROM ledger_postings p WHERE p.account = 'wallet' AND NOT EXISTS (
                SELECT 1 FROM wallets w WHERE w.id = p.account_id AND w.user_id = p.user_id
                  AND w.currency = p.currency AND w.tenant_id = p.tenant_id)",
            "wallet postings match no wallet",
        )
        .await,
    );
    // Each wallet posting's balance_after is the running sum of the wallet's postings.
    bad.extend(
        none_of(
            ctx.app,
            "SELECT count(*) FROM (
                SELECT balance_after, sum(amount) OVER (PARTITION BY account_id ORDER BY id
                                                       ROWS UNBOUNDED PRECEDING) AS running
                FROM ledger_postings WHERE account = 'wallet') h
             WHERE h.running <> h.balance_after",
            "wallet postings have a wrong balanceAfter",
        )
        .await,
    );

    // No negative balance.
    bad.extend(
        none_of(
            ctx.app,
            "SELECT count(*) FROM wallets WHERE balance < 0",
            "negative wallets",
        )
        .await,
    );

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
    bad.extend(
        none_of(
            ctx.app,
            "SELECT count(*) FROM ledger_entries e WHERE e.kind IN ('hold', 'settlement', 'void')
             AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.session_id = e.reference_id
                             AND h.tenant_id = e.tenant_id)",
            "session entries without a hold (a refused hold left a trace)",
        )
        .await,
    );

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
    let topup_entries = ctx
        .app
        .count("SELECT count(*) FROM ledger_entries WHERE kind = 'topup'")
        .await;
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

pub(super) async fn verify_ok(app: &TestApp, admin: &TestUser) -> Result<(), String> {
    let report = app.get("/api/admin/ledger/verify", &admin.auth()).await;
    if report.status.as_u16() == 200 && report.body["ok"] == true {
        Ok(())
    } else {
        Err(format!("ledger verify: {} {}", report.status, report.text))
    }
}

/// Everything wrong so far: the responses' own contradictions, the SQL audits, the app's
/// verification.
pub(super) async fn violations_now(ctx: &Ctx<'_>, book: &Book, admin: &TestUser) -> Vec<String> {
    let mut all = book.violations.clone();
    all.extend(audit(ctx, book).await);
    if let Err(e) = verify_ok(ctx.app, admin).await {
        all.push(e);
    }
    all
}
