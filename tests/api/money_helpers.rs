//! Money helpers: wallet endpoints over HTTP, and the hold/settle/void service (which the
//! sessions endpoints will call) run against the app's own state and database.

use crate::helpers::{Auth, Reply, TestApp, TestUser};
use clawrent_api::agents::domain::PricingModel;
use clawrent_api::billing::domain::{PricingTerms, Usage};
use clawrent_api::billing::holds::{self, HoldRequest, Placed, Resolved};
use clawrent_api::error::ApiResult;
use clawrent_api::money::{Currency, Money};
use clawrent_api::tenancy::domain::Tenant;
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

pub const TOPUP: &str = "/api/billing/wallet/topup";

/// The admin's adjustments of `user`'s wallet.
pub fn adjustments(user: &TestUser) -> String {
    format!("/api/admin/wallets/{}/adjustments", user.id)
}

pub fn dec(raw: &str) -> Decimal {
    raw.parse().expect("decimal")
}

impl TestApp {
    pub async fn topup(&self, auth: &Auth, amount: &str) -> Reply {
        self.post(TOPUP, auth, &json!({ "amount": amount })).await
    }

    /// Tops up `amount` in `currency`.
    pub async fn topup_in(&self, auth: &Auth, amount: &str, currency: &str) -> Reply {
        self.post(
            TOPUP,
            auth,
            &json!({ "amount": amount, "currency": currency }),
        )
        .await
    }

    /// Tops up with an `Idempotency-Key`.
    pub async fn topup_keyed(&self, auth: Auth, key: &str, body: &serde_json::Value) -> Reply {
        self.post(TOPUP, &auth.with("idempotency-key", key.to_owned()), body)
            .await
    }

    /// The balance in `currency` (the default currency when None), as a Decimal.
    pub async fn balance(&self, user: &TestUser, currency: Option<&str>) -> Decimal {
        let path = match currency {
            Some(c) => format!("/api/billing/wallet?currency={c}"),
            None => "/api/billing/wallet".to_owned(),
        };
        let reply = self.get(&path, &user.auth()).await.expect(200);
        dec(reply.body["balance"].as_str().expect("balance string"))
    }

    /// The tenant as the services see it (fee rate, currencies).
    pub async fn tenant_row(&self, slug: &str) -> Tenant {
        let mut conn = self.db.acquire().await.expect("conn");
        clawrent_api::tenancy::repo::find_by_slug(&mut conn, slug)
            .await
            .expect("query")
            .expect("tenant exists")
    }

    pub async fn place_hold(
        &self,
        tenant: &Tenant,
        session: Uuid,
        consumer: &TestUser,
        provider: &TestUser,
        terms: PricingTerms,
    ) -> ApiResult<Placed> {
        let req = HoldRequest {
            session_id: session.into(),
            consumer_id: consumer.id.parse().expect("uuid"),
            provider_id: provider.id.parse().expect("uuid"),
            terms,
        };
        let limits = self.state.settings.billing.hold_limits;
        let now = self.state.clock.now();
        clawrent_api::in_transaction!(self.state.db, |conn| holds::place_hold(
            conn, tenant, &req, limits, now
        ))
    }

    pub async fn settle(
        &self,
        tenant: &Tenant,
        session: Uuid,
        usage: Usage,
    ) -> ApiResult<Resolved> {
        let now = self.state.clock.now();
        clawrent_api::in_transaction!(self.state.db, |conn| holds::settle(
            conn,
            tenant,
            session.into(),
            usage,
            now
        ))
    }

    pub async fn void(&self, tenant: &Tenant, session: Uuid) -> ApiResult<Resolved> {
        let now = self.state.clock.now();
        clawrent_api::in_transaction!(self.state.db, |conn| holds::void(
            conn,
            tenant,
            session.into(),
            now
        ))
    }
}

pub fn terms(model: PricingModel, price: &str, currency: &str) -> PricingTerms {
    PricingTerms {
        model,
        unit_price: Money::new(
            dec(price),
            Currency::parse(currency).expect("a currency code"),
        ),
    }
}
