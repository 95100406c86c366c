//! Payments of charges with a saved card, and refunds.
//!
//! A payment runs in steps, each durable before the next. The handler
//! claims the request's `Idempotency-Key` and stores a pending payment. It
//! asks the vault to charge under a key derived from the payment id, then
//! stores the outcome, its ledger posting and the response in one
//! transaction. A retry with the
//! same `Idempotency-Key` replays the stored response, or, when the first
//! attempt never learnt the outcome, continues the same pending payment
//! with the same vault key, so the card is charged once. The steps run in
//! their own task, so a client that disconnects does not cut them short.
//!
//! A refund first calls the vault to refund the payment's vault charge,
//! under a vault key derived from the request's `Idempotency-Key`, so a
//! retry refunds the card once. Only a refund the processor accepted is
//! stored, with its ledger posting and response, in one transaction.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sharepay_domain::authz::{Action, Resource, ResourceKind};
use sharepay_domain::ids::{ResourceId, UserId};
use sharepay_domain::wire::Problem;
use sharepay_domain::wire::payments::{
    PayChargeRequest, PaymentResponse, PaymentStatus, RefundRequest, RefundResponse,
};
use sharepay_vault::{
    ChargeRefundRequest, ChargeRefundStatus, ChargeRequest, ChargeResponse, ChargeStatus,
    ServiceError,
};
use uuid::Uuid;

use super::{ledger, load_charge, money_body, monitoring};
use crate::AppState;
use crate::audit::Outcome;
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::extract::{PathId, StrictJson, parse_v7};
use crate::households::access::{Access, in_household};
use crate::households::{now, request_id, rfc3339};
use crate::idempotency;
use crate::store::money::{
    ChargeRow, PaymentMethodRow, PaymentOutcome, PaymentRow, PaymentStart, RefundInsert, RefundRow,
};
use crate::store::readings::KeyRef;

/// Builds the resource of a payment or refund of `parent`, owned by the
/// member who owes the charge.
fn payment_resource(kind: ResourceKind, household: Uuid, owner: Uuid, parent: Uuid) -> Resource {
    let mut resource = in_household(kind, None, household);
    resource.owner = Some(UserId(owner));
    resource.parent = Some(ResourceId(parent));
    resource
}

#[utoipa::path(
    post,
    path = "/v1/charges/{charge_id}/payments",
    tag = "money",
    security(("bearer" = [])),
    params(
        ("charge_id" = String, Path, description = "UUIDv7 of the charge"),
        ("Idempotency-Key" = String, Header, description = "New random value per payment; the same value on a retry, which never charges twice"),
    ),
    request_body = PayChargeRequest,
    responses(
        (status = 201, description = "The card was charged and the charge is paid.", body = PaymentResponse),
        (status = 400, description = "The payment method is not one of the caller's saved cards, or the key is missing.", body = Problem, content_type = "application/problem+json"),
        (status = 402, description = "The card was declined or needs authentication; `detail` gives the reason and the charge stays open.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such charge, or not the caller's to pay.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The charge is paid or cancelled, or another payment of it is running.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The key was used with a different body.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The outcome is not known yet, or the same key is still running; retry with the same key.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn pay_charge(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(charge_id): PathId,
    StrictJson(request): StrictJson<PayChargeRequest>,
) -> Result<Response, ApiError> {
    // Parse and authorize.
    let key = idempotency::key_from_headers(&headers)?;
    let request_id = request_id(&headers);
    let access = Access::load(&state, caller, request_id.clone()).await?;
    let charge = load_charge(&state, charge_id).await?;
    let resource = payment_resource(
        ResourceKind::Payment,
        charge.household_id,
        charge.user_id,
        charge.id,
    );
    access.require(&state, Action::Write, &resource).await?;

    // Validate, then claim the key; a replay ends here.
    let method_id = parse_v7("payment_method_id", &request.payment_method_id)?;
    let method = state
        .store
        .find_payment_method(method_id)
        .await
        .map_err(|e| ApiError::internal("loading a payment method", e))?
        .filter(|method| method.user_id == caller.user_id && method.deleted_at.is_none())
        .ok_or_else(|| {
            ApiError::invalid_field(
                "payment_method_id",
                "is not one of your saved cards; list them with GET /v1/payment-methods",
            )
        })?;
    let path = format!("/v1/charges/{charge_id}/payments");
    let key = idempotency::key_ref(caller.user_id, key, "POST", &path, &request)?;
    if let Some(replayed) = idempotency::claim(&state, &key).await? {
        return Ok(replayed);
    }

    // Run the payment in its own task, so it finishes and stores its
    // outcome even when the client disconnects.
    let job = PaymentJob {
        caller,
        charge,
        method,
        key,
        request_id,
    };
    let task_state = state.clone();
    tokio::spawn(async move { job.run(&task_state).await })
        .await
        .map_err(|e| ApiError::internal("running a payment", e))?
}

/// Everything a payment needs after its key is claimed.
struct PaymentJob {
    caller: AuthenticatedUser,
    charge: ChargeRow,
    method: PaymentMethodRow,
    key: KeyRef,
    request_id: Option<String>,
}

/// The vault's response, mapped to the payment's final state.
struct Decision {
    status: PaymentStatus,
    decline_reason: Option<String>,
    processor_reference: Option<String>,
    /// The vault's charge id; `None` when the vault charged nothing.
    vault_charge_id: Option<String>,
}

impl PaymentJob {
    async fn run(self, state: &AppState) -> Result<Response, ApiError> {
        match self.execute(state).await {
            Ok(response) => Ok(response),
            Err(Failure::BeforeOutcome(error)) => {
                // Nothing is stored under the key, so the client may retry
                // with it; a pending payment is continued by that retry.
                if let Err(e) = state.store.release_key(&self.key).await {
                    tracing::error!(error = %e, charge_id = %self.charge.id, "releasing an idempotency key failed");
                }
                Err(error)
            }
            Err(Failure::AfterOutcome(error)) => Err(error),
        }
    }

    async fn execute(&self, state: &AppState) -> Result<Response, Failure> {
        let payment = self.start(state).await.map_err(Failure::BeforeOutcome)?;
        let answer = state
            .vault
            .charge(&ChargeRequest {
                user_id: UserId(self.caller.user_id),
                token: self.method.vault_token.clone(),
                amount: money_body(payment.amount_minor, &payment.currency),
                idempotency_key: format!("sharepay-payment-{}", payment.id),
                description: format!("SharePay charge {}", self.charge.id),
            })
            .await;
        let decision = match answer {
            Ok(answer) => decide(&answer),
            // The vault looks the card up only after claiming its key and
            // releases the key when the card is missing, so nothing was
            // charged, and a retry cannot charge a token it does not hold.
            Err(ServiceError::NotFound) => {
                tracing::warn!(payment_id = %payment.id, "the vault has no card with this token for the payer");
                Some(Decision {
                    status: PaymentStatus::Declined,
                    decline_reason: Some(CARD_NOT_AT_VAULT.to_owned()),
                    processor_reference: None,
                    vault_charge_id: None,
                })
            }
            Err(e) => {
                tracing::warn!(error = %e, payment_id = %payment.id, "the vault did not decide a payment");
                None
            }
        };
        let Some(decision) = decision else {
            return Err(Failure::BeforeOutcome(ApiError::PaymentOutcomeUnknown));
        };
        self.finish(state, &payment, decision).await
    }

    /// Stores a new pending payment, or finds the one an interrupted
    /// request with the same key left behind.
    async fn start(&self, state: &AppState) -> Result<PaymentRow, ApiError> {
        let payment = PaymentRow {
            id: Uuid::now_v7(),
            charge_id: self.charge.id,
            household_id: self.charge.household_id,
            user_id: self.caller.user_id,
            payment_method_id: self.method.id,
            amount_minor: self.charge.amount_minor,
            currency: self.charge.currency.clone(),
            status: "pending".to_owned(),
            decline_reason: None,
            processor_reference: None,
            idempotency_scope: self.key.scope.clone(),
            idempotency_key: self.key.key.clone(),
            device_fingerprint: device_of(state, self.caller).await?,
            created_at: now(),
            completed_at: None,
            vault_charge_id: None,
        };
        let start = state
            .store
            .begin_payment(payment.clone())
            .await
            .map_err(|e| ApiError::internal("storing a pending payment", e))?;
        match start {
            PaymentStart::Started => Ok(payment),
            PaymentStart::Resume(existing) if existing.status == "pending" => {
                tracing::info!(payment_id = %existing.id, "continuing an interrupted payment");
                Ok(*existing)
            }
            PaymentStart::Resume(_) | PaymentStart::ChargeNotOpen => Err(ApiError::Conflict {
                detail: "this charge is already paid or was cancelled; reload your charges"
                    .to_owned(),
            }),
            // NOTE: a payment left pending by a client that never retries
            // its key blocks other payments of the charge; no job resolves
            // such payments yet.
            PaymentStart::OtherPaymentPending => Err(ApiError::Conflict {
                detail: "another payment of this charge is running; wait for it, then reload \
                         your charges"
                    .to_owned(),
            }),
        }
    }

    /// Stores the outcome with its ledger posting and the response under
    /// the key, in one transaction, then runs transaction monitoring.
    async fn finish(
        &self,
        state: &AppState,
        payment: &PaymentRow,
        decision: Decision,
    ) -> Result<Response, Failure> {
        let completed_at = now();
        let succeeded = decision.status == PaymentStatus::Succeeded;
        let postings = if succeeded {
            let history = ledger::load(state, Some(payment.household_id))
                .await
                .map_err(Failure::BeforeOutcome)?;
            ledger::payment_captured(&self.charge, payment, &history, completed_at)
                .map_err(Failure::BeforeOutcome)?
        } else {
            Vec::new()
        };
        let body = PaymentResponse {
            payment_id: payment.id.to_string(),
            charge_id: self.charge.id.to_string(),
            payment_method_id: payment.payment_method_id.to_string(),
            amount: money_body(payment.amount_minor, &payment.currency),
            status: decision.status,
            decline_reason: decision.decline_reason.clone(),
            created_at: rfc3339(payment.created_at).map_err(Failure::BeforeOutcome)?,
        };
        let declined = declined_error(&decision);
        let stored = match &declined {
            None => idempotency::stored(StatusCode::CREATED, &body),
            Some(error) => idempotency::stored(StatusCode::PAYMENT_REQUIRED, &error.to_problem()),
        }
        .map_err(Failure::BeforeOutcome)?;
        let outcome = PaymentOutcome {
            payment_id: payment.id,
            status: status_code(decision.status).to_owned(),
            decline_reason: decision.decline_reason.clone(),
            processor_reference: decision.processor_reference.clone(),
            completed_at,
            vault_charge_id: decision.vault_charge_id.clone(),
        };
        state
            .store
            .finish_payment(outcome, postings, &self.key, stored)
            .await
            .map_err(|e| {
                Failure::BeforeOutcome(ApiError::internal("storing a payment outcome", e))
            })?;

        tracing::info!(payment_id = %payment.id, charge_id = %self.charge.id, status = status_code(decision.status), "a payment finished");
        let audit_outcome = if succeeded {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        super::audit_change(
            state,
            self.caller.user_id,
            "payment.create",
            format!("payment:{}", payment.id),
            audit_outcome,
            self.request_id.as_deref(),
            serde_json::json!({
                "charge_id": self.charge.id,
                "status": status_code(decision.status),
                "decline_reason": decision.decline_reason,
            }),
        )
        .await
        .map_err(Failure::AfterOutcome)?;
        if succeeded {
            monitoring::after_payment(state, payment, self.request_id.as_deref()).await;
        }
        match declined {
            None => Ok((StatusCode::CREATED, Json(body)).into_response()),
            Some(error) => Err(Failure::AfterOutcome(error)),
        }
    }
}

/// A payment error, by whether the outcome was stored. Before it, the key
/// is released for a retry. After it, the key contains the response.
enum Failure {
    BeforeOutcome(ApiError),
    AfterOutcome(ApiError),
}

/// Decline reason of a payment whose card token the vault does not hold
/// for the payer, so that nothing was charged.
const CARD_NOT_AT_VAULT: &str = "card_not_found";

/// Maps the vault's response. Returns `None` when the vault reached no
/// decision, so a retry with the same vault key may still reach one.
fn decide(answer: &ChargeResponse) -> Option<Decision> {
    let reason = answer
        .decline_reason
        .and_then(|reason| serde_json::to_value(reason).ok())
        .and_then(|value| value.as_str().map(str::to_owned));
    match answer.status {
        ChargeStatus::Approved => Some(Decision {
            status: PaymentStatus::Succeeded,
            decline_reason: None,
            processor_reference: answer.processor_reference.clone(),
            vault_charge_id: Some(answer.charge_id.clone()),
        }),
        ChargeStatus::Declined => Some(Decision {
            status: PaymentStatus::Declined,
            decline_reason: Some(reason.unwrap_or_else(|| "generic_decline".to_owned())),
            processor_reference: answer.processor_reference.clone(),
            vault_charge_id: Some(answer.charge_id.clone()),
        }),
        ChargeStatus::RequiresAuthentication => Some(Decision {
            status: PaymentStatus::RequiresAuthentication,
            decline_reason: Some("authentication_required".to_owned()),
            processor_reference: answer.processor_reference.clone(),
            vault_charge_id: Some(answer.charge_id.clone()),
        }),
        ChargeStatus::Failed if answer.retryable => None,
        ChargeStatus::Failed => Some(Decision {
            status: PaymentStatus::Declined,
            decline_reason: Some("processing_error".to_owned()),
            processor_reference: answer.processor_reference.clone(),
            vault_charge_id: Some(answer.charge_id.clone()),
        }),
    }
}

fn declined_error(decision: &Decision) -> Option<ApiError> {
    let reason = decision
        .decline_reason
        .as_deref()
        .unwrap_or("generic_decline");
    match decision.status {
        PaymentStatus::Succeeded | PaymentStatus::Pending => None,
        PaymentStatus::Declined if reason == CARD_NOT_AT_VAULT => Some(ApiError::PaymentDeclined {
            detail: format!(
                "the card vault holds no such card of yours ({reason}), so nothing was charged; \
                 the charge stays open, so remove this card, add it again and pay"
            ),
        }),
        PaymentStatus::Declined => Some(ApiError::PaymentDeclined {
            detail: format!(
                "the card was declined ({reason}); the charge stays open, so pay it with another \
                 card"
            ),
        }),
        PaymentStatus::RequiresAuthentication => Some(ApiError::PaymentDeclined {
            detail: "the card needs authentication with its bank (3-D Secure), which SharePay \
                     does not support yet; the charge stays open, so pay it with another card"
                .to_owned(),
        }),
    }
}

fn status_code(status: PaymentStatus) -> &'static str {
    match status {
        PaymentStatus::Pending => "pending",
        PaymentStatus::Succeeded => "succeeded",
        PaymentStatus::Declined => "declined",
        PaymentStatus::RequiresAuthentication => "requires_authentication",
    }
}

/// Returns the device fingerprint of the caller's session, if the phone
/// sent one at login.
pub(crate) async fn device_of(
    state: &AppState,
    caller: AuthenticatedUser,
) -> Result<Option<String>, ApiError> {
    let sessions = state
        .identity
        .list_sessions(caller.user_id)
        .await
        .map_err(|e| ApiError::internal("loading sessions", e))?;
    Ok(sessions
        .into_iter()
        .find(|session| session.id == caller.session_id)
        .and_then(|session| session.device_fingerprint))
}

#[utoipa::path(
    post,
    path = "/v1/payments/{payment_id}/refunds",
    tag = "money",
    security(("bearer" = [])),
    params(
        ("payment_id" = String, Path, description = "UUIDv7 of the payment"),
        ("Idempotency-Key" = String, Header, description = "New random value per refund; the same value on a retry"),
    ),
    request_body = RefundRequest,
    responses(
        (status = 201, description = "The card was refunded; the charge is lowered by the refunded amount.", body = RefundResponse),
        (status = 400, description = "A field is invalid, or the amount exceeds what is left of the payment.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only a primary payer refunds.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such payment, or the caller may not see it.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The payment did not succeed, so there is nothing to refund, or the card processor rejected the refund and nothing was recorded.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The key was used with a different body.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The card processor did not decide the refund; retry with the same key, which never refunds twice.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn refund_payment(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(payment_id): PathId,
    StrictJson(request): StrictJson<RefundRequest>,
) -> Result<Response, ApiError> {
    // Parse and authorize.
    let key = idempotency::key_from_headers(&headers)?;
    let request_id = request_id(&headers);
    let access = Access::load(&state, caller, request_id.clone()).await?;
    let payment = state
        .store
        .find_payment(payment_id)
        .await
        .map_err(|e| ApiError::internal("loading a payment", e))?
        .ok_or(ApiError::NotFound)?;
    let resource = payment_resource(
        ResourceKind::Refund,
        payment.household_id,
        payment.user_id,
        payment.id,
    );
    access.require(&state, Action::Write, &resource).await?;

    // Validate, then claim the key.
    let (amount, reason) = request.validate().map_err(ApiError::invalid_fields)?;
    if amount.currency().code() != payment.currency {
        return Err(ApiError::invalid_field(
            "amount.currency",
            format!("must be the payment's currency, {}", payment.currency),
        ));
    }
    if payment.status != "succeeded" {
        return Err(ApiError::Conflict {
            detail: "this payment did not succeed, so there is nothing to refund".to_owned(),
        });
    }
    let path = format!("/v1/payments/{payment_id}/refunds");
    let key = idempotency::key_ref(caller.user_id, key, "POST", &path, &request)?;
    if let Some(replayed) = idempotency::claim(&state, &key).await? {
        return Ok(replayed);
    }

    let outcome = store_refund(&state, caller, &payment, amount.minor(), reason, &key).await;
    let refund = match outcome {
        Ok(refund) => refund,
        Err(error) => {
            if let Err(e) = state.store.release_key(&key).await {
                tracing::error!(error = %e, %payment_id, "releasing an idempotency key failed");
            }
            if let ApiError::Conflict { detail } = &error {
                super::audit_change(
                    &state,
                    caller.user_id,
                    "refund.create",
                    format!("payment:{payment_id}"),
                    Outcome::Failure,
                    request_id.as_deref(),
                    serde_json::json!({"amount_minor": amount.minor(), "detail": detail}),
                )
                .await?;
            }
            return Err(error);
        }
    };
    super::audit_change(
        &state,
        caller.user_id,
        "refund.create",
        format!("refund:{}", refund.refund_id),
        Outcome::Success,
        request_id.as_deref(),
        serde_json::json!({"payment_id": payment_id, "amount_minor": amount.minor()}),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(refund)).into_response())
}

/// Posts and stores a refund with its response under `key`.
async fn store_refund(
    state: &AppState,
    caller: AuthenticatedUser,
    payment: &PaymentRow,
    amount_minor: i64,
    reason: String,
    key: &KeyRef,
) -> Result<RefundResponse, ApiError> {
    let charge = load_charge(state, payment.charge_id).await?;
    check_refundable(state, payment, amount_minor).await?;
    let history = ledger::load(state, Some(payment.household_id)).await?;
    refund_at_vault(state, payment, amount_minor, key).await?;
    let refund = RefundRow {
        id: Uuid::now_v7(),
        payment_id: payment.id,
        charge_id: charge.id,
        household_id: payment.household_id,
        user_id: payment.user_id,
        amount_minor,
        currency: payment.currency.clone(),
        reason,
        created_by: caller.user_id,
        created_at: now(),
    };
    let postings = ledger::refund(
        &charge,
        payment.id,
        refund.id,
        amount_minor,
        &history,
        refund.created_at,
    )?;
    let body = RefundResponse {
        refund_id: refund.id.to_string(),
        payment_id: payment.id.to_string(),
        amount: money_body(amount_minor, &refund.currency),
        reason: refund.reason.clone(),
        created_by: caller.user_id.to_string(),
        created_at: rfc3339(refund.created_at)?,
    };
    let stored = idempotency::stored(StatusCode::CREATED, &body)?;
    let inserted = state
        .store
        .insert_refund(refund, postings, key, stored)
        .await
        .map_err(|e| ApiError::internal("storing a refund", e))?;
    match inserted {
        RefundInsert::Stored => Ok(body),
        RefundInsert::ExceedsPayment { refundable_minor } => {
            // NOTE: the vault already refunded the card here. Only a refund
            // racing one recorded before refunds reached the vault gets
            // this far, because the vault checks the same limit atomically.
            tracing::error!(payment_id = %payment.id, refundable_minor, "the vault refunded more than the ledger allows");
            Err(exceeds_payment(refundable_minor))
        }
    }
}

fn exceeds_payment(refundable_minor: i64) -> ApiError {
    ApiError::invalid_field(
        "amount",
        format!(
            "exceeds what is left of the payment: at most {refundable_minor} minor units can \
             still be refunded"
        ),
    )
}

/// Rejects a refund larger than what is left of the payment, before the
/// vault moves any money.
async fn check_refundable(
    state: &AppState,
    payment: &PaymentRow,
    amount_minor: i64,
) -> Result<(), ApiError> {
    let refunds = state
        .store
        .list_refunds(payment.household_id)
        .await
        .map_err(|e| ApiError::internal("loading refunds", e))?;
    let refunded: i64 = refunds
        .iter()
        .filter(|refund| refund.payment_id == payment.id)
        .map(|refund| refund.amount_minor)
        .sum();
    let refundable_minor = payment.amount_minor - refunded;
    if amount_minor > refundable_minor {
        return Err(exceeds_payment(refundable_minor));
    }
    Ok(())
}

/// Refunds the payment's vault charge under a vault key derived from the
/// request's idempotency key, so a retry of the same request gets the
/// vault's stored response instead of refunding again.
async fn refund_at_vault(
    state: &AppState,
    payment: &PaymentRow,
    amount_minor: i64,
    key: &KeyRef,
) -> Result<(), ApiError> {
    let Some(vault_charge_id) = payment.vault_charge_id.as_deref() else {
        return Err(ApiError::Conflict {
            detail: "this payment was made before refunds reached the card, so it cannot be \
                     refunded through SharePay; pay the member back another way"
                .to_owned(),
        });
    };
    let request = ChargeRefundRequest {
        amount: money_body(amount_minor, &payment.currency),
        idempotency_key: vault_refund_key(key),
    };
    let answer = state.vault.refund(vault_charge_id, &request).await;
    let answer = match answer {
        Ok(answer) => answer,
        Err(ServiceError::InvalidInput { detail, .. }) => {
            // The vault's own limit, which counts refunds still running.
            tracing::info!(payment_id = %payment.id, %detail, "the vault rejected a refund");
            return Err(ApiError::invalid_field("amount", detail));
        }
        Err(ServiceError::IdempotencyKeyReused) => return Err(ApiError::IdempotencyKeyReused),
        Err(ServiceError::IdempotencyKeyInProgress) => {
            return Err(ApiError::IdempotencyKeyInProgress);
        }
        Err(error) => {
            tracing::warn!(error = %error, payment_id = %payment.id, "the vault did not decide a refund");
            return Err(ApiError::RefundOutcomeUnknown);
        }
    };
    match answer.status {
        ChargeRefundStatus::Succeeded => {
            tracing::info!(payment_id = %payment.id, refund_id = %answer.refund_id, "the vault refunded a card");
            Ok(())
        }
        ChargeRefundStatus::Failed => {
            let reason = answer
                .reason
                .and_then(|reason| serde_json::to_value(reason).ok())
                .and_then(|value| value.as_str().map(str::to_owned))
                .unwrap_or_else(|| "unknown".to_owned());
            tracing::info!(payment_id = %payment.id, %reason, "the card processor rejected a refund");
            Err(ApiError::Conflict {
                detail: format!(
                    "the card processor rejected the refund ({reason}), so no money went back to \
                     the card and nothing was recorded; pay the member back another way"
                ),
            })
        }
    }
}

/// Derives the vault's idempotency key for a refund request:
/// `sharepay-refund-` and the hex SHA-256 of the caller's key scope and key. The body is left
/// out, so a retry with a changed amount reaches the vault's
/// `idempotency-key-reused` check instead of refunding a second time.
fn vault_refund_key(key: &KeyRef) -> String {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(key.scope.as_bytes());
    context.update(b"\n");
    context.update(key.key.as_bytes());
    let digest = context.finish();
    let mut vault_key = String::from("sharepay-refund-");
    for byte in digest.as_ref() {
        vault_key.push_str(&format!("{byte:02x}"));
    }
    vault_key
}
