//! JSON bodies of the vault's API-facing endpoints. The phone-facing
//! intake bodies are in `sharepay_domain::card`, shared with the phone.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sharepay_domain::ids::UserId;
use sharepay_domain::wire::money::MoneyBody;
use time::OffsetDateTime;

use crate::processor::{DeclineReason, RefundFailureReason};

/// Body of `POST /v1/intake-tokens` (API only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeTokenRequest {
    pub user_id: UserId,
}

/// A single-use bearer token that lets the phone of `user_id` add one card.
/// The vault stores only its SHA-256.
#[derive(Clone)]
pub struct IntakeToken {
    pub token: SecretString,
    pub expires_at: OffsetDateTime,
}

impl fmt::Debug for IntakeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntakeToken")
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Wire form of [`IntakeToken`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IntakeTokenBody {
    pub intake_token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl From<&IntakeToken> for IntakeTokenBody {
    fn from(token: &IntakeToken) -> Self {
        Self {
            intake_token: token.token.expose_secret().to_owned(),
            expires_at: token.expires_at,
        }
    }
}

impl From<IntakeTokenBody> for IntakeToken {
    fn from(body: IntakeTokenBody) -> Self {
        Self {
            token: SecretString::from(body.intake_token),
            expires_at: body.expires_at,
        }
    }
}

/// Body of `POST /v1/charges` (API only). The card's owner is part of the
/// request so the vault refuses a token of another user as `not-found`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChargeRequest {
    pub user_id: UserId,
    pub token: String,
    pub amount: MoneyBody,
    /// Client-chosen key, 8 to 255 visible ASCII characters. A retry with
    /// the same key and body returns the first response.
    pub idempotency_key: String,
    pub description: String,
}

/// Outcome of a charge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    Approved,
    Declined,
    /// The cardholder must authenticate (3-D Secure) before a new attempt.
    RequiresAuthentication,
    /// No decision was reached. When `retryable` is true, the same request
    /// may be sent again.
    Failed,
}

/// Response of `POST /v1/charges`. It never contains the card number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChargeResponse {
    pub charge_id: String,
    pub token: String,
    pub amount: MoneyBody,
    pub status: ChargeStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_reason: Option<DeclineReason>,
    /// True for a failure that a retry with the same idempotency key may
    /// resolve; such a response is not stored under the key.
    pub retryable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processor_reference: Option<String>,
}

/// Body of `POST /v1/charges/{charge_id}/refunds` (API only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChargeRefundRequest {
    /// Amount to return to the card, in the charge's currency. All refunds
    /// of a charge together may not exceed the captured amount.
    pub amount: MoneyBody,
    /// Client-chosen key, 8 to 255 visible ASCII characters. A retry with
    /// the same key and body returns the first response.
    pub idempotency_key: String,
}

/// Outcome of a refund.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeRefundStatus {
    /// The money goes back to the card.
    Succeeded,
    /// The processor rejected the refund, and `reason` gives the cause. No
    /// money moved, and the amount stays refundable.
    Failed,
}

/// Response of `POST /v1/charges/{charge_id}/refunds`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChargeRefundResponse {
    pub refund_id: String,
    pub charge_id: String,
    pub amount: MoneyBody,
    pub status: ChargeRefundStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RefundFailureReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processor_reference: Option<String>,
}
