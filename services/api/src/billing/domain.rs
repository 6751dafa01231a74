//! Money value types and the arithmetic of top-ups, holds, charges and the platform fee.
//! Amounts are `Decimal` everywhere, stored as `numeric(20, 4)` and sent as decimal strings.

use crate::agents::domain::PricingModel;
pub use crate::config::HoldLimits;
use crate::error::{ApiError, ApiResult};
use crate::money::{AmountRule, Currency, Money};
use crate::tenancy::domain::Tenant;
use crate::wire_enum::wire_enum;
use rust_decimal::{Decimal, RoundingStrategy};
use std::time::Duration;

wire_enum!(HoldStatus, "hold_status", "status", { Held => "held", Settled => "settled", Voided => "voided" });
wire_enum!(
    /// What a ledger posting is, as a wallet's owner sees it.
    TxType, "ledger_tx_type", "type",
    { Topup => "topup", Payment => "payment", Income => "income", Refund => "refund", Fee => "fee", Adjustment => "adjustment" }
);
wire_enum!(EntryKind, "ledger_entry_kind", "kind",
    { Topup => "topup", Hold => "hold", Settlement => "settlement", Void => "void", Adjustment => "adjustment" });
wire_enum!(
    /// The ledger's accounts: users' wallets, session holds, and the tenant's own accounts
    /// (platform fees, money received from the payment provider, admin adjustments).
    LedgerAccount, "ledger_account", "account",
    { Wallet => "wallet", Hold => "hold", PlatformFee => "platform_fee", PaymentClearing => "payment_clearing", Adjustments => "adjustments" }
);

/// Bounds of one top-up.
pub const MIN_TOPUP: Decimal = Decimal::from_parts(1, 0, 0, false, 2);
pub const MAX_TOPUP: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);
/// Bounds of one admin adjustment.
pub const MAX_ADJUSTMENT: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);

pub const TOPUP_RULE: AmountRule = AmountRule {
    min: MIN_TOPUP,
    max: MAX_TOPUP,
    max_decimals: 2,
};

pub const ADJUSTMENT_RULE: AmountRule = AmountRule {
    min: Decimal::from_parts(1, 0, 0, false, 4),
    max: MAX_ADJUSTMENT,
    max_decimals: 4,
};

/// The currency of a request: the given one if the marketplace uses it, else the tenant's first.
pub fn parse_currency(tenant: &Tenant, raw: Option<&str>) -> ApiResult<Currency> {
    let refused = || {
        ApiError::field(
            "currency",
            format!("must be one of {}", tenant.currencies.join(", ")),
        )
    };
    match raw {
        None => Ok(default_currency(tenant)),
        Some(code) if tenant.currencies.iter().any(|c| c == code) => {
            Currency::parse(code).ok_or_else(refused)
        }
        Some(_) => Err(refused()),
    }
}

/// The tenant's first currency (its codes are validated when the tenant is saved).
pub fn default_currency(tenant: &Tenant) -> Currency {
    tenant
        .currencies
        .first()
        .and_then(|code| Currency::parse(code))
        .unwrap_or_else(|| Currency::parse("CNY").expect("a valid code"))
}

/// `fee = round_half_even(charge × rate, 4 dp)`; the provider gets `charge - fee`, so the two
/// parts always add up to the charge exactly.
pub fn platform_fee(charge: Decimal, rate: Decimal) -> Decimal {
    (charge * rate).round_dp_with_strategy(4, RoundingStrategy::MidpointNearestEven)
}

/// The price a session is rented at, fixed when its hold is placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricingTerms {
    pub model: PricingModel,
    /// The price of one unit (a session, a minute or a token).
    pub unit_price: Money,
}

impl PricingTerms {
    /// The units a hold covers: one for flat prices, the minute cap, or the token budget.
    pub fn max_units(&self, limits: HoldLimits) -> i64 {
        match self.model {
            PricingModel::PerSession | PricingModel::Fixed => 1,
            PricingModel::PerMinute => i64::from(limits.minute_cap.max(1)),
            PricingModel::PerToken => i64::try_from(limits.token_budget.max(1)).unwrap_or(i64::MAX),
        }
    }

    /// The hold: price × the units it covers.
    pub fn hold_amount(&self, limits: HoldLimits) -> Money {
        Money::new(
            self.unit_price.amount * Decimal::from(self.max_units(limits)),
            self.unit_price.currency.clone(),
        )
    }
}

/// What a session used, measured by the sessions context when it ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Time the session was active.
    pub active: Duration,
    /// Tokens metered during the session.
    pub tokens: u64,
}

/// Minutes started: any started minute counts, and an ended session has started at least one.
pub fn started_minutes(active: Duration) -> u64 {
    active.as_secs().div_ceil(60).max(1)
}

/// The units charged for a session, never more than its hold covers.
pub fn billable_units(model: PricingModel, usage: Usage, max_units: i64) -> i64 {
    let used = match model {
        PricingModel::PerSession | PricingModel::Fixed => 1,
        PricingModel::PerMinute => started_minutes(usage.active),
        PricingModel::PerToken => usage.tokens,
    };
    i64::try_from(used).unwrap_or(i64::MAX).min(max_units)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{format_amount, format_exact, parse_amount};
    use serde_json::Value;
    use serde_json::json;

    fn dec(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    #[test]
    fn top_up_amounts_are_strict_decimal_strings() {
        for ok in ["0.01", "12.5", "12.50", "10000", "10000.00", "7"] {
            assert!(
                parse_amount("amount", Some(&json!(ok)), TOPUP_RULE).is_ok(),
                "{ok}"
            );
        }
        let bad = [
            json!("-5.00"),
            json!("0"),
            json!("0.00"),
            json!("0.001"),
            json!("1.005"),
            json!("10000.01"),
            json!("1e3"),
            json!("1e309"),
            json!("NaN"),
            json!("Infinity"),
            json!(""),
            json!(" 5"),
            json!("5 "),
            json!("+5"),
            json!("5."),
            json!(".5"),
            json!("1,00"),
            json!("0x10"),
            json!("99999999999999999999999"),
            json!(12.5),
            json!(10),
            json!(true),
            json!([]),
            json!({}),
            Value::Null,
        ];
        for value in bad {
            let err = parse_amount("amount", Some(&value), TOPUP_RULE).expect_err("refused");
            assert!(
                err.message.starts_with("amount: "),
                "{value}: {}",
                err.message
            );
        }
        assert!(parse_amount("amount", None, TOPUP_RULE).is_err());
    }

    #[test]
    fn fees_round_half_to_even_at_four_decimals() {
        let rate = dec("0.15");
        for (charge, fee) in [
            ("5.00", "0.7500"),
            ("1.00", "0.1500"),
            ("0.0001", "0.0000"),  // 0.000015
            ("0.0003", "0.0000"),  // 0.000045
            ("0.0005", "0.0001"),  // 0.000075
            ("0.001", "0.0002"),   // 0.00015: a midpoint, to the even 2
            ("0.003", "0.0004"),   // 0.00045: a midpoint, to the even 4
            ("0.0033", "0.0005"),  // 0.000495
            ("33.3333", "5.0000"), // 4.999995 rounds up
            ("0.0101", "0.0015"),  // 0.001515
        ] {
            let fee_found = platform_fee(dec(charge), rate);
            assert_eq!(fee_found, dec(fee), "charge {charge}");
            assert_eq!(fee_found + (dec(charge) - fee_found), dec(charge));
        }
        // Midpoints at 4 dp go to the even neighbour, both ways.
        assert_eq!(platform_fee(dec("0.0001"), dec("0.5")), dec("0.0000"));
        assert_eq!(platform_fee(dec("0.0003"), dec("0.5")), dec("0.0002"));
        assert_eq!(platform_fee(dec("0.0005"), dec("0.5")), dec("0.0002"));
        assert_eq!(platform_fee(dec("0.0007"), dec("0.5")), dec("0.0004"));
        assert_eq!(platform_fee(dec("123.45"), Decimal::ZERO), Decimal::ZERO);
    }

    /// A small deterministic generator, so the property checks below need no extra crate and
    /// fail the same way every run.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn fee_and_income_always_add_up_for_any_charge_and_rate() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let half_unit = dec("0.00005");
        for _ in 0..100_000 {
            let charge = Decimal::new((rng.next() % 10_000_000_000) as i64, 4);
            let rate = Decimal::new((rng.next() % 10_000) as i64, 4);
            let fee = platform_fee(charge, rate);
            let income = charge - fee;
            assert_eq!(fee + income, charge);
            assert!(fee >= Decimal::ZERO && fee <= charge, "{charge} x {rate}");
            assert!(fee.scale() <= 4, "{fee}");
            assert!(
                (fee - charge * rate).abs() <= half_unit,
                "{charge} x {rate} = {fee}"
            );
        }
    }

    #[test]
    fn amount_parsing_never_panics_and_accepts_exactly_the_valid_strings() {
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let alphabet: Vec<char> = "0123456789.-+eE nNaIfx,_".chars().collect();
        for _ in 0..100_000 {
            let len = (rng.next() % 14) as usize;
            let raw: String = (0..len)
                .map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize])
                .collect();
            let parsed = parse_amount("amount", Some(&Value::String(raw.clone())), TOPUP_RULE);
            let (whole, fraction) = raw.split_once('.').unwrap_or((raw.as_str(), ""));
            let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
            let shaped = digits(whole)
                && whole.len() <= 12
                && (!raw.contains('.') || (digits(fraction) && fraction.len() <= 2));
            let in_range = shaped
                && raw
                    .parse::<Decimal>()
                    .is_ok_and(|d| d >= MIN_TOPUP && d <= MAX_TOPUP);
            assert_eq!(parsed.is_ok(), in_range, "{raw:?}");
            if let Ok(amount) = parsed {
                assert_eq!(amount, raw.parse::<Decimal>().expect("decimal"), "{raw:?}");
            }
        }
    }

    #[test]
    fn amounts_print_with_two_or_four_decimals() {
        assert_eq!(format_amount(dec("100")), "100.00");
        assert_eq!(format_amount(dec("4.2500")), "4.25");
        assert_eq!(format_amount(dec("0.1275")), "0.1275");
        assert_eq!(format_exact(dec("5")), "5.0000");
        assert_eq!(format_exact(dec("0.75")), "0.7500");
    }

    #[test]
    fn holds_and_charges_follow_the_pricing_model() {
        let limits = HoldLimits {
            minute_cap: 60,
            token_budget: 10_000,
        };
        let terms = |model, price: &str| PricingTerms {
            model,
            unit_price: Money::new(
                dec(price),
                Currency::parse("USD").expect("valid in this test"),
            ),
        };
        assert_eq!(
            terms(PricingModel::PerSession, "5.00")
                .hold_amount(limits)
                .amount,
            dec("5")
        );
        assert_eq!(
            terms(PricingModel::Fixed, "2.50")
                .hold_amount(limits)
                .amount,
            dec("2.5")
        );
        assert_eq!(
            terms(PricingModel::PerMinute, "0.10")
                .hold_amount(limits)
                .amount,
            dec("6")
        );
        assert_eq!(
            terms(PricingModel::PerToken, "0.0001")
                .hold_amount(limits)
                .amount,
            dec("1")
        );

        let usage = |secs, tokens| Usage {
            active: Duration::from_secs(secs),
            tokens,
        };
        assert_eq!(
            billable_units(PricingModel::PerSession, usage(7200, 9), 1),
            1
        );
        assert_eq!(billable_units(PricingModel::PerMinute, usage(0, 0), 60), 1);
        assert_eq!(billable_units(PricingModel::PerMinute, usage(60, 0), 60), 1);
        assert_eq!(billable_units(PricingModel::PerMinute, usage(61, 0), 60), 2);
        assert_eq!(
            billable_units(PricingModel::PerMinute, usage(86_400, 0), 60),
            60
        );
        assert_eq!(
            billable_units(PricingModel::PerToken, usage(5, 0), 10_000),
            0
        );
        assert_eq!(
            billable_units(PricingModel::PerToken, usage(5, 1234), 10_000),
            1234
        );
        assert_eq!(
            billable_units(PricingModel::PerToken, usage(5, 99_999), 10_000),
            10_000
        );
    }
}
