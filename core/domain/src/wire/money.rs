//! JSON form of an amount: `{"minor": 12345, "currency": "EUR"}`.
//!
//! Amounts are integer minor units on the wire; a float or a decimal string
//! must never be accepted here.

use serde::{Deserialize, Serialize};

use super::validation::FieldErrors;
use crate::money::{Currency, Money};

/// An amount as a request or response carries it, before validation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoneyBody {
    /// Minor units: cents for EUR, yen for JPY.
    pub minor: i64,
    /// ISO 4217 alphabetic code in upper case.
    pub currency: String,
}

impl MoneyBody {
    /// Converts to [`Money`], recording an unknown currency under
    /// `field.currency`.
    pub fn validate(&self, field: &str, errors: &mut FieldErrors) -> Option<Money> {
        match Currency::from_code(&self.currency) {
            Ok(currency) => Some(Money::from_minor(self.minor, currency)),
            Err(error) => {
                errors.add(format!("{field}.currency"), error.to_string());
                None
            }
        }
    }
}

impl From<Money> for MoneyBody {
    fn from(amount: Money) -> Self {
        MoneyBody {
            minor: amount.minor(),
            currency: amount.currency().code().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_body_round_trips_through_json() {
        let json = r#"{"minor":12345,"currency":"EUR"}"#;
        let body: MoneyBody = serde_json::from_str(json).expect("valid body");
        let mut errors = FieldErrors::new();
        let amount = body.validate("bill", &mut errors).expect("known currency");
        assert_eq!(amount.minor(), 12_345);
        assert_eq!(
            serde_json::to_string(&MoneyBody::from(amount)).expect("serialize"),
            json
        );
    }

    #[test]
    fn unknown_currency_is_a_field_error() {
        let body = MoneyBody {
            minor: 1,
            currency: "eur".to_owned(),
        };
        let mut errors = FieldErrors::new();
        assert_eq!(body.validate("bill", &mut errors), None);
        assert_eq!(errors.as_slice()[0].field, "bill.currency");
    }

    #[test]
    fn float_amount_is_rejected() {
        let result = serde_json::from_str::<MoneyBody>(r#"{"minor":12.5,"currency":"EUR"}"#);
        assert!(result.is_err());
    }
}
