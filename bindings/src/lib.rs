//! The UniFFI facade over `sharepay-client` for Kotlin, Swift and Python.
//!
//! This layer converts types and errors and nothing else: every exported
//! function delegates to the core in a few lines. It is not an API of its
//! own, and no business rule may live here.

mod error;
mod key_wrapper;

use std::path::PathBuf;
use std::sync::Arc;

use secrecy::SecretString;
use sharepay_client::ClientConfig;

pub use crate::error::SharePayError;
use crate::key_wrapper::ForeignKeyWrapper;
pub use crate::key_wrapper::KeyWrapper;

uniffi::setup_scaffolding!();

/// The signed-in user's profile.
#[derive(uniffi::Record)]
pub struct UserProfile {
    pub user_id: String,
    pub email: String,
    /// RFC 3339 UTC.
    pub created_at: String,
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
    /// requires one of `spki_pins`.
    #[uniffi::constructor]
    pub fn new(
        base_url: String,
        ca_certificate_pem: String,
        spki_pins: Vec<String>,
        data_dir: String,
        key_wrapper: Arc<dyn KeyWrapper>,
    ) -> Result<Arc<Self>, SharePayError> {
        let config = ClientConfig {
            base_url,
            ca_certificate_pem,
            spki_pins,
            data_dir: PathBuf::from(data_dir),
        };
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

    /// Signs in.
    pub async fn login(&self, email: String, password: String) -> Result<(), SharePayError> {
        Ok(self
            .inner
            .login(&email, SecretString::from(password))
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
}
