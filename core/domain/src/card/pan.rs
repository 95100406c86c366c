//! The primary account number (PAN) as a masking type.
//!
//! [`PrimaryAccountNumber`] is the only form in which a parsed card number
//! travels. It zeroes its digits on drop, its `Debug` and `Display` show the
//! last four digits only, and it implements neither `Serialize` nor `Clone`,
//! so it cannot reach a log line, a JSON body or a second copy by accident.

use std::fmt;

use thiserror::Error;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::brand::{CardBrand, brand_for_digits};
use super::luhn::luhn_valid;

/// Minimum number of digits of a card number. ISO/IEC 7812 allows 8, but no
/// brand in the IIN table issues fewer than 12.
pub const MIN_PAN_DIGITS: usize = 12;
/// Maximum number of digits of a card number (ISO/IEC 7812).
pub const MAX_PAN_DIGITS: usize = 19;

/// Reason a card number was rejected. No variant carries the number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum PanError {
    #[error("the card number is required")]
    Missing,
    #[error("the card number may contain only digits, spaces and dashes")]
    InvalidCharacter,
    #[error(
        "the card number has {found} digits, but card numbers have {MIN_PAN_DIGITS} to {MAX_PAN_DIGITS}"
    )]
    InvalidLength { found: usize },
    #[error("the card number is not valid (its check digit does not match): check it for typos")]
    LuhnMismatch,
    #[error(
        "the card brand is not supported: use a Visa, Mastercard, American Express, Discover, JCB, Diners Club, UnionPay or Maestro card"
    )]
    UnknownBrand,
    #[error("the card number has {found} digits, which {brand} does not issue: check it for typos")]
    InvalidLengthForBrand { brand: CardBrand, found: usize },
}

/// A syntactically valid card number: 12 to 19 digits, a matching Luhn
/// check digit and a brand from the IIN table.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct PrimaryAccountNumber {
    digits: String,
    #[zeroize(skip)]
    brand: CardBrand,
}

impl PrimaryAccountNumber {
    /// Parses a card number as people type it: digits, optionally grouped
    /// by spaces or dashes.
    pub fn parse(input: &str) -> Result<Self, PanError> {
        let mut digits = Zeroizing::new(String::with_capacity(MAX_PAN_DIGITS));
        for character in input.trim().chars() {
            match character {
                '0'..='9' => digits.push(character),
                ' ' | '-' => {}
                _ => return Err(PanError::InvalidCharacter),
            }
        }

        let length = digits.len();
        if length == 0 {
            return Err(PanError::Missing);
        }
        if !(MIN_PAN_DIGITS..=MAX_PAN_DIGITS).contains(&length) {
            return Err(PanError::InvalidLength { found: length });
        }
        if !luhn_valid(&digits) {
            return Err(PanError::LuhnMismatch);
        }
        let brand = brand_for_digits(&digits).ok_or(PanError::UnknownBrand)?;
        if !brand.issues_length(length) {
            return Err(PanError::InvalidLengthForBrand {
                brand,
                found: length,
            });
        }

        Ok(Self {
            digits: std::mem::take(&mut *digits),
            brand,
        })
    }

    pub fn brand(&self) -> CardBrand {
        self.brand
    }

    /// Returns the last four digits, which may be shown and stored in clear.
    pub fn last4(&self) -> &str {
        &self.digits[self.digits.len() - 4..]
    }

    /// Returns the full number as ASCII digits. Call this only to encrypt it, to
    /// compute its fingerprint or to hand it to the payment processor.
    pub fn expose_digits(&self) -> &str {
        &self.digits
    }
}

impl fmt::Debug for PrimaryAccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PrimaryAccountNumber({} ****{})",
            self.brand,
            self.last4()
        )
    }
}

impl fmt::Display for PrimaryAccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "****{}", self.last4())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_and_dashes_are_ignored() {
        let pan = PrimaryAccountNumber::parse(" 4242 4242-4242 4242 ").expect("valid");
        assert_eq!(pan.expose_digits(), "4242424242424242");
        assert_eq!(pan.brand(), CardBrand::Visa);
    }

    #[test]
    fn debug_and_display_show_last_four() {
        let pan = PrimaryAccountNumber::parse("4000056655665556").expect("valid");
        let debug = format!("{pan:?}");
        let display = format!("{pan}");
        assert_eq!(debug, "PrimaryAccountNumber(visa ****5556)");
        assert_eq!(display, "****5556");
        assert!(!debug.contains("400005665566"));
    }

    #[test]
    fn letters_are_rejected() {
        let error = PrimaryAccountNumber::parse("4242x42424242424").expect_err("must fail");
        assert_eq!(error, PanError::InvalidCharacter);
    }
}
