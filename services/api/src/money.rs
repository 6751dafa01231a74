//! Money and decimal values at the edge, for every context: the parsers of decimal strings
//! (prices, fee rates, amounts) and the two wire formats of an amount. Amounts are `Decimal`
//! everywhere, stored as `numeric(20, 4)` and sent as decimal strings; nothing is ever rounded
//! silently on the way in.

use crate::error::{ApiError, ApiResult};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A currency code: three uppercase ASCII letters (`"CNY"`), as the database's checks require.
/// Stored and sent as the plain code.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type,
)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct Currency(String);

impl Currency {
    /// `None` unless `code` is three uppercase ASCII letters.
    pub fn parse(code: &str) -> Option<Self> {
        (code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()))
            .then(|| Self(code.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for Currency {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl utoipa::PartialSchema for Currency {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .into()
    }
}

impl utoipa::ToSchema for Currency {}

/// An exact amount in one currency: what the billing API moves. Amounts are never negative
/// here; the direction of a movement is the caller's (a debit, a refund).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub amount: Decimal,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Self { amount, currency }
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", format_amount(self.amount), self.currency)
    }
}

/// The bounds of a money field: how small, how large, how many decimals.
#[derive(Debug, Clone, Copy)]
pub struct AmountRule {
    pub min: Decimal,
    pub max: Decimal,
    pub max_decimals: u32,
}

/// A money amount from JSON. It must be a string of digits with an optional decimal point
/// (`"12.50"`): JSON numbers, signs, exponents, `NaN`, blanks and extra decimals are refused,
/// so nothing is ever rounded silently.
pub fn parse_amount(field: &str, value: Option<&Value>, rule: AmountRule) -> ApiResult<Decimal> {
    let bounds = format!(
        "{} to {}, at most {} decimals",
        format_amount(rule.min),
        format_amount(rule.max),
        rule.max_decimals
    );
    let invalid = || {
        ApiError::field(
            field,
            format!("must be a decimal string such as \"12.50\" ({bounds})"),
        )
    };
    let raw = match value {
        None | Some(Value::Null) => return Err(ApiError::field(field, "is required")),
        Some(Value::String(raw)) => raw.as_str(),
        Some(Value::Number(_)) => {
            return Err(ApiError::field(
                field,
                format!("must be a string such as \"12.50\", not a JSON number ({bounds})"),
            ));
        }
        Some(_) => return Err(invalid()),
    };
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let well_formed = (1..=12).contains(&whole.len())
        && digits(whole)
        && digits(fraction)
        && (raw.contains('.') != fraction.is_empty());
    if !well_formed {
        return Err(invalid());
    }
    if fraction.len() > rule.max_decimals as usize {
        return Err(ApiError::field(
            field,
            format!("has more than {} decimals ({bounds})", rule.max_decimals),
        ));
    }
    let amount: Decimal = raw.parse().map_err(|_| invalid())?;
    if amount < rule.min || amount > rule.max {
        return Err(ApiError::field(
            field,
            format!("is out of range ({bounds})"),
        ));
    }
    Ok(amount)
}

/// A price: a decimal string, 0 to 1,000,000, at most 4 decimals.
pub fn parse_price(raw: &str) -> ApiResult<Decimal> {
    let invalid = || {
        ApiError::field(
            "priceAmount",
            "must be a decimal string such as \"1.00\" (0 to 1000000, at most 4 decimals)",
        )
    };
    let trimmed = raw.trim();
    if trimmed.is_empty() || !trimmed.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(invalid());
    }
    let price: Decimal = trimmed.parse().map_err(|_| invalid())?;
    if price.scale() > 4 || price > Decimal::from(1_000_000) {
        return Err(invalid());
    }
    Ok(price)
}

/// The platform fee rate: a decimal string in [0, 1) with at most 4 decimals (`"0.15"`).
pub fn parse_fee_rate(raw: &str) -> ApiResult<Decimal> {
    let invalid = || {
        ApiError::field(
            "feeRate",
            "must be a decimal string between 0 and 0.9999 with at most 4 decimals",
        )
    };
    let rate: Decimal = raw.trim().parse().map_err(|_| invalid())?;
    if rate.is_sign_negative() || rate >= Decimal::ONE || rate.scale() > 4 {
        return Err(invalid());
    }
    Ok(rate)
}

/// An amount for the wire: at least 2 decimals, no trailing zeros beyond (`"1.00"`, `"0.0125"`).
pub fn format_amount(amount: Decimal) -> String {
    let mut value = amount.normalize();
    if value.scale() < 2 {
        value.rescale(2);
    }
    value.to_string()
}

/// An amount with the ledger's full 4 decimals (`"5.0000"`), as settlements are shown.
pub fn format_exact(amount: Decimal) -> String {
    let mut value = amount;
    value.rescale(4);
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_currency_is_three_uppercase_letters() {
        assert_eq!(
            Currency::parse("CNY").map(|c| c.to_string()),
            Some("CNY".into())
        );
        for bad in ["", "usd", "US", "USDT", "U$D", "ÜSD"] {
            assert!(Currency::parse(bad).is_none(), "{bad:?}");
        }
        let usd = Currency::parse("USD").expect("valid in this test");
        assert_eq!(
            serde_json::to_value(&usd).expect("valid in this test"),
            serde_json::json!("USD")
        );
    }

    #[test]
    fn money_shows_its_amount_and_currency() {
        let five = Money::new(
            Decimal::new(500, 2),
            Currency::parse("USD").expect("valid in this test"),
        );
        assert_eq!(five.to_string(), "5.00 USD");
    }
}
