//! The WebAuthn ceremonies: registering an authenticator and verifying an
//! assertion. The HTTP handlers and the login MFA challenge both call
//! these functions.
//!
//! Each ceremony is two requests. The start stores the webauthn-rs state
//! (challenge and policy) server-side under a new ceremony id, bound to
//! the user, for [`CEREMONY_MINUTES`]. The finish deletes that state before
//! it verifies anything, so a ceremony can be finished once, by its own
//! user only. Every finished ceremony, successful or not, is audited.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;
use webauthn_rs::prelude::{
    AuthenticationResult, Credential, CredentialID, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, SecurityKey,
    SecurityKeyAuthentication, SecurityKeyRegistration,
};

use super::errors::{self, Rejection};
use super::wire::CredentialKind;
use crate::AppState;
use crate::audit::{Actor, AuditEvent, AuditKind, Outcome};
use crate::error::ApiError;
use crate::routes::record;
use crate::store::StoreError;
use crate::store::webauthn::{CeremonyTaken, WebauthnCeremonyRow, WebauthnCredentialRow};

/// Minutes a ceremony may take from start to finish.
pub const CEREMONY_MINUTES: i64 = 5;
/// Open ceremonies one user may have; starting one more drops the oldest.
const MAX_OPEN_CEREMONIES_PER_USER: u32 = 5;
/// Authenticators one user may register.
pub const MAX_CREDENTIALS_PER_USER: usize = 20;
/// Maximum length of an authenticator name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

const REGISTRATION: &str = "registration";
const AUTHENTICATION: &str = "authentication";
const REGISTRATIONS_PATH: &str = "/v1/me/webauthn/registrations";
const ASSERTIONS_PATH: &str = "/v1/me/webauthn/assertions";

/// A started ceremony, to send to the client.
#[derive(Clone, Debug)]
pub struct StartedCeremony {
    pub id: Uuid,
    pub expires_at: OffsetDateTime,
    /// `PublicKeyCredentialCreationOptions` or
    /// `PublicKeyCredentialRequestOptions` as JSON.
    pub public_key: serde_json::Value,
}

/// A verified assertion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The id of the registered credential that signed.
    pub credential_id: Uuid,
    pub verified_at: OffsetDateTime,
    /// Whether the authenticator verified the user (PIN or biometrics).
    pub user_verified: bool,
}

/// The webauthn-rs registration state kept server-side between start and
/// finish.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", content = "state", rename_all = "snake_case")]
enum RegistrationState {
    Passkey(PasskeyRegistration),
    SecurityKey(SecurityKeyRegistration),
}

/// The webauthn-rs authentication state kept server-side between start
/// and finish.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", content = "state", rename_all = "snake_case")]
enum AuthenticationState {
    Passkey(PasskeyAuthentication),
    SecurityKey(SecurityKeyAuthentication),
}

/// A registered credential with its webauthn-rs form.
struct RegisteredKey {
    row: WebauthnCredentialRow,
    key: StoredKey,
}

enum StoredKey {
    Passkey(Passkey),
    SecurityKey(SecurityKey),
}

impl StoredKey {
    fn parse(row: &WebauthnCredentialRow) -> Result<Self, ApiError> {
        let invalid = |e: serde_json::Error| {
            ApiError::internal(
                "reading a stored WebAuthn credential",
                format!("credential {}: {e}", row.id),
            )
        };
        match row.kind.as_str() {
            "passkey" => serde_json::from_str(&row.credential)
                .map(Self::Passkey)
                .map_err(invalid),
            "security_key" => serde_json::from_str(&row.credential)
                .map(Self::SecurityKey)
                .map_err(invalid),
            other => Err(ApiError::internal(
                "reading a stored WebAuthn credential",
                format!("credential {} has unknown kind {other:?}", row.id),
            )),
        }
    }

    fn credential_id(&self) -> &CredentialID {
        match self {
            Self::Passkey(key) => key.cred_id(),
            Self::SecurityKey(key) => key.cred_id(),
        }
    }

    /// Returns the key for a security key ceremony. A passkey keeps its
    /// registration policy, so webauthn-rs still requires user verification
    /// for it there.
    fn to_security_key(&self) -> SecurityKey {
        match self {
            Self::Passkey(key) => SecurityKey::from(Credential::from(key.clone())),
            Self::SecurityKey(key) => key.clone(),
        }
    }

    fn update(&mut self, result: &AuthenticationResult) {
        match self {
            Self::Passkey(key) => key.update_credential(result),
            Self::SecurityKey(key) => key.update_credential(result),
        };
    }

    fn to_json(&self) -> Result<String, ApiError> {
        let json = match self {
            Self::Passkey(key) => serde_json::to_string(key),
            Self::SecurityKey(key) => serde_json::to_string(key),
        };
        json.map_err(|e| ApiError::internal("serializing a WebAuthn credential", e))
    }
}

/// Starts registering an authenticator of `kind` for `user_id`. The
/// user's registered authenticators are excluded, so one cannot be
/// registered twice.
pub async fn start_registration(
    state: &AppState,
    user_id: Uuid,
    kind: CredentialKind,
) -> Result<StartedCeremony, ApiError> {
    let registered = load_keys(state, user_id).await?;
    if registered.len() >= MAX_CREDENTIALS_PER_USER {
        return Err(too_many_credentials());
    }
    let user = state
        .users
        .find_by_id(user_id)
        .await
        .map_err(|e| ApiError::internal("loading a user", e))?
        .ok_or(ApiError::NotFound)?;
    let exclude: Vec<CredentialID> = registered
        .iter()
        .map(|registered| registered.key.credential_id().clone())
        .collect();

    // The email is the user name the authenticator shows in its account
    // picker, on the user's own device.
    let (options, registration) = match kind {
        CredentialKind::Passkey => state
            .webauthn
            .start_passkey_registration(user_id, &user.email, &user.email, Some(exclude))
            .map(|(options, reg)| (options.public_key, RegistrationState::Passkey(reg))),
        CredentialKind::SecurityKey => state
            .webauthn
            .start_securitykey_registration(
                user_id,
                &user.email,
                &user.email,
                Some(exclude),
                None,
                None,
            )
            .map(|(options, reg)| (options.public_key, RegistrationState::SecurityKey(reg))),
    }
    .map_err(|e| ApiError::internal("starting a WebAuthn registration", e))?;

    let public_key = serde_json::to_value(&options)
        .map_err(|e| ApiError::internal("serializing WebAuthn creation options", e))?;
    store_ceremony(state, user_id, REGISTRATION, &registration, public_key).await
}

/// Finishes the registration `ceremony_id` with the authenticator's
/// `credential` and stores it under `name`. Returns the stored row.
pub async fn finish_registration(
    state: &AppState,
    user_id: Uuid,
    ceremony_id: Uuid,
    name: &str,
    credential: &serde_json::Value,
    request_id: Option<&str>,
) -> Result<WebauthnCredentialRow, ApiError> {
    let name = validate_name(name)?;
    let credential: RegisterPublicKeyCredential = errors::parse_credential(credential)?;
    let audit = CeremonyAudit {
        user_id,
        ceremony_id,
        action: "webauthn.register",
        request_id,
    };

    let registration: RegistrationState =
        take_ceremony(state, &audit, REGISTRATION, REGISTRATIONS_PATH).await?;
    let verified = match &registration {
        RegistrationState::Passkey(reg) => state
            .webauthn
            .finish_passkey_registration(&credential, reg)
            .map(StoredKey::Passkey),
        RegistrationState::SecurityKey(reg) => state
            .webauthn
            .finish_securitykey_registration(&credential, reg)
            .map(StoredKey::SecurityKey),
    };
    let key = match verified {
        Ok(key) => key,
        Err(error) => {
            let rejected = errors::rejection(error, &credential.response.client_data_json);
            return Err(audit.reject(state, rejected).await);
        }
    };

    // Checked again because another ceremony may have finished meanwhile.
    // NOTE: parallel finishes can still pass together, so a user can end up
    // with up to MAX_OPEN_CEREMONIES_PER_USER - 1 credentials over the limit.
    let registered = list_credentials(state, user_id).await?;
    if registered.len() >= MAX_CREDENTIALS_PER_USER {
        let rejected = Rejection {
            error: too_many_credentials(),
            reason: "credential limit reached".to_owned(),
            suspicious: false,
        };
        return Err(audit.reject(state, rejected).await);
    }

    let kind = match key {
        StoredKey::Passkey(_) => CredentialKind::Passkey,
        StoredKey::SecurityKey(_) => CredentialKind::SecurityKey,
    };
    let row = WebauthnCredentialRow {
        id: Uuid::now_v7(),
        user_id,
        credential_id: key.credential_id().clone(),
        kind: kind.as_str().to_owned(),
        credential: key.to_json()?,
        name,
        created_at: whole_seconds(OffsetDateTime::now_utc()),
        last_used_at: None,
    };
    match state.store.insert_webauthn_credential(row.clone()).await {
        Ok(()) => {}
        Err(StoreError::Duplicate(_)) => {
            let rejected = Rejection {
                error: errors::already_registered(),
                reason: "credential id already registered".to_owned(),
                suspicious: false,
            };
            return Err(audit.reject(state, rejected).await);
        }
        Err(e) => return Err(ApiError::internal("storing a WebAuthn credential", e)),
    }

    let event = AuditEvent::new(
        AuditKind::Authentication,
        Actor::User(user_id),
        "webauthn.register",
        &format!("webauthn_credential:{}", row.id),
        Outcome::Success,
    )
    .request_id(request_id)
    .details(serde_json::json!({
        "ceremony_id": ceremony_id.to_string(),
        "kind": row.kind,
        "credential_id": errors::credential_id_text(&row.credential_id),
    }));
    record(state, event).await?;
    tracing::info!(%user_id, credential = %row.id, kind = %row.kind, "registered a WebAuthn credential");
    Ok(row)
}

/// Starts an assertion over all of `user_id`'s authenticators and returns
/// the ceremony id with the request options for the client.
///
/// When every authenticator is a passkey, the options require user
/// verification. Otherwise they hint at a security key and prefer user
/// verification; webauthn-rs still requires it of each credential whose
/// registration required or performed it.
pub async fn start_authentication(
    state: &AppState,
    user_id: Uuid,
) -> Result<StartedCeremony, ApiError> {
    let registered = load_keys(state, user_id).await?;
    if registered.is_empty() {
        return Err(ApiError::Conflict {
            detail: "this account has no security key or passkey; register one with POST \
                     /v1/me/webauthn/registrations"
                .to_owned(),
        });
    }
    let passkeys: Option<Vec<Passkey>> = registered
        .iter()
        .map(|registered| match &registered.key {
            StoredKey::Passkey(key) => Some(key.clone()),
            StoredKey::SecurityKey(_) => None,
        })
        .collect();
    let started = match passkeys {
        Some(passkeys) => state
            .webauthn
            .start_passkey_authentication(&passkeys)
            .map(|(options, auth)| (options.public_key, AuthenticationState::Passkey(auth))),
        None => {
            let keys: Vec<SecurityKey> = registered
                .iter()
                .map(|registered| registered.key.to_security_key())
                .collect();
            state
                .webauthn
                .start_securitykey_authentication(&keys)
                .map(|(options, auth)| (options.public_key, AuthenticationState::SecurityKey(auth)))
        }
    };
    let (options, authentication) =
        started.map_err(|e| ApiError::internal("starting a WebAuthn assertion", e))?;

    let public_key = serde_json::to_value(&options)
        .map_err(|e| ApiError::internal("serializing WebAuthn request options", e))?;
    store_ceremony(state, user_id, AUTHENTICATION, &authentication, public_key).await
}

/// Verifies `credential` (a `PublicKeyCredential` with an assertion) for
/// the assertion ceremony `ceremony_id` of `user_id`, then stores the
/// authenticator's new signature counter and last use.
///
/// Fails for a ceremony that is unknown, already finished, expired or
/// another user's, and for a credential the user has not registered.
pub async fn finish_authentication(
    state: &AppState,
    user_id: Uuid,
    ceremony_id: Uuid,
    credential: &serde_json::Value,
    request_id: Option<&str>,
) -> Result<VerifiedAssertion, ApiError> {
    let credential: PublicKeyCredential = errors::parse_credential(credential)?;
    let audit = CeremonyAudit {
        user_id,
        ceremony_id,
        action: "webauthn.assert",
        request_id,
    };

    let authentication: AuthenticationState =
        take_ceremony(state, &audit, AUTHENTICATION, ASSERTIONS_PATH).await?;
    let registered = load_keys(state, user_id).await?;
    let Some(mut signer) = registered
        .into_iter()
        .find(|registered| registered.key.credential_id() == &credential.raw_id)
    else {
        let rejected = Rejection {
            error: errors::unknown_credential(),
            reason: "credential not registered for this user".to_owned(),
            suspicious: false,
        };
        return Err(audit.reject(state, rejected).await);
    };

    let verified = match &authentication {
        AuthenticationState::Passkey(auth) => state
            .webauthn
            .finish_passkey_authentication(&credential, auth),
        AuthenticationState::SecurityKey(auth) => state
            .webauthn
            .finish_securitykey_authentication(&credential, auth),
    };
    let result = match verified {
        Ok(result) => result,
        Err(error) => {
            let rejected = errors::rejection(error, &credential.response.client_data_json);
            return Err(audit.reject(state, rejected).await);
        }
    };

    signer.key.update(&result);
    let verified_at = OffsetDateTime::now_utc();
    let stored = state
        .store
        .record_webauthn_use(user_id, signer.row.id, &signer.key.to_json()?, verified_at)
        .await
        .map_err(|e| ApiError::internal("storing a WebAuthn credential's use", e))?;
    if !stored {
        // The credential was removed after it was loaded, so the assertion
        // no longer counts.
        let rejected = Rejection {
            error: errors::unknown_credential(),
            reason: "credential removed during the assertion".to_owned(),
            suspicious: false,
        };
        return Err(audit.reject(state, rejected).await);
    }

    let event = AuditEvent::new(
        AuditKind::Authentication,
        Actor::User(user_id),
        "webauthn.assert",
        &format!("webauthn_credential:{}", signer.row.id),
        Outcome::Success,
    )
    .request_id(request_id)
    .details(serde_json::json!({
        "ceremony_id": ceremony_id.to_string(),
        "user_verified": result.user_verified(),
    }));
    record(state, event).await?;
    tracing::info!(%user_id, credential = %signer.row.id, "verified a WebAuthn assertion");
    Ok(VerifiedAssertion {
        credential_id: signer.row.id,
        verified_at,
        user_verified: result.user_verified(),
    })
}

/// Lists the user's registered authenticators, oldest first.
pub async fn list_credentials(
    state: &AppState,
    user_id: Uuid,
) -> Result<Vec<WebauthnCredentialRow>, ApiError> {
    state
        .store
        .list_webauthn_credentials(user_id)
        .await
        .map_err(|e| ApiError::internal("listing WebAuthn credentials", e))
}

/// Removes the user's authenticator `id`; [`ApiError::NotFound`] when the
/// user has none with that id.
pub async fn remove_credential(
    state: &AppState,
    user_id: Uuid,
    id: Uuid,
    request_id: Option<&str>,
) -> Result<(), ApiError> {
    let removed = state
        .store
        .delete_webauthn_credential(user_id, id)
        .await
        .map_err(|e| ApiError::internal("removing a WebAuthn credential", e))?;
    if !removed {
        return Err(ApiError::NotFound);
    }
    let event = AuditEvent::new(
        AuditKind::Authentication,
        Actor::User(user_id),
        "webauthn.remove",
        &format!("webauthn_credential:{id}"),
        Outcome::Success,
    )
    .request_id(request_id);
    record(state, event).await?;
    tracing::info!(%user_id, credential = %id, "removed a WebAuthn credential");
    Ok(())
}

fn too_many_credentials() -> ApiError {
    ApiError::Conflict {
        detail: format!(
            "this account already has {MAX_CREDENTIALS_PER_USER} authenticators, the maximum; \
             remove one with DELETE /v1/me/webauthn/credentials/{{id}} first"
        ),
    }
}

/// Drops sub-second digits, which the stores do not keep.
fn whole_seconds(time: OffsetDateTime) -> OffsetDateTime {
    time.replace_nanosecond(0).unwrap_or(time)
}

fn validate_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    let length = name.chars().count();
    if length == 0 || length > MAX_NAME_CHARS {
        return Err(ApiError::invalid_field(
            "name",
            format!("must be 1 to {MAX_NAME_CHARS} characters, such as \"Blue YubiKey\""),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            "name",
            "must not contain control characters such as line breaks",
        ));
    }
    Ok(name.to_owned())
}

async fn load_keys(state: &AppState, user_id: Uuid) -> Result<Vec<RegisteredKey>, ApiError> {
    let rows = list_credentials(state, user_id).await?;
    rows.into_iter()
        .map(|row| {
            let key = StoredKey::parse(&row)?;
            Ok(RegisteredKey { row, key })
        })
        .collect()
}

async fn store_ceremony(
    state: &AppState,
    user_id: Uuid,
    kind: &str,
    ceremony_state: &impl Serialize,
    public_key: serde_json::Value,
) -> Result<StartedCeremony, ApiError> {
    let now = OffsetDateTime::now_utc();
    let row = WebauthnCeremonyRow {
        id: Uuid::now_v7(),
        user_id,
        kind: kind.to_owned(),
        state: serde_json::to_string(ceremony_state)
            .map_err(|e| ApiError::internal("serializing a WebAuthn ceremony", e))?,
        expires_at: now + time::Duration::minutes(CEREMONY_MINUTES),
    };
    let started = StartedCeremony {
        id: row.id,
        expires_at: row.expires_at,
        public_key,
    };
    state
        .store
        .insert_ceremony(row, MAX_OPEN_CEREMONIES_PER_USER, now)
        .await
        .map_err(|e| ApiError::internal("storing a WebAuthn ceremony", e))?;
    Ok(started)
}

/// Deletes the ceremony and returns its state, or audits why it cannot be
/// finished and returns the error for the client.
async fn take_ceremony<T: serde::de::DeserializeOwned>(
    state: &AppState,
    audit: &CeremonyAudit<'_>,
    kind: &str,
    start_path: &str,
) -> Result<T, ApiError> {
    let outcome = state
        .store
        .take_ceremony(
            audit.ceremony_id,
            audit.user_id,
            kind,
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(|e| ApiError::internal("loading a WebAuthn ceremony", e))?;
    let (error, reason, suspicious) = match outcome {
        CeremonyTaken::Taken(row) => {
            return serde_json::from_str(&row.state)
                .map_err(|e| ApiError::internal("reading a WebAuthn ceremony", e));
        }
        CeremonyTaken::Expired => (
            errors::expired_ceremony(start_path, CEREMONY_MINUTES),
            "ceremony expired",
            false,
        ),
        CeremonyTaken::NotFound => (
            errors::unknown_ceremony(start_path),
            "ceremony unknown or already finished",
            false,
        ),
        CeremonyTaken::Mismatch => (
            errors::unknown_ceremony(start_path),
            "ceremony of another user or kind",
            true,
        ),
    };
    let rejected = Rejection {
        error,
        reason: reason.to_owned(),
        suspicious,
    };
    Err(audit.reject(state, rejected).await)
}

/// The ids that the audit entry of a failed ceremony names.
struct CeremonyAudit<'a> {
    user_id: Uuid,
    ceremony_id: Uuid,
    action: &'static str,
    request_id: Option<&'a str>,
}

impl CeremonyAudit<'_> {
    /// Records the failure and returns the error for the client (or the
    /// audit failure, which then takes precedence).
    async fn reject(&self, state: &AppState, rejected: Rejection) -> ApiError {
        let kind = if rejected.suspicious {
            AuditKind::SecurityEvent
        } else {
            AuditKind::Authentication
        };
        let event = AuditEvent::new(
            kind,
            Actor::User(self.user_id),
            self.action,
            &format!("webauthn_ceremony:{}", self.ceremony_id),
            Outcome::Failure,
        )
        .reason(&rejected.reason)
        .request_id(self.request_id);
        tracing::info!(
            user_id = %self.user_id,
            ceremony_id = %self.ceremony_id,
            action = self.action,
            reason = %rejected.reason,
            "rejected a WebAuthn ceremony"
        );
        match record(state, event).await {
            Ok(()) => rejected.error,
            Err(audit_error) => audit_error,
        }
    }
}
