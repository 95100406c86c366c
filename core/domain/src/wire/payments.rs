//! Bodies of the payment endpoints: saved cards (payment methods),
//! payments of charges, refunds, statements, the reconciliation report and
//! transaction monitoring cases.
//!
//! The API never receives a card number. A phone posts the card straight
//! to the vault and registers only the vault's token with display data. Types that
//! hold a token redact it in `Debug`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::FieldError;
use super::money::MoneyBody;
use super::validation::FieldErrors;
use crate::money::Money;

/// Maximum characters of a refund reason or a case resolution.
pub const MAX_NOTE_CHARS: usize = 500;

/// Body of `POST /v1/payment-methods/intake-token`: a single-use token with
/// which the phone posts one card straight to the vault.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeTokenResponse {
    /// `cit_...`; send it to the vault as `Authorization: Bearer`.
    pub intake_token: String,
    pub expires_at: String,
    /// The vault's phone-facing URL, when the server is configured with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_url: Option<String>,
}

impl fmt::Debug for IntakeTokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntakeTokenResponse")
            .field("intake_token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("vault_url", &self.vault_url)
            .finish()
    }
}

/// Body of `POST /v1/payment-methods`: the vault's response to a saved card.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterPaymentMethodRequest {
    /// `tok_` followed by 32 lowercase hexadecimal characters.
    pub vault_token: String,
    /// Card brand as the vault named it, such as `visa`.
    pub brand: String,
    /// Last four digits of the card number.
    pub last4: String,
    pub expiry_month: u8,
    /// Four-digit year.
    pub expiry_year: u16,
}

impl fmt::Debug for RegisterPaymentMethodRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisterPaymentMethodRequest")
            .field("vault_token", &"[redacted]")
            .field("brand", &self.brand)
            .field("last4", &self.last4)
            .field("expiry_month", &self.expiry_month)
            .field("expiry_year", &self.expiry_year)
            .finish()
    }
}

impl RegisterPaymentMethodRequest {
    /// Checks every field's shape and returns every offending field. The
    /// expiry is checked against the current `year` and `month`, which the
    /// caller supplies because this crate reads no clock.
    pub fn validate(&self, year: u16, month: u8) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::new();
        let token_ok = self
            .vault_token
            .strip_prefix("tok_")
            .is_some_and(|rest| rest.len() == 32 && rest.bytes().all(is_lower_hex));
        if !token_ok {
            errors.add(
                "vault_token",
                "vault_token must be the tok_ token the vault returned for the card",
            );
        }
        let brand_ok = !self.brand.is_empty()
            && self.brand.len() <= 32
            && self
                .brand
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_');
        if !brand_ok {
            errors.add(
                "brand",
                "brand must be the brand the vault returned, such as visa",
            );
        }
        if self.last4.len() != 4 || !self.last4.bytes().all(|b| b.is_ascii_digit()) {
            errors.add("last4", "last4 must be exactly four digits");
        }
        if !(1..=12).contains(&self.expiry_month) {
            errors.add("expiry_month", "expiry_month must be 1 to 12");
        } else if (self.expiry_year, self.expiry_month) < (year, month) {
            errors.add(
                "expiry_year",
                "the card has expired: save a card that is still valid",
            );
        }
        if !(2000..=2099).contains(&self.expiry_year) {
            errors.add("expiry_year", "expiry_year must be a four-digit year");
        }
        errors.finish(())
    }
}

fn is_lower_hex(byte: u8) -> bool {
    byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte)
}

/// A saved card as the API shows it: display data only.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethodResponse {
    pub payment_method_id: String,
    pub brand: String,
    pub last4: String,
    pub expiry_month: u8,
    pub expiry_year: u16,
    pub created_at: String,
}

/// Body of `GET /v1/payment-methods`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethodListResponse {
    pub payment_methods: Vec<PaymentMethodResponse>,
}

/// Body of `POST /v1/charges/{charge_id}/payments`. The charge's whole open
/// amount is paid.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayChargeRequest {
    pub payment_method_id: String,
}

/// The state of a payment.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Recorded before the vault was asked; the outcome is not known yet.
    Pending,
    /// The vault captured the money.
    Succeeded,
    /// The card was declined, for the reason in `decline_reason`.
    Declined,
    /// The cardholder must authenticate with their bank first.
    RequiresAuthentication,
}

/// A payment of one charge.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentResponse {
    pub payment_id: String,
    pub charge_id: String,
    pub payment_method_id: String,
    pub amount: MoneyBody,
    pub status: PaymentStatus,
    /// For `declined`: `insufficient_funds`, `stolen_card` and so on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_reason: Option<String>,
    pub created_at: String,
}

/// Body of `POST /v1/payments/{payment_id}/refunds`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// At most what is left of the payment after earlier refunds.
    pub amount: MoneyBody,
    pub reason: String,
}

impl RefundRequest {
    /// Checks the amount's currency and sign and the reason's length.
    pub fn validate(&self) -> Result<(Money, String), Vec<FieldError>> {
        let mut errors = FieldErrors::new();
        let amount = self.amount.validate("amount", &mut errors);
        if let Some(amount) = amount
            && amount.minor() <= 0
        {
            errors.add("amount", "amount must be greater than zero");
        }
        let reason = check_note("reason", &self.reason, &mut errors);
        match amount {
            Some(amount) => errors.finish((amount, reason)),
            None => Err(errors.into_vec()),
        }
    }
}

/// Trims a free-text note and checks it has 1 to [`MAX_NOTE_CHARS`]
/// characters and no control character.
pub fn check_note(field: &str, value: &str, errors: &mut FieldErrors) -> String {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        errors.add(field, format!("{field} must not be empty"));
    } else if trimmed.chars().count() > MAX_NOTE_CHARS {
        errors.add(
            field,
            format!("{field} must be at most {MAX_NOTE_CHARS} characters"),
        );
    } else if trimmed.chars().any(crate::text::is_hidden_char) {
        errors.add(
            field,
            format!("{field} {}", crate::text::HIDDEN_CHAR_MESSAGE),
        );
    }
    trimmed.to_owned()
}

/// A refund of part or all of a payment.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundResponse {
    pub refund_id: String,
    pub payment_id: String,
    pub amount: MoneyBody,
    pub reason: String,
    pub created_by: String,
    pub created_at: String,
}

/// One line of a member's statement.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLineBody {
    pub at: String,
    /// `charge`, `charge_reduction`, `payment`, `refund`, `payout` or
    /// `adjustment`.
    pub kind: String,
    /// The ledger transaction of the line.
    pub transaction_id: String,
    /// The charge the line belongs to; absent for a payout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_id: Option<String>,
    /// Positive when the member owes the household more after it.
    pub amount: MoneyBody,
    /// The member's balance after this line.
    pub balance: MoneyBody,
}

/// Body of `GET /v1/households/{household_id}/statements`: what one member
/// owed at the start of the period, each movement in it, and what they
/// owed at its end.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementResponse {
    pub household_id: String,
    pub user_id: String,
    /// The ledger account the lines move: the member's receivable
    /// (`participant_receivable:<id>`) or a primary payer's settlement
    /// (`primary_payer_settlement:<id>`).
    pub account: String,
    pub from: String,
    pub to: String,
    pub opening_balance: MoneyBody,
    pub lines: Vec<StatementLineBody>,
    pub closing_balance: MoneyBody,
    /// `true` when the closing balance is zero.
    pub settled: bool,
}

/// Body of `GET /v1/households/{household_id}/statements`, one statement
/// per currency the member has movements in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementListResponse {
    pub statements: Vec<StatementResponse>,
}

/// One disagreement between the ledger and the charges.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconciliationMismatchBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    pub problem: String,
}

/// Body of `GET /v1/admin/reconciliation`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconciliationResponse {
    pub generated_at: String,
    pub charges: u64,
    pub ledger_transactions: u64,
    /// `true` when no mismatch was found. Every stored transaction is
    /// checked to balance as it loads, so an unbalanced one fails the
    /// request instead.
    pub clean: bool,
    pub mismatches: Vec<ReconciliationMismatchBody>,
}

/// Whether a monitoring case still needs review.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitoringCaseStatus {
    Open,
    Closed,
}

/// A payment that matched a transaction monitoring rule.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitoringCaseResponse {
    pub case_id: String,
    /// The rule that matched, such as `amount_threshold` or `velocity`.
    pub rule: String,
    /// `low`, `medium` or `high`.
    pub severity: String,
    pub reason: String,
    pub user_id: String,
    pub payment_id: String,
    pub household_id: String,
    pub status: MonitoringCaseStatus,
    pub opened_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
}

/// Body of `GET /v1/admin/monitoring-cases`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitoringCaseListResponse {
    pub cases: Vec<MonitoringCaseResponse>,
}

/// Body of `POST /v1/admin/monitoring-cases/{case_id}/close`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseMonitoringCaseRequest {
    /// The reviewer's finding and decision.
    pub resolution: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(token: &str) -> RegisterPaymentMethodRequest {
        RegisterPaymentMethodRequest {
            vault_token: token.to_owned(),
            brand: "visa".to_owned(),
            last4: "4242".to_owned(),
            expiry_month: 12,
            expiry_year: 2030,
        }
    }

    #[test]
    fn vault_token_shape_is_checked() {
        let valid = card(&format!("tok_{}", "a1".repeat(16)));
        assert!(valid.validate(2026, 12).is_ok());

        let errors = card("4242424242424242")
            .validate(2026, 12)
            .expect_err("a PAN");
        assert_eq!(errors[0].field, "vault_token");
        assert!(!errors[0].message.contains("4242"), "{}", errors[0].message);
    }

    #[test]
    fn expired_card_is_rejected() {
        let mut request = card(&format!("tok_{}", "0".repeat(32)));
        request.expiry_year = 2026;
        request.expiry_month = 11;

        let errors = request.validate(2026, 12).expect_err("expired");
        assert_eq!(errors[0].field, "expiry_year");
    }

    #[test]
    fn debug_hides_vault_token() {
        let request = card(&format!("tok_{}", "f".repeat(32)));

        assert!(!format!("{request:?}").contains("ffff"));
    }

    #[test]
    fn refund_needs_positive_amount_and_reason() {
        let request = RefundRequest {
            amount: MoneyBody {
                minor: 0,
                currency: "EUR".to_owned(),
            },
            reason: " ".to_owned(),
        };

        let errors = request.validate().expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|error| error.field.as_str()).collect();
        assert_eq!(fields, ["amount", "reason"]);
    }
}
