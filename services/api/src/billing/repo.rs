//! SQL of wallets, journal entries, holds and settlements. Every function takes the tenant and
//! the caller's connection or transaction.

use super::domain::{EntryKind, LedgerAccount, TxType};
use crate::ids::{EntryId, TenantId, UserId, WalletId};
use crate::money::{Currency, Money};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;
use uuid::Uuid;

/// Credits one or more distinct wallets in one statement, creating them on first use; the rows are
/// locked in the order given (callers sort by user). Returns (user, wallet id, new balance) in
/// that order.
#[tracing::instrument(name = "db.wallets_credit", skip_all)]
pub async fn credit_wallets(
    conn: &mut PgConnection,
    tenant: TenantId,
    currency: &Currency,
    credits: &[(UserId, Decimal)],
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<(UserId, WalletId, Decimal)>> {
    let ids: Vec<WalletId> = credits.iter().map(|_| WalletId::new_v7()).collect();
    let users: Vec<UserId> = credits.iter().map(|c| c.0).collect();
    let amounts: Vec<Decimal> = credits.iter().map(|c| c.1).collect();
    let rows: Vec<(UserId, WalletId, Decimal)> = sqlx::query_as(
        "INSERT INTO wallets (id, tenant_id, user_id, currency, balance, postings, created_at, updated_at)
         SELECT w.id, $1, w.user_id, $2, w.amount, 1, $3, $3
         FROM UNNEST($4::uuid[], $5::uuid[], $6::numeric[]) WITH ORDINALITY AS w(id, user_id, amount, n)
         ORDER BY w.n
         ON CONFLICT (tenant_id, user_id, currency) DO UPDATE
            SET balance = wallets.balance + EXCLUDED.balance,
                postings = wallets.postings + 1,
                updated_at = EXCLUDED.updated_at
         RETURNING user_id, id, balance",
    )
    .bind(tenant)
    .bind(currency)
    .bind(now)
    .bind(ids)
    .bind(&users)
    .bind(amounts)
    .fetch_all(conn)
    .await?;
    // RETURNING order follows the insert order, but do not rely on it.
    Ok(users
        .iter()
        .filter_map(|u| rows.iter().find(|r| r.0 == *u).copied())
        .collect())
}

/// Takes `amount` from a wallet only if it holds at least that much (one conditional update,
/// never a read then a write). `None` when the wallet is missing or short.
#[tracing::instrument(name = "db.wallet_debit", skip_all)]
pub async fn debit_wallet(
    conn: &mut PgConnection,
    tenant: TenantId,
    user: UserId,
    amount: &Money,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<(WalletId, Decimal)>> {
    sqlx::query_as(
        "UPDATE wallets SET balance = balance - $4, postings = postings + 1, updated_at = $5
         WHERE tenant_id = $1 AND user_id = $2 AND currency = $3 AND balance >= $4
         RETURNING id, balance",
    )
    .bind(tenant)
    .bind(user)
    .bind(&amount.currency)
    .bind(amount.amount)
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// One posting as written; wallet postings carry their owner and the balance after.
#[derive(Debug, Clone)]
pub struct PostingRow {
    pub account: LedgerAccount,
    /// The wallet, the hold or the tenant (for the tenant's own accounts), by `account`.
    pub account_id: Uuid,
    pub amount: Decimal,
    pub tx_type: TxType,
    pub user_id: Option<UserId>,
    pub balance_after: Option<Decimal>,
}

/// A journal entry's own row (its postings are [`PostingRow`]s).
pub struct EntryRow<'a> {
    pub id: EntryId,
    pub kind: EntryKind,
    pub currency: &'a Currency,
    pub reference_id: Uuid,
    pub actor: Option<UserId>,
    pub memo: Option<&'a str>,
}

/// The entry and all its postings in one statement (one round trip).
#[tracing::instrument(name = "db.ledger_insert", skip_all)]
pub async fn insert_entry(
    conn: &mut PgConnection,
    tenant: TenantId,
    entry: &EntryRow<'_>,
    postings: &[PostingRow],
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let accounts: Vec<&str> = postings.iter().map(|p| p.account.as_str()).collect();
    let account_ids: Vec<Uuid> = postings.iter().map(|p| p.account_id).collect();
    let amounts: Vec<Decimal> = postings.iter().map(|p| p.amount).collect();
    let types: Vec<&str> = postings.iter().map(|p| p.tx_type.as_str()).collect();
    let users: Vec<Option<UserId>> = postings.iter().map(|p| p.user_id).collect();
    let balances: Vec<Option<Decimal>> = postings.iter().map(|p| p.balance_after).collect();
    sqlx::query(
        "WITH entry AS (
            INSERT INTO ledger_entries (id, tenant_id, kind, currency, reference_id, actor_id, memo, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         )
         INSERT INTO ledger_postings
            (entry_id, tenant_id, account, account_id, currency, amount, tx_type, reference_id, user_id, balance_after, created_at)
         SELECT $1, $2, p.account::ledger_account, p.account_id, $4, p.amount, p.tx_type::ledger_tx_type, $5,
                p.user_id, p.balance_after, $8
         FROM UNNEST($9::text[], $10::uuid[], $11::numeric[], $12::text[], $13::uuid[], $14::numeric[])
              WITH ORDINALITY AS p(account, account_id, amount, tx_type, user_id, balance_after, n)
         ORDER BY p.n",
    )
    .bind(entry.id)
    .bind(tenant)
    .bind(entry.kind)
    .bind(entry.currency)
    .bind(entry.reference_id)
    .bind(entry.actor)
    .bind(entry.memo)
    .bind(now)
    .bind(accounts)
    .bind(account_ids)
    .bind(amounts)
    .bind(types)
    .bind(users)
    .bind(balances)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WalletRow {
    pub currency: String,
    pub balance: Decimal,
    pub postings: i64,
}

#[tracing::instrument(name = "db.wallets_of_user", skip_all)]
pub async fn wallets_of(
    conn: &mut PgConnection,
    tenant: TenantId,
    user: UserId,
) -> sqlx::Result<Vec<WalletRow>> {
    sqlx::query_as(
        "SELECT currency, balance, postings FROM wallets
         WHERE tenant_id = $1 AND user_id = $2 ORDER BY currency",
    )
    .bind(tenant)
    .bind(user)
    .fetch_all(conn)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TransactionRow {
    pub id: i64,
    pub entry_id: EntryId,
    pub currency: String,
    pub amount: Decimal,
    pub tx_type: TxType,
    pub balance_after: Option<Decimal>,
    pub reference_id: Uuid,
    pub created_at: DateTime<Utc>,
}

/// Where a page of transactions starts: after a posting id (keyset) or at an offset.
#[derive(Debug, Clone, Copy)]
pub enum From {
    After(i64),
    Offset(i64),
}

/// A user's wallet postings, newest first, along the history index.
#[tracing::instrument(name = "db.wallet_transactions", skip_all)]
pub async fn transactions(
    conn: &mut PgConnection,
    tenant: TenantId,
    user: UserId,
    currency: Option<&str>,
    from: From,
    limit: i64,
) -> sqlx::Result<Vec<TransactionRow>> {
    let (after, offset) = match from {
        From::After(id) => (Some(id), 0),
        From::Offset(offset) => (None, offset),
    };
    sqlx::query_as(
        "SELECT id, entry_id, currency, amount, tx_type, balance_after, reference_id, created_at
         FROM ledger_postings
         WHERE tenant_id = $1 AND user_id = $2
           -- a literal, not a bind: the partial index ledger_postings_history needs to see it
           AND account = 'wallet'
           AND ($3::text IS NULL OR currency = $3)
           AND ($4::bigint IS NULL OR id < $4)
         ORDER BY id DESC
         LIMIT $5 OFFSET $6",
    )
    .bind(tenant)
    .bind(user)
    .bind(currency)
    .bind(after)
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RevenueRow {
    pub currency: String,
    pub platform_fee: Decimal,
    pub entries: i64,
}

/// The tenant's platform-fee revenue per currency: the sum of its append-only fee postings.
#[tracing::instrument(name = "db.fee_revenue", skip_all)]
pub async fn fee_revenue(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> sqlx::Result<Vec<RevenueRow>> {
    sqlx::query_as(
        "SELECT currency, sum(amount) AS platform_fee, count(*) AS entries
         FROM ledger_postings
         WHERE tenant_id = $1 AND account = $2 AND account_id = $1
         GROUP BY currency ORDER BY currency",
    )
    .bind(tenant)
    .bind(LedgerAccount::PlatformFee)
    .fetch_all(conn)
    .await
}

/// How many of `users` exist in the tenant (a plain read: no lock on the user rows).
#[tracing::instrument(name = "db.users_exist", skip_all)]
pub async fn count_users(
    conn: &mut PgConnection,
    tenant: TenantId,
    users: &[UserId],
) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM users WHERE tenant_id = $1 AND id = ANY($2)")
        .bind(tenant)
        .bind(users)
        .fetch_one(conn)
        .await
}

pub use super::hold_repo::*;
