//! Amounts of money: an `i64` count of minor units plus an ISO 4217 currency.
//!
//! Every operation is exact and checked: overflow is an error, never a wrap.
//! Nothing in this module, or on any path that handles money, may use
//! floating point.

mod currency;
mod decimal;
pub mod iso4217;

pub use currency::Currency;

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// An amount in the minor unit of its currency: 1234 EUR minor units is
/// €12.34, 1234 JPY minor units is ¥1,234.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

/// Error from parsing, looking up or computing an amount.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MoneyError {
    #[error("unknown currency code {code:?}: use an ISO 4217 code such as EUR, USD or JPY")]
    UnknownCurrency { code: String },

    #[error("invalid amount {input:?} for {currency}: {reason}")]
    InvalidAmount {
        input: String,
        currency: &'static str,
        reason: &'static str,
    },

    #[error(
        "{currency} allows at most {allowed} decimal places, but {input:?} has {found}: \
         round the amount to {allowed} places"
    )]
    TooManyDecimals {
        input: String,
        currency: &'static str,
        allowed: u8,
        found: usize,
    },

    #[error("amount overflow in {operation}: the result does not fit in 64-bit minor units")]
    Overflow { operation: &'static str },

    #[error("currency mismatch: cannot combine {left} with {right}")]
    CurrencyMismatch {
        left: &'static str,
        right: &'static str,
    },
}

impl Money {
    /// Creates an amount from a count of minor units.
    pub const fn from_minor(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    /// Returns zero in `currency`.
    pub const fn zero(currency: Currency) -> Self {
        Money { minor: 0, currency }
    }

    /// Parses a plain decimal string such as `"12.34"`, `"-0.5"` or `"1000"`.
    ///
    /// The separator is `.`, grouping separators are rejected, and more
    /// decimal places than the currency's exponent are rejected, even when
    /// they are zeros, so that no input is silently rounded.
    pub fn parse(input: &str, currency: Currency) -> Result<Self, MoneyError> {
        let minor = decimal::parse_minor_units(input, currency)?;
        Ok(Money { minor, currency })
    }

    /// Minor units, such as cents for EUR.
    pub const fn minor(&self) -> i64 {
        self.minor
    }

    pub const fn currency(&self) -> Currency {
        self.currency
    }

    pub const fn is_zero(&self) -> bool {
        self.minor == 0
    }

    pub const fn is_negative(&self) -> bool {
        self.minor < 0
    }

    /// Adds two amounts of the same currency.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.ensure_same_currency(other)?;
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow {
                operation: "addition",
            })?;
        Ok(Money { minor, ..self })
    }

    /// Subtracts `other` from `self`; both must have the same currency.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.ensure_same_currency(other)?;
        let minor = self
            .minor
            .checked_sub(other.minor)
            .ok_or(MoneyError::Overflow {
                operation: "subtraction",
            })?;
        Ok(Money { minor, ..self })
    }

    /// Multiplies by an integer count, such as a quantity of items.
    pub fn checked_mul(self, factor: i64) -> Result<Money, MoneyError> {
        let minor = self.minor.checked_mul(factor).ok_or(MoneyError::Overflow {
            operation: "multiplication",
        })?;
        Ok(Money { minor, ..self })
    }

    /// Negates the amount, turning a charge into a credit and back.
    pub fn checked_neg(self) -> Result<Money, MoneyError> {
        let minor = self.minor.checked_neg().ok_or(MoneyError::Overflow {
            operation: "negation",
        })?;
        Ok(Money { minor, ..self })
    }

    /// Adds up amounts that must all be in `currency`; an empty list sums to zero.
    pub fn checked_sum<I>(currency: Currency, amounts: I) -> Result<Money, MoneyError>
    where
        I: IntoIterator<Item = Money>,
    {
        let mut total = Money::zero(currency);
        for amount in amounts {
            total = total.checked_add(amount)?;
        }
        Ok(total)
    }

    /// Formats the amount as a plain decimal with no symbol or grouping,
    /// such as `-1234.50`; [`Money::parse`] reads this form back exactly.
    pub fn to_decimal_string(&self) -> String {
        decimal::format_plain(self.minor, self.currency.exponent())
    }

    fn ensure_same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            return Ok(());
        }
        Err(MoneyError::CurrencyMismatch {
            left: self.currency.code(),
            right: other.currency.code(),
        })
    }
}

/// Display form for people: the symbol where one is unambiguous (`€1,234.50`,
/// `¥1,000`), otherwise the code (`KWD 1.234`), with comma thousands
/// separators and a leading minus sign for credits.
///
/// NOTE: this is one fixed English-style layout. Locale-aware layouts
/// (`1.234,50 €`) are left to the phone's platform formatter.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = decimal::format_grouped(self.minor.unsigned_abs(), self.currency.exponent());
        let sign = if self.minor < 0 { "-" } else { "" };
        match self.currency.symbol() {
            Some(symbol) => write!(f, "{sign}{symbol}{digits}"),
            None => write!(f, "{sign}{} {digits}", self.currency.code()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn currency(code: &str) -> Currency {
        Currency::from_code(code).expect("currency in table")
    }

    #[test]
    fn jpy_1000_displays_with_yen_sign() {
        let jpy = currency("JPY");
        let amount = Money::parse("1000", jpy).expect("valid JPY amount");
        assert_eq!(jpy.exponent(), 0);
        assert_eq!(amount.minor(), 1000);
        assert_eq!(amount.to_string(), "¥1,000");
    }

    #[test]
    fn kwd_1_234_is_1234_minor_units() {
        let amount = Money::parse("1.234", currency("KWD")).expect("valid KWD amount");
        assert_eq!(amount.minor(), 1234);
        assert_eq!(amount.to_string(), "KWD 1.234");
    }

    #[test]
    fn eur_three_decimals_is_rejected() {
        let error = Money::parse("10.001", currency("EUR")).expect_err("too many decimals");
        assert_eq!(
            error,
            MoneyError::TooManyDecimals {
                input: "10.001".to_owned(),
                currency: "EUR",
                allowed: 2,
                found: 3,
            }
        );
        assert_eq!(
            error.to_string(),
            "EUR allows at most 2 decimal places, but \"10.001\" has 3: \
             round the amount to 2 places"
        );
    }

    #[test]
    fn trailing_zero_beyond_exponent_is_still_rejected() {
        let result = Money::parse("10.000", currency("EUR"));
        assert!(matches!(result, Err(MoneyError::TooManyDecimals { .. })));
    }

    #[test]
    fn display_groups_thousands_and_signs_credits() {
        let eur = currency("EUR");
        assert_eq!(
            Money::from_minor(123_456_789, eur).to_string(),
            "€1,234,567.89"
        );
        assert_eq!(Money::from_minor(-5, eur).to_string(), "-€0.05");
        assert_eq!(Money::from_minor(0, eur).to_string(), "€0.00");
        assert_eq!(
            Money::from_minor(100, currency("CHF")).to_string(),
            "CHF 1.00"
        );
        assert_eq!(
            Money::from_minor(12_345, currency("UYW")).to_string(),
            "UYW 1.2345"
        );
    }

    #[test]
    fn display_handles_i64_minimum() {
        let amount = Money::from_minor(i64::MIN, currency("JPY"));
        assert_eq!(amount.to_string(), "-¥9,223,372,036,854,775,808");
    }

    #[test]
    fn addition_overflow_is_an_error() {
        let eur = currency("EUR");
        let result = Money::from_minor(i64::MAX, eur).checked_add(Money::from_minor(1, eur));
        assert_eq!(
            result,
            Err(MoneyError::Overflow {
                operation: "addition"
            })
        );
    }

    #[test]
    fn negation_of_minimum_is_an_error() {
        let result = Money::from_minor(i64::MIN, currency("EUR")).checked_neg();
        assert!(matches!(result, Err(MoneyError::Overflow { .. })));
    }

    #[test]
    fn mixing_currencies_is_an_error() {
        let result = Money::from_minor(1, currency("EUR"))
            .checked_add(Money::from_minor(1, currency("USD")));
        assert_eq!(
            result,
            Err(MoneyError::CurrencyMismatch {
                left: "EUR",
                right: "USD"
            })
        );
    }

    #[test]
    fn sum_of_amounts_is_exact() {
        let eur = currency("EUR");
        let amounts = [1, 2, 3].map(|minor| Money::from_minor(minor, eur));
        assert_eq!(
            Money::checked_sum(eur, amounts),
            Ok(Money::from_minor(6, eur))
        );
    }

    #[test]
    fn serde_uses_minor_and_currency_code() {
        let amount = Money::from_minor(12_345, currency("EUR"));
        let json = serde_json::to_string(&amount).expect("serialize");
        assert_eq!(json, r#"{"minor":12345,"currency":"EUR"}"#);
        let back: Money = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, amount);
    }

    #[test]
    fn serde_rejects_unknown_currency() {
        let result = serde_json::from_str::<Money>(r#"{"minor":1,"currency":"ABC"}"#);
        assert!(result.is_err());
    }
}
