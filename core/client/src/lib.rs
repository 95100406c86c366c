//! The phone's engine, shared by the Android app, the iOS app and the
//! `sharepay` terminal shell.
//!
//! It owns the encrypted store, the pinned TLS 1.3 connection and the
//! session. Shells only draw screens and supply what only the platform has,
//! such as the [`KeyWrapper`]. The access token lives in memory only; the
//! refresh token lives only in the encrypted store.

mod api;
pub mod error;
pub mod key_wrapper;
pub mod store;
pub mod tls;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use secrecy::{ExposeSecret, SecretString};
use sharepay_domain::wire::{LoginRequest, MeResponse, RegisterRequest};

pub use crate::error::ClientError;
pub use crate::key_wrapper::{KeyWrapper, KeyWrapperError};
use crate::store::{EncryptedStore, setting};

/// Where the server is and how to recognise it.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `https://host:port` of the API.
    pub base_url: String,
    /// PEM of the CA(s) the server's certificate must chain to.
    pub ca_certificate_pem: String,
    /// Base64 SHA-256 SPKI pins; one must match a key in the server's chain.
    pub spki_pins: Vec<String>,
    /// Folder of the encrypted store.
    pub data_dir: PathBuf,
}

/// A signed-in or signed-out SharePay client.
pub struct SharePayClient {
    api: api::ApiClient,
    store: EncryptedStore,
    access_token: Mutex<Option<SecretString>>,
}

impl SharePayClient {
    /// Opens the encrypted store (creating it on first use) and prepares the
    /// pinned connection. Nothing is sent until the first call.
    pub fn new(
        config: ClientConfig,
        key_wrapper: Arc<dyn KeyWrapper>,
    ) -> Result<Self, ClientError> {
        // TODO: require a primary and a backup pin unless a development flag
        // is set; with one pin a server key change locks every phone out.
        if config.spki_pins.is_empty() {
            return Err(ClientError::InvalidInput(
                "spki_pins must contain at least one pin".into(),
            ));
        }
        let pins = tls::parse_pins(&config.spki_pins)?;
        let tls_config = tls::pinned_client_config(&config.ca_certificate_pem, pins)?;
        let api = api::ApiClient::new(&config.base_url, tls_config)?;
        let store = EncryptedStore::open(&config.data_dir, key_wrapper.as_ref())?;
        Ok(Self {
            api,
            store,
            access_token: Mutex::new(None),
        })
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
        };
        let response = self.api.register(&request).await?;
        Ok(response.user_id)
    }

    /// Signs in, keeping the access token in memory and the refresh token in
    /// the encrypted store.
    pub async fn login(&self, email: &str, password: SecretString) -> Result<(), ClientError> {
        let request = LoginRequest {
            email: email.to_owned(),
            password: password.expose_secret().to_owned(),
            device_fingerprint: None,
        };
        let tokens = self.api.login(&request).await?;
        self.store
            .put_setting(setting::REFRESH_TOKEN, tokens.refresh_token.as_bytes())?;
        *self.lock_access_token()? = Some(SecretString::from(tokens.access_token));
        Ok(())
    }

    /// Returns whether a refresh token is stored, that is whether the user
    /// is signed in on this device.
    pub fn has_session(&self) -> Result<bool, ClientError> {
        Ok(self.store.get_setting(setting::REFRESH_TOKEN)?.is_some())
    }

    /// Reads the signed-in user's profile.
    pub async fn me(&self) -> Result<MeResponse, ClientError> {
        let token = self
            .lock_access_token()?
            .clone()
            .ok_or_else(|| ClientError::Unauthorized("not signed in; log in first".into()))?;
        self.api.me(&token).await
    }

    /// Forgets the session on this device: the access token and the stored
    /// refresh token.
    pub fn sign_out_locally(&self) -> Result<(), ClientError> {
        *self.lock_access_token()? = None;
        self.store.delete_setting(setting::REFRESH_TOKEN)
    }

    /// Path of the encrypted store file, for diagnostics and tests.
    pub fn store_path(&self) -> PathBuf {
        self.store.path().to_path_buf()
    }

    fn lock_access_token(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, Option<SecretString>>, ClientError> {
        self.access_token
            .lock()
            .map_err(|_| ClientError::Storage("the session lock is poisoned".into()))
    }
}
