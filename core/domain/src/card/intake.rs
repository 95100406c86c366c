//! The card intake request the phone sends to the vault, its validation,
//! and the token response.
//!
//! Validation returns every failed field at once, keyed `number`,
//! `expiry_month`, `expiry_year`, `cvc` or `cardholder_name`. Messages never
//! repeat the card number or the CVC.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::brand::CardBrand;
use super::expiry::{CardExpiry, YearMonth};
use super::pan::PrimaryAccountNumber;
use crate::wire::FieldError;
use crate::wire::validation::FieldErrors;

/// Maximum length of a cardholder name, in Unicode scalar values.
const MAX_CARDHOLDER_NAME_CHARS: usize = 100;

/// Body of the vault's `POST /v1/cards`, sent by the phone only.
///
/// The number and CVC are plain strings so the phone can serialize them;
/// `Debug` redacts both and dropping the request zeroes them.
#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct CardIntakeRequest {
    pub number: String,
    pub expiry_month: i64,
    pub expiry_year: i64,
    pub cvc: String,
    pub cardholder_name: String,
}

impl fmt::Debug for CardIntakeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardIntakeRequest")
            .field("number", &"[redacted]")
            .field("expiry_month", &self.expiry_month)
            .field("expiry_year", &self.expiry_year)
            .field("cvc", &"[redacted]")
            .field("cardholder_name", &"[redacted]")
            .finish()
    }
}

/// A card verification code of the length its brand uses. It is used once
/// to verify the card with the processor and never stored.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Cvc(String);

impl Cvc {
    pub fn expose_digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Cvc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cvc([redacted])")
    }
}

/// A card that passed every check of [`validate_intake`].
#[derive(Debug)]
pub struct ValidatedCard {
    pub pan: PrimaryAccountNumber,
    pub expiry: CardExpiry,
    pub cvc: Cvc,
    pub cardholder_name: String,
}

impl ValidatedCard {
    pub fn brand(&self) -> CardBrand {
        self.pan.brand()
    }
}

/// Checks a card intake request against the card rules, with `today` as
/// the current month. Returns every failed field at once.
pub fn validate_intake(
    request: &CardIntakeRequest,
    today: YearMonth,
) -> Result<ValidatedCard, Vec<FieldError>> {
    let mut errors = FieldErrors::new();

    let pan = match PrimaryAccountNumber::parse(&request.number) {
        Ok(pan) => Some(pan),
        Err(error) => {
            errors.add("number", error.to_string());
            None
        }
    };

    let expiry = match CardExpiry::validate(request.expiry_month, request.expiry_year, today) {
        Ok(expiry) => Some(expiry),
        Err(expiry_errors) => {
            for error in expiry_errors {
                errors.add(error.field(today), error.to_string());
            }
            None
        }
    };

    let cvc = validate_cvc(&request.cvc, pan.as_ref().map(PrimaryAccountNumber::brand));
    if let Err(message) = &cvc {
        errors.add("cvc", message.clone());
    }

    let cardholder_name = request.cardholder_name.trim();
    let name_chars = cardholder_name.chars().count();
    if name_chars == 0 {
        errors.add("cardholder_name", "the cardholder name is required");
    } else if name_chars > MAX_CARDHOLDER_NAME_CHARS {
        errors.add(
            "cardholder_name",
            format!("the cardholder name must be at most {MAX_CARDHOLDER_NAME_CHARS} characters, not {name_chars}"),
        );
    } else if cardholder_name.chars().any(crate::text::is_hidden_char) {
        errors.add(
            "cardholder_name",
            format!("the cardholder name {}", crate::text::HIDDEN_CHAR_MESSAGE),
        );
    }

    match (pan, expiry, cvc) {
        (Some(pan), Some(expiry), Ok(cvc)) if errors.is_empty() => Ok(ValidatedCard {
            pan,
            expiry,
            cvc,
            cardholder_name: cardholder_name.to_owned(),
        }),
        _ => Err(errors.into_vec()),
    }
}

/// Checks that `cvc` is all digits and as long as `brand` requires. With no
/// known brand (the number was invalid) 3 or 4 digits pass.
fn validate_cvc(cvc: &str, brand: Option<CardBrand>) -> Result<Cvc, String> {
    let cvc = cvc.trim();
    if cvc.is_empty() {
        return Err("the CVC is required".to_owned());
    }
    if !cvc.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the CVC may contain only digits".to_owned());
    }
    let length = cvc.len();
    match brand {
        Some(brand) if length != brand.cvc_length() => Err(format!(
            "the CVC of {brand} cards has {} digits, not {length}",
            brand.cvc_length()
        )),
        None if !(3..=4).contains(&length) => {
            Err(format!("the CVC has 3 or 4 digits, not {length}"))
        }
        _ => Ok(Cvc(cvc.to_owned())),
    }
}

/// Response of the vault's `POST /v1/cards`: the token and the display data
/// that the phone and the API may keep.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardTokenResponse {
    /// `tok_` followed by 32 lowercase hex digits (128 random bits).
    pub token: String,
    pub brand: CardBrand,
    pub last4: String,
    pub expiry_month: u32,
    pub expiry_year: i32,
}
