//! Refunding an approved charge: validation, the limit and idempotency
//! claim, the processor call and the stored outcome.

use sharepay_domain::money::Money;
use sharepay_domain::wire::validation::FieldErrors;
use time::OffsetDateTime;

use super::charge::{IN_PROGRESS_POLL, stale_pending_seconds, validate_idempotency_key};
use super::{VaultHandle, store_error};
use crate::error::ServiceError;
use crate::processor::{ProcessorRefund, ProcessorRefundOutcome};
use crate::store::{RefundClaim, RefundClaimRequest};
use crate::wire::{
    ChargeRefundRequest, ChargeRefundResponse, ChargeRefundStatus, ChargeResponse, ChargeStatus,
};

const CHARGE_ID_FORMAT: &str = "a charge id is ch_ followed by 32 lowercase hex digits";

impl VaultHandle {
    /// Refunds part or all of the approved charge `charge_id`, once per
    /// idempotency key. All refunds of a charge together may not exceed
    /// its amount, and a failed refund does not count. The same key with
    /// the same body returns the stored response; with another body it
    /// fails with `idempotency-key-reused`. A processor error or timeout
    /// stores nothing, so the same request may be sent again.
    pub async fn refund(
        &self,
        charge_id: &str,
        request: &ChargeRefundRequest,
    ) -> Result<ChargeRefundResponse, ServiceError> {
        let service = &self.service;

        // Validate against the stored charge.
        let amount = validate_refund(charge_id, request)?;
        let charge = self.load_refundable_charge(charge_id, amount).await?;
        let request_hash = refund_request_hash(charge_id, request)?;

        // Claim the idempotency key within the refundable amount, or return
        // what the key already produced.
        let key = request.idempotency_key.clone();
        let wait_until = tokio::time::Instant::now() + service.processor_timeout * 2;
        loop {
            let now = OffsetDateTime::now_utc().unix_timestamp();
            let claim = service
                .store
                .claim_refund(RefundClaimRequest {
                    idempotency_key: key.clone(),
                    request_hash: request_hash.clone(),
                    charge_id: charge_id.to_owned(),
                    amount_minor: amount.minor(),
                    captured_minor: charge.amount.minor,
                    now,
                    stale_before: now - stale_pending_seconds(service.processor_timeout),
                })
                .await
                .map_err(store_error)?;
            match claim {
                RefundClaim::Claimed => break,
                RefundClaim::Completed(stored) => {
                    tracing::info!(%charge_id, "replayed a stored refund response");
                    return serde_json::from_str(&stored)
                        .map_err(|e| ServiceError::internal("reading a stored refund", e));
                }
                RefundClaim::KeyReused => {
                    tracing::warn!(%charge_id, "rejected a reused refund idempotency key");
                    return Err(ServiceError::IdempotencyKeyReused);
                }
                RefundClaim::ExceedsCaptured { refundable_minor } => {
                    tracing::info!(%charge_id, refundable_minor, "rejected a refund over the captured amount");
                    return Err(ServiceError::invalid_field(
                        "amount.minor",
                        format!(
                            "the refund of {} minor units exceeds what is left of the charge: at most {refundable_minor} minor units can still be refunded",
                            amount.minor()
                        ),
                    ));
                }
                RefundClaim::InProgress if tokio::time::Instant::now() < wait_until => {
                    tokio::time::sleep(IN_PROGRESS_POLL).await;
                }
                RefundClaim::InProgress => return Err(ServiceError::IdempotencyKeyInProgress),
            }
        }

        // Call the processor, then store the outcome or free the claim.
        let result = self
            .run_claimed_refund(charge_id, &charge, request, amount)
            .await;
        let store = &service.store;
        match &result {
            Ok(response) => {
                let stored = serde_json::to_string(response)
                    .map_err(|e| ServiceError::internal("encoding a refund", e))?;
                let succeeded = response.status == ChargeRefundStatus::Succeeded;
                store
                    .complete_refund(key, succeeded, stored)
                    .await
                    .map_err(store_error)?;
                tracing::info!(
                    %charge_id,
                    refund_id = %response.refund_id,
                    status = ?response.status,
                    reason = ?response.reason,
                    "refunded a charge"
                );
            }
            Err(_) => store.release_refund(key).await.map_err(store_error)?,
        }
        result
    }

    /// Loads the completed charge `charge_id` and checks that it was
    /// approved in the refund's currency.
    async fn load_refundable_charge(
        &self,
        charge_id: &str,
        amount: Money,
    ) -> Result<ChargeResponse, ServiceError> {
        let stored = self
            .service
            .store
            .find_completed_charge(charge_id.to_owned())
            .await
            .map_err(store_error)?
            .ok_or(ServiceError::NotFound)?;
        let charge: ChargeResponse = serde_json::from_str(&stored)
            .map_err(|e| ServiceError::internal("reading a stored charge", e))?;
        if charge.status != ChargeStatus::Approved {
            return Err(ServiceError::invalid_field(
                "charge_id",
                "the charge was not approved, so there is nothing to refund",
            ));
        }
        if charge.amount.currency != amount.currency().code() {
            return Err(ServiceError::invalid_field(
                "amount.currency",
                format!("must be the charge's currency, {}", charge.amount.currency),
            ));
        }
        Ok(charge)
    }

    async fn run_claimed_refund(
        &self,
        charge_id: &str,
        charge: &ChargeResponse,
        request: &ChargeRefundRequest,
        amount: Money,
    ) -> Result<ChargeRefundResponse, ServiceError> {
        let service = &self.service;
        let charge_reference = charge.processor_reference.as_deref().ok_or_else(|| {
            ServiceError::Internal("an approved charge has no processor reference".into())
        })?;
        let refund_id = service
            .cipher
            .random_token("re_")
            .map_err(|e| ServiceError::internal("creating a refund id", e))?;
        let call = service.processor.refund(ProcessorRefund {
            charge_reference,
            amount,
            idempotency_key: &request.idempotency_key,
        });
        let outcome = match tokio::time::timeout(service.processor_timeout, call).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(error)) => {
                tracing::warn!(%charge_id, %error, "the processor failed a refund");
                return Err(ServiceError::ProcessorUnavailable {
                    detail: "the processor failed the refund without a decision: retry the same request later".into(),
                });
            }
            Err(_) => {
                tracing::warn!(
                    %charge_id,
                    timeout_ms = service.processor_timeout.as_millis() as u64,
                    "the processor timed out on a refund; a retry with the same key is safe"
                );
                return Err(ServiceError::ProcessorUnavailable {
                    detail: "the processor timed out on the refund: retry the same request later"
                        .into(),
                });
            }
        };

        let mut response = ChargeRefundResponse {
            refund_id,
            charge_id: charge_id.to_owned(),
            amount: request.amount.clone(),
            status: ChargeRefundStatus::Succeeded,
            reason: None,
            processor_reference: None,
        };
        match outcome {
            ProcessorRefundOutcome::Succeeded { reference } => {
                response.processor_reference = Some(reference);
            }
            ProcessorRefundOutcome::Failed { reason, reference } => {
                response.status = ChargeRefundStatus::Failed;
                response.reason = Some(reason);
                response.processor_reference = Some(reference);
            }
        }
        Ok(response)
    }
}

/// Checks a refund request and returns its amount.
fn validate_refund(charge_id: &str, request: &ChargeRefundRequest) -> Result<Money, ServiceError> {
    let mut errors = FieldErrors::new();
    if !is_charge_id(charge_id) {
        errors.add("charge_id", CHARGE_ID_FORMAT);
    }
    let amount = request.amount.validate("amount", &mut errors);
    if request.amount.minor <= 0 {
        errors.add("amount.minor", "the amount must be greater than zero");
    }
    validate_idempotency_key(&request.idempotency_key, &mut errors);
    match amount {
        Some(amount) if errors.is_empty() => Ok(amount),
        _ => Err(ServiceError::from_field_errors(errors.into_vec())),
    }
}

fn is_charge_id(charge_id: &str) -> bool {
    charge_id.strip_prefix("ch_").is_some_and(|hex| {
        hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// SHA-256 of the charge id and amount, so a replay can be distinguished
/// from a different refund under the same key.
fn refund_request_hash(
    charge_id: &str,
    request: &ChargeRefundRequest,
) -> Result<Vec<u8>, ServiceError> {
    let canonical =
        serde_json::to_vec(&(charge_id, request.amount.minor, &request.amount.currency))
            .map_err(|e| ServiceError::internal("hashing a refund request", e))?;
    Ok(ring::digest::digest(&ring::digest::SHA256, &canonical)
        .as_ref()
        .to_vec())
}
