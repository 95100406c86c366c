//! The phone's engine, shared by the Android app, the iOS app and the
//! `sharepay` terminal shell.
//!
//! It owns the encrypted store, the pinned TLS 1.3 connections (API and
//! vault), the device fingerprint, the offline outbox and the session.
//! Shells only draw screens and supply what only the platform has, such as
//! the [`KeyWrapper`] and the [`DeviceInfoProvider`]. The access token lives
//! in memory only; the refresh token lives only in the encrypted store,
//! field-encrypted.

mod api;
mod cards;
pub mod clock;
pub mod config;
pub mod error;
pub mod fingerprint;
mod households;
pub mod key_wrapper;
pub mod mfa;
mod money;
pub mod passkey;
mod pin_report_sender;
mod reading_sender;
mod session;
pub mod store;
pub mod sync;
pub mod tls;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use secrecy::{ExposeSecret, SecretString};
use sharepay_domain::wire::{HealthResponse, MeResponse, RegisterRequest};

use crate::api::ApiClient;
pub use crate::cards::{NewCard, check_card};
use crate::clock::{Clock, SystemClock};
pub use crate::config::{ClientConfig, EndpointConfig};
pub use crate::error::ClientError;
pub use crate::fingerprint::{DeviceInfo, DeviceInfoError, DeviceInfoProvider};
pub use crate::key_wrapper::{KeyWrapper, KeyWrapperError};
pub use crate::mfa::{MfaFactors, RecoveryCodes, TotpEnrollment};
pub use crate::passkey::{PasskeyAssertion, PasskeyCredential, PasskeyError, PasskeyProvider};
use crate::reading_sender::HttpReadingSender;
use crate::session::SessionTokens;
pub use crate::store::outbox::{NewReading, OutboxCounts, OutboxItem, OutboxState};
pub use crate::store::payments::{PaymentAttempt, PaymentAttemptState};
pub use crate::store::pin_reports::PendingPinFailureReport;
pub use crate::store::{CardDisplay, EncryptedStore};
pub use crate::sync::{
    BackoffPolicy, ReadingSender, SendOutcome, SyncEvent, SyncEventListener, SyncSummary,
    SyncWorker,
};

/// A signed-in or signed-out SharePay client.
pub struct SharePayClient {
    api: Arc<ApiClient>,
    vault: Option<Arc<ApiClient>>,
    store: Arc<EncryptedStore>,
    sync: SyncWorker,
    clock: Arc<dyn Clock>,
    tokens: SessionTokens,
    /// Held while pin failure reports are sent, so two calls never send the
    /// same reports.
    pin_report_lock: tokio::sync::Mutex<()>,
    device_info: Mutex<Option<Arc<dyn DeviceInfoProvider>>>,
    /// The token of a login waiting for its second check, in memory only.
    pending_mfa: Mutex<Option<SecretString>>,
}

impl SharePayClient {
    /// Checks the configuration, opens the encrypted store (creating it on
    /// first use) and prepares the pinned connections. Nothing is sent until
    /// the first call.
    pub fn new(
        config: ClientConfig,
        key_wrapper: Arc<dyn KeyWrapper>,
    ) -> Result<Self, ClientError> {
        Self::with_clock(config, key_wrapper, Arc::new(SystemClock))
    }

    /// Like [`SharePayClient::new`], with the clock that times token expiry
    /// and outbox retries; tests pass a clock they move by hand.
    pub fn with_clock(
        config: ClientConfig,
        key_wrapper: Arc<dyn KeyWrapper>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ClientError> {
        let api_pins = tls::parse_pins("spki_pins", &config.spki_pins, config.allow_single_pin)?;
        let api_tls = tls::pinned_client_config(&config.ca_certificate_pem, api_pins)?;
        let vault_tls = match &config.vault {
            Some(vault) => {
                let pins =
                    tls::parse_pins("vault.spki_pins", &vault.spki_pins, config.allow_single_pin)?;
                Some(tls::pinned_client_config(&vault.ca_certificate_pem, pins)?)
            }
            None => None,
        };

        let store = Arc::new(EncryptedStore::open(
            &config.data_dir,
            key_wrapper.as_ref(),
        )?);
        let api = Arc::new(ApiClient::new(
            "api",
            "base_url",
            &config.base_url,
            api_tls,
            Arc::clone(&store),
        )?);
        let vault = match (config.vault, vault_tls) {
            (Some(vault), Some(tls)) => Some(Arc::new(ApiClient::new(
                "vault",
                "vault.base_url",
                &vault.base_url,
                tls,
                Arc::clone(&store),
            )?)),
            _ => None,
        };
        let sync = SyncWorker::new(Arc::clone(&store), config.backoff, Arc::clone(&clock));
        Ok(Self {
            api,
            vault,
            store,
            sync,
            clock,
            tokens: SessionTokens::new(),
            pin_report_lock: tokio::sync::Mutex::new(()),
            device_info: Mutex::new(None),
            pending_mfa: Mutex::new(None),
        })
    }

    /// Sets where the device attributes for the fingerprint come from.
    pub fn set_device_info_provider(&self, provider: Arc<dyn DeviceInfoProvider>) {
        *lock_or_recover(&self.device_info) = Some(provider);
    }

    /// Sets the listener of outbox progress, replacing any earlier one.
    pub fn set_sync_event_listener(&self, listener: Arc<dyn SyncEventListener>) {
        self.sync.set_listener(Some(listener));
    }

    /// Computes this installation's device fingerprint, or `None` when no
    /// [`DeviceInfoProvider`] is set.
    pub fn device_fingerprint(&self) -> Result<Option<String>, ClientError> {
        let provider = lock_or_recover(&self.device_info).clone();
        let Some(provider) = provider else {
            return Ok(None);
        };
        let info = provider
            .device_info()
            .map_err(|e| ClientError::Platform(e.message))?;
        fingerprint::device_fingerprint(&self.store, &info).map(Some)
    }

    /// Creates an account and returns its user id.
    pub async fn register(
        &self,
        email: &str,
        password: SecretString,
    ) -> Result<String, ClientError> {
        let request = RegisterRequest {
            email: email.to_owned(),
            password: password.expose_secret().to_owned(),
            device_fingerprint: self.device_fingerprint()?,
        };
        let response = self.api.register(&request).await?;
        self.report_pin_failures().await;
        Ok(response.user_id)
    }

    /// Returns the profile cached by the last [`SharePayClient::me`], for
    /// offline use.
    pub fn cached_profile(&self) -> Result<Option<MeResponse>, ClientError> {
        self.store.cached_profile()
    }

    /// Returns whether a card vault is configured, which saving a card needs.
    pub fn has_vault(&self) -> bool {
        self.vault.is_some()
    }

    /// Checks the pinned connection to the card vault with `GET /v1/health`.
    pub async fn vault_health(&self) -> Result<HealthResponse, ClientError> {
        let vault = self.vault.as_ref().ok_or_else(|| {
            ClientError::InvalidInput("no vault is configured; set ClientConfig::vault".into())
        })?;
        vault.get_json("/v1/health").await
    }

    /// Signs out on this device: deletes the access token and the session
    /// data (see [`SharePayClient::wipe_session`]).
    pub fn sign_out_locally(&self) -> Result<(), ClientError> {
        self.wipe_session()
    }

    /// Deletes the session: the access token in memory, and in the store the
    /// refresh token, the cached profile and the card display data. Queued
    /// readings and the install secret stay. Call it on logout, on a forced
    /// logout and when the server revokes the refresh token family.
    pub fn wipe_session(&self) -> Result<(), ClientError> {
        self.tokens.clear();
        self.store.wipe_session()
    }

    /// Resets the device as if the app were reinstalled: the session, the
    /// outbox (unsent readings included) and the install secret, so the
    /// fingerprint changes.
    pub fn wipe_all(&self) -> Result<(), ClientError> {
        self.tokens.clear();
        self.store.wipe_all()
    }

    /// Queues a reading in the outbox; [`SharePayClient::sync_now`] sends it.
    pub fn submit_reading(&self, reading: NewReading) -> Result<OutboxItem, ClientError> {
        let mut items = self.submit_readings(std::slice::from_ref(&reading))?;
        items
            .pop()
            .ok_or_else(|| ClientError::Storage("the queued reading was not found".into()))
    }

    /// Queues several readings at once: all of them, or none if one is
    /// invalid.
    pub fn submit_readings(&self, readings: &[NewReading]) -> Result<Vec<OutboxItem>, ClientError> {
        let items = self
            .store
            .enqueue_readings(readings, self.clock.now_unix_ms())?;
        for item in &items {
            self.sync.emit(SyncEvent::Queued {
                seq: item.seq,
                idempotency_key: item.idempotency_key.clone(),
                meter_id: item.reading.meter_id.clone(),
            });
        }
        Ok(items)
    }

    /// Lists the outbox, oldest first, with each item's state and outcome.
    pub fn outbox_items(&self) -> Result<Vec<OutboxItem>, ClientError> {
        self.store.outbox_items()
    }

    /// Counts the outbox items in each delivery state.
    pub fn sync_state(&self) -> Result<OutboxCounts, ClientError> {
        self.store.outbox_counts()
    }

    /// Sends queued readings over the pinned API connection until the
    /// outbox is drained or every remaining item waits for a later run.
    ///
    /// When the server rejects the access token, the session is refreshed
    /// and the run starts once more. Without a session, when the server has
    /// ended it, or when that refresh fails, the summary says
    /// `authentication_required` and queued readings stay for a later run.
    pub async fn sync_now(&self) -> Result<SyncSummary, ClientError> {
        let access_token = match self.fresh_access_token().await {
            Ok(token) => token,
            Err(ClientError::Unauthorized(_) | ClientError::SessionRevoked(_)) => {
                return self.sync_needs_login();
            }
            Err(other) => return Err(other),
        };
        let summary = self.sync_with_token(access_token.clone()).await?;
        if !summary.authentication_required {
            return Ok(summary);
        }

        // The readings stay queued whatever the refresh fails with, and the
        // summary already says that authentication is required.
        let access_token = match self.refresh_session(Some(&access_token)).await {
            Ok(token) => token,
            Err(error) => {
                tracing::warn!(%error, "refreshing the session for a sync failed");
                return Ok(summary);
            }
        };
        let second = self.sync_with_token(access_token).await?;
        Ok(SyncSummary {
            accepted: summary.accepted + second.accepted,
            flagged: summary.flagged + second.flagged,
            rejected: summary.rejected + second.rejected,
            retries_scheduled: summary.retries_scheduled + second.retries_scheduled,
            ..second
        })
    }

    async fn sync_with_token(
        &self,
        access_token: SecretString,
    ) -> Result<SyncSummary, ClientError> {
        let sender = HttpReadingSender {
            api: Arc::clone(&self.api),
            access_token,
        };
        let summary = self.sync.run(&sender).await?;
        if summary.accepted + summary.flagged + summary.rejected > 0 {
            self.report_pin_failures().await;
        }
        Ok(summary)
    }

    fn sync_needs_login(&self) -> Result<SyncSummary, ClientError> {
        self.sync.emit(SyncEvent::AuthenticationRequired);
        Ok(SyncSummary {
            pending: self.pending_count()?,
            authentication_required: true,
            ..SyncSummary::default()
        })
    }

    /// Lists the pin failures not yet reported to the server.
    pub fn pending_pin_failure_reports(&self) -> Result<Vec<PendingPinFailureReport>, ClientError> {
        self.store.pending_pin_failure_reports()
    }

    /// Marks pin failure reports as delivered.
    pub fn mark_reported(&self, ids: &[i64]) -> Result<(), ClientError> {
        self.store.mark_pin_failures_reported(ids)
    }

    /// Saves the display data of a card the vault tokenized.
    pub fn save_card_display(&self, card: &CardDisplay) -> Result<(), ClientError> {
        self.store.put_card_display(card)
    }

    /// Lists the saved cards' display data.
    pub fn card_displays(&self) -> Result<Vec<CardDisplay>, ClientError> {
        self.store.card_displays()
    }

    /// Returns the encrypted store, for the features built on it.
    pub fn store(&self) -> &Arc<EncryptedStore> {
        &self.store
    }

    /// Path of the encrypted store file, for diagnostics and tests.
    pub fn store_path(&self) -> PathBuf {
        self.store.path().to_path_buf()
    }

    fn pending_count(&self) -> Result<usize, ClientError> {
        Ok(self
            .store
            .outbox_items()?
            .iter()
            .filter(|item| !item.state.is_final())
            .count())
    }
}

/// Locks `mutex`, recovering from poisoning: a panic elsewhere cannot leave
/// the values guarded here half-written, so they stay usable.
fn lock_or_recover<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}
