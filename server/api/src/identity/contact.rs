//! The account's email address and phone number: verification by code,
//! changing the email address, and adding a phone as an SMS factor.
//!
//! Registration sends a code to the new address; `POST /v1/me/email/verify`
//! confirms it. A change of address needs a step-up check and takes effect
//! only when the code sent to the new address comes back, so a stolen
//! session cannot move the account to another mailbox.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use sharepay_domain::wire::Problem;
use sharepay_domain::wire::mfa::{ChangeEmailRequest, CodeRequest, CodeSentResponse, PhoneRequest};
use time::OffsetDateTime;
use uuid::Uuid;

use super::codes::{self, CodeMessage, purpose};
use super::factors::{PENDING_EMAIL_COLUMN, PHONE_COLUMN, audit_account_change};
use super::mfa::format_time;
use super::step_up::require_recent_mfa;
use crate::AppState;
use crate::audit::Outcome;
use crate::auth::AuthenticatedUser;
use crate::crypto::Column;
use crate::error::ApiError;
use crate::extract::StrictJson;
use crate::notify::Channel;
use crate::routes::request_id;
use crate::store::StoreError;
use crate::validate;

/// Longest E.164 number: `+` and 15 digits.
const MAX_PHONE_DIGITS: usize = 15;

/// Sends the verification code for a new account's address.
pub async fn send_email_verification(
    state: &AppState,
    user_id: Uuid,
    email: &str,
) -> Result<OffsetDateTime, ApiError> {
    codes::send_code(
        state,
        user_id,
        purpose::EMAIL_VERIFICATION,
        CodeMessage {
            kind: "email_verification",
            channel: Channel::Email,
            recipient: email,
            subject: "Confirm your SharePay email address",
            reason: "Confirm this email address for your SharePay account with this code.",
        },
    )
    .await
}

fn sent(channel: Channel, expires_at: OffsetDateTime) -> Result<Json<CodeSentResponse>, ApiError> {
    Ok(Json(CodeSentResponse {
        channel: channel.name().to_owned(),
        expires_at: format_time(expires_at)?,
    }))
}

#[utoipa::path(
    post,
    path = "/v1/me/email/verification",
    tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 202, description = "A new verification code was sent to the account's address; earlier codes stop working.", body = CodeSentResponse),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The address is already verified.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn resend_verification(
    State(state): State<AppState>,
    caller: AuthenticatedUser,
) -> Result<(StatusCode, Json<CodeSentResponse>), ApiError> {
    let mfa = state.mfa.state(caller.user_id).await?;
    if mfa.email_verified_at.is_some() {
        return Err(ApiError::Conflict {
            detail: "the email address is already verified".to_owned(),
        });
    }
    let user = state
        .users
        .find_by_id(caller.user_id)
        .await
        .map_err(|e| ApiError::internal("loading a user", e))?
        .ok_or(ApiError::NotFound)?;
    let expires_at = send_email_verification(&state, caller.user_id, &user.email).await?;
    Ok((StatusCode::ACCEPTED, sent(Channel::Email, expires_at)?))
}

#[utoipa::path(
    post,
    path = "/v1/me/email/verify",
    tag = "account",
    security(("bearer" = [])),
    request_body = CodeRequest,
    responses(
        (status = 204, description = "The address is verified. When a change of address was pending, the new address replaced the old one."),
        (status = 400, description = "The code is malformed, wrong, expired or used up.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another account took the new address meanwhile.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn verify_email(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    StrictJson(request): StrictJson<CodeRequest>,
) -> Result<StatusCode, ApiError> {
    let request_id = request_id(&headers);
    let mut mfa = state.mfa.state(caller.user_id).await?;
    let code_purpose = match mfa.pending_email_ciphertext {
        Some(_) => purpose::EMAIL_CHANGE,
        None => purpose::EMAIL_VERIFICATION,
    };
    if let Err(error) =
        codes::verify_code(&state, caller.user_id, code_purpose, "code", &request.code).await
    {
        audit_account_change(
            &state,
            caller.user_id,
            "email.verify",
            Outcome::Failure,
            request_id,
        )
        .await?;
        return Err(error);
    }

    if let Some(pending) = mfa.pending_email_ciphertext.take() {
        let email = state
            .mfa
            .cipher
            .decrypt(PENDING_EMAIL_COLUMN, &pending)
            .map_err(|e| ApiError::internal("decrypting a pending email", e))?;
        replace_email(&state, caller.user_id, &email).await?;
        audit_account_change(
            &state,
            caller.user_id,
            "email.change",
            Outcome::Success,
            request_id,
        )
        .await?;
    }
    mfa.email_verified_at = Some(OffsetDateTime::now_utc());
    state.mfa.save(mfa).await?;
    audit_account_change(
        &state,
        caller.user_id,
        "email.verify",
        Outcome::Success,
        request_id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn replace_email(state: &AppState, user_id: Uuid, email: &str) -> Result<(), ApiError> {
    let ciphertext = state
        .mfa
        .cipher
        .encrypt(Column::USERS_EMAIL, email)
        .map_err(|e| ApiError::internal("encrypting an email", e))?;
    let index = state
        .users
        .email_index(email)
        .map_err(|e| ApiError::internal("computing an email blind index", e))?;
    match state
        .mfa
        .store
        .replace_email(user_id, ciphertext, index)
        .await
    {
        Ok(()) => Ok(()),
        Err(StoreError::DuplicateEmail) => Err(ApiError::Conflict {
            detail: "another account uses this email address now; choose another".to_owned(),
        }),
        Err(e) => Err(ApiError::internal("changing an email", e)),
    }
}

#[utoipa::path(
    post,
    path = "/v1/me/email",
    tag = "account",
    security(("bearer" = [])),
    request_body = ChangeEmailRequest,
    responses(
        (status = 202, description = "A code was sent to the new address; it replaces the old one once `/v1/me/email/verify` accepts the code.", body = CodeSentResponse),
        (status = 400, description = "The address is invalid or the same as the current one.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`step-up-required`: pass an MFA check at /v1/me/step-up/verify first.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another account uses this address.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change_email(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    StrictJson(request): StrictJson<ChangeEmailRequest>,
) -> Result<(StatusCode, Json<CodeSentResponse>), ApiError> {
    let email = validate::email(&request.email)?;
    require_recent_mfa(&state, &caller).await?;
    let user = state
        .users
        .find_by_id(caller.user_id)
        .await
        .map_err(|e| ApiError::internal("loading a user", e))?
        .ok_or(ApiError::NotFound)?;
    if user.email == email {
        return Err(ApiError::invalid_field(
            "email",
            "is the current address; send a different one",
        ));
    }
    let taken = state
        .users
        .find_by_email(&email)
        .await
        .map_err(|e| ApiError::internal("loading a user", e))?
        .is_some();
    if taken {
        return Err(ApiError::Conflict {
            detail: "another account uses this email address; choose another".to_owned(),
        });
    }

    let mut mfa = state.mfa.state(caller.user_id).await?;
    mfa.pending_email_ciphertext = Some(
        state
            .mfa
            .cipher
            .encrypt(PENDING_EMAIL_COLUMN, &email)
            .map_err(|e| ApiError::internal("encrypting an email", e))?,
    );
    state.mfa.save(mfa).await?;
    let expires_at = codes::send_code(
        &state,
        caller.user_id,
        purpose::EMAIL_CHANGE,
        CodeMessage {
            kind: "email_change",
            channel: Channel::Email,
            recipient: &email,
            subject: "Confirm your new SharePay email address",
            reason: "Confirm this address as the new email of your SharePay account with this code.",
        },
    )
    .await?;
    state
        .mfa
        .outbox
        .enqueue(
            "email_change_notice",
            Channel::Email,
            &user.email,
            "Your SharePay email address is being changed",
            "Someone signed in to your SharePay account asked to change its email address. \
             If this was not you, change your password now and review your devices.",
        )
        .await
        .map_err(|e| ApiError::internal("queueing an email change notice", e))?;
    audit_account_change(
        &state,
        caller.user_id,
        "email.change.request",
        Outcome::Success,
        request_id(&headers),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, sent(Channel::Email, expires_at)?))
}

/// Checks an E.164 number: `+`, a non-zero first digit, 8 to 15 digits.
fn e164(raw: &str) -> Result<String, ApiError> {
    let phone = raw.trim();
    let digits = phone.strip_prefix('+').unwrap_or_default();
    let valid = digits.len() >= 8
        && digits.len() <= MAX_PHONE_DIGITS
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if valid {
        Ok(phone.to_owned())
    } else {
        Err(ApiError::invalid_field(
            "phone",
            "must be an E.164 number such as +4915112345678 (a '+', the country code, no spaces)",
        ))
    }
}

#[utoipa::path(
    post,
    path = "/v1/me/phone",
    tag = "mfa",
    security(("bearer" = [])),
    request_body = PhoneRequest,
    responses(
        (status = 202, description = "A code was sent by SMS; the number becomes an SMS factor once `/v1/me/phone/verify` accepts it.", body = CodeSentResponse),
        (status = 400, description = "The number is not in E.164 form.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`step-up-required` when the account already has a factor: pass an MFA check first.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_phone(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    StrictJson(request): StrictJson<PhoneRequest>,
) -> Result<(StatusCode, Json<CodeSentResponse>), ApiError> {
    let phone = e164(&request.phone)?;
    // Adding or replacing a factor needs a recent check, or a stolen access
    // token could add the thief's own phone.
    require_recent_mfa(&state, &caller).await?;
    let mut mfa = state.mfa.state(caller.user_id).await?;
    mfa.pending_phone_ciphertext = Some(
        state
            .mfa
            .cipher
            .encrypt(PHONE_COLUMN, &phone)
            .map_err(|e| ApiError::internal("encrypting a phone number", e))?,
    );
    state.mfa.save(mfa).await?;
    let expires_at = codes::send_code(
        &state,
        caller.user_id,
        purpose::PHONE_VERIFICATION,
        CodeMessage {
            kind: "phone_verification",
            channel: Channel::Sms,
            recipient: &phone,
            subject: "Phone verification",
            reason: "confirms this phone for SharePay.",
        },
    )
    .await?;
    audit_account_change(
        &state,
        caller.user_id,
        "mfa.phone.request",
        Outcome::Success,
        request_id(&headers),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, sent(Channel::Sms, expires_at)?))
}

#[utoipa::path(
    post,
    path = "/v1/me/phone/verify",
    tag = "mfa",
    security(("bearer" = [])),
    request_body = CodeRequest,
    responses(
        (status = 204, description = "The phone is verified and SMS codes are enabled as a factor."),
        (status = 400, description = "The code is malformed, wrong, expired or used up.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No phone is waiting for verification.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn verify_phone(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    StrictJson(request): StrictJson<CodeRequest>,
) -> Result<StatusCode, ApiError> {
    let request_id = request_id(&headers);
    require_recent_mfa(&state, &caller).await?;
    let mut mfa = state.mfa.state(caller.user_id).await?;
    let Some(pending) = mfa.pending_phone_ciphertext.take() else {
        return Err(ApiError::Conflict {
            detail: "no phone is waiting for verification; add one with POST /v1/me/phone"
                .to_owned(),
        });
    };
    if let Err(error) = codes::verify_code(
        &state,
        caller.user_id,
        purpose::PHONE_VERIFICATION,
        "code",
        &request.code,
    )
    .await
    {
        audit_account_change(
            &state,
            caller.user_id,
            "mfa.phone.verify",
            Outcome::Failure,
            request_id,
        )
        .await?;
        return Err(error);
    }
    mfa.phone_ciphertext = Some(pending);
    mfa.phone_verified_at = Some(OffsetDateTime::now_utc());
    state.mfa.save(mfa).await?;
    audit_account_change(
        &state,
        caller.user_id,
        "mfa.phone.enable",
        Outcome::Success,
        request_id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_cases() {
        assert!(e164("+4915112345678").is_ok());
        assert!(e164("4915112345678").is_err());
        assert!(e164("+0123456789").is_err());
        assert!(e164("+49 151 1234").is_err());
        assert!(e164("+1234567890123456").is_err());
    }
}
