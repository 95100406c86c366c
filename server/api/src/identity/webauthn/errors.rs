//! Turns failures of a WebAuthn ceremony into problems the client can act
//! on: which field is wrong and what to do next.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use serde::de::DeserializeOwned;
use webauthn_rs::prelude::WebauthnError;

use crate::error::ApiError;

/// A failed ceremony: the error for the client and what the audit entry
/// records.
pub(super) struct Rejection {
    pub error: ApiError,
    /// A short reason without client data, for the audit entry.
    pub reason: String,
    /// Whether the failure hints at an attack (a cloned authenticator), so
    /// it is audited as a security event.
    pub suspicious: bool,
}

/// Parses the `credential` member into a webauthn-rs type, naming the
/// offending field as `credential.<path>`.
pub(super) fn parse_credential<T: DeserializeOwned>(
    credential: &serde_json::Value,
) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(credential).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." {
            "credential".to_owned()
        } else {
            format!("credential.{path}")
        };
        ApiError::invalid_field(
            &field,
            format!(
                "{}; send the PublicKeyCredential from the authenticator unchanged, with \
                 binary members in base64url",
                error.inner()
            ),
        )
    })
}

/// Returns the origin named in a `clientDataJSON`, if it can be read.
fn client_origin(client_data_json: &[u8]) -> Option<String> {
    let client_data: serde_json::Value = serde_json::from_slice(client_data_json).ok()?;
    let origin = client_data.get("origin")?.as_str()?;
    // The origin is echoed in an error; cap it so a huge value stays out.
    Some(origin.chars().take(200).collect())
}

/// Maps a webauthn-rs verification error. `client_data_json` is the raw
/// `response.clientDataJSON` of the credential.
pub(super) fn rejection(error: WebauthnError, client_data_json: &[u8]) -> Rejection {
    let client_data_field = "credential.response.clientDataJSON";
    let reason = error.to_string();
    let (error, suspicious) = match error {
        WebauthnError::InvalidRPOrigin => {
            let origin = client_origin(client_data_json).unwrap_or_else(|| "(unreadable)".into());
            (
                ApiError::invalid_field(
                    client_data_field,
                    format!(
                        "origin {origin:?} is not allowed; use the SharePay app or web origin \
                         configured on the server (webauthn.rp_origin or \
                         webauthn.allowed_native_origins)"
                    ),
                ),
                false,
            )
        }
        WebauthnError::InvalidRPIDHash => (
            ApiError::invalid_field(
                "credential.response",
                "was created for another relying party ID; use the rp.id from the ceremony's options",
            ),
            false,
        ),
        WebauthnError::MismatchedChallenge => (
            ApiError::invalid_field(
                client_data_field,
                "signs a different challenge than this ceremony issued; pass this ceremony's \
                 options to the authenticator",
            ),
            false,
        ),
        WebauthnError::InvalidClientDataType => (
            ApiError::invalid_field(
                client_data_field,
                "has the wrong type: registrations need webauthn.create and assertions \
                 webauthn.get",
            ),
            false,
        ),
        WebauthnError::CredentialNotFound => (unknown_credential(), false),
        WebauthnError::CredentialExcludedFromRequest | WebauthnError::CredentialAlreadyExists => {
            (already_registered(), false)
        }
        WebauthnError::UserNotPresent | WebauthnError::UserNotVerified => (
            ApiError::Forbidden {
                detail: "the authenticator did not verify the user; unlock it with its PIN or \
                         biometrics and try again with a new ceremony"
                    .to_owned(),
            },
            false,
        ),
        WebauthnError::CredentialPossibleCompromise => (
            ApiError::Forbidden {
                detail: "the authenticator's signature counter went backwards, which happens \
                         when a credential is cloned; remove this authenticator and register it \
                         again"
                    .to_owned(),
            },
            true,
        ),
        WebauthnError::ParseBase64Failure(_)
        | WebauthnError::ParseCBORFailure(_)
        | WebauthnError::ParseJSONFailure(_)
        | WebauthnError::ParseNOMFailure
        | WebauthnError::ParseInsufficientBytesAvailable => (
            ApiError::invalid_field(
                "credential.response",
                format!(
                    "is malformed ({reason}); send the authenticator's response unchanged, \
                     with binary members in base64url"
                ),
            ),
            false,
        ),
        _ => (
            ApiError::Forbidden {
                detail: format!(
                    "the credential failed verification ({reason}); start a new ceremony and \
                     try again"
                ),
            },
            false,
        ),
    };
    Rejection {
        error,
        reason,
        suspicious,
    }
}

pub(super) fn unknown_credential() -> ApiError {
    ApiError::invalid_field(
        "credential.rawId",
        "is not registered for this account; use one of your registered authenticators, \
         or register this one with POST /v1/me/webauthn/registrations",
    )
}

pub(super) fn already_registered() -> ApiError {
    ApiError::Conflict {
        detail: "this authenticator is already registered; it can be used as it is, or \
                 removed first with DELETE /v1/me/webauthn/credentials/{id}"
            .to_owned(),
    }
}

/// Returns the error for a ceremony that is unknown, already finished, or
/// not the caller's. All three get one message, so a caller learns nothing
/// about other users' ceremonies.
pub(super) fn unknown_ceremony(start_path: &str) -> ApiError {
    ApiError::invalid_field(
        "ceremony_id",
        format!(
            "is unknown or already finished; a ceremony can be finished once, so start a new \
             one with POST {start_path}"
        ),
    )
}

pub(super) fn expired_ceremony(start_path: &str, minutes: i64) -> ApiError {
    ApiError::invalid_field(
        "ceremony_id",
        format!(
            "expired ({minutes} minutes after it started); start a new one with POST {start_path}"
        ),
    )
}

/// Encodes a credential id as WebAuthn clients show it.
pub(super) fn credential_id_text(credential_id: &[u8]) -> String {
    BASE64URL.encode(credential_id)
}
