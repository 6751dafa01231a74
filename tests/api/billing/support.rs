//! Helpers shared by the billing tests: the wallet paths, snapshots of the money state, the
//! shape of replies (keys, items, movements), sessions held, settled or voided through the
//! hold service, what the database recorded for a session, and the ledger verifier.

use crate::helpers::{Reply, TestApp, TestUser};
use crate::money_helpers::terms;
use clawrent_api::agents::domain::PricingModel;
use clawrent_api::billing::domain::Usage;
use clawrent_api::billing::holds::{Placed, Resolution, Resolved};
use clawrent_api::billing::repo::SettlementRow;
use clawrent_api::error::{ApiError, ApiResult};
use clawrent_api::tenancy::domain::Tenant;
use rust_decimal::Decimal;
use serde_json::Value;
use std::time::Duration;
use uuid::Uuid;

pub const WALLET: &str = "/api/billing/wallet";
pub const TRANSACTIONS: &str = "/api/billing/wallet/transactions";
pub const REVENUE: &str = "/api/admin/ledger/revenue";

// ---------------------------------------------------------------------------------------------
// The money state
// ---------------------------------------------------------------------------------------------

/// Everything a money request could change anywhere, as one JSON text: every wallet, and the
/// sizes of the ledger, the audit log, the holds, the settlements and the idempotency keys.
pub async fn money_snapshot(app: &TestApp) -> String {
    sqlx::query_scalar(
        "SELECT json_build_object(
            'wallets', (SELECT json_agg(json_build_object(
                            'tenant', tenant_id, 'user', user_id, 'currency', currency,
                            'balance', balance, 'postings', postings)
                        ORDER BY tenant_id, user_id, currency) FROM wallets),
            'entries', (SELECT count(*) FROM ledger_entries),
            'postings', (SELECT count(*) FROM ledger_postings),
            'audit', (SELECT count(*) FROM admin_audit),
            'holds', (SELECT json_agg(h.status ORDER BY h.id) FROM holds h),
            'settlements', (SELECT count(*) FROM settlements),
            'keys', (SELECT count(*) FROM idempotency_keys)
        )::text",
    )
    .fetch_one(&app.db)
    .await
    .expect("money snapshot")
}

pub async fn ledger_entries(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM ledger_entries").await
}

// ---------------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------------

/// Asserts a 400 VALIDATION_ERROR whose message starts with `prefix`, the field it names.
pub fn assert_invalid_field(reply: &Reply, prefix: &str, why: &str) {
    assert_eq!(reply.status.as_u16(), 400, "{why}: {}", reply.text);
    assert_eq!(reply.body["error"], "VALIDATION_ERROR", "{why}");
    assert!(
        reply.body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with(prefix)),
        "{why}: the message names the field ({prefix}): {}",
        reply.text
    );
}

/// The keys of a JSON object, sorted.
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("an object: {value}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

pub fn items(reply: &Reply) -> &[Value] {
    reply.body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("a data array: {}", reply.text))
}

/// A transaction as (type, amount, currency, balanceAfter).
pub type Movement = (String, String, String, String);

pub fn movement(kind: &str, amount: &str, currency: &str, balance_after: &str) -> Movement {
    (
        kind.to_owned(),
        amount.to_owned(),
        currency.to_owned(),
        balance_after.to_owned(),
    )
}

/// The (type, amount, currency, balanceAfter) of each transaction of a page.
pub fn movements(reply: &Reply) -> Vec<Movement> {
    items(reply)
        .iter()
        .map(|t| {
            let field = |name: &str| t[name].as_str().unwrap_or_default().to_owned();
            (
                field("type"),
                field("amount"),
                field("currency"),
                field("balanceAfter"),
            )
        })
        .collect()
}

/// The amount of each transaction of a page.
pub fn amounts(reply: &Reply) -> Vec<String> {
    movements(reply).into_iter().map(|m| m.1).collect()
}

/// The public ids of the listed transactions (decimal strings in no particular order).
pub fn public_ids(reply: &Reply) -> Vec<String> {
    items(reply)
        .iter()
        .map(|t| {
            let id = t["id"].as_str().expect("id is a string");
            assert!(id.parse::<u64>().is_ok(), "a numeric id: {id}");
            id.to_owned()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Sessions through the hold service
// ---------------------------------------------------------------------------------------------

/// The default marketplace's admin and row, and two of its users: (admin, tenant, consumer,
/// provider).
pub async fn parties(app: &TestApp) -> (TestUser, Tenant, TestUser, TestUser) {
    (
        app.default_admin().await,
        app.tenant_row("default").await,
        app.signup().await,
        app.signup().await,
    )
}

pub fn usage(secs: u64, tokens: u64) -> Usage {
    Usage {
        active: Duration::from_secs(secs),
        tokens,
    }
}

/// A consumer renting from a provider in a marketplace: new sessions at a price (`model`,
/// `price`, `currency`) through the hold service.
pub struct Deal<'a> {
    app: &'a TestApp,
    tenant: &'a Tenant,
    consumer: &'a TestUser,
    provider: &'a TestUser,
}

impl<'a> Deal<'a> {
    pub fn new(
        app: &'a TestApp,
        tenant: &'a Tenant,
        consumer: &'a TestUser,
        provider: &'a TestUser,
    ) -> Self {
        Self {
            app,
            tenant,
            consumer,
            provider,
        }
    }

    /// Places the hold of `session`.
    pub async fn place(
        &self,
        session: Uuid,
        model: PricingModel,
        price: &str,
        currency: &str,
    ) -> ApiResult<Placed> {
        let price = terms(model, price, currency);
        self.app
            .place_hold(self.tenant, session, self.consumer, self.provider, price)
            .await
    }

    /// Places a hold for a new session; returns the session.
    pub async fn held(&self, model: PricingModel, price: &str, currency: &str) -> Uuid {
        let session = Uuid::now_v7();
        self.place(session, model, price, currency)
            .await
            .expect("hold placed");
        session
    }

    /// Places a hold for a new session and voids it; returns the session.
    pub async fn voided(&self, model: PricingModel, price: &str, currency: &str) -> Uuid {
        let session = self.held(model, price, currency).await;
        self.app.void(self.tenant, session).await.expect("voided");
        session
    }

    /// Places a hold for a new session and settles it with `usage`; returns the session.
    pub async fn settled(
        &self,
        model: PricingModel,
        price: &str,
        currency: &str,
        usage: Usage,
    ) -> Uuid {
        let session = self.held(model, price, currency).await;
        self.app
            .settle(self.tenant, session, usage)
            .await
            .expect("settled");
        session
    }

    /// A hold for a new session that must be refused (`why` says why): the error.
    pub async fn refused(
        &self,
        model: PricingModel,
        price: &str,
        currency: &str,
        why: &str,
    ) -> ApiError {
        self.place(Uuid::now_v7(), model, price, currency)
            .await
            .expect_err(why)
    }
}

/// A per-session `price` in the default marketplace, held and settled; returns the session.
pub async fn per_session(
    app: &TestApp,
    consumer: &TestUser,
    provider: &TestUser,
    price: &str,
    currency: &str,
) -> Uuid {
    let tenant = app.tenant_row("default").await;
    Deal::new(app, &tenant, consumer, provider)
        .settled(PricingModel::PerSession, price, currency, Usage::default())
        .await
}

/// The settlement of a resolution that must be one.
pub fn settled(resolved: &Resolved) -> &SettlementRow {
    match &resolved.resolution {
        Resolution::Settled(s) => s,
        Resolution::Voided(h) => panic!("expected a settlement, got a void of {h:?}"),
    }
}

/// A settlement's (units, amount, fee, income, refund).
pub type Split = (i64, Decimal, Decimal, Decimal, Decimal);

pub fn split(s: &SettlementRow) -> Split {
    (
        s.units,
        s.amount,
        s.platform_fee,
        s.provider_income,
        s.refund,
    )
}

// ---------------------------------------------------------------------------------------------
// What the database recorded for a session
// ---------------------------------------------------------------------------------------------

/// The settlements row of a session: units, amount, fee, income, refund, fee rate.
pub type StoredSettlement = (i64, Decimal, Decimal, Decimal, Decimal, Decimal);

pub async fn stored_settlement(app: &TestApp, session: Uuid) -> Option<StoredSettlement> {
    sqlx::query_as(
        "SELECT units, amount, platform_fee, provider_income, refund, fee_rate
         FROM settlements WHERE session_id = $1",
    )
    .bind(session)
    .fetch_optional(&app.db)
    .await
    .expect("settlement query")
}

/// How many rows `sql` counts for the session bound to `$1`.
pub async fn count_of(app: &TestApp, sql: &'static str, session: Uuid) -> i64 {
    sqlx::query_scalar(sql)
        .bind(session)
        .fetch_one(&app.db)
        .await
        .expect("count query")
}

/// How many journal entries of `kind` a session has.
pub async fn entries_of(app: &TestApp, session: Uuid, kind: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM ledger_entries WHERE reference_id = $1 AND kind::text = $2",
    )
    .bind(session)
    .bind(kind)
    .fetch_one(&app.db)
    .await
    .expect("entries query")
}

// ---------------------------------------------------------------------------------------------
// The ledger verifier
// ---------------------------------------------------------------------------------------------

/// GET /api/admin/ledger/verify as `admin`.
pub async fn verify(app: &TestApp, admin: &TestUser) -> Reply {
    app.get("/api/admin/ledger/verify", &admin.auth())
        .await
        .expect(200)
}

/// GET /api/admin/ledger/verify as `admin` reports every invariant intact.
pub async fn assert_ledger_ok(app: &TestApp, admin: &TestUser) {
    let report = verify(app, admin).await;
    assert_eq!(report.body["ok"], true, "{}", report.text);
}
