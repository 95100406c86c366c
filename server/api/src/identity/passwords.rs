//! Password changes with the history rule: the domain policy checks the
//! candidate against the user's last five hashes, which the server loads
//! from the store and verifies with their own salts and peppers.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use sharepay_domain::password::{
    NormalizedPassword, PasswordCheckError, PasswordHistory, PasswordPolicy, PersonalInfo,
};
use sharepay_domain::wire::auth::ChangePasswordRequest;
use sharepay_domain::wire::{FieldError, Problem};
use time::OffsetDateTime;
use uuid::Uuid;

use super::login::{ThrottleKeys, check_not_locked, record_failure, stored_hash};
use crate::AppState;
use crate::audit::{Actor, AuditEvent, AuditKind, Outcome};
use crate::auth::AuthenticatedUser;
use crate::auth::password::{PasswordHashing, StoredHash, Verification, VersionedHash};
use crate::error::ApiError;
use crate::extract::StrictJson;
use crate::routes::{record, request_id};
use crate::store::credentials::PasswordRow;

/// The user's recent hashes, loaded from the store, as the domain policy's
/// history. Verifying runs Argon2id, so call it from a blocking task.
struct LoadedHistory {
    hashing: Arc<PasswordHashing>,
    hashes: Vec<StoredHash>,
}

#[derive(Debug, thiserror::Error)]
#[error("the password history cannot fail once loaded")]
struct HistoryError;

impl PasswordHistory for LoadedHistory {
    type Error = HistoryError;

    fn matches_recent(
        &self,
        candidate: &NormalizedPassword,
        count: usize,
    ) -> Result<bool, HistoryError> {
        let password = candidate.expose().as_bytes();
        Ok(self.hashes.iter().take(count).any(|stored| {
            matches!(
                self.hashing.verify_blocking(password, stored),
                Verification::Valid { .. }
            )
        }))
    }
}

/// Records the pepper version of a new user's hash when it is not the
/// column default of 1.
pub async fn record_pepper_version(
    state: &AppState,
    user_id: Uuid,
    hash: VersionedHash,
) -> Result<(), ApiError> {
    if hash.pepper_version == 1 {
        return Ok(());
    }
    // NOTE: this runs after the user row is committed; a crash in between
    // leaves a hash whose version reads 1, so that user's logins fail until
    // the password is reset.
    let as_inserted = PasswordRow {
        phc: hash.phc.clone(),
        pepper_version: 1,
    };
    let actual = PasswordRow {
        phc: hash.phc,
        pepper_version: hash.pepper_version,
    };
    state
        .identity
        .rehash_password(user_id, &as_inserted, &actual)
        .await
        .map_err(|e| ApiError::internal("storing the pepper version", e))?;
    Ok(())
}

#[utoipa::path(
    post,
    path = "/v1/me/password",
    tag = "account",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "The password changed; every other session ended."),
        (status = 400, description = "The current password is wrong, or the new one fails the policy or was one of the last five; `errors` names each field.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The password changed concurrently; try again.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests or failed attempts.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    client: super::client::ClientInfo,
    StrictJson(request): StrictJson<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let current_password = crate::validate::login_password(&request.current_password)?;
    super::step_up::require_recent_mfa(&state, &caller).await?;
    let request_id = request_id(&headers);
    let user = state
        .users
        .find_by_id(caller.user_id)
        .await
        .map_err(|e| ApiError::internal("loading a user", e))?
        .ok_or(ApiError::NotFound)?;
    let keys = ThrottleKeys::new(&state, &user.email, client.ip_address.as_deref())?;
    check_not_locked(&state, &keys).await?;

    let policy = PasswordPolicy::default();
    let recent = state
        .identity
        .recent_passwords(user.id, policy.history_count.max(1))
        .await
        .map_err(|e| ApiError::internal("loading password hashes", e))?;
    let current = recent.first().cloned().ok_or(ApiError::NotFound)?;
    let verified = state
        .passwords
        .verify(current_password, Some(stored_hash(current.clone())))
        .await?;
    if verified == Verification::Invalid {
        record_failure(&state, &keys).await?;
        let event = AuditEvent::new(
            AuditKind::Authentication,
            Actor::User(user.id),
            "auth.password_change",
            &format!("user:{}", user.id),
            Outcome::Failure,
        )
        .reason("wrong current password")
        .request_id(request_id);
        record(&state, event).await?;
        return Err(ApiError::invalid_field(
            "current_password",
            "is wrong; enter the password you log in with",
        ));
    }

    let new_password =
        check_new_password(&state, &policy, &request.new_password, &user.email, recent).await?;
    let fresh = state.passwords.hash(new_password).await?;
    let replacement = PasswordRow {
        phc: fresh.phc,
        pepper_version: fresh.pepper_version,
    };
    let changed = state
        .identity
        .change_password(
            user.id,
            &current,
            &replacement,
            policy.history_count.saturating_sub(1),
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(|e| ApiError::internal("storing a new password", e))?;
    if !changed {
        return Err(ApiError::Conflict {
            detail: "the password changed during this request; try again".to_owned(),
        });
    }
    let revoked = state
        .identity
        .revoke_sessions_except(user.id, Some(caller.session_id))
        .await
        .map_err(|e| ApiError::internal("ending other sessions", e))?;
    let event = AuditEvent::new(
        AuditKind::Authentication,
        Actor::User(user.id),
        "auth.password_change",
        &format!("user:{}", user.id),
        Outcome::Success,
    )
    .request_id(request_id)
    .details(serde_json::json!({ "sessions_revoked": revoked }));
    record(&state, event).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Runs the whole domain policy, history included, on a hashing thread. Returns the normalized password to hash.
async fn check_new_password(
    state: &AppState,
    policy: &PasswordPolicy,
    raw: &str,
    email: &str,
    recent: Vec<PasswordRow>,
) -> Result<SecretString, ApiError> {
    let turn = state.passwords.acquire().await?;
    let history = LoadedHistory {
        hashing: Arc::clone(&state.passwords),
        hashes: recent.into_iter().map(stored_hash).collect(),
    };
    let policy = policy.clone();
    let raw = SecretString::from(raw);
    let email = email.to_owned();
    let hashing = Arc::clone(&state.passwords);
    let outcome = hashing
        .run(move || {
            let _turn = turn;
            let personal = PersonalInfo {
                email: &email,
                name: "",
            };
            policy
                .check_with_history(raw.expose_secret(), &personal, &history)
                .map(|normalized| SecretString::from(normalized.expose()))
        })
        .await?;
    match outcome {
        Ok(password) => Ok(password),
        Err(PasswordCheckError::Rejected(rejection)) => Err(ApiError::invalid_fields(
            rejection
                .violations
                .iter()
                .map(|violation| FieldError {
                    field: "new_password".to_owned(),
                    message: violation.to_string(),
                })
                .collect(),
        )),
        Err(PasswordCheckError::History(e)) => {
            Err(ApiError::internal("checking the password history", e))
        }
    }
}
