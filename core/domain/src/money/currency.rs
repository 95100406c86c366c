//! A validated ISO 4217 currency, as a handle to a row of the embedded table.
//!
//! A `Currency` can only be made from a code that is in the table, so every
//! value has a known exponent. It must never carry a guessed exponent.

use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::MoneyError;
use super::iso4217::{self, CurrencyInfo};

/// An ISO 4217 currency known to this crate; serialized as its code (`"EUR"`).
#[derive(Clone, Copy)]
pub struct Currency(&'static CurrencyInfo);

impl Currency {
    /// Looks up an alphabetic code; the match is case-sensitive (`"EUR"`, not `"eur"`).
    pub fn from_code(code: &str) -> Result<Currency, MoneyError> {
        match iso4217::find(code) {
            Some(info) => Ok(Currency(info)),
            None => Err(MoneyError::UnknownCurrency {
                code: code.to_owned(),
            }),
        }
    }

    pub fn code(&self) -> &'static str {
        self.0.code
    }

    /// Decimal places of the minor unit: 0 for JPY, 2 for EUR, 3 for KWD.
    pub fn exponent(&self) -> u8 {
        self.0.exponent
    }

    pub fn name(&self) -> &'static str {
        self.0.name
    }

    /// Symbol for display, where one is unambiguous (`€`, `¥`).
    pub fn symbol(&self) -> Option<&'static str> {
        self.0.symbol
    }

    /// Returns every currency in the table, in code order.
    pub fn all() -> impl Iterator<Item = Currency> {
        iso4217::CURRENCIES.iter().map(Currency)
    }
}

impl PartialEq for Currency {
    fn eq(&self, other: &Self) -> bool {
        self.0.code == other.0.code
    }
}

impl Eq for Currency {}

impl Hash for Currency {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.code.hash(state);
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.code)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.code)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::from_code(&code).map_err(serde::de::Error::custom)
    }
}
