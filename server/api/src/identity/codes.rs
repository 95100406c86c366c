//! Six-digit one-time codes sent by email or SMS: valid for
//! `mfa.code_ttl_seconds` (10 minutes by default), at most five wrong
//! attempts, single use, stored only as a keyed hash.
//!
//! Each user has at most one live code per purpose; sending a new one
//! replaces the old one and its attempt count.

use secrecy::ExposeSecret;
use time::OffsetDateTime;
use uuid::Uuid;

use super::factors::{MAX_CODE_ATTEMPTS, check_digits, random_code};
use crate::AppState;
use crate::error::ApiError;
use crate::notify::Channel;
use crate::store::mfa::{CodeCheck, CodeRow};

/// Purposes of codes that are not tied to a login challenge.
pub mod purpose {
    pub const EMAIL_VERIFICATION: &str = "email_verification";
    pub const EMAIL_CHANGE: &str = "email_change";
    pub const PHONE_VERIFICATION: &str = "phone_verification";
    pub const STEP_UP: &str = "step_up";

    /// Returns the purpose of codes that complete one login challenge.
    pub fn login(challenge_id: uuid::Uuid) -> String {
        format!("login:{challenge_id}")
    }
}

/// The recipient and wording of a code message.
pub struct CodeMessage<'a> {
    /// The outbox kind, such as `email_verification`.
    pub kind: &'a str,
    pub channel: Channel,
    /// Email address or E.164 phone number.
    pub recipient: &'a str,
    /// Subject line; it must not contain the code.
    pub subject: &'a str,
    /// The sentence before the code, saying what it confirms.
    pub reason: &'a str,
}

/// Creates a code for `user_id` and `purpose`, stores its hash and queues
/// the message. Returns when the code expires.
pub async fn send_code(
    state: &AppState,
    user_id: Uuid,
    purpose: &str,
    message: CodeMessage<'_>,
) -> Result<OffsetDateTime, ApiError> {
    let code = random_code()?;
    let ttl = time::Duration::seconds(state.config.mfa.code_ttl_seconds as i64);
    let expires_at = OffsetDateTime::now_utc() + ttl;
    let code_hash = state
        .mfa
        .code_hash(user_id, purpose, code.expose_secret())?;
    state
        .mfa
        .store
        .put_code(CodeRow {
            user_id,
            purpose: purpose.to_owned(),
            code_hash,
            expires_at,
        })
        .await
        .map_err(|e| ApiError::internal("storing a one-time code", e))?;

    let minutes = state.config.mfa.code_ttl_seconds.div_ceil(60);
    let body = zeroize::Zeroizing::new(match message.channel {
        Channel::Email => format!(
            "{}\n\nYour SharePay code: {}\n\nIt is valid for {minutes} minutes and works once. \
             If you did not ask for it, ignore this message and change your password.",
            message.reason,
            code.expose_secret()
        ),
        Channel::Sms => format!(
            "SharePay code {}: {} Valid {minutes} min.",
            code.expose_secret(),
            message.reason
        ),
    });
    state
        .mfa
        .outbox
        .enqueue(
            message.kind,
            message.channel,
            message.recipient,
            message.subject,
            &body,
        )
        .await
        .map_err(|e| ApiError::internal("queueing a code message", e))?;
    Ok(expires_at)
}

/// Checks a presented code, using it up when it matches. `field` names the
/// request field in errors.
pub async fn verify_code(
    state: &AppState,
    user_id: Uuid,
    purpose: &str,
    field: &str,
    code: &str,
) -> Result<(), ApiError> {
    check_digits(field, code, 6)?;
    let presented = state.mfa.code_hash(user_id, purpose, code)?;
    let check = state
        .mfa
        .store
        .check_code(
            user_id,
            purpose,
            presented,
            OffsetDateTime::now_utc(),
            MAX_CODE_ATTEMPTS,
        )
        .await
        .map_err(|e| ApiError::internal("checking a one-time code", e))?;
    match check {
        CodeCheck::Accepted => Ok(()),
        CodeCheck::Wrong { attempts_left: 0 } | CodeCheck::Locked => Err(ApiError::invalid_field(
            field,
            "too many wrong attempts; request a new code",
        )),
        CodeCheck::Wrong { attempts_left: 1 } => Err(ApiError::invalid_field(
            field,
            "is wrong; 1 attempt left, then request a new code",
        )),
        CodeCheck::Wrong { attempts_left } => Err(ApiError::invalid_field(
            field,
            format!("is wrong; {attempts_left} attempts left"),
        )),
        CodeCheck::Expired => Err(ApiError::invalid_field(
            field,
            "has expired; request a new code",
        )),
        CodeCheck::Missing => Err(ApiError::invalid_field(
            field,
            "no code is waiting, or it was already used; request a new code",
        )),
    }
}
