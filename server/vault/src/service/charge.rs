//! Charging a card token: validation, the idempotency claim, the
//! detokenize-and-call-the-processor step and the stored outcome.

use std::time::Duration;

use sharepay_domain::card::{CardExpiry, PrimaryAccountNumber};
use sharepay_domain::money::Money;
use sharepay_domain::wire::validation::FieldErrors;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::{CARD_TOKEN_FORMAT, VaultHandle, is_card_token, store_error, year_month};
use crate::error::ServiceError;
use crate::processor::{DeclineReason, ProcessorCharge, ProcessorChargeOutcome};
use crate::store::ChargeClaim;
use crate::wire::{ChargeRequest, ChargeResponse, ChargeStatus};

/// How often a duplicate charge or refund request checks whether the first
/// finished.
pub(super) const IN_PROGRESS_POLL: Duration = Duration::from_millis(50);
const MIN_IDEMPOTENCY_KEY_CHARS: usize = 8;
const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;
const MAX_DESCRIPTION_CHARS: usize = 200;

impl VaultHandle {
    /// Charges a card token once per idempotency key. The same key with the
    /// same body returns the stored response; with another body it fails
    /// with `idempotency-key-reused`. A concurrent duplicate waits for the
    /// first request and returns its response.
    pub async fn charge(&self, request: &ChargeRequest) -> Result<ChargeResponse, ServiceError> {
        let service = &self.service;

        // Validate.
        let amount = validate_charge(request)?;
        let request_hash = charge_request_hash(request)?;

        // Claim the idempotency key, or return what it already produced.
        let key = request.idempotency_key.clone();
        let wait_until = tokio::time::Instant::now() + service.processor_timeout * 2;
        loop {
            let now = OffsetDateTime::now_utc().unix_timestamp();
            let stale_before = now - stale_pending_seconds(service.processor_timeout);
            let claim = service
                .store
                .claim_charge(key.clone(), request_hash.clone(), now, stale_before)
                .await
                .map_err(store_error)?;
            match claim {
                ChargeClaim::Claimed => break,
                ChargeClaim::Completed(stored) => {
                    tracing::info!(user_id = %request.user_id, "replayed a stored charge response");
                    return serde_json::from_str(&stored)
                        .map_err(|e| ServiceError::internal("reading a stored charge", e));
                }
                ChargeClaim::KeyReused => {
                    tracing::warn!(user_id = %request.user_id, "rejected a reused idempotency key");
                    return Err(ServiceError::IdempotencyKeyReused);
                }
                ChargeClaim::InProgress if tokio::time::Instant::now() < wait_until => {
                    tokio::time::sleep(IN_PROGRESS_POLL).await;
                }
                ChargeClaim::InProgress => return Err(ServiceError::IdempotencyKeyInProgress),
            }
        }

        // Load, detokenize and call the processor, then store the outcome.
        let result = self.run_claimed_charge(request, amount).await;
        let store = &service.store;
        match &result {
            Ok(response) if response.retryable => {
                store
                    .mark_charge_retryable(key)
                    .await
                    .map_err(store_error)?;
            }
            Ok(response) => {
                let stored = serde_json::to_string(response)
                    .map_err(|e| ServiceError::internal("encoding a charge", e))?;
                store
                    .complete_charge(key, response.charge_id.clone(), stored)
                    .await
                    .map_err(store_error)?;
            }
            Err(_) => store.release_charge(key).await.map_err(store_error)?,
        }
        if let Ok(response) = &result {
            tracing::info!(
                user_id = %request.user_id,
                status = ?response.status,
                decline_reason = ?response.decline_reason,
                "charged a card token"
            );
        }
        result
    }

    async fn run_claimed_charge(
        &self,
        request: &ChargeRequest,
        amount: Money,
    ) -> Result<ChargeResponse, ServiceError> {
        let service = &self.service;
        let sealed = service
            .store
            .find_card(request.token.clone(), request.user_id.0)
            .await
            .map_err(store_error)?
            .ok_or(ServiceError::NotFound)?;
        let charge_id = service
            .cipher
            .random_token("ch_")
            .map_err(|e| ServiceError::internal("creating a charge id", e))?;
        let mut response = ChargeResponse {
            charge_id,
            token: request.token.clone(),
            amount: request.amount.clone(),
            status: ChargeStatus::Failed,
            decline_reason: None,
            retryable: false,
            processor_reference: None,
        };

        let today = year_month(OffsetDateTime::now_utc());
        let Ok(expiry) = CardExpiry::validate(
            i64::from(sealed.expiry_month),
            i64::from(sealed.expiry_year),
            today,
        ) else {
            response.status = ChargeStatus::Declined;
            response.decline_reason = Some(DeclineReason::ExpiredCard);
            return Ok(response);
        };

        // Detokenize, only to hand the number to the processor.
        let digits = service
            .cipher
            .open(&sealed.pan_ciphertext, request.token.as_bytes())
            .map_err(|e| ServiceError::internal("opening a card ciphertext", e))?;
        let digits = Zeroizing::new(
            String::from_utf8(digits.to_vec())
                .map_err(|_| ServiceError::Internal("a card ciphertext is damaged".into()))?,
        );
        let pan = PrimaryAccountNumber::parse(&digits)
            .map_err(|e| ServiceError::internal("a stored card number is invalid", e))?;
        drop(digits);

        let call = service.processor.charge(ProcessorCharge {
            pan: &pan,
            expiry,
            amount,
            idempotency_key: &request.idempotency_key,
            description: &request.description,
        });
        match tokio::time::timeout(service.processor_timeout, call).await {
            Ok(Ok(ProcessorChargeOutcome::Approved { reference })) => {
                response.status = ChargeStatus::Approved;
                response.processor_reference = Some(reference);
            }
            Ok(Ok(ProcessorChargeOutcome::Declined { reason, reference })) => {
                response.status = ChargeStatus::Declined;
                response.decline_reason = Some(reason);
                response.processor_reference = Some(reference);
            }
            Ok(Ok(ProcessorChargeOutcome::RequiresAuthentication { reference })) => {
                response.status = ChargeStatus::RequiresAuthentication;
                response.processor_reference = Some(reference);
            }
            Ok(Err(error)) => {
                tracing::warn!(user_id = %request.user_id, %error, "the processor failed a charge");
                response.retryable = true;
            }
            Err(_) => {
                tracing::warn!(
                    user_id = %request.user_id,
                    timeout_ms = service.processor_timeout.as_millis() as u64,
                    "the processor timed out on a charge; a retry with the same key is safe"
                );
                response.retryable = true;
            }
        }
        Ok(response)
    }
}

/// Checks a charge request and returns its amount.
fn validate_charge(request: &ChargeRequest) -> Result<Money, ServiceError> {
    let mut errors = FieldErrors::new();
    if !is_card_token(&request.token) {
        errors.add("token", CARD_TOKEN_FORMAT);
    }
    let amount = request.amount.validate("amount", &mut errors);
    if request.amount.minor <= 0 {
        errors.add("amount.minor", "the amount must be greater than zero");
    }
    validate_idempotency_key(&request.idempotency_key, &mut errors);
    let description_chars = request.description.chars().count();
    if description_chars > MAX_DESCRIPTION_CHARS {
        errors.add(
            "description",
            format!("the description must be at most {MAX_DESCRIPTION_CHARS} characters, not {description_chars}"),
        );
    } else if request.description.chars().any(char::is_control) {
        errors.add(
            "description",
            "the description must not contain control characters",
        );
    }
    match amount {
        Some(amount) if errors.is_empty() => Ok(amount),
        _ => Err(ServiceError::from_field_errors(errors.into_vec())),
    }
}

/// Checks the length and characters of a request's idempotency key.
pub(super) fn validate_idempotency_key(key: &str, errors: &mut FieldErrors) {
    let key_chars = key.chars().count();
    if !(MIN_IDEMPOTENCY_KEY_CHARS..=MAX_IDEMPOTENCY_KEY_CHARS).contains(&key_chars)
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        errors.add(
            "idempotency_key",
            format!(
                "the idempotency key must be {MIN_IDEMPOTENCY_KEY_CHARS} to {MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters, such as a UUID"
            ),
        );
    }
}

/// SHA-256 of every field of the request except the idempotency key, so a
/// replay can be distinguished from a different charge under the same key.
fn charge_request_hash(request: &ChargeRequest) -> Result<Vec<u8>, ServiceError> {
    let canonical = serde_json::to_vec(&(
        request.user_id,
        &request.token,
        request.amount.minor,
        &request.amount.currency,
        &request.description,
    ))
    .map_err(|e| ServiceError::internal("hashing a charge request", e))?;
    Ok(ring::digest::digest(&ring::digest::SHA256, &canonical)
        .as_ref()
        .to_vec())
}

/// Age in seconds after which a `pending` charge counts as abandoned by a
/// crashed runner: well past any processor call.
pub(super) fn stale_pending_seconds(processor_timeout: Duration) -> i64 {
    i64::try_from(processor_timeout.as_secs()).unwrap_or(i64::MAX / 4) * 2 + 60
}
