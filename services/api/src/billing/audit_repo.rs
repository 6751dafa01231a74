//! The ledger invariants as SQL audits over one tenant. Each query returns the identifiers of
//! the rows that break its invariant (none when the ledger is sound). They scan the tenant's
//! ledger, so they serve the admin verification endpoint and tests, never a hot path.

use crate::ids::TenantId;
use sqlx::PgConnection;

/// Rows returned per check at most (the count saturates there).
pub const MAX_VIOLATIONS: i64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invariant {
    CurrencyPostingsSumToZero,
    EntriesBalance,
    WalletsEqualTheirPostings,
    WalletHistoryIsConsistent,
    NoNegativeBalance,
    HoldsMatchTheirPostings,
    HoldsCloseOnce,
    SettlementsAddUp,
    PlatformFeesAppendOnly,
}

impl Invariant {
    pub const ALL: [Invariant; 9] = [
        Invariant::CurrencyPostingsSumToZero,
        Invariant::EntriesBalance,
        Invariant::WalletsEqualTheirPostings,
        Invariant::WalletHistoryIsConsistent,
        Invariant::NoNegativeBalance,
        Invariant::HoldsMatchTheirPostings,
        Invariant::HoldsCloseOnce,
        Invariant::SettlementsAddUp,
        Invariant::PlatformFeesAppendOnly,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::CurrencyPostingsSumToZero => "currency_postings_sum_to_zero",
            Self::EntriesBalance => "entries_balance",
            Self::WalletsEqualTheirPostings => "wallets_equal_their_postings",
            Self::WalletHistoryIsConsistent => "wallet_history_is_consistent",
            Self::NoNegativeBalance => "no_negative_balance",
            Self::HoldsMatchTheirPostings => "holds_match_their_postings",
            Self::HoldsCloseOnce => "holds_close_once",
            Self::SettlementsAddUp => "settlements_add_up",
            Self::PlatformFeesAppendOnly => "platform_fees_append_only",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::CurrencyPostingsSumToZero => {
                "Per currency, all postings sum to zero (violations: currencies)."
            }
            Self::EntriesBalance => {
                "Every journal entry's postings sum to zero (violations: entry ids)."
            }
            Self::WalletsEqualTheirPostings => {
                "Every wallet's balance and posting count equal the sum and count of its postings (violations: wallet ids)."
            }
            Self::WalletHistoryIsConsistent => {
                "Every wallet posting's balanceAfter equals the running sum of the wallet's postings (violations: posting ids)."
            }
            Self::NoNegativeBalance => "No wallet balance is below zero (violations: wallet ids).",
            Self::HoldsMatchTheirPostings => {
                "An open hold's account holds its amount; a closed one holds zero (violations: hold ids)."
            }
            Self::HoldsCloseOnce => {
                "Every hold has one hold entry and at most one closing entry matching its status: a settled hold one settlement, a voided one none (violations: hold ids)."
            }
            Self::SettlementsAddUp => {
                "providerIncome + platformFee = amount, fee = round_half_even(amount x rate, 4), amount + refund = hold, and the fee was posted (violations: session ids)."
            }
            Self::PlatformFeesAppendOnly => {
                "The platform fee account only ever receives money (violations: posting ids)."
            }
        }
    }

    fn sql(self) -> &'static str {
        match self {
            Self::CurrencyPostingsSumToZero => {
                "SELECT currency FROM ledger_postings WHERE tenant_id = $1
                 GROUP BY currency HAVING sum(amount) <> 0 LIMIT $2"
            }
            Self::EntriesBalance => {
                "SELECT entry_id::text FROM ledger_postings WHERE tenant_id = $1
                 GROUP BY entry_id HAVING sum(amount) <> 0 LIMIT $2"
            }
            Self::WalletsEqualTheirPostings => {
                "SELECT w.id::text FROM wallets w
                 LEFT JOIN (SELECT account_id, sum(amount) AS total, count(*) AS n FROM ledger_postings
                            WHERE tenant_id = $1 AND account = 'wallet' GROUP BY account_id) p
                        ON p.account_id = w.id
                 WHERE w.tenant_id = $1
                   AND (w.balance <> coalesce(p.total, 0) OR w.postings <> coalesce(p.n, 0))
                 UNION ALL
                 SELECT p.account_id::text FROM ledger_postings p
                 WHERE p.tenant_id = $1 AND p.account = 'wallet'
                   AND NOT EXISTS (SELECT 1 FROM wallets w WHERE w.id = p.account_id
                                   AND w.tenant_id = p.tenant_id AND w.user_id = p.user_id
                                   AND w.currency = p.currency)
                 LIMIT $2"
            }
            Self::WalletHistoryIsConsistent => {
                "SELECT id::text FROM (
                    SELECT id, balance_after,
                           sum(amount) OVER (PARTITION BY account_id ORDER BY id) AS running
                    FROM ledger_postings WHERE tenant_id = $1 AND account = 'wallet') h
                 WHERE running <> balance_after LIMIT $2"
            }
            Self::NoNegativeBalance => {
                "SELECT id::text FROM wallets WHERE tenant_id = $1 AND balance < 0 LIMIT $2"
            }
            Self::HoldsMatchTheirPostings => {
                "SELECT h.id::text FROM holds h
                 LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ledger_postings
                            WHERE tenant_id = $1 AND account = 'hold' GROUP BY account_id) p
                        ON p.account_id = h.id
                 WHERE h.tenant_id = $1
                   AND coalesce(p.total, 0) <> CASE WHEN h.status = 'held' THEN h.amount ELSE 0 END
                 LIMIT $2"
            }
            Self::HoldsCloseOnce => {
                "SELECT h.id::text FROM holds h
                 CROSS JOIN LATERAL (
                    SELECT count(*) FILTER (WHERE kind = 'hold') AS placed,
                           count(*) FILTER (WHERE kind = 'settlement') AS settled,
                           count(*) FILTER (WHERE kind = 'void') AS voided
                    FROM ledger_entries e WHERE e.tenant_id = h.tenant_id AND e.reference_id = h.session_id) c
                 CROSS JOIN LATERAL (
                    SELECT count(*) AS n FROM settlements s WHERE s.hold_id = h.id) s
                 WHERE h.tenant_id = $1 AND NOT (
                    c.placed = 1 AND CASE h.status
                        WHEN 'held' THEN c.settled = 0 AND c.voided = 0 AND s.n = 0
                        WHEN 'settled' THEN c.settled = 1 AND c.voided = 0 AND s.n = 1
                        ELSE c.settled = 0 AND c.voided = 1 AND s.n = 0 END)
                 LIMIT $2"
            }
            Self::SettlementsAddUp => {
                // Postgres round() goes half away from zero; the fee rule is half to even.
                "SELECT s.session_id::text FROM settlements s
                 JOIN holds h ON h.id = s.hold_id
                 CROSS JOIN LATERAL (SELECT s.amount * s.fee_rate * 10000 AS scaled) x
                 CROSS JOIN LATERAL (
                    SELECT (CASE WHEN x.scaled - floor(x.scaled) > 0.5 THEN floor(x.scaled) + 1
                                 WHEN x.scaled - floor(x.scaled) < 0.5 THEN floor(x.scaled)
                                 ELSE floor(x.scaled) + mod(floor(x.scaled), 2) END) / 10000 AS fee) r
                 LEFT JOIN (
                    SELECT entry_id, sum(amount) AS posted FROM ledger_postings
                    WHERE tenant_id = $1 AND account = 'platform_fee' GROUP BY entry_id) f
                        ON f.entry_id = s.entry_id
                 WHERE s.tenant_id = $1 AND (
                    s.provider_income + s.platform_fee <> s.amount
                    OR s.platform_fee <> r.fee
                    OR s.amount + s.refund <> h.amount
                    OR coalesce(f.posted, 0) <> s.platform_fee)
                 LIMIT $2"
            }
            Self::PlatformFeesAppendOnly => {
                "SELECT id::text FROM ledger_postings
                 WHERE tenant_id = $1 AND account = 'platform_fee' AND amount < 0 LIMIT $2"
            }
        }
    }
}

/// The rows that break `invariant` in `tenant` (at most [`MAX_VIOLATIONS`]).
#[tracing::instrument(name = "db.ledger_audit", skip(conn), fields(invariant = invariant.name()))]
pub async fn violations(
    conn: &mut PgConnection,
    tenant: TenantId,
    invariant: Invariant,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(invariant.sql())
        .bind(tenant)
        .bind(MAX_VIOLATIONS)
        .fetch_all(conn)
        .await
}
