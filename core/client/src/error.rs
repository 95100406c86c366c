//! The one error type of the phone core. Messages are safe to show to a
//! user: they never contain a secret, a token or a server's internal detail.

/// Failures a shell can act on, one variant per thing to do about them.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// An argument or a request field was rejected; the message names it.
    #[error("{0}")]
    InvalidInput(String),
    /// The server rejected the credentials or the session.
    #[error("{0}")]
    Unauthorized(String),
    /// The server ended this device's session (a logout elsewhere, a forced
    /// logout, or a reused refresh token). The local session data is wiped
    /// and the user must log in again.
    #[error("{}", session_revoked_message(.0))]
    SessionRevoked(String),
    /// The password was right, but this device must pass a second check
    /// first: send a code with [`crate::SharePayClient::send_mfa_code`] if
    /// the method needs one, then call [`crate::SharePayClient::complete_mfa`].
    #[error("this sign-in needs a second check; use one of: {}", methods.join(", "))]
    MfaRequired { methods: Vec<String> },
    /// The change needs a recent MFA check in this session: pass one with
    /// [`crate::SharePayClient::step_up`] (after
    /// [`crate::SharePayClient::send_step_up_code`] for a code by email or
    /// SMS) or [`crate::SharePayClient::step_up_with_passkey`], then retry.
    /// `methods` lists the methods the user can pass, such as `totp`.
    #[error("this change needs a recent second check; use one of: {}", methods.join(", "))]
    StepUpRequired { methods: Vec<String> },
    /// The platform's passkey provider failed, or the user cancelled it.
    #[error("the passkey step failed: {0}")]
    Passkey(#[from] crate::passkey::PasskeyError),
    /// The signed-in user may see the resource but not do this to it.
    #[error("{0}")]
    Forbidden(String),
    /// The resource does not exist or is not visible to the signed-in user.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the resource's current state, such as a
    /// duplicate meter serial or removing the last primary payer.
    #[error("{0}")]
    Conflict(String),
    /// The card issuer declined a payment, so no money moved and the charge
    /// stays open. The message gives the reason (such as
    /// `insufficient_funds`); pay again with another card.
    #[error("{0}")]
    PaymentDeclined(String),
    /// The server's certificate chained to a trusted CA, but its key matched
    /// none of the configured pins.
    #[error("the server's key matches none of the pinned keys; the connection was refused")]
    PinMismatch,
    /// The server could not be reached, or TLS failed for another reason.
    #[error("cannot reach the server: {0}")]
    Network(String),
    /// The server answered with an error status.
    #[error("the server returned {status}: {message}")]
    Server { status: u16, message: String },
    /// The platform's key wrapper failed to wrap or unwrap the store key.
    #[error("the platform key store failed: {0}")]
    KeyWrapping(String),
    /// The unwrapped key does not open the local store. Nothing was deleted.
    #[error("the local store cannot be opened with this device's key; no data was deleted")]
    WrongKey,
    /// The key is right but the store file, or a value in it, cannot be
    /// read: the file is damaged or not a SQLCipher database. Nothing was
    /// deleted.
    #[error("the local store is damaged: {0}")]
    StoreCorrupted(String),
    /// The platform failed to supply device information.
    #[error("the platform failed to report device information: {0}")]
    Platform(String),
    /// The local store failed for a reason other than its key.
    #[error("the local store failed: {0}")]
    Storage(String),
}

/// Formats [`ClientError::SessionRevoked`] with the server's detail, and
/// adds "log in again" only when the detail does not already say it.
fn session_revoked_message(detail: &str) -> String {
    if detail.contains("log in again") {
        format!("the session was ended on the server: {detail}")
    } else {
        format!("the session was ended on the server: {detail}; log in again")
    }
}

impl From<rusqlite::Error> for ClientError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Storage(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_revoked_says_log_in_once() {
        let with_advice = ClientError::SessionRevoked(
            "the refresh token is invalid or expired; log in again".into(),
        );
        let without_advice = ClientError::SessionRevoked("the session has ended".into());

        assert_eq!(
            with_advice.to_string(),
            "the session was ended on the server: the refresh token is invalid or expired; log in again"
        );
        assert_eq!(
            without_advice.to_string(),
            "the session was ended on the server: the session has ended; log in again"
        );
    }
}
