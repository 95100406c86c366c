//! The one error enum the apps see. Kotlin gets `SharePayException` with a
//! subclass per variant, Swift gets `SharePayError`. Each variant's `reason`
//! is safe to show and never contains a secret. The field is not called
//! `message` because Kotlin's `Throwable` already has a `message` property.

use sharepay_client::ClientError;
use sharepay_client::passkey::PasskeyError as CorePasskeyError;

#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum SharePayError {
    #[error("{reason}")]
    InvalidInput { reason: String },
    #[error("{reason}")]
    Unauthorized { reason: String },
    /// The password was right, but this sign-in needs a second check with
    /// one of `methods` (`totp`, `email_code`, `sms_code`, `recovery_code`,
    /// `webauthn`). The app sends a code with `send_mfa_code` when the
    /// method needs one, then calls `complete_mfa`.
    #[error("{reason}")]
    MfaRequired {
        methods: Vec<String>,
        reason: String,
    },
    /// The server ended this device's session, so the app shows the login
    /// screen. The listener also receives `SyncEvent::SessionRevoked`.
    #[error("{reason}")]
    SessionRevoked { reason: String },
    /// The change needs a recent second check in this session with one of
    /// `methods`: pass one with `step_up` (after `send_step_up_code` for an
    /// emailed or SMS code) or `step_up_with_passkey`, then try again.
    #[error("{reason}")]
    StepUpRequired {
        methods: Vec<String>,
        reason: String,
    },
    /// The card issuer declined the payment, so no money moved and the
    /// charge stays open; `reason` names the issuer's reason. Pay again with
    /// another card.
    #[error("{reason}")]
    PaymentDeclined { reason: String },
    /// The app's passkey provider failed or the user dismissed its sheet.
    #[error("{reason}")]
    Passkey {
        failure: PasskeyFailure,
        reason: String,
    },
    #[error("{reason}")]
    Forbidden { reason: String },
    #[error("{reason}")]
    NotFound { reason: String },
    #[error("{reason}")]
    Conflict { reason: String },
    #[error("{reason}")]
    PinMismatch { reason: String },
    #[error("{reason}")]
    Network { reason: String },
    #[error("server returned {status}: {reason}")]
    Server { status: u16, reason: String },
    #[error("{reason}")]
    KeyWrapping { reason: String },
    #[error("{reason}")]
    WrongKey { reason: String },
    #[error("{reason}")]
    StoreCorrupted { reason: String },
    #[error("{reason}")]
    Platform { reason: String },
    #[error("{reason}")]
    Storage { reason: String },
}

/// The kind of failure of the app's passkey provider.
#[derive(Debug, uniffi::Enum)]
pub enum PasskeyFailure {
    /// The user dismissed the sheet; the app usually shows nothing.
    Cancelled,
    /// The device has no passkey support; the app offers another method.
    NotSupported,
    /// Any other failure, named in the error's reason.
    Failed,
}

impl From<CorePasskeyError> for PasskeyFailure {
    fn from(error: CorePasskeyError) -> Self {
        match error {
            CorePasskeyError::Cancelled => Self::Cancelled,
            CorePasskeyError::NotSupported => Self::NotSupported,
            CorePasskeyError::Failed { .. } => Self::Failed,
        }
    }
}

impl From<ClientError> for SharePayError {
    fn from(error: ClientError) -> Self {
        let reason = error.to_string();
        match error {
            ClientError::InvalidInput(_) => Self::InvalidInput { reason },
            ClientError::Unauthorized(_) => Self::Unauthorized { reason },
            ClientError::MfaRequired { methods } => Self::MfaRequired { methods, reason },
            ClientError::SessionRevoked(_) => Self::SessionRevoked { reason },
            ClientError::StepUpRequired { methods } => Self::StepUpRequired { methods, reason },
            ClientError::Passkey(failure) => Self::Passkey {
                failure: failure.into(),
                reason,
            },
            ClientError::Forbidden(_) => Self::Forbidden { reason },
            ClientError::NotFound(_) => Self::NotFound { reason },
            ClientError::Conflict(_) => Self::Conflict { reason },
            ClientError::PaymentDeclined(_) => Self::PaymentDeclined { reason },
            ClientError::PinMismatch => Self::PinMismatch { reason },
            ClientError::Network(_) => Self::Network { reason },
            ClientError::Server { status, message } => Self::Server {
                status,
                reason: message,
            },
            ClientError::KeyWrapping(_) => Self::KeyWrapping { reason },
            ClientError::WrongKey => Self::WrongKey { reason },
            ClientError::StoreCorrupted(_) => Self::StoreCorrupted { reason },
            ClientError::Platform(_) => Self::Platform { reason },
            ClientError::Storage(_) => Self::Storage { reason },
        }
    }
}

/// An exception thrown by a foreign implementation (key wrapper, device
/// information, sync listener) that is not a `SharePayError` arrives here
/// instead of panicking.
impl From<uniffi::UnexpectedUniFFICallbackError> for SharePayError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Platform {
            reason: format!("the platform callback failed: {}", error.reason),
        }
    }
}
