//! Payment card rules that the phone and the vault both apply before a card
//! number is tokenized: parsing, the Luhn check digit, the brand from the
//! issuer identification number (IIN), expiry and CVC length.
//!
//! This module does no I/O and reads no clock: the caller passes the current
//! year and month. It must never put a card number or CVC into an error
//! message, a `Debug` string or a serialized value.

mod brand;
mod expiry;
mod intake;
mod luhn;
mod pan;

pub use brand::{CardBrand, brand_for_digits};
pub use expiry::{CardExpiry, ExpiryError, MAX_YEARS_AHEAD, YearMonth};
pub use intake::{CardIntakeRequest, CardTokenResponse, Cvc, ValidatedCard, validate_intake};
pub use luhn::{luhn_check_digit, luhn_valid};
pub use pan::{MAX_PAN_DIGITS, MIN_PAN_DIGITS, PanError, PrimaryAccountNumber};
