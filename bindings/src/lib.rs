//! The UniFFI facade over `sharepay-client` for Kotlin, Swift and Python.
//!
//! This layer converts types and errors and nothing else: every exported
//! function delegates to the core in a few lines. It is not an API of its
//! own, and no business rule may live here.

mod cards;
mod device;
mod error;
mod households;
mod key_wrapper;
mod mfa;
mod money;
mod outbox;
mod sessions;

use std::sync::Arc;

use secrecy::SecretString;
use sharepay_client::{ClientConfig, EndpointConfig};

pub use crate::cards::{NewCard, PaymentMethod};
use crate::device::ForeignDeviceInfo;
pub use crate::device::{DeviceInfo, DeviceInfoProvider};
pub use crate::error::{PasskeyFailure, SharePayError};
pub use crate::households::{Household, Invitation, Member, Meter, MeterUnit, NewMeter, UserRole};
use crate::key_wrapper::ForeignKeyWrapper;
pub use crate::key_wrapper::KeyWrapper;
pub use crate::mfa::{
    CodeSent, MfaFactors, PasskeyAssertion, PasskeyCredential, PasskeyError, PasskeyProvider,
    StepUpGrant, TotpEnrollment,
};
pub use crate::money::{
    Bill, BillMember, BillSplit, BillStatus, Charge, ChargeStatus, MemberUsage, Money, NewBill,
    Payment, PaymentStatus, SplitLine, SplitMode, Statement, StatementLine, format_money,
};
use crate::outbox::ForeignSyncListener;
pub use crate::outbox::{
    NewReading, OutboxItem, OutboxState, ReadingKind, SyncEvent, SyncEventListener, SyncSummary,
};

uniffi::setup_scaffolding!();

/// The signed-in user's profile.
#[derive(uniffi::Record)]
pub struct UserProfile {
    pub user_id: String,
    pub email: String,
    /// RFC 3339 UTC.
    pub created_at: String,
}

/// The card vault's own pinned endpoint, to which the phone sends card
/// numbers directly.
#[derive(uniffi::Record)]
pub struct VaultEndpoint {
    /// `https://host:port`.
    pub base_url: String,
    /// PEM of the CA(s) the vault's certificate must chain to.
    pub ca_certificate_pem: String,
    /// At least two distinct base64 SHA-256 SPKI pins of the vault.
    pub spki_pins: Vec<String>,
}

/// A SharePay client bound to one server and one encrypted store.
#[derive(uniffi::Object)]
pub struct SharePayClient {
    inner: sharepay_client::SharePayClient,
}

#[uniffi::export(async_runtime = "tokio")]
impl SharePayClient {
    /// Opens the encrypted store in `data_dir` and prepares a TLS 1.3
    /// connection to `base_url` that trusts `ca_certificate_pem` and
    /// requires one of `spki_pins`, which must hold at least two distinct
    /// pins (the current server key and a backup). Saving a card needs
    /// `vault`; without it the other calls work.
    #[uniffi::constructor(default(vault = None))]
    pub fn new(
        base_url: String,
        ca_certificate_pem: String,
        spki_pins: Vec<String>,
        data_dir: String,
        key_wrapper: Arc<dyn KeyWrapper>,
        vault: Option<VaultEndpoint>,
    ) -> Result<Arc<Self>, SharePayError> {
        let mut config = ClientConfig::new(base_url, ca_certificate_pem, spki_pins, data_dir);
        config.vault = vault.map(|vault| EndpointConfig {
            base_url: vault.base_url,
            ca_certificate_pem: vault.ca_certificate_pem,
            spki_pins: vault.spki_pins,
        });
        let inner =
            sharepay_client::SharePayClient::new(config, Arc::new(ForeignKeyWrapper(key_wrapper)))?;
        Ok(Arc::new(Self { inner }))
    }

    /// Creates an account and returns its user id.
    pub async fn register(&self, email: String, password: String) -> Result<String, SharePayError> {
        Ok(self
            .inner
            .register(&email, SecretString::from(password))
            .await?)
    }

    /// Signs in. Fails with `MfaRequired` when the server requests a
    /// second check, which `complete_mfa` then passes.
    pub async fn login(&self, email: String, password: String) -> Result<(), SharePayError> {
        Ok(self
            .inner
            .login(&email, SecretString::from(password))
            .await?)
    }

    /// Asks the server to send a code (`email_code` or `sms_code`) for the
    /// sign-in waiting for its second check.
    pub async fn send_mfa_code(&self, method: String) -> Result<(), SharePayError> {
        Ok(self.inner.send_mfa_code(&method).await?)
    }

    /// Passes the waiting sign-in's second check with `code` for `method`
    /// (`totp`, `email_code`, `sms_code` or `recovery_code`).
    pub async fn complete_mfa(&self, method: String, code: String) -> Result<(), SharePayError> {
        Ok(self
            .inner
            .complete_mfa(&method, SecretString::from(code))
            .await?)
    }

    /// Reads the signed-in user's profile.
    pub async fn me(&self) -> Result<UserProfile, SharePayError> {
        let me = self.inner.me().await?;
        Ok(UserProfile {
            user_id: me.user_id,
            email: me.email,
            created_at: me.created_at,
        })
    }

    // Sets where the device attributes for the fingerprint come from. A `//`
    // comment: UniFFI 0.32 writes a doc comment on a non-throwing Kotlin
    // method as `*/override fun`, which the tree-sitter syntax check rejects.
    pub fn set_device_info_provider(&self, provider: Arc<dyn DeviceInfoProvider>) {
        self.inner
            .set_device_info_provider(Arc::new(ForeignDeviceInfo(provider)));
    }

    // Sets the listener of outbox progress (see the comment above).
    pub fn set_sync_event_listener(&self, listener: Arc<dyn SyncEventListener>) {
        self.inner
            .set_sync_event_listener(Arc::new(ForeignSyncListener::new(listener)));
    }

    /// This installation's device fingerprint, or null without a provider.
    pub fn device_fingerprint(&self) -> Result<Option<String>, SharePayError> {
        Ok(self.inner.device_fingerprint()?)
    }

    /// Queues a reading in the offline outbox.
    pub fn submit_reading(&self, reading: NewReading) -> Result<OutboxItem, SharePayError> {
        Ok(self.inner.submit_reading(reading.into())?.into())
    }

    /// Sends queued readings now.
    pub async fn sync_now(&self) -> Result<SyncSummary, SharePayError> {
        Ok(self.inner.sync_now().await?.into())
    }

    /// Lists the outbox, oldest first, with each item's outcome.
    pub fn outbox_items(&self) -> Result<Vec<OutboxItem>, SharePayError> {
        let items = self.inner.outbox_items()?;
        Ok(items.into_iter().map(OutboxItem::from).collect())
    }

    /// Deletes the session data; queued readings stay.
    pub fn wipe_session(&self) -> Result<(), SharePayError> {
        Ok(self.inner.wipe_session()?)
    }
}
