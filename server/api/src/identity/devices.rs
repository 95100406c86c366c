//! Known devices: the fingerprints from which a user registered or passed
//! MFA. A login from any other device must pass MFA, and the user gets an
//! email about it.
//!
//! An account with no device on record (registered by a client that sent
//! no fingerprint) trusts the first device that logs in, so that such
//! accounts are not asked for MFA at their very first login. A login
//! without a fingerprint counts as an unknown device once the account has
//! any device on record.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use sharepay_domain::wire::Problem;
use sharepay_domain::wire::mfa::{DeviceListResponse, DeviceRevokedResponse, DeviceView};
use time::OffsetDateTime;
use uuid::Uuid;

use super::client::ClientInfo;
use super::mfa::format_time;
use crate::AppState;
use crate::audit::{Actor, AuditEvent, AuditKind, Outcome};
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::extract::PathId;
use crate::notify::Channel;
use crate::routes::{record, request_id};
use crate::store::mfa::DeviceRow;
use crate::store::users::UserRecord;

/// The relation of a login's device to the user's known devices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceStatus {
    /// A device of the user that was not revoked.
    Known,
    /// The account has no device on record yet; this one is trusted.
    FirstDevice,
    /// Any other device, including a revoked one or a missing fingerprint.
    New,
}

/// Classifies the device of a login.
pub async fn status(
    state: &AppState,
    user_id: Uuid,
    fingerprint: Option<&str>,
) -> Result<DeviceStatus, ApiError> {
    let store = &state.mfa.store;
    if let Some(fingerprint) = fingerprint {
        let device = store
            .find_device(user_id, fingerprint)
            .await
            .map_err(|e| ApiError::internal("loading a device", e))?;
        if let Some(device) = device {
            return Ok(match device.revoked_at {
                None => DeviceStatus::Known,
                Some(_) => DeviceStatus::New,
            });
        }
    }
    let recorded = store
        .count_devices(user_id)
        .await
        .map_err(|e| ApiError::internal("counting devices", e))?;
    Ok(if recorded == 0 {
        DeviceStatus::FirstDevice
    } else {
        DeviceStatus::New
    })
}

/// Records `fingerprint` as a known device of the user, or refreshes its
/// last-seen time.
pub async fn remember(
    state: &AppState,
    user_id: Uuid,
    fingerprint: &str,
    user_agent: Option<String>,
) -> Result<Uuid, ApiError> {
    let now = OffsetDateTime::now_utc();
    state
        .mfa
        .store
        .remember_device(DeviceRow {
            id: Uuid::now_v7(),
            user_id,
            fingerprint: fingerprint.to_owned(),
            first_seen_at: now,
            last_seen_at: now,
            user_agent,
            revoked_at: None,
        })
        .await
        .map_err(|e| ApiError::internal("storing a known device", e))
}

/// Moves a known device's last-seen time forward at a token refresh. A
/// failure is logged and does not fail the refresh.
pub async fn touch(state: &AppState, user_id: Uuid, fingerprint: &str) {
    let touched = state
        .mfa
        .store
        .touch_device(user_id, fingerprint, OffsetDateTime::now_utc())
        .await;
    if let Err(e) = touched {
        tracing::warn!(%user_id, error = %e, "updating a device's last-seen time failed");
    }
}

/// Handles a login from a new device whose password was correct: audits
/// it as a security event and emails the user. The login itself goes on to
/// an MFA challenge.
pub async fn on_new_device(
    state: &AppState,
    user: &UserRecord,
    fingerprint: Option<&str>,
    client: &ClientInfo,
    request_id: Option<&str>,
) -> Result<(), ApiError> {
    let event = AuditEvent::new(
        AuditKind::SecurityEvent,
        Actor::User(user.id),
        "device.new",
        &format!("user:{}", user.id),
        Outcome::Success,
    )
    .reason("password accepted from an unknown device; MFA required")
    .request_id(request_id)
    .details(serde_json::json!({
        "device_fingerprint": fingerprint,
        "user_agent": client.user_agent,
    }));
    record(state, event).await?;

    let device = client
        .user_agent
        .as_deref()
        .unwrap_or("an unidentified device");
    let address = client.ip_address.as_deref().unwrap_or("an unknown address");
    let when = format_time(OffsetDateTime::now_utc())?;
    let body = format!(
        "Someone signed in to your SharePay account with your password on a new device.\n\n\
         Device: {device}\nAddress: {address}\nTime: {when}\n\n\
         The sign-in still needs your second factor. If this was not you, change your \
         password now and review your devices in the app."
    );
    state
        .mfa
        .outbox
        .enqueue(
            "new_device",
            Channel::Email,
            &user.email,
            "New sign-in on your SharePay account",
            &body,
        )
        .await
        .map_err(|e| ApiError::internal("queueing a new-device email", e))?;
    tracing::info!(user_id = %user.id, "login from a new device");
    Ok(())
}

#[utoipa::path(
    get,
    path = "/v1/devices",
    tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed-in user's known devices, oldest first.", body = DeviceListResponse),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: AuthenticatedUser,
) -> Result<Json<DeviceListResponse>, ApiError> {
    let devices = state
        .mfa
        .store
        .list_devices(caller.user_id)
        .await
        .map_err(|e| ApiError::internal("listing devices", e))?;
    let devices = devices
        .into_iter()
        .map(device_view)
        .collect::<Result<_, _>>()?;
    Ok(Json(DeviceListResponse { devices }))
}

#[utoipa::path(
    delete,
    path = "/v1/devices/{id}",
    tag = "account",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Device id (UUIDv7).")),
    responses(
        (status = 200, description = "The device is revoked and its sessions ended; its next login needs MFA.", body = DeviceRevokedResponse),
        (status = 400, description = "The id is not a UUIDv7.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is missing, invalid or expired.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The user has no such device.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(device_id): PathId,
) -> Result<Json<DeviceRevokedResponse>, ApiError> {
    let sessions_ended = state
        .mfa
        .store
        .revoke_device(caller.user_id, device_id, OffsetDateTime::now_utc())
        .await
        .map_err(|e| ApiError::internal("revoking a device", e))?
        .ok_or(ApiError::NotFound)?;
    let event = AuditEvent::new(
        AuditKind::Authentication,
        Actor::User(caller.user_id),
        "device.revoke",
        &format!("device:{device_id}"),
        Outcome::Success,
    )
    .request_id(request_id(&headers))
    .details(serde_json::json!({ "sessions_ended": sessions_ended }));
    record(&state, event).await?;
    Ok(Json(DeviceRevokedResponse { sessions_ended }))
}

fn device_view(device: DeviceRow) -> Result<DeviceView, ApiError> {
    Ok(DeviceView {
        id: device.id.to_string(),
        fingerprint: device.fingerprint,
        user_agent: device.user_agent,
        first_seen_at: format_time(device.first_seen_at)?,
        last_seen_at: format_time(device.last_seen_at)?,
        revoked_at: device.revoked_at.map(format_time).transpose()?,
    })
}
