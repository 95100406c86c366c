//! The vault's operations, callable in process through [`VaultHandle`]:
//! issue an intake token, tokenize a card, charge a token, delete a card.
//!
//! The HTTP routes and the embedding server both call these, so every
//! check lives here once. Each operation reads in steps: authenticate,
//! validate, load, decide, encrypt and store, log, respond. Nothing here
//! logs a card number, CVC, cardholder name or token.

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sharepay_domain::card::{
    CardBrand, CardExpiry, CardIntakeRequest, CardTokenResponse, PrimaryAccountNumber,
    ValidatedCard, YearMonth, validate_intake,
};
use sharepay_domain::ids::UserId;
use sharepay_domain::wire::validation::FieldErrors;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::crypto::{CardCipher, secret_hash};
use crate::error::ServiceError;
use crate::processor::{
    DeclineReason, ProcessorAdapter, ProcessorCharge, ProcessorChargeOutcome, VerifyOutcome,
};
use crate::store::{CardInsert, ChargeClaim, NewCard, StoreError, VaultStore};
use crate::wire::{ChargeRequest, ChargeResponse, ChargeStatus, IntakeToken};

/// Failed card submissions an intake token allows before it stops working.
const MAX_FAILED_INTAKE_ATTEMPTS: u32 = 5;
/// How often a duplicate charge request checks whether the first finished.
const IN_PROGRESS_POLL: Duration = Duration::from_millis(50);
const MIN_IDEMPOTENCY_KEY_CHARS: usize = 8;
const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;
const MAX_DESCRIPTION_CHARS: usize = 200;

pub(crate) struct VaultService {
    pub store: VaultStore,
    pub cipher: CardCipher,
    pub processor: Arc<dyn ProcessorAdapter>,
    pub processor_timeout: Duration,
    pub intake_token_lifetime: Duration,
}

/// In-process access to a running vault, for a server that embeds it.
/// Cloning is cheap; every clone reaches the same vault.
#[derive(Clone)]
pub struct VaultHandle {
    service: Arc<VaultService>,
}

impl std::fmt::Debug for VaultHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultHandle").finish_non_exhaustive()
    }
}

impl VaultHandle {
    pub(crate) fn new(service: VaultService) -> Self {
        Self {
            service: Arc::new(service),
        }
    }

    /// Issues a single-use intake token for `user_id`, valid for the
    /// configured lifetime (10 minutes by default). The API hands it to the
    /// user's phone, which sends it to `POST /v1/cards` as a bearer token.
    pub async fn issue_intake_token(&self, user_id: UserId) -> Result<IntakeToken, ServiceError> {
        let service = &self.service;
        let token = SecretString::from(
            service
                .cipher
                .random_token("cit_")
                .map_err(|e| ServiceError::internal("creating an intake token", e))?,
        );
        let lifetime = time::Duration::try_from(service.intake_token_lifetime)
            .map_err(|e| ServiceError::internal("the intake token lifetime", e))?;
        let expires_at = OffsetDateTime::now_utc() + lifetime;

        service
            .store
            .insert_intake_token(
                secret_hash(token.expose_secret()),
                user_id.0,
                expires_at.unix_timestamp(),
            )
            .await
            .map_err(store_error)?;
        tracing::info!(%user_id, "issued a card intake token");
        Ok(IntakeToken { token, expires_at })
    }

    /// Checks, verifies and tokenizes a card sent by the phone that holds
    /// `intake_token`. The CVC is used once for the processor's verification
    /// and dropped. A card the user already saved returns its existing token.
    pub async fn tokenize_card(
        &self,
        intake_token: &str,
        request: &CardIntakeRequest,
    ) -> Result<CardTokenResponse, ServiceError> {
        let service = &self.service;
        let now = OffsetDateTime::now_utc();

        // Authenticate.
        let token_hash = secret_hash(intake_token);
        let user_id = service
            .store
            .find_intake_token(
                token_hash.clone(),
                now.unix_timestamp(),
                MAX_FAILED_INTAKE_ATTEMPTS,
            )
            .await
            .map_err(store_error)?
            .ok_or_else(intake_token_rejected)?;

        // Validate.
        let card = match validate_intake(request, year_month(now)) {
            Ok(card) => card,
            Err(errors) => {
                self.record_failed_intake(token_hash).await;
                tracing::info!(%user_id, fields = errors.len(), "rejected an invalid card");
                return Err(ServiceError::from_field_errors(errors));
            }
        };

        // Verify with the processor; the CVC is dropped right after.
        let ValidatedCard {
            pan,
            expiry,
            cvc,
            cardholder_name,
        } = card;
        let verification = tokio::time::timeout(
            service.processor_timeout,
            service.processor.verify(&pan, expiry, &cvc),
        )
        .await;
        drop(cvc);
        match verification {
            Ok(Ok(VerifyOutcome::Verified)) => {}
            Ok(Ok(VerifyOutcome::Declined(reason))) => {
                self.record_failed_intake(token_hash).await;
                tracing::info!(%user_id, ?reason, "the processor declined a new card");
                return Err(ServiceError::CardDeclined {
                    detail: decline_detail(reason).to_owned(),
                });
            }
            Ok(Err(error)) => {
                tracing::warn!(%user_id, %error, "card verification failed");
                return Err(ServiceError::ProcessorUnavailable {
                    detail: "the card could not be verified: retry later".into(),
                });
            }
            Err(_) => {
                tracing::warn!(%user_id, "card verification timed out");
                return Err(ServiceError::ProcessorUnavailable {
                    detail: "the card verification timed out: retry later".into(),
                });
            }
        }

        // Encrypt.
        let card = self.seal_card(user_id, &pan, expiry, &cardholder_name, now)?;

        // Store, consuming the intake token in the same transaction.
        let response = match service
            .store
            .insert_card_with_intake_token(token_hash, now.unix_timestamp(), card.new_card)
            .await
        {
            Ok(CardInsert::Inserted) => card.response,
            Ok(CardInsert::Existing(summary)) => CardTokenResponse {
                token: summary.token,
                brand: CardBrand::from_slug(&summary.brand).unwrap_or(pan.brand()),
                last4: summary.last4,
                expiry_month: summary.expiry_month,
                expiry_year: summary.expiry_year,
            },
            Err(StoreError::IntakeTokenNotUsable) => return Err(intake_token_rejected()),
            Err(error) => return Err(store_error(error)),
        };
        tracing::info!(%user_id, brand = %pan.brand(), "tokenized a card");
        Ok(response)
    }

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
                    .complete_charge(key, stored)
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

    /// Deletes the card `token` of `user_id`, ciphertext included. Later
    /// charges on the token fail with `not-found`.
    pub async fn delete_card(&self, user_id: UserId, token: &str) -> Result<(), ServiceError> {
        if !is_card_token(token) {
            return Err(ServiceError::invalid_field("token", CARD_TOKEN_FORMAT));
        }
        let deleted = self
            .service
            .store
            .delete_card(token.to_owned(), user_id.0)
            .await
            .map_err(store_error)?;
        if !deleted {
            return Err(ServiceError::NotFound);
        }
        tracing::info!(%user_id, "deleted a card and its ciphertext");
        Ok(())
    }

    async fn run_claimed_charge(
        &self,
        request: &ChargeRequest,
        amount: sharepay_domain::money::Money,
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

    fn seal_card(
        &self,
        user_id: uuid::Uuid,
        pan: &PrimaryAccountNumber,
        expiry: CardExpiry,
        cardholder_name: &str,
        now: OffsetDateTime,
    ) -> Result<SealedNewCard, ServiceError> {
        let cipher = &self.service.cipher;
        let crypto_error = |e| ServiceError::internal("encrypting a card", e);
        let token = cipher.random_token("tok_").map_err(crypto_error)?;
        let pan_ciphertext = cipher
            .seal(pan.expose_digits().as_bytes(), token.as_bytes())
            .map_err(crypto_error)?;
        let name_aad = format!("{token}:cardholder_name");
        let cardholder_name_ciphertext = cipher
            .seal(cardholder_name.as_bytes(), name_aad.as_bytes())
            .map_err(crypto_error)?;
        let fingerprint = cipher.fingerprint(pan);

        let response = CardTokenResponse {
            token: token.clone(),
            brand: pan.brand(),
            last4: pan.last4().to_owned(),
            expiry_month: expiry.month(),
            expiry_year: expiry.year(),
        };
        let new_card = NewCard {
            token,
            user_id,
            brand: pan.brand().slug().to_owned(),
            last4: pan.last4().to_owned(),
            expiry_month: expiry.month(),
            expiry_year: expiry.year(),
            key_version: cipher.current_key_version(),
            pan_ciphertext,
            cardholder_name_ciphertext,
            fingerprint_version: fingerprint.version,
            fingerprint: fingerprint.digest,
            created_at: now.unix_timestamp(),
        };
        Ok(SealedNewCard { new_card, response })
    }

    async fn record_failed_intake(&self, token_hash: Vec<u8>) {
        if let Err(error) = self.service.store.record_failed_intake(token_hash).await {
            tracing::error!(%error, "counting a failed card intake failed");
        }
    }
}

struct SealedNewCard {
    new_card: NewCard,
    response: CardTokenResponse,
}

const CARD_TOKEN_FORMAT: &str = "a card token is tok_ followed by 32 lowercase hex digits";

fn is_card_token(token: &str) -> bool {
    token.strip_prefix("tok_").is_some_and(|hex| {
        hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Checks a charge request and returns its amount.
fn validate_charge(request: &ChargeRequest) -> Result<sharepay_domain::money::Money, ServiceError> {
    let mut errors = FieldErrors::new();
    if !is_card_token(&request.token) {
        errors.add("token", CARD_TOKEN_FORMAT);
    }
    let amount = request.amount.validate("amount", &mut errors);
    if request.amount.minor <= 0 {
        errors.add("amount.minor", "the amount must be greater than zero");
    }
    let key = &request.idempotency_key;
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

/// SHA-256 of every field of the request except the idempotency key, so a
/// replay can be told apart from a different charge under the same key.
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
fn stale_pending_seconds(processor_timeout: Duration) -> i64 {
    i64::try_from(processor_timeout.as_secs()).unwrap_or(i64::MAX / 4) * 2 + 60
}

fn year_month(now: OffsetDateTime) -> YearMonth {
    YearMonth {
        year: now.year(),
        month: u32::from(u8::from(now.month())),
    }
}

fn decline_detail(reason: DeclineReason) -> &'static str {
    match reason {
        DeclineReason::InsufficientFunds => "the card was declined for insufficient funds",
        DeclineReason::StolenCard | DeclineReason::GenericDecline => {
            "the card was declined: use another card or contact the card issuer"
        }
        DeclineReason::IncorrectCvc => "the card was declined: the CVC is incorrect",
        DeclineReason::ExpiredCard => "the card has expired: use another card",
    }
}

fn intake_token_rejected() -> ServiceError {
    ServiceError::Unauthorized {
        detail: "the card intake token is missing, invalid, expired or already used: request a new one from the SharePay API".into(),
    }
}

fn store_error(error: StoreError) -> ServiceError {
    ServiceError::internal("vault store", error)
}
