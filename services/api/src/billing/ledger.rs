//! Journal entries. An [`Entry`] is built from transfers, so its postings sum to zero by
//! construction; [`record`] changes the wallet balances (conditional updates, in a fixed order)
//! and writes the entry and its postings, all in the caller's transaction.

use super::domain::{EntryKind, LedgerAccount, TxType};
use super::repo::{self, PostingRow};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ids::{EntryId, HoldId, SessionId, TenantId, UserId, WalletId};
use crate::money::{Currency, Money};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;
use uuid::Uuid;

/// An account of the ledger. The tenant's own accounts are keyed by the tenant id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    /// A user's wallet in the entry's currency (created on the first credit).
    Wallet(UserId),
    /// A session's hold, keyed by the hold id.
    Hold(HoldId),
    PlatformFee,
    PaymentClearing,
    Adjustments,
}

impl Account {
    fn kind(self) -> LedgerAccount {
        match self {
            Account::Wallet(_) => LedgerAccount::Wallet,
            Account::Hold(_) => LedgerAccount::Hold,
            Account::PlatformFee => LedgerAccount::PlatformFee,
            Account::PaymentClearing => LedgerAccount::PaymentClearing,
            Account::Adjustments => LedgerAccount::Adjustments,
        }
    }
}

#[derive(Debug, Clone)]
struct Posting {
    account: Account,
    amount: Decimal,
    tx_type: TxType,
}

/// One movement of money. Zero-amount transfers are dropped (a free session still gets its
/// entry, with no postings).
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: EntryId,
    pub kind: EntryKind,
    pub currency: Currency,
    /// The session for holds, settlements and voids; the entry itself otherwise (one column
    /// holds ids of both kinds, hence the bare UUID).
    pub reference_id: Uuid,
    pub actor: Option<UserId>,
    pub memo: Option<String>,
    postings: Vec<Posting>,
}

impl Entry {
    pub fn new(kind: EntryKind, currency: &Currency) -> Self {
        let id = EntryId::new_v7();
        Self {
            id,
            kind,
            currency: currency.clone(),
            reference_id: id.as_uuid(),
            actor: None,
            memo: None,
            postings: Vec::new(),
        }
    }

    pub fn reference(mut self, session: SessionId) -> Self {
        self.reference_id = session.as_uuid();
        self
    }

    pub fn actor(mut self, actor: UserId) -> Self {
        self.actor = Some(actor);
        self
    }

    pub fn memo(mut self, memo: Option<String>) -> Self {
        self.memo = memo;
        self
    }

    /// Moves `amount` (≥ 0) from one account to another; each side is labelled for its owner.
    pub fn transfer(
        mut self,
        from: (Account, TxType),
        to: (Account, TxType),
        amount: Decimal,
    ) -> Self {
        debug_assert!(
            amount >= Decimal::ZERO,
            "transfers move non-negative amounts"
        );
        if !amount.is_zero() {
            self.postings.push(Posting {
                account: from.0,
                amount: -amount,
                tx_type: from.1,
            });
            self.postings.push(Posting {
                account: to.0,
                amount,
                tx_type: to.1,
            });
        }
        self
    }

    /// Moves money out of one account into several (each part ≥ 0): one posting for the
    /// source, one per non-zero part.
    pub fn split(mut self, from: (Account, TxType), parts: &[(Account, TxType, Decimal)]) -> Self {
        let total: Decimal = parts.iter().map(|p| p.2).sum();
        debug_assert!(
            parts.iter().all(|p| p.2 >= Decimal::ZERO),
            "parts are non-negative"
        );
        if !total.is_zero() {
            self.postings.push(Posting {
                account: from.0,
                amount: -total,
                tx_type: from.1,
            });
            for &(account, tx_type, amount) in parts.iter().filter(|p| !p.2.is_zero()) {
                self.postings.push(Posting {
                    account,
                    amount,
                    tx_type,
                });
            }
        }
        self
    }

    fn is_balanced(&self) -> bool {
        self.postings
            .iter()
            .map(|p| p.amount)
            .sum::<Decimal>()
            .is_zero()
    }
}

/// A wallet's balance right after an entry.
#[derive(Debug, Clone, Copy)]
pub struct WalletBalance {
    pub user_id: UserId,
    pub balance: Decimal,
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub entry_id: EntryId,
    pub wallets: Vec<WalletBalance>,
}

impl Recorded {
    /// The balance of `user`'s wallet after the entry, if the entry touched it.
    pub fn balance_of(&self, user: UserId) -> Option<Decimal> {
        self.wallets
            .iter()
            .rev()
            .find(|w| w.user_id == user)
            .map(|w| w.balance)
    }
}

pub fn insufficient_balance(needed: &Money) -> ApiError {
    ApiError::new(
        ErrorCode::InsufficientBalance,
        format!("Insufficient balance: this needs {needed} in the wallet"),
    )
}

/// Applies the entry: wallet balances first, in user-id order so that two entries touching the
/// same wallets cannot deadlock, with conditional updates (a debit that would go below zero is
/// [`ErrorCode::InsufficientBalance`]); then the entry and its postings in one statement. An entry
/// that only credits distinct wallets (a settlement, a void) credits them in one statement.
#[tracing::instrument(name = "ledger.record", skip_all, fields(ledger.kind = entry.kind.as_str(), ledger.entry = %entry.id))]
pub async fn record(
    conn: &mut PgConnection,
    tenant: TenantId,
    entry: Entry,
    now: DateTime<Utc>,
) -> ApiResult<Recorded> {
    if !entry.is_balanced() {
        return Err(ApiError::internal(anyhow::anyhow!(
            "refusing an unbalanced journal entry {:?}",
            entry
        )));
    }
    let mut order: Vec<usize> = (0..entry.postings.len()).collect();
    order.sort_by_key(|&i| match entry.postings[i].account {
        Account::Wallet(user) => (0, user),
        _ => (1, UserId::from_uuid(Uuid::nil())),
    });
    let wallet_postings: Vec<(UserId, Decimal)> = order
        .iter()
        .filter_map(|&i| match entry.postings[i].account {
            Account::Wallet(user) => Some((user, entry.postings[i].amount)),
            _ => None,
        })
        .collect();
    let distinct = wallet_postings.windows(2).all(|w| w[0].0 != w[1].0);
    let batched = wallet_postings.len() > 1
        && distinct
        && wallet_postings.iter().all(|(_, a)| *a > Decimal::ZERO);

    let mut wallets: Vec<(UserId, WalletId, Decimal)> = Vec::with_capacity(wallet_postings.len());
    if batched {
        wallets =
            repo::credit_wallets(conn, tenant, &entry.currency, &wallet_postings, now).await?;
    } else {
        for &(user, amount) in &wallet_postings {
            let (wallet_id, balance) = if amount > Decimal::ZERO {
                let credited =
                    repo::credit_wallets(conn, tenant, &entry.currency, &[(user, amount)], now)
                        .await?;
                credited
                    .first()
                    .map(|&(_, wallet, balance)| (wallet, balance))
                    .ok_or_else(|| ApiError::internal(anyhow::anyhow!("credit returned no row")))?
            } else {
                let debit = Money::new(-amount, entry.currency.clone());
                repo::debit_wallet(conn, tenant, user, &debit, now)
                    .await?
                    .ok_or_else(|| insufficient_balance(&debit))?
            };
            wallets.push((user, wallet_id, balance));
        }
    }

    let mut next_wallet = wallets.iter();
    let mut rows: Vec<PostingRow> = Vec::with_capacity(entry.postings.len());
    for i in order {
        let posting = &entry.postings[i];
        let (account_id, user_id, balance_after) = match posting.account {
            Account::Wallet(_) => {
                let &(user, wallet_id, balance) = next_wallet.next().ok_or_else(|| {
                    ApiError::internal(anyhow::anyhow!("a wallet posting was not applied"))
                })?;
                (wallet_id.as_uuid(), Some(user), Some(balance))
            }
            Account::Hold(hold) => (hold.as_uuid(), None, None),
            Account::PlatformFee | Account::PaymentClearing | Account::Adjustments => {
                (tenant.as_uuid(), None, None)
            }
        };
        rows.push(PostingRow {
            account: posting.account.kind(),
            account_id,
            amount: posting.amount,
            tx_type: posting.tx_type,
            user_id,
            balance_after,
        });
    }
    let row = repo::EntryRow {
        id: entry.id,
        kind: entry.kind,
        currency: &entry.currency,
        reference_id: entry.reference_id,
        actor: entry.actor,
        memo: entry.memo.as_deref(),
    };
    repo::insert_entry(conn, tenant, &row, &rows, now).await?;
    Ok(Recorded {
        entry_id: entry.id,
        wallets: wallets
            .into_iter()
            .map(|(user_id, _, balance)| WalletBalance { user_id, balance })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfers_always_balance_and_zero_amounts_vanish() {
        let user = UserId::new_v7();
        let entry = Entry::new(
            EntryKind::Topup,
            &Currency::parse("USD").expect("valid in this test"),
        )
        .transfer(
            (Account::PaymentClearing, TxType::Topup),
            (Account::Wallet(user), TxType::Topup),
            Decimal::new(1250, 2),
        )
        .transfer(
            (Account::Hold(HoldId::new_v7()), TxType::Payment),
            (Account::PlatformFee, TxType::Fee),
            Decimal::ZERO,
        );
        assert!(entry.is_balanced());
        assert_eq!(entry.postings.len(), 2);
        assert_eq!(entry.reference_id, entry.id.as_uuid());
    }

    #[test]
    fn a_split_debits_the_source_once_and_skips_zero_parts() {
        let (hold, provider, consumer) = (HoldId::new_v7(), UserId::new_v7(), UserId::new_v7());
        let entry = Entry::new(
            EntryKind::Settlement,
            &Currency::parse("CNY").expect("valid in this test"),
        )
        .split(
            (Account::Hold(hold), TxType::Payment),
            &[
                (
                    Account::Wallet(provider),
                    TxType::Income,
                    Decimal::new(425, 2),
                ),
                (Account::PlatformFee, TxType::Fee, Decimal::new(75, 2)),
                (Account::Wallet(consumer), TxType::Refund, Decimal::ZERO),
            ],
        );
        assert!(entry.is_balanced());
        assert_eq!(entry.postings.len(), 3);
        assert_eq!(entry.postings[0].amount, Decimal::new(-5, 0));
    }
}
