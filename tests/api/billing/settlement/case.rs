//! One settlement case and the run that checks it everywhere the money shows.

use crate::billing::support::{entries_of, settled, split, stored_settlement};
use crate::helpers::{TestApp, TestUser};
use crate::money_helpers::dec;
use clawrent_api::billing::domain::{PricingTerms, Usage};
use clawrent_api::billing::repo::SettlementRow;
use clawrent_api::tenancy::domain::Tenant;
use rust_decimal::Decimal;
use uuid::Uuid;

/// What the platform-fee account received from one journal entry.
async fn fee_posted(app: &TestApp, entry: Uuid) -> Decimal {
    sqlx::query_scalar(
        "SELECT coalesce(sum(amount), 0) FROM ledger_postings
         WHERE entry_id = $1 AND account = 'platform_fee'",
    )
    .bind(entry)
    .fetch_one(&app.db)
    .await
    .expect("fee query")
}

/// One settlement case: the terms, the usage, and the expected hold and split, written
/// `Case::new(name, terms, usage).hold(hold).split(units, charge, fee, income)`.
pub struct Case {
    pub name: &'static str,
    terms: PricingTerms,
    usage: Usage,
    hold: &'static str,
    units: i64,
    charge: &'static str,
    fee: &'static str,
    income: &'static str,
}

impl Case {
    pub fn new(name: &'static str, terms: PricingTerms, usage: Usage) -> Self {
        Self {
            name,
            terms,
            usage,
            hold: "",
            units: 0,
            charge: "",
            fee: "",
            income: "",
        }
    }

    pub fn hold(self, hold: &'static str) -> Self {
        Self { hold, ..self }
    }

    pub fn split(
        self,
        units: i64,
        charge: &'static str,
        fee: &'static str,
        income: &'static str,
    ) -> Self {
        Self {
            units,
            charge,
            fee,
            income,
            ..self
        }
    }
}

/// Places the case's hold, settles it, and checks the hold, the split, both wallets (over HTTP),
/// the settlements row and the fee posting. Returns the settlement.
pub async fn run_case(
    app: &TestApp,
    tenant: &Tenant,
    consumer: &TestUser,
    provider: &TestUser,
    case: &Case,
) -> SettlementRow {
    let name = case.name;
    let currency = case.terms.unit_price.currency.to_string();
    let cur = Some(currency.as_str());
    let consumer_before = app.balance(consumer, cur).await;
    let provider_before = app.balance(provider, cur).await;
    let session = Uuid::now_v7();

    let placed = app
        .place_hold(tenant, session, consumer, provider, case.terms.clone())
        .await
        .unwrap_or_else(|e| panic!("{name}: hold refused: {e}"));
    assert!(!placed.replayed, "{name}");
    assert_eq!(placed.hold.amount, dec(case.hold), "{name}: hold amount");
    assert_eq!(
        app.balance(consumer, cur).await,
        consumer_before - dec(case.hold),
        "{name}: the hold leaves the consumer's wallet"
    );
    assert_eq!(app.balance(provider, cur).await, provider_before, "{name}");

    let resolved = app
        .settle(tenant, session, case.usage)
        .await
        .unwrap_or_else(|e| panic!("{name}: settle failed: {e}"));
    assert!(!resolved.replayed, "{name}");
    let s = settled(&resolved).clone();
    let refund = dec(case.hold) - dec(case.charge);
    assert_eq!(
        split(&s),
        (
            case.units,
            dec(case.charge),
            dec(case.fee),
            dec(case.income),
            refund
        ),
        "{name}: units, charge, fee, income, refund"
    );
    assert_eq!(s.provider_income + s.platform_fee, s.amount, "{name}");
    assert_eq!(s.amount + s.refund, placed.hold.amount, "{name}");
    assert_eq!(s.fee_rate, tenant.fee_rate, "{name}");
    assert_eq!(s.currency.as_str(), currency, "{name}");

    assert_eq!(
        app.balance(consumer, cur).await,
        consumer_before - dec(case.charge),
        "{name}: the consumer pays the charge and gets the rest of the hold back"
    );
    assert_eq!(
        app.balance(provider, cur).await,
        provider_before + dec(case.income),
        "{name}: the provider receives the charge minus the fee"
    );

    let stored = stored_settlement(app, session)
        .await
        .unwrap_or_else(|| panic!("{name}: no settlements row"));
    assert_eq!(
        stored,
        (
            case.units,
            dec(case.charge),
            dec(case.fee),
            dec(case.income),
            refund,
            tenant.fee_rate
        ),
        "{name}: the settlements row"
    );
    assert_eq!(
        fee_posted(app, s.entry_id.into()).await,
        dec(case.fee),
        "{name}: the fee posting"
    );
    assert_eq!(entries_of(app, session, "hold").await, 1, "{name}");
    assert_eq!(entries_of(app, session, "settlement").await, 1, "{name}");
    assert_eq!(entries_of(app, session, "void").await, 0, "{name}");
    s
}
