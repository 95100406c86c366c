//! The one error enum the apps see. Kotlin gets `SharePayException` with a
//! subclass per variant, Swift gets `SharePayError`. Each variant's `reason`
//! is safe to show and never contains a secret. The field is not called
//! `message` because Kotlin's `Throwable` already has a `message` property.

use sharepay_client::ClientError;

#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum SharePayError {
    #[error("{reason}")]
    InvalidInput { reason: String },
    #[error("{reason}")]
    Unauthorized { reason: String },
    /// The server ended this device's session, so the app shows the login
    /// screen. The listener also receives `SyncEvent::SessionRevoked`.
    #[error("{reason}")]
    SessionRevoked { reason: String },
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

impl From<ClientError> for SharePayError {
    fn from(error: ClientError) -> Self {
        let reason = error.to_string();
        match error {
            ClientError::InvalidInput(_) => Self::InvalidInput { reason },
            ClientError::Unauthorized(_) => Self::Unauthorized { reason },
            // NOTE: the shells do not have an MFA screen yet, so a login that
            // needs a second check reaches them as Unauthorized with the
            // methods in the reason.
            ClientError::MfaRequired { .. } => Self::Unauthorized { reason },
            ClientError::SessionRevoked(_) => Self::SessionRevoked { reason },
            ClientError::StepUpRequired { .. } => Self::Forbidden { reason },
            ClientError::Passkey(_) => Self::Platform { reason },
            ClientError::Forbidden(_) => Self::Forbidden { reason },
            ClientError::NotFound(_) => Self::NotFound { reason },
            ClientError::Conflict(_) => Self::Conflict { reason },
            ClientError::PaymentDeclined(_) => Self::InvalidInput { reason },
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
