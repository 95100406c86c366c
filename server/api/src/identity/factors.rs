//! Shared pieces of every second factor: the [`MfaContext`] handlers reach
//! through `AppState::mfa`, random codes, their keyed hashes, and the list
//! of methods a user can pass.
//!
//! Codes are hashed with HMAC-SHA256 under the server's blind-index key,
//! bound to the user and the purpose, so a stored hash is useless without
//! the key and cannot be replayed for another user or purpose. Nothing here
//! may log a code, a secret or a recipient.

use std::sync::Arc;

use ring::rand::{SecureRandom, SystemRandom};
use secrecy::SecretString;
use sharepay_domain::wire::mfa::method;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::AppState;
use crate::audit::{Actor, AuditEvent, AuditKind, Outcome};
use crate::crypto::{BlindIndex, Column, FieldCipher};
use crate::error::ApiError;
use crate::keys::KeyProvider;
use crate::notify::Outbox;
use crate::routes::record;
use crate::store::mfa::{MfaRow, MfaStore};

/// Column label that binds code hashes to their use.
const CODE_HASH_COLUMN: Column = Column {
    table: "one_time_codes",
    column: "code_hash",
};
/// Column of the encrypted TOTP secret.
pub(crate) const TOTP_SECRET_COLUMN: Column = Column {
    table: "user_mfa",
    column: "totp_secret",
};
/// Column of the encrypted phone numbers.
pub(crate) const PHONE_COLUMN: Column = Column {
    table: "user_mfa",
    column: "phone",
};
/// Column of an email address waiting for verification.
pub(crate) const PENDING_EMAIL_COLUMN: Column = Column {
    table: "user_mfa",
    column: "pending_email",
};

/// Wrong codes a one-time code, a challenge or a step-up check allows.
pub const MAX_CODE_ATTEMPTS: u32 = 5;

/// Storage, encryption and delivery used by the MFA handlers.
pub struct MfaContext {
    pub store: Arc<dyn MfaStore>,
    pub cipher: FieldCipher,
    index: BlindIndex,
    pub outbox: Arc<Outbox>,
}

impl MfaContext {
    pub fn new(store: Arc<dyn MfaStore>, keys: Arc<dyn KeyProvider>) -> Self {
        let cipher = FieldCipher::new(Arc::clone(&keys));
        Self {
            outbox: Arc::new(Outbox::new(Arc::clone(&store), cipher.clone())),
            store,
            cipher,
            index: BlindIndex::new(keys),
        }
    }

    /// Computes the keyed hash of `code` for one user and purpose.
    pub fn code_hash(
        &self,
        user_id: Uuid,
        purpose: &str,
        code: &str,
    ) -> Result<[u8; 32], ApiError> {
        let input = Zeroizing::new(format!("{user_id}\n{purpose}\n{code}"));
        self.index
            .compute(CODE_HASH_COLUMN, &input)
            .map_err(|e| ApiError::internal("hashing a one-time code", e))
    }

    /// Loads the user's MFA state, or an empty one.
    pub async fn state(&self, user_id: Uuid) -> Result<MfaRow, ApiError> {
        let row = self
            .store
            .mfa_state(user_id)
            .await
            .map_err(|e| ApiError::internal("loading MFA settings", e))?;
        Ok(row.unwrap_or(MfaRow {
            user_id,
            ..MfaRow::default()
        }))
    }

    pub async fn save(&self, row: MfaRow) -> Result<(), ApiError> {
        self.store
            .save_mfa_state(row)
            .await
            .map_err(|e| ApiError::internal("storing MFA settings", e))
    }
}

impl std::fmt::Debug for MfaContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaContext").finish_non_exhaustive()
    }
}

/// Returns whether the user has a second factor beyond their email: TOTP
/// or a verified phone.
pub fn has_strong_factor(state: &MfaRow) -> bool {
    state.totp_enabled_at.is_some() || state.phone_verified_at.is_some()
}

/// Lists the methods that can pass a check for this user, strongest first.
///
/// A user with TOTP or a verified phone is offered those plus recovery
/// codes. A user with neither is offered a code to their email address,
/// because that is the one channel every account has.
pub fn methods_of(state: &MfaRow, recovery_codes_left: u32) -> Vec<String> {
    let mut methods = Vec::new();
    if state.totp_enabled_at.is_some() {
        methods.push(method::TOTP.to_owned());
    }
    if state.phone_verified_at.is_some() {
        methods.push(method::SMS_CODE.to_owned());
    }
    if !has_strong_factor(state) {
        methods.push(method::EMAIL_CODE.to_owned());
    }
    if has_strong_factor(state) && recovery_codes_left > 0 {
        methods.push(method::RECOVERY_CODE.to_owned());
    }
    methods
}

/// Records a change the user made to their own account's factors or
/// contact data.
pub(crate) async fn audit_account_change(
    state: &AppState,
    user_id: Uuid,
    action: &str,
    outcome: Outcome,
    request_id: Option<&str>,
) -> Result<(), ApiError> {
    let event = AuditEvent::new(
        AuditKind::SystemChange,
        Actor::User(user_id),
        action,
        &format!("user:{user_id}"),
        outcome,
    )
    .request_id(request_id);
    record(state, event).await
}

/// Returns a uniformly random six-digit code.
pub fn random_code() -> Result<SecretString, ApiError> {
    // Rejection sampling keeps every code equally likely.
    let random = SystemRandom::new();
    loop {
        let mut bytes = [0u8; 4];
        random
            .fill(&mut bytes)
            .map_err(|_| ApiError::internal("generating a code", "system random failed"))?;
        let value = u32::from_be_bytes(bytes);
        let limit = u32::MAX - (u32::MAX % 1_000_000);
        if value < limit {
            return Ok(SecretString::from(format!("{:06}", value % 1_000_000)));
        }
    }
}

/// Fills `length` random bytes.
pub fn random_bytes(length: usize) -> Result<Zeroizing<Vec<u8>>, ApiError> {
    let mut bytes = Zeroizing::new(vec![0u8; length]);
    SystemRandom::new()
        .fill(bytes.as_mut_slice())
        .map_err(|_| ApiError::internal("generating random bytes", "system random failed"))?;
    Ok(bytes)
}

/// Checks that a presented code is `digits` ASCII digits, naming `field`.
pub fn check_digits(field: &str, code: &str, digits: usize) -> Result<(), ApiError> {
    if code.len() == digits && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            field,
            format!("must be {digits} digits; copy the code exactly"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use time::OffsetDateTime;

    #[test]
    fn random_code_has_six_digits() {
        for _ in 0..100 {
            let code = random_code().expect("code");
            assert_eq!(code.expose_secret().len(), 6);
            assert!(code.expose_secret().bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn methods_without_factor_are_email() {
        let state = MfaRow::default();

        assert_eq!(methods_of(&state, 0), vec!["email_code"]);
    }

    #[test]
    fn methods_with_totp_include_recovery() {
        let state = MfaRow {
            totp_enabled_at: Some(OffsetDateTime::UNIX_EPOCH),
            ..MfaRow::default()
        };

        assert_eq!(methods_of(&state, 10), vec!["totp", "recovery_code"]);
        assert_eq!(methods_of(&state, 0), vec!["totp"]);
    }

    #[test]
    fn digits_check_rejects_letters() {
        assert!(check_digits("code", "12345a", 6).is_err());
        assert!(check_digits("code", "1234567", 6).is_err());
        assert!(check_digits("code", "123456", 6).is_ok());
    }
}
