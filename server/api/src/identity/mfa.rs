//! Login MFA: after the password check, a login either gets tokens or a
//! challenge (`mfa_token`) that a second factor must complete.
//!
//! A challenge is required when the user has TOTP or a verified phone, or
//! when the device is not one of the user's known devices. The token is
//! 256 bits of randomness stored as SHA-256, valid for
//! `mfa.challenge_ttl_seconds` (5 minutes by default), and dies after five
//! wrong codes. Factors added later (WebAuthn) verify their own proof and
//! then call [`complete_challenge`].

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use secrecy::ExposeSecret;
use sharepay_domain::wire::mfa::{
    CodeSentResponse, LoginResponse, MfaChallengeRequest, MfaRequiredResponse, MfaVerifyRequest,
    method,
};
use sharepay_domain::wire::{Problem, TokenResponse};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::client::ClientInfo;
use super::codes::{self, CodeMessage, purpose};
use super::devices::{self, DeviceStatus};
use super::factors::{MAX_CODE_ATTEMPTS, PHONE_COLUMN, has_strong_factor};
use super::{sessions, step_up, totp};
use crate::AppState;
use crate::audit::{Actor, AuditEvent, AuditKind, Outcome};
use crate::auth::tokens::{hash_refresh_token, new_refresh_token};
use crate::error::ApiError;
use crate::extract::StrictJson;
use crate::http_config::{Rate, RateLimitRule};
use crate::notify::Channel;
use crate::routes::{record, request_id};
use crate::store::mfa::{ChallengeRow, SessionMfaRow};
use crate::store::users::UserRecord;

/// Longest `mfa_token` accepted; issued ones are 43 characters.
const MAX_MFA_TOKEN_CHARS: usize = 128;
/// Wrong factor checks one user may make per hour, over all challenges and
/// step-up checks, before checks are locked for [`FACTOR_LOCK`].
const FACTOR_FREE_FAILURES: u32 = 10;
const FACTOR_LOCK: time::Duration = time::Duration::minutes(15);
const FACTOR_WINDOW: time::Duration = time::Duration::hours(1);

/// Returns the built-in budgets of the routes that send or check codes,
/// so that a caller can neither flood a mailbox or phone with codes nor
/// guess codes quickly. Configured `http.rate_limits` entries override them.
pub fn code_route_budgets() -> Vec<(String, RateLimitRule)> {
    let rule = |per_address: u32, per_account: Option<u32>| RateLimitRule {
        per_address: Some(Rate::per_minute(per_address)),
        per_account: per_account.map(Rate::per_minute),
    };
    vec![
        ("POST /v1/auth/mfa/challenge".to_owned(), rule(10, None)),
        ("POST /v1/auth/mfa/verify".to_owned(), rule(30, None)),
        (
            "POST /v1/me/email/verification".to_owned(),
            rule(10, Some(3)),
        ),
        ("POST /v1/me/email".to_owned(), rule(10, Some(3))),
        ("POST /v1/me/phone".to_owned(), rule(10, Some(3))),
        (
            "POST /v1/me/step-up/challenge".to_owned(),
            rule(10, Some(5)),
        ),
        ("POST /v1/me/step-up/verify".to_owned(), rule(30, Some(10))),
    ]
}

/// Returns the `amr` claim (RFC 8176 values where one exists) of a session
/// whose password check was followed by `method`.
pub fn amr_after(method: &str) -> Vec<String> {
    let factor = match method {
        method::TOTP => "otp",
        method::SMS_CODE => "sms",
        crate::identity::webauthn::WEBAUTHN_METHOD => "hwk",
        other => other,
    };
    vec!["pwd".to_owned(), factor.to_owned(), "mfa".to_owned()]
}

/// Decides the second step of a login whose password was correct: tokens
/// for a known device of a user without TOTP or phone, a challenge
/// otherwise.
pub async fn begin_login(
    state: &AppState,
    user: &UserRecord,
    device_fingerprint: Option<String>,
    client: ClientInfo,
    request_id: Option<&str>,
) -> Result<LoginResponse, ApiError> {
    let mfa = state.mfa.state(user.id).await?;
    let device = devices::status(state, user.id, device_fingerprint.as_deref()).await?;
    let strong = has_strong_factor(&mfa) || step_up::has_webauthn(state, user.id).await?;
    if !strong && device != DeviceStatus::New {
        if let Some(fingerprint) = &device_fingerprint {
            devices::remember(state, user.id, fingerprint, client.user_agent.clone()).await?;
        }
        let tokens = sessions::open_session(
            state,
            user.id,
            device_fingerprint,
            client,
            vec!["pwd".to_owned()],
            request_id,
        )
        .await?;
        return Ok(LoginResponse::Tokens(tokens));
    }

    if device == DeviceStatus::New {
        devices::on_new_device(
            state,
            user,
            device_fingerprint.as_deref(),
            &client,
            request_id,
        )
        .await?;
    }
    let methods = step_up::user_methods(state, user.id).await?;
    let challenge = start_challenge(state, user.id, device_fingerprint, client, methods).await?;
    let event = AuditEvent::new(
        AuditKind::Authentication,
        Actor::User(user.id),
        "auth.mfa.required",
        &format!("user:{}", user.id),
        Outcome::Success,
    )
    .request_id(request_id)
    .details(serde_json::json!({
        "challenge_id": challenge.1.to_string(),
        "new_device": device == DeviceStatus::New,
    }));
    record(state, event).await?;
    Ok(LoginResponse::MfaRequired(challenge.0))
}

/// Stores a new challenge and returns the response that carries its token.
async fn start_challenge(
    state: &AppState,
    user_id: Uuid,
    device_fingerprint: Option<String>,
    client: ClientInfo,
    methods: Vec<String>,
) -> Result<(MfaRequiredResponse, Uuid), ApiError> {
    let token = new_refresh_token()?;
    let ttl = time::Duration::seconds(state.config.mfa.challenge_ttl_seconds as i64);
    let expires_at = OffsetDateTime::now_utc() + ttl;
    let challenge = ChallengeRow {
        id: Uuid::now_v7(),
        token_hash: token.hash,
        user_id,
        device_fingerprint,
        ip_address: client.ip_address,
        user_agent: client.user_agent,
        methods: methods.clone(),
        expires_at,
        failures: 0,
        completed_at: None,
    };
    let challenge_id = challenge.id;
    state
        .mfa
        .store
        .insert_challenge(challenge)
        .await
        .map_err(|e| ApiError::internal("storing an MFA challenge", e))?;
    let response = MfaRequiredResponse {
        mfa_required: true,
        mfa_token: token.token.expose_secret().to_owned(),
        methods,
        expires_at: format_time(expires_at)?,
    };
    Ok((response, challenge_id))
}

/// Loads a live challenge by its token, or the one generic 401.
pub async fn load_challenge(state: &AppState, mfa_token: &str) -> Result<ChallengeRow, ApiError> {
    let invalid = || ApiError::Unauthorized {
        detail: "the MFA token is invalid, expired or used up; log in again".to_owned(),
    };
    if mfa_token.is_empty() || mfa_token.len() > MAX_MFA_TOKEN_CHARS {
        return Err(ApiError::invalid_field(
            "mfa_token",
            format!(
                "must be 1 to {MAX_MFA_TOKEN_CHARS} characters; send the token from the login response"
            ),
        ));
    }
    let challenge = state
        .mfa
        .store
        .find_challenge(hash_refresh_token(mfa_token))
        .await
        .map_err(|e| ApiError::internal("loading an MFA challenge", e))?
        .ok_or_else(invalid)?;
    let live = challenge.completed_at.is_none()
        && challenge.expires_at > OffsetDateTime::now_utc()
        && challenge.failures < MAX_CODE_ATTEMPTS;
    if live { Ok(challenge) } else { Err(invalid()) }
}

/// Completes a challenge whose factor `method` was verified: marks the
/// device known, opens the session with `amr` naming the factor, and
/// records the check for step-up. Of two parallel completions only one
/// opens a session.
///
/// This is the one function a factor outside this module (such as
/// WebAuthn) calls after verifying its own proof.
pub async fn complete_challenge(
    state: &AppState,
    challenge: &ChallengeRow,
    method: &str,
    request_id: Option<&str>,
) -> Result<TokenResponse, ApiError> {
    let now = OffsetDateTime::now_utc();
    let first = state
        .mfa
        .store
        .complete_challenge(challenge.id, now)
        .await
        .map_err(|e| ApiError::internal("completing an MFA challenge", e))?;
    if !first {
        return Err(ApiError::Unauthorized {
            detail: "the MFA token is invalid, expired or used up; log in again".to_owned(),
        });
    }
    if let Some(fingerprint) = &challenge.device_fingerprint {
        devices::remember(
            state,
            challenge.user_id,
            fingerprint,
            challenge.user_agent.clone(),
        )
        .await?;
    }
    let amr = amr_after(method);
    let client = ClientInfo {
        ip_address: challenge.ip_address.clone(),
        user_agent: challenge.user_agent.clone(),
    };
    let (session_id, tokens) = sessions::open_session_with_id(
        state,
        challenge.user_id,
        challenge.device_fingerprint.clone(),
        client,
        amr.clone(),
        request_id,
    )
    .await?;
    state
        .mfa
        .store
        .record_session_mfa(SessionMfaRow {
            session_id,
            user_id: challenge.user_id,
            last_mfa_at: now,
            amr,
        })
        .await
        .map_err(|e| ApiError::internal("recording an MFA check", e))?;
    let event = AuditEvent::new(
        AuditKind::Authentication,
        Actor::User(challenge.user_id),
        "auth.mfa",
        &format!("user:{}", challenge.user_id),
        Outcome::Success,
    )
    .request_id(request_id)
    .details(serde_json::json!({
        "challenge_id": challenge.id.to_string(),
        "session_id": session_id.to_string(),
        "method": method,
    }));
    record(state, event).await?;
    Ok(tokens)
}

/// Checks that `requested` is one of `available`, naming the field.
pub fn check_method(requested: &str, available: &[String]) -> Result<(), ApiError> {
    if available.iter().any(|m| m == requested) {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            "method",
            format!(
                "{requested:?} is not available for this account; use one of: {}",
                available.join(", ")
            ),
        ))
    }
}

/// Sends a code for `method` (`email_code` or `sms_code`) to the user.
pub async fn send_factor_code(
    state: &AppState,
    user_id: Uuid,
    requested: &str,
    code_purpose: &str,
    reason: &str,
) -> Result<CodeSentResponse, ApiError> {
    let (channel, recipient) = match requested {
        method::EMAIL_CODE => {
            let user = state
                .users
                .find_by_id(user_id)
                .await
                .map_err(|e| ApiError::internal("loading a user", e))?
                .ok_or(ApiError::NotFound)?;
            (Channel::Email, user.email)
        }
        method::SMS_CODE => {
            let mfa = state.mfa.state(user_id).await?;
            let phone = mfa
                .phone_ciphertext
                .filter(|_| mfa.phone_verified_at.is_some())
                .ok_or_else(|| {
                    ApiError::invalid_field("method", "no verified phone; add one at /v1/me/phone")
                })?;
            let phone = state
                .mfa
                .cipher
                .decrypt(PHONE_COLUMN, &phone)
                .map_err(|e| ApiError::internal("decrypting a phone number", e))?;
            (Channel::Sms, phone)
        }
        other => {
            return Err(ApiError::invalid_field(
                "method",
                format!("{other:?} does not send codes; use email_code or sms_code"),
            ));
        }
    };
    let expires_at = codes::send_code(
        state,
        user_id,
        code_purpose,
        CodeMessage {
            kind: "mfa_code",
            channel,
            recipient: &recipient,
            subject: "Your SharePay security code",
            reason,
        },
    )
    .await?;
    Ok(CodeSentResponse {
        channel: channel.name().to_owned(),
        expires_at: format_time(expires_at)?,
    })
}

/// The outcome of checking a factor.
pub enum FactorCheck {
    Passed,
    /// The proof was wrong, and the error describes the reason for the client.
    Rejected(ApiError),
}

/// Checks `code` for `requested` (`totp`, `email_code`, `sms_code` or
/// `recovery_code`). Wrong checks count towards a per-user lock that
/// covers every challenge and step-up check, so opening new challenges
/// does not give an attacker more guesses.
pub async fn check_factor(
    state: &AppState,
    user_id: Uuid,
    requested: &str,
    code_purpose: &str,
    code: &str,
) -> Result<FactorCheck, ApiError> {
    let throttle_key = format!("mfa:{user_id}");
    check_factor_lock(state, &throttle_key).await?;
    let outcome = match requested {
        method::TOTP => match totp::verify_totp(state, user_id, code).await? {
            true => FactorCheck::Passed,
            false => FactorCheck::Rejected(ApiError::invalid_field(
                "code",
                "is wrong or was already used; enter the current code from the authenticator app",
            )),
        },
        method::RECOVERY_CODE => match totp::use_recovery_code(state, user_id, code).await? {
            true => FactorCheck::Passed,
            false => FactorCheck::Rejected(ApiError::invalid_field(
                "code",
                "is not an unused recovery code of this account",
            )),
        },
        method::EMAIL_CODE | method::SMS_CODE => {
            match codes::verify_code(state, user_id, code_purpose, "code", code).await {
                Ok(()) => FactorCheck::Passed,
                Err(error @ ApiError::InvalidInput { .. }) => FactorCheck::Rejected(error),
                Err(other) => return Err(other),
            }
        }
        other => {
            return Err(ApiError::invalid_field(
                "method",
                format!("{other:?} is unknown; use totp, email_code, sms_code or recovery_code"),
            ));
        }
    };
    match &outcome {
        FactorCheck::Passed => state
            .identity
            .clear_login_failures(&throttle_key)
            .await
            .map_err(|e| ApiError::internal("clearing MFA failures", e))?,
        FactorCheck::Rejected(_) => record_factor_failure(state, &throttle_key).await?,
    }
    Ok(outcome)
}

async fn check_factor_lock(state: &AppState, key: &str) -> Result<(), ApiError> {
    let now = OffsetDateTime::now_utc();
    let throttle = state
        .identity
        .login_throttle(key)
        .await
        .map_err(|e| ApiError::internal("reading MFA failures", e))?;
    if let Some(until) = throttle.and_then(|t| t.locked_until)
        && until > now
    {
        let retry_after_secs = (until - now).whole_seconds().max(1) as u64;
        tracing::info!(retry_after_secs, "rejected an MFA check: too many failures");
        return Err(ApiError::RateLimited { retry_after_secs });
    }
    Ok(())
}

async fn record_factor_failure(state: &AppState, key: &str) -> Result<(), ApiError> {
    let now = OffsetDateTime::now_utc();
    let failures = state
        .identity
        .record_login_failure(key, now, now - FACTOR_WINDOW)
        .await
        .map_err(|e| ApiError::internal("counting an MFA failure", e))?;
    if failures >= FACTOR_FREE_FAILURES {
        state
            .identity
            .lock_login(key, now + FACTOR_LOCK)
            .await
            .map_err(|e| ApiError::internal("locking MFA checks", e))?;
    }
    Ok(())
}

#[utoipa::path(
    post,
    path = "/v1/auth/mfa/challenge",
    tag = "auth",
    request_body = MfaChallengeRequest,
    responses(
        (status = 202, description = "A code was sent for the login challenge.", body = CodeSentResponse),
        (status = 400, description = "A field is invalid, or the method is not offered by this challenge.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The MFA token is invalid, expired or used up.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn challenge(
    State(state): State<AppState>,
    headers: HeaderMap,
    StrictJson(request): StrictJson<MfaChallengeRequest>,
) -> Result<(StatusCode, Json<CodeSentResponse>), ApiError> {
    let challenge = load_challenge(&state, &request.mfa_token).await?;
    check_method(&request.method, &challenge.methods)?;
    let sent = send_factor_code(
        &state,
        challenge.user_id,
        &request.method,
        &purpose::login(challenge.id),
        "Finish signing in to SharePay with this code.",
    )
    .await?;
    let event = AuditEvent::new(
        AuditKind::Authentication,
        Actor::User(challenge.user_id),
        "auth.mfa.challenge",
        &format!("user:{}", challenge.user_id),
        Outcome::Success,
    )
    .request_id(request_id(&headers))
    .details(serde_json::json!({
        "challenge_id": challenge.id.to_string(),
        "method": request.method,
    }));
    record(&state, event).await?;
    Ok((StatusCode::ACCEPTED, Json(sent)))
}

#[utoipa::path(
    post,
    path = "/v1/auth/mfa/verify",
    tag = "auth",
    request_body = MfaVerifyRequest,
    responses(
        (status = 200, description = "The factor was accepted: access and refresh tokens, with `amr` naming the factor.", body = TokenResponse),
        (status = 400, description = "A field is invalid, or the code is wrong, expired or used.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The MFA token is invalid, expired or used up.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes for this account; wait before trying again.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    StrictJson(request): StrictJson<MfaVerifyRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let request_id = request_id(&headers);
    let challenge = load_challenge(&state, &request.mfa_token).await?;
    check_method(&request.method, &challenge.methods)?;

    let check = check_factor(
        &state,
        challenge.user_id,
        &request.method,
        &purpose::login(challenge.id),
        &request.code,
    )
    .await?;
    if let FactorCheck::Rejected(error) = check {
        let failures = state
            .mfa
            .store
            .record_challenge_failure(challenge.id)
            .await
            .map_err(|e| ApiError::internal("counting an MFA failure", e))?;
        let event = AuditEvent::new(
            AuditKind::Authentication,
            Actor::User(challenge.user_id),
            "auth.mfa",
            &format!("user:{}", challenge.user_id),
            Outcome::Failure,
        )
        .reason("wrong code")
        .request_id(request_id)
        .details(serde_json::json!({
            "challenge_id": challenge.id.to_string(),
            "method": request.method,
            "failures": failures,
        }));
        record(&state, event).await?;
        return Err(error);
    }

    let tokens = complete_challenge(&state, &challenge, &request.method, request_id).await?;
    Ok(Json(tokens))
}

pub(crate) fn format_time(time: OffsetDateTime) -> Result<String, ApiError> {
    time.format(&Rfc3339)
        .map_err(|e| ApiError::internal("formatting a timestamp", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amr_names_the_factor() {
        assert_eq!(amr_after("totp"), vec!["pwd", "otp", "mfa"]);
        assert_eq!(amr_after("sms_code"), vec!["pwd", "sms", "mfa"]);
        assert_eq!(amr_after("webauthn"), vec!["pwd", "hwk", "mfa"]);
    }

    #[test]
    fn method_outside_the_list_is_rejected() {
        let available = vec!["totp".to_owned()];

        assert!(check_method("totp", &available).is_ok());
        let error = check_method("email_code", &available).expect_err("not offered");
        assert_eq!(error.to_problem().errors[0].field, "method");
    }
}
