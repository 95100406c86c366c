//! Storage of second factors, one-time codes, login MFA challenges, known
//! devices and the notification outbox, behind the [`MfaStore`] trait.
//!
//! Secrets never reach a backend in plaintext: codes and recovery codes
//! arrive as HMAC-SHA256 values, MFA tokens as SHA-256 (they are 256-bit
//! random), and the TOTP secret, phone numbers, pending addresses and
//! message bodies as field ciphertext.
//! Every check that must count or consume (a code attempt, a TOTP time
//! step, a recovery code, a challenge) is one atomic backend operation, so
//! parallel requests cannot use one secret twice.

use async_trait::async_trait;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;
use crate::crypto::BLIND_INDEX_LENGTH;

/// Per-user MFA state, as stored. A user without a row has no factor and
/// an unverified email.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MfaRow {
    pub user_id: Uuid,
    pub email_verified_at: Option<OffsetDateTime>,
    /// Field ciphertext of an address the user asked to change to.
    pub pending_email_ciphertext: Option<String>,
    /// Field ciphertext of the base32 TOTP secret, set at enrollment.
    pub totp_secret_ciphertext: Option<String>,
    /// Set when the user confirmed the secret with a first code.
    pub totp_enabled_at: Option<OffsetDateTime>,
    /// The last accepted RFC 6238 time step.
    pub totp_last_step: Option<i64>,
    /// Field ciphertext of the verified phone number (E.164).
    pub phone_ciphertext: Option<String>,
    pub phone_verified_at: Option<OffsetDateTime>,
    /// Field ciphertext of a phone number waiting for its SMS code.
    pub pending_phone_ciphertext: Option<String>,
}

impl std::fmt::Debug for MfaRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaRow")
            .field("user_id", &self.user_id)
            .field("email_verified_at", &self.email_verified_at)
            .field("totp_enabled_at", &self.totp_enabled_at)
            .field("phone_verified_at", &self.phone_verified_at)
            .finish_non_exhaustive()
    }
}

/// A one-time code as stored: only its keyed hash.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeRow {
    pub user_id: Uuid,
    /// The action the code confirms, such as `email_verification` or
    /// `login:<challenge id>`.
    pub purpose: String,
    pub code_hash: [u8; 32],
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for CodeRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeRow")
            .field("user_id", &self.user_id)
            .field("purpose", &self.purpose)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The result of presenting a one-time code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeCheck {
    /// The code matched and is now used up.
    Accepted,
    /// The code did not match; the attempt was counted.
    Wrong {
        attempts_left: u32,
    },
    Expired,
    /// The code allowed no further attempts; a new one must be sent.
    Locked,
    /// No unused code exists for this user and purpose.
    Missing,
}

/// The stored state of a code, read inside the backend's transaction.
pub(super) struct StoredCode {
    pub code_hash: Vec<u8>,
    pub expires_at: OffsetDateTime,
    pub attempts: u32,
    pub used: bool,
}

/// The backend's next step after comparing a presented code.
pub(super) enum CodeDecision {
    Consume,
    CountFailure,
    Reply(CodeCheck),
}

/// Decides a code check. Compares in constant time.
pub(super) fn decide_code(
    stored: Option<&StoredCode>,
    presented: &[u8; 32],
    now: OffsetDateTime,
    max_attempts: u32,
) -> CodeDecision {
    let Some(stored) = stored.filter(|code| !code.used) else {
        return CodeDecision::Reply(CodeCheck::Missing);
    };
    if stored.attempts >= max_attempts {
        return CodeDecision::Reply(CodeCheck::Locked);
    }
    if stored.expires_at <= now {
        return CodeDecision::Reply(CodeCheck::Expired);
    }
    if bool::from(stored.code_hash.as_slice().ct_eq(presented.as_slice())) {
        CodeDecision::Consume
    } else {
        CodeDecision::CountFailure
    }
}

/// A pending second-factor check of a login that passed the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ChallengeRow {
    pub id: Uuid,
    /// SHA-256 of the `mfa_token` given to the client.
    pub token_hash: [u8; 32],
    pub user_id: Uuid,
    pub device_fingerprint: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// Methods that may complete the challenge, such as `totp`.
    pub methods: Vec<String>,
    pub expires_at: OffsetDateTime,
    pub failures: u32,
    pub completed_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for ChallengeRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChallengeRow")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("methods", &self.methods)
            .field("expires_at", &self.expires_at)
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}

/// When a session last passed an MFA check, and the methods of that check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionMfaRow {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub last_mfa_at: OffsetDateTime,
    /// Authentication methods references (RFC 8176), such as `pwd`, `otp`.
    pub amr: Vec<String>,
}

/// A device that passed MFA (or registered) for a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub fingerprint: String,
    pub first_seen_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub user_agent: Option<String>,
    pub revoked_at: Option<OffsetDateTime>,
}

/// A message waiting in, or delivered from, the notification outbox.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: Uuid,
    /// The message's topic, such as `email_verification`.
    pub kind: String,
    /// `email` or `sms`.
    pub channel: String,
    pub recipient_ciphertext: String,
    /// Subject line; it never contains a code or personal data.
    pub subject: String,
    pub body_ciphertext: String,
    pub attempts: u32,
    pub next_attempt_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for OutboxRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxRow")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("channel", &self.channel)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// Second factors, codes, challenges, devices and the outbox, implemented
/// by both backends.
#[async_trait]
pub trait MfaStore: Send + Sync {
    /// Returns the user's MFA state, `None` when nothing was stored yet.
    async fn mfa_state(&self, user_id: Uuid) -> Result<Option<MfaRow>, StoreError>;

    /// Inserts or replaces the user's MFA state, except `totp_last_step`,
    /// which only [`MfaStore::claim_totp_step`] changes.
    async fn save_mfa_state(&self, row: MfaRow) -> Result<(), StoreError>;

    /// Records `step` as the last accepted TOTP time step when it is later
    /// than the stored one. Returns `false` when `step` was already used
    /// (or an earlier one), which makes a replayed code fail.
    async fn claim_totp_step(&self, user_id: Uuid, step: i64) -> Result<bool, StoreError>;

    /// Replaces the user's email ciphertext and blind index; fails with
    /// [`StoreError::DuplicateEmail`] when another user has the index.
    async fn replace_email(
        &self,
        user_id: Uuid,
        email_ciphertext: String,
        email_blind_index: [u8; BLIND_INDEX_LENGTH],
    ) -> Result<(), StoreError>;

    /// Stores a new code for its user and purpose, replacing an earlier
    /// one with its attempt count.
    async fn put_code(&self, code: CodeRow) -> Result<(), StoreError>;

    /// Checks a presented code hash: counts a wrong attempt, and marks a
    /// matching code used, atomically.
    async fn check_code(
        &self,
        user_id: Uuid,
        purpose: &str,
        presented_hash: [u8; 32],
        now: OffsetDateTime,
        max_attempts: u32,
    ) -> Result<CodeCheck, StoreError>;

    /// Replaces all recovery codes of the user (none when `hashes` is
    /// empty).
    async fn replace_recovery_codes(
        &self,
        user_id: Uuid,
        hashes: Vec<[u8; 32]>,
    ) -> Result<(), StoreError>;

    /// Marks an unused recovery code used; `false` when there is none.
    async fn use_recovery_code(
        &self,
        user_id: Uuid,
        hash: [u8; 32],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Counts the user's unused recovery codes.
    async fn unused_recovery_codes(&self, user_id: Uuid) -> Result<u32, StoreError>;

    async fn insert_challenge(&self, challenge: ChallengeRow) -> Result<(), StoreError>;

    async fn find_challenge(
        &self,
        token_hash: [u8; 32],
    ) -> Result<Option<ChallengeRow>, StoreError>;

    /// Counts one wrong code on the challenge and returns the new count.
    async fn record_challenge_failure(&self, challenge_id: Uuid) -> Result<u32, StoreError>;

    /// Marks the challenge completed; `false` when it already was, so of
    /// two parallel completions exactly one opens a session.
    async fn complete_challenge(
        &self,
        challenge_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Inserts or replaces the MFA record of a session.
    ///
    /// NOTE: rows of ended sessions are not deleted yet. Session ids are
    /// never reused, so they do no harm, but the table grows with every
    /// MFA login until a retention job removes them.
    async fn record_session_mfa(&self, row: SessionMfaRow) -> Result<(), StoreError>;

    async fn session_mfa(&self, session_id: Uuid) -> Result<Option<SessionMfaRow>, StoreError>;

    /// Returns the user's device with this fingerprint, revoked or not.
    async fn find_device(
        &self,
        user_id: Uuid,
        fingerprint: &str,
    ) -> Result<Option<DeviceRow>, StoreError>;

    /// Counts every device ever recorded for the user, revoked ones
    /// included.
    async fn count_devices(&self, user_id: Uuid) -> Result<u64, StoreError>;

    /// Records a device as known: inserts it, or updates its last-seen time
    /// and user agent and clears an earlier revocation. Returns its id.
    async fn remember_device(&self, device: DeviceRow) -> Result<Uuid, StoreError>;

    /// Moves the last-seen time of a known, unrevoked device forward;
    /// does nothing for any other fingerprint.
    async fn touch_device(
        &self,
        user_id: Uuid,
        fingerprint: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Lists the user's devices, oldest first.
    async fn list_devices(&self, user_id: Uuid) -> Result<Vec<DeviceRow>, StoreError>;

    /// Marks the device revoked and deletes the user's sessions opened from
    /// it, in one transaction. Returns how many sessions ended, or `None`
    /// when the user has no such device.
    async fn revoke_device(
        &self,
        user_id: Uuid,
        device_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<Option<u64>, StoreError>;

    async fn enqueue_notification(&self, message: OutboxRow) -> Result<(), StoreError>;

    /// Claims up to `limit` unsent messages due at `now` by moving their
    /// next attempt to `lease_until`, so another worker does not send them
    /// meanwhile. Returns the claimed messages, oldest first.
    async fn claim_notifications(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError>;

    async fn mark_notification_sent(
        &self,
        message_id: Uuid,
        attempts: u32,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Records a failed attempt: the message is retried at `retry_at`, or
    /// given up when `retry_at` is `None`.
    async fn mark_notification_failed(
        &self,
        message_id: Uuid,
        attempts: u32,
        retry_at: Option<OffsetDateTime>,
        error: String,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
}

/// Joins a method list for its text column.
pub(super) fn methods_to_db(methods: &[String]) -> String {
    methods.join(",")
}

/// Splits a stored method list.
pub(super) fn methods_from_db(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|method| !method.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(hash: [u8; 32], attempts: u32, used: bool) -> StoredCode {
        StoredCode {
            code_hash: hash.to_vec(),
            expires_at: OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(10),
            attempts,
            used,
        }
    }

    #[test]
    fn code_decision_cases() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let matching = [7u8; 32];
        let other = [8u8; 32];

        let consume = decide_code(Some(&stored(matching, 0, false)), &matching, now, 5);
        assert!(matches!(consume, CodeDecision::Consume));
        let wrong = decide_code(Some(&stored(matching, 4, false)), &other, now, 5);
        assert!(matches!(wrong, CodeDecision::CountFailure));
        let locked = decide_code(Some(&stored(matching, 5, false)), &matching, now, 5);
        assert!(matches!(locked, CodeDecision::Reply(CodeCheck::Locked)));
        let used = decide_code(Some(&stored(matching, 0, true)), &matching, now, 5);
        assert!(matches!(used, CodeDecision::Reply(CodeCheck::Missing)));
        let late = now + time::Duration::minutes(11);
        let expired = decide_code(Some(&stored(matching, 0, false)), &matching, late, 5);
        assert!(matches!(expired, CodeDecision::Reply(CodeCheck::Expired)));
    }
}
