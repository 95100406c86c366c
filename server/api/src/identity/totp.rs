//! TOTP (RFC 6238: HMAC-SHA1, 30-second steps, six digits, one step of
//! skew either side) with totp-rs, and the ten one-time recovery codes
//! handed out when TOTP is enabled.
//!
//! The server generates the 160-bit secret and stores it only as field
//! ciphertext. Each accepted code records its time step, and a step is
//! accepted once per user, so a code cannot be replayed. Recovery codes
//! are stored as keyed hashes and each works once.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use sharepay_domain::wire::Problem;
use sharepay_domain::wire::mfa::{
    CodeRequest, MfaStatusResponse, RecoveryCodesResponse, TotpEnrollmentResponse,
};
use time::OffsetDateTime;
use totp_rs::{Algorithm, Builder, Secret, Totp};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::factors::{
    TOTP_SECRET_COLUMN, audit_account_change, check_digits, has_strong_factor, random_bytes,
};
use super::step_up::require_recent_mfa;
use crate::AppState;
use crate::audit::Outcome;
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::extract::StrictJson;
use crate::routes::request_id;

/// Recovery codes handed out at once.
const RECOVERY_CODE_COUNT: usize = 10;
/// Characters of a recovery code: base32 without padding, grouped 5-5.
const RECOVERY_CODE_CHARS: usize = 10;
/// Purpose label under which recovery code hashes are computed.
const RECOVERY_PURPOSE: &str = "recovery_code";
/// Bytes of a new TOTP secret (160 bits, as RFC 4226 recommends).
const SECRET_BYTES: usize = 20;

/// Builds the RFC 6238 generator for a stored secret.
fn generator(secret: &str, issuer: &str, account: &str) -> Result<Totp, ApiError> {
    let secret = Secret::try_from_base32(secret)
        .map_err(|e| ApiError::internal("decoding a TOTP secret", e))?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .with_issuer(Some(issuer.to_owned()))
        .with_account_name(account.to_owned())
        .build()
        .map_err(|e| ApiError::internal("building a TOTP generator", e))
}

/// Decrypts the user's TOTP secret (base32), enabled or pending.
async fn stored_secret(state: &AppState, user_id: Uuid) -> Result<Option<SecretString>, ApiError> {
    let mfa = state.mfa.state(user_id).await?;
    let Some(ciphertext) = mfa.totp_secret_ciphertext else {
        return Ok(None);
    };
    let secret = state
        .mfa
        .cipher
        .decrypt(TOTP_SECRET_COLUMN, &ciphertext)
        .map_err(|e| ApiError::internal("decrypting a TOTP secret", e))?;
    Ok(Some(SecretString::from(secret)))
}

/// Checks a TOTP code against the user's secret and claims its time step.
/// Returns `false` for a wrong code, a code of an already used step, or a
/// user without a secret.
pub async fn verify_totp(state: &AppState, user_id: Uuid, code: &str) -> Result<bool, ApiError> {
    check_digits("code", code, 6)?;
    let Some(secret) = stored_secret(state, user_id).await? else {
        return Ok(false);
    };
    let totp = generator(secret.expose_secret(), "SharePay", "")?;
    let now = OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
    let Some(step) = totp.check(code, now) else {
        return Ok(false);
    };
    let claimed = state
        .mfa
        .store
        .claim_totp_step(user_id, step as i64)
        .await
        .map_err(|e| ApiError::internal("recording a TOTP step", e))?;
    if !claimed {
        tracing::info!(%user_id, "rejected a replayed TOTP code");
    }
    Ok(claimed)
}

/// Normalizes a typed recovery code: upper case, without `-` or spaces.
fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Uses up one recovery code; `false` when it is not an unused code of
/// the user.
pub async fn use_recovery_code(
    state: &AppState,
    user_id: Uuid,
    code: &str,
) -> Result<bool, ApiError> {
    let normalized = Zeroizing::new(normalize_recovery_code(code));
    if normalized.len() != RECOVERY_CODE_CHARS {
        return Ok(false);
    }
    let hash = state
        .mfa
        .code_hash(user_id, RECOVERY_PURPOSE, &normalized)?;
    state
        .mfa
        .store
        .use_recovery_code(user_id, hash, OffsetDateTime::now_utc())
        .await
        .map_err(|e| ApiError::internal("using a recovery code", e))
}

/// Creates new recovery codes for the user, replacing all earlier ones,
/// and returns them for showing once.
async fn new_recovery_codes(state: &AppState, user_id: Uuid) -> Result<Vec<String>, ApiError> {
    let mut codes = Vec::with_capacity(RECOVERY_CODE_COUNT);
    let mut hashes = Vec::with_capacity(RECOVERY_CODE_COUNT);
    for _ in 0..RECOVERY_CODE_COUNT {
        let bytes = random_bytes(RECOVERY_CODE_CHARS * 5 / 8)?;
        let raw = Zeroizing::new(Secret::from(bytes.to_vec()).to_base32());
        let hash = state.mfa.code_hash(user_id, RECOVERY_PURPOSE, &raw)?;
        codes.push(format!("{}-{}", &raw[..5], &raw[5..]));
        hashes.push(hash);
    }
    state
        .mfa
        .store
        .replace_recovery_codes(user_id, hashes)
        .await
        .map_err(|e| ApiError::internal("storing recovery codes", e))?;
    Ok(codes)
}

#[utoipa::path(
    get,
    path = "/v1/me/mfa",
    tag = "mfa",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account's factors and the methods it can pass.", body = MfaStatusResponse),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn status(
    State(state): State<AppState>,
    caller: AuthenticatedUser,
) -> Result<Json<MfaStatusResponse>, ApiError> {
    let mfa = state.mfa.state(caller.user_id).await?;
    let recovery_codes_left = state
        .mfa
        .store
        .unused_recovery_codes(caller.user_id)
        .await
        .map_err(|e| ApiError::internal("counting recovery codes", e))?;
    Ok(Json(MfaStatusResponse {
        email_verified: mfa.email_verified_at.is_some(),
        totp_enabled: mfa.totp_enabled_at.is_some(),
        phone_verified: mfa.phone_verified_at.is_some(),
        recovery_codes_left,
        methods: super::factors::methods_of(&mfa, recovery_codes_left),
    }))
}

#[utoipa::path(
    post,
    path = "/v1/me/mfa/totp",
    tag = "mfa",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A new secret; TOTP is enabled once `/v1/me/mfa/totp/confirm` accepts a code.", body = TotpEnrollmentResponse),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "TOTP is already enabled.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn enroll(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
) -> Result<Json<TotpEnrollmentResponse>, ApiError> {
    // Adding a factor needs a recent check, or a stolen access token could
    // add the thief's own factor and then pass every step-up with it.
    require_recent_mfa(&state, &caller).await?;
    let mut mfa = state.mfa.state(caller.user_id).await?;
    if mfa.totp_enabled_at.is_some() {
        return Err(ApiError::Conflict {
            detail: "TOTP is already enabled; disable it with DELETE /v1/me/mfa/totp first"
                .to_owned(),
        });
    }
    let user = state
        .users
        .find_by_id(caller.user_id)
        .await
        .map_err(|e| ApiError::internal("loading a user", e))?
        .ok_or(ApiError::NotFound)?;

    let bytes = random_bytes(SECRET_BYTES)?;
    let secret = Zeroizing::new(Secret::from(bytes.to_vec()).to_base32());
    let totp = generator(&secret, &state.config.mfa.totp_issuer, &user.email)?;
    let otpauth_uri = totp
        .to_url()
        .map_err(|e| ApiError::internal("building the otpauth URI", e))?;
    let qr_png_base64 = totp
        .to_qr_base64()
        .map_err(|e| ApiError::internal("drawing the QR code", e))?;

    mfa.totp_secret_ciphertext = Some(
        state
            .mfa
            .cipher
            .encrypt(TOTP_SECRET_COLUMN, &secret)
            .map_err(|e| ApiError::internal("encrypting a TOTP secret", e))?,
    );
    state.mfa.save(mfa).await?;
    audit_account_change(
        &state,
        caller.user_id,
        "mfa.totp.enroll",
        Outcome::Success,
        request_id(&headers),
    )
    .await?;
    Ok(Json(TotpEnrollmentResponse {
        otpauth_uri,
        secret: secret.to_string(),
        qr_png_base64,
    }))
}

#[utoipa::path(
    post,
    path = "/v1/me/mfa/totp/confirm",
    tag = "mfa",
    security(("bearer" = [])),
    request_body = CodeRequest,
    responses(
        (status = 200, description = "TOTP is enabled. The ten recovery codes are shown this once.", body = RecoveryCodesResponse),
        (status = 400, description = "The code is malformed or wrong.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No enrollment is pending, or TOTP is already enabled.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    StrictJson(request): StrictJson<CodeRequest>,
) -> Result<Json<RecoveryCodesResponse>, ApiError> {
    let request_id = request_id(&headers);
    require_recent_mfa(&state, &caller).await?;
    let mfa = state.mfa.state(caller.user_id).await?;
    if mfa.totp_enabled_at.is_some() || mfa.totp_secret_ciphertext.is_none() {
        return Err(ApiError::Conflict {
            detail: "no TOTP enrollment is pending; start one with POST /v1/me/mfa/totp".to_owned(),
        });
    }
    if !verify_totp(&state, caller.user_id, &request.code).await? {
        audit_account_change(
            &state,
            caller.user_id,
            "mfa.totp.confirm",
            Outcome::Failure,
            request_id,
        )
        .await?;
        return Err(ApiError::invalid_field(
            "code",
            "is wrong or was already used; enter the current code from the authenticator app",
        ));
    }

    // Reload: verify_totp stored the accepted step in the same row.
    let mut mfa = state.mfa.state(caller.user_id).await?;
    let now = OffsetDateTime::now_utc();
    mfa.totp_enabled_at = Some(now);
    state.mfa.save(mfa).await?;
    let recovery_codes = new_recovery_codes(&state, caller.user_id).await?;
    audit_account_change(
        &state,
        caller.user_id,
        "mfa.totp.enable",
        Outcome::Success,
        request_id,
    )
    .await?;
    tracing::info!(user_id = %caller.user_id, "enabled TOTP");
    Ok(Json(RecoveryCodesResponse { recovery_codes }))
}

#[utoipa::path(
    delete,
    path = "/v1/me/mfa/totp",
    tag = "mfa",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "TOTP is disabled; recovery codes are deleted unless a verified phone remains."),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`step-up-required`: pass an MFA check at /v1/me/step-up/verify first.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "TOTP is not enabled.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn disable(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
) -> Result<StatusCode, ApiError> {
    require_recent_mfa(&state, &caller).await?;
    let mut mfa = state.mfa.state(caller.user_id).await?;
    if mfa.totp_secret_ciphertext.is_none() {
        return Err(ApiError::NotFound);
    }
    mfa.totp_secret_ciphertext = None;
    mfa.totp_enabled_at = None;
    let keep_recovery = has_strong_factor(&mfa);
    state.mfa.save(mfa).await?;
    if !keep_recovery {
        state
            .mfa
            .store
            .replace_recovery_codes(caller.user_id, Vec::new())
            .await
            .map_err(|e| ApiError::internal("deleting recovery codes", e))?;
    }
    audit_account_change(
        &state,
        caller.user_id,
        "mfa.totp.disable",
        Outcome::Success,
        request_id(&headers),
    )
    .await?;
    tracing::info!(user_id = %caller.user_id, "disabled TOTP");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/v1/me/mfa/recovery-codes",
    tag = "mfa",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Ten new recovery codes, shown this once; the earlier ones stop working.", body = RecoveryCodesResponse),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`step-up-required`: pass an MFA check at /v1/me/step-up/verify first.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account has no TOTP or verified phone to recover.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
) -> Result<Json<RecoveryCodesResponse>, ApiError> {
    require_recent_mfa(&state, &caller).await?;
    let mfa = state.mfa.state(caller.user_id).await?;
    if !has_strong_factor(&mfa) {
        return Err(ApiError::Conflict {
            detail: "recovery codes need TOTP or a verified phone; enable one first".to_owned(),
        });
    }
    let recovery_codes = new_recovery_codes(&state, caller.user_id).await?;
    audit_account_change(
        &state,
        caller.user_id,
        "mfa.recovery_codes.regenerate",
        Outcome::Success,
        request_id(&headers),
    )
    .await?;
    Ok(Json(RecoveryCodesResponse { recovery_codes }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1 rows, truncated to six digits.
        let secret = Secret::from(b"12345678901234567890".to_vec()).to_base32();
        let totp = generator(&secret, "SharePay", "test@example.org").expect("generator");
        let vectors = [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ];
        for (time, expected) in vectors {
            assert_eq!(totp.generate(time).to_string(), expected, "time {time}");
        }
    }

    #[test]
    fn skew_accepts_one_step_either_side() {
        let secret = Secret::from(b"12345678901234567890".to_vec()).to_base32();
        let totp = generator(&secret, "SharePay", "test@example.org").expect("generator");
        let now = 1_111_111_111;
        let previous = totp.generate(now - 30).to_string();
        let two_back = totp.generate(now - 60).to_string();

        assert_eq!(totp.check(&previous, now), Some(now / 30 - 1));
        assert_eq!(totp.check(&two_back, now), None);
    }

    #[test]
    fn recovery_code_normalization() {
        assert_eq!(normalize_recovery_code("abcde-fghij"), "ABCDEFGHIJ");
        assert_eq!(normalize_recovery_code(" ABCDE FGHIJ "), "ABCDEFGHIJ");
    }
}
