//! Wire shapes of the billing endpoints. Every amount is a decimal string.

use super::audit_repo::Invariant;
use super::domain::TxType;
use super::repo::{RevenueRow, SettlementRow, TransactionRow, WalletRow};
use crate::ids::{EntryId, SessionId, UserId};
use crate::money::{format_amount, format_exact};
use crate::time_format;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WalletView {
    #[schema(example = "USD")]
    pub currency: String,
    #[schema(example = "12.50")]
    pub balance: String,
}

impl From<&WalletRow> for WalletView {
    fn from(w: &WalletRow) -> Self {
        Self {
            currency: w.currency.clone(),
            balance: format_amount(w.balance),
        }
    }
}

/// The balance in one currency (the marketplace's first unless `?currency=`), and all wallets.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WalletSummaryView {
    #[schema(example = "12.50")]
    pub balance: String,
    #[schema(example = "CNY")]
    pub currency: String,
    pub wallets: Vec<WalletView>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopupView {
    /// The wallet's balance after the top-up.
    #[schema(example = "112.50")]
    pub balance: String,
    pub currency: String,
    #[schema(example = "12.50")]
    pub amount: String,
    /// The journal entry; `referenceId` of the `topup` transaction.
    #[schema(value_type = Uuid)]
    pub transaction_id: EntryId,
    /// Always `completed` in the sandbox payment mode.
    pub status: TopupStatus,
}

/// Where a top-up stands (a payment provider would add `pending`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TopupStatus {
    Completed,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionView {
    /// The transaction's id: unique and stable, but in no order (it reveals no volume).
    #[schema(example = "9816243391707253316")]
    pub id: String,
    #[serde(rename = "type")]
    pub tx_type: TxType,
    /// Signed: negative when money left the wallet.
    #[schema(example = "-5.00")]
    pub amount: String,
    pub currency: String,
    #[schema(example = "95.00")]
    pub balance_after: String,
    /// The session for `payment`, `income` and `refund`; the top-up or adjustment otherwise.
    pub reference_id: Uuid,
    /// The journal entry this posting belongs to.
    #[schema(value_type = Uuid)]
    pub transaction_id: EntryId,
    #[serde(serialize_with = "time_format::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

impl TransactionView {
    /// `posting_id_key` is the tenant's key of public transaction ids.
    pub fn new(r: TransactionRow, posting_id_key: &Uuid) -> Self {
        Self {
            id: super::public_ids::conceal(posting_id_key, r.id),
            tx_type: r.tx_type,
            amount: format_amount(r.amount),
            currency: r.currency,
            balance_after: format_amount(r.balance_after.unwrap_or_default()),
            reference_id: r.reference_id,
            transaction_id: r.entry_id,
            created_at: r.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionsPageView {
    pub data: Vec<TransactionView>,
    /// Postings across all pages (in the filtered currency).
    pub total: i64,
    pub page: u32,
    pub limit: u32,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdjustmentView {
    #[schema(value_type = Uuid)]
    pub user_id: UserId,
    /// The wallet's balance after the adjustment.
    pub balance: String,
    pub currency: String,
    /// Signed: negative for a debit.
    #[schema(example = "-5.00")]
    pub amount: String,
    #[schema(value_type = Uuid)]
    pub transaction_id: EntryId,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserWalletsView {
    #[schema(value_type = Uuid)]
    pub user_id: UserId,
    pub wallets: Vec<WalletView>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevenueView {
    pub currency: String,
    /// Platform fees earned, to 4 decimals.
    #[schema(example = "0.7500")]
    pub platform_fee: String,
    /// Fee postings summed.
    pub entries: i64,
}

impl From<RevenueRow> for RevenueView {
    fn from(r: RevenueRow) -> Self {
        Self {
            currency: r.currency,
            platform_fee: format_exact(r.platform_fee),
            entries: r.entries,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RevenueListView {
    pub data: Vec<RevenueView>,
}

/// A session's settlement: `amount` = `platformFee` + `providerIncome`, to 4 decimals.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettlementView {
    #[schema(value_type = Uuid)]
    pub session_id: SessionId,
    #[schema(example = "5.0000")]
    pub amount: String,
    #[schema(example = "0.7500")]
    pub platform_fee: String,
    #[schema(example = "4.2500")]
    pub provider_income: String,
    /// What went back to the consumer from the hold.
    #[schema(example = "0.0000")]
    pub refund: String,
    pub currency: String,
    /// Units charged: 1 for flat prices, minutes started, or tokens.
    pub units: i64,
    #[schema(example = "0.1500")]
    pub fee_rate: String,
    #[schema(value_type = Uuid)]
    pub transaction_id: EntryId,
    #[serde(serialize_with = "time_format::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub settled_at: DateTime<Utc>,
}

impl From<&SettlementRow> for SettlementView {
    fn from(s: &SettlementRow) -> Self {
        Self {
            session_id: s.session_id,
            amount: format_exact(s.amount),
            platform_fee: format_exact(s.platform_fee),
            provider_income: format_exact(s.provider_income),
            refund: format_exact(s.refund),
            currency: s.currency.to_string(),
            units: s.units,
            fee_rate: format_exact(s.fee_rate),
            transaction_id: s.entry_id,
            settled_at: s.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvariantCheckView {
    #[schema(example = "entries_balance")]
    pub name: &'static str,
    pub description: &'static str,
    pub ok: bool,
    /// Rows breaking the invariant (saturates at 1000).
    pub violations: usize,
    /// Up to 10 of them (ids, or currencies for the per-currency check).
    pub examples: Vec<String>,
}

impl InvariantCheckView {
    pub fn new(invariant: Invariant, violations: Vec<String>) -> Self {
        Self {
            name: invariant.name(),
            description: invariant.description(),
            ok: violations.is_empty(),
            violations: violations.len(),
            examples: violations.into_iter().take(10).collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LedgerReportView {
    /// True when every invariant holds.
    pub ok: bool,
    pub checks: Vec<InvariantCheckView>,
    #[serde(serialize_with = "time_format::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub checked_at: DateTime<Utc>,
}
