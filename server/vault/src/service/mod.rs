//! The vault's operations, callable in process through [`VaultHandle`]:
//! issue an intake token, tokenize a card, charge a token, refund a
//! charge, delete a card.
//!
//! The HTTP routes and the embedding server both call these, so every
//! check lives here once. Each operation reads in steps: authenticate,
//! validate, load, decide, encrypt and store, log, respond. Nothing here
//! logs a card number, CVC, cardholder name or token.

mod charge;
mod refund;

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sharepay_domain::card::{
    CardBrand, CardExpiry, CardIntakeRequest, CardTokenResponse, PrimaryAccountNumber,
    ValidatedCard, YearMonth, validate_intake,
};
use sharepay_domain::ids::UserId;
use time::OffsetDateTime;

use crate::crypto::{CardCipher, secret_hash};
use crate::error::ServiceError;
use crate::processor::{DeclineReason, ProcessorAdapter, VerifyOutcome};
use crate::store::{CardInsert, NewCard, StoreError, VaultStore};
use crate::wire::IntakeToken;

/// Failed card submissions an intake token allows before it stops working.
const MAX_FAILED_INTAKE_ATTEMPTS: u32 = 5;

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

    /// Checks, verifies and tokenizes a card sent by the phone that presented
    /// `intake_token`. The CVC is used once for the processor's verification
    /// and dropped. A card the user already saved returns its existing token.
    /// Only the phone-facing route calls this, so card data never passes
    /// through the embedding API server.
    pub(crate) async fn tokenize_card(
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

        // Store, consuming the intake token in the same transaction. The
        // same card for the same user keeps its first token, so a phone that
        // re-adds a card does not create a second row to charge. Fingerprints
        // are matched per user only, so the vault never reveals that another
        // user saved the same card.
        // NOTE: duplicates are matched under the current fingerprint key
        // version only, so after a fingerprint key rotation a re-added card
        // gets a new row until old fingerprints are recomputed.
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

    /// Returns the display data of the card `token` of `user_id`, so that
    /// the API registers the vault's data rather than what a phone sent.
    /// Returns `NotFound` when that user has no such card at the vault.
    pub async fn card(
        &self,
        user_id: UserId,
        token: &str,
    ) -> Result<CardTokenResponse, ServiceError> {
        if !is_card_token(token) {
            return Err(ServiceError::invalid_field("token", CARD_TOKEN_FORMAT));
        }
        let summary = self
            .service
            .store
            .card_summary(token.to_owned(), user_id.0)
            .await
            .map_err(store_error)?
            .ok_or(ServiceError::NotFound)?;
        let brand = CardBrand::from_slug(&summary.brand).ok_or_else(|| {
            ServiceError::internal("reading a stored card", "its brand is unknown")
        })?;
        Ok(CardTokenResponse {
            token: summary.token,
            brand,
            last4: summary.last4,
            expiry_month: summary.expiry_month,
            expiry_year: summary.expiry_year,
        })
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
