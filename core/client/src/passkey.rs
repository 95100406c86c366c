//! Passkeys and security keys (WebAuthn): registering one, passing a
//! login's second check or a step-up check with it, listing and removing.
//!
//! The core never touches key material. The platform signs through a
//! [`PasskeyProvider`] that takes the server's options as JSON and returns
//! the authenticator's `PublicKeyCredential` as JSON; the core only carries
//! them between the provider and the server. The provider runs on a
//! blocking thread because platform prompts can block for as long as the
//! user takes.

use std::sync::Arc;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::api::{decode, decode_empty};
use crate::error::ClientError;
use crate::session::check_id;
use crate::{SharePayClient, lock_or_recover};

/// The method name of passkeys and security keys in MFA method lists.
pub const PASSKEY_METHOD: &str = "webauthn";

/// Maximum length, in characters, of a registered authenticator's name on
/// the server.
const MAX_NAME_CHARS: usize = 64;

/// Failure of a platform passkey call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasskeyError {
    /// The user dismissed the platform prompt, or it timed out.
    #[error("the user cancelled the passkey prompt")]
    Cancelled,
    /// This device or OS version has no passkey support.
    #[error("this device does not support passkeys")]
    NotSupported,
    /// The platform failed for another reason, such as no matching
    /// credential on the device.
    #[error("the platform passkey call failed: {reason}")]
    Failed { reason: String },
}

/// The platform's WebAuthn authenticator, implemented by each shell.
pub trait PasskeyProvider: Send + Sync {
    /// Creates a credential; takes the server's creation options JSON
    /// (WebAuthn PublicKeyCredentialCreationOptions as the server sends them)
    /// and returns the platform's registration response JSON.
    fn create_credential(&self, request_json: String) -> Result<String, PasskeyError>;
    /// Signs an assertion; request options JSON in, assertion response JSON out.
    fn get_assertion(&self, request_json: String) -> Result<String, PasskeyError>;
}

/// A registered security key or passkey of the signed-in user.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PasskeyCredential {
    /// Credential id, for [`SharePayClient::remove_passkey`].
    pub id: String,
    /// `passkey` or `security_key`.
    pub kind: String,
    pub name: String,
    /// RFC 3339 timestamps.
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// A verified assertion of a step-up check.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PasskeyAssertion {
    /// The registered credential that signed.
    pub credential_id: String,
    /// RFC 3339.
    pub verified_at: String,
    /// Whether the authenticator verified the user (PIN or biometrics).
    pub user_verified: bool,
}

/// An open ceremony: options for the authenticator, finished once by the
/// ceremony id before it expires.
#[derive(Deserialize)]
struct Ceremony {
    ceremony_id: String,
    public_key: serde_json::Value,
}

#[derive(Deserialize)]
struct CredentialList {
    credentials: Vec<PasskeyCredential>,
}

#[derive(Serialize)]
struct StartRegistration<'a> {
    kind: &'a str,
}

#[derive(Serialize)]
struct FinishRegistration<'a> {
    name: &'a str,
    credential: serde_json::Value,
}

#[derive(Serialize)]
struct FinishAssertion {
    credential: serde_json::Value,
}

#[derive(Serialize)]
struct LoginOptions {
    mfa_token: String,
}

#[derive(Serialize)]
struct LoginVerify {
    mfa_token: String,
    ceremony_id: String,
    credential: serde_json::Value,
}

/// The provider call a ceremony needs.
#[derive(Clone, Copy)]
enum ProviderCall {
    Create,
    Assert,
}

impl SharePayClient {
    /// Registers a passkey made by `provider` under `name` (shown in the
    /// list). Needs a recent step-up check.
    pub async fn register_passkey(
        &self,
        provider: Arc<dyn PasskeyProvider>,
        name: &str,
    ) -> Result<PasskeyCredential, ClientError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(ClientError::InvalidInput(format!(
                "name must be 1 to {MAX_NAME_CHARS} characters, such as \"Work phone\""
            )));
        }
        let ceremony: Ceremony = self
            .send_json_authorized(
                Method::POST,
                &["v1", "me", "webauthn", "registrations"],
                &StartRegistration { kind: "passkey" },
            )
            .await?;
        check_id("ceremony_id", &ceremony.ceremony_id)?;

        let credential = run_provider(provider, ProviderCall::Create, &ceremony.public_key).await?;
        let finish = FinishRegistration { name, credential };
        self.send_json_authorized(
            Method::POST,
            &[
                "v1",
                "me",
                "webauthn",
                "registrations",
                &ceremony.ceremony_id,
            ],
            &finish,
        )
        .await
    }

    /// Passes the second check of the waiting login with a passkey, and
    /// keeps the session like [`SharePayClient::login`].
    pub async fn complete_mfa_with_passkey(
        &self,
        provider: Arc<dyn PasskeyProvider>,
    ) -> Result<(), ClientError> {
        let mfa_token = self.pending_mfa_token()?;
        let ceremony: Ceremony = self
            .api
            .post_json(
                "/v1/auth/mfa/webauthn/options",
                &LoginOptions {
                    mfa_token: mfa_token.clone(),
                },
            )
            .await?;

        let credential = run_provider(provider, ProviderCall::Assert, &ceremony.public_key).await?;
        let verify = LoginVerify {
            mfa_token,
            ceremony_id: ceremony.ceremony_id,
            credential,
        };
        let tokens = self
            .api
            .post_json("/v1/auth/mfa/webauthn/verify", &verify)
            .await?;
        *lock_or_recover(&self.pending_mfa) = None;
        self.keep_tokens(tokens)?;
        self.report_pin_failures().await;
        Ok(())
    }

    /// Passes a step-up check for this session with a passkey, like
    /// [`SharePayClient::step_up`] with a code.
    pub async fn step_up_with_passkey(
        &self,
        provider: Arc<dyn PasskeyProvider>,
    ) -> Result<PasskeyAssertion, ClientError> {
        let response = self
            .send_authorized(Method::POST, &["v1", "me", "webauthn", "assertions"], None)
            .await?;
        let ceremony: Ceremony = decode(response).await?;
        check_id("ceremony_id", &ceremony.ceremony_id)?;

        let credential = run_provider(provider, ProviderCall::Assert, &ceremony.public_key).await?;
        self.send_json_authorized(
            Method::POST,
            &["v1", "me", "webauthn", "assertions", &ceremony.ceremony_id],
            &FinishAssertion { credential },
        )
        .await
    }

    /// Lists the signed-in user's passkeys and security keys, oldest first.
    pub async fn list_passkeys(&self) -> Result<Vec<PasskeyCredential>, ClientError> {
        let list: CredentialList = self
            .get_authorized(&["v1", "me", "webauthn", "credentials"])
            .await?;
        Ok(list.credentials)
    }

    /// Removes a passkey or security key by its id from
    /// [`SharePayClient::list_passkeys`]. Needs a recent step-up check.
    pub async fn remove_passkey(&self, credential_id: &str) -> Result<(), ClientError> {
        check_id("credential_id", credential_id)?;
        let response = self
            .send_authorized(
                Method::DELETE,
                &["v1", "me", "webauthn", "credentials", credential_id],
                None,
            )
            .await?;
        decode_empty(response).await
    }
}

/// Hands the options to the provider on a blocking thread and parses the
/// JSON it returns.
async fn run_provider(
    provider: Arc<dyn PasskeyProvider>,
    call: ProviderCall,
    options: &serde_json::Value,
) -> Result<serde_json::Value, ClientError> {
    let request_json = options.to_string();
    let returned = tokio::task::spawn_blocking(move || match call {
        ProviderCall::Create => provider.create_credential(request_json),
        ProviderCall::Assert => provider.get_assertion(request_json),
    })
    .await
    .map_err(|e| {
        ClientError::Passkey(PasskeyError::Failed {
            reason: format!("the passkey provider stopped unexpectedly: {e}"),
        })
    })??;

    serde_json::from_str(&returned).map_err(|e| {
        ClientError::Passkey(PasskeyError::Failed {
            reason: format!(
                "the passkey provider returned invalid JSON ({e}); \
                 it must return a PublicKeyCredential object"
            ),
        })
    })
}
