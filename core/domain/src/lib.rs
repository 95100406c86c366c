//! Rules that the phone and the server must agree on, to the minor unit.
//!
//! - [`money`]: amounts in minor units with ISO 4217 currencies.
//! - [`split`]: dividing a bill among household members.
//! - [`ledger`]: double-entry postings, balances, statements and reconciliation.
//! - [`meter`]: consumption between meter readings, prorated to bill periods.
//! - [`authz`]: roles, the permission matrix and `authorize`.
//! - [`card`]: card number, brand, expiry and CVC checks before tokenization.
//! - [`monitoring`]: transaction monitoring rules that flag payments for review.
//! - [`password`]: the password policy.
//! - [`text`]: characters refused in names and notes that others read.
//! - [`wire`]: JSON request and response bodies with per-field validation.
//!
//! This crate does no I/O and depends on no crate that does.

pub mod authz;
pub mod card;
pub mod ids;
pub mod ledger;
pub mod meter;
pub mod money;
pub mod monitoring;
pub mod password;
pub mod split;
pub mod text;
pub mod wire;
