//! Saved cards. The phone requests a single-use intake token, posts the
//! card with it straight to the vault, and registers the vault's `tok_`
//! token here. The API looks the token up at the vault for the caller and
//! stores the vault's display data. It never receives a
//! card number, and deleting a saved card deletes it at the vault too.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use secrecy::ExposeSecret;
use sharepay_domain::authz::{Action, Resource, ResourceKind};
use sharepay_domain::ids::{ResourceId, UserId};
use sharepay_domain::wire::Problem;
use sharepay_domain::wire::payments::{
    IntakeTokenResponse, PaymentMethodListResponse, PaymentMethodResponse,
    RegisterPaymentMethodRequest,
};
use sharepay_vault::ServiceError;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::AppState;
use crate::audit::Outcome;
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::extract::{PathId, StrictJson};
use crate::households::access::Access;
use crate::households::{now, request_id, rfc3339};
use crate::store::StoreError;
use crate::store::money::{PaymentMethodRow, PaymentScope};

/// A payment method of `owner`; account-wide, so it has no household.
fn method_resource(id: Option<Uuid>, owner: Uuid) -> Resource {
    let mut resource = Resource::new(ResourceKind::PaymentMethod);
    resource.id = id.map(ResourceId);
    resource.owner = Some(UserId(owner));
    resource
}

fn method_response(method: &PaymentMethodRow) -> Result<PaymentMethodResponse, ApiError> {
    Ok(PaymentMethodResponse {
        payment_method_id: method.id.to_string(),
        brand: method.brand.clone(),
        last4: method.last4.clone(),
        expiry_month: method.expiry_month,
        expiry_year: method.expiry_year,
        created_at: rfc3339(method.created_at)?,
    })
}

#[utoipa::path(
    post,
    path = "/v1/payment-methods/intake-token",
    tag = "money",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "A single-use token for posting one card to the vault, valid for minutes.", body = IntakeTokenResponse),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The device first signed in less than the configured window ago (`new-device-payment-change`); save the card from an older device or after the time in `detail`.", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "The vault call failed; retry later.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn issue_intake_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
) -> Result<(StatusCode, Json<IntakeTokenResponse>), ApiError> {
    let request_id = request_id(&headers);
    let access = Access::load(&state, caller, request_id.clone()).await?;
    access
        .require(
            &state,
            Action::Write,
            &method_resource(None, caller.user_id),
        )
        .await?;
    // Checked here as well, so a phone on a new device learns it before
    // posting the card to the vault.
    reject_new_device(&state, &caller, request_id.as_deref()).await?;

    let intake = state
        .vault
        .issue_intake_token(UserId(caller.user_id))
        .await
        .map_err(vault_unavailable)?;
    Ok((
        StatusCode::CREATED,
        Json(IntakeTokenResponse {
            intake_token: intake.token.expose_secret().to_owned(),
            expires_at: rfc3339(intake.expires_at)?,
            vault_url: state.vault_phone_url.clone(),
        }),
    ))
}

#[utoipa::path(
    post,
    path = "/v1/payment-methods",
    tag = "money",
    security(("bearer" = [])),
    request_body = RegisterPaymentMethodRequest,
    responses(
        (status = 200, description = "This card was already saved: the existing payment method, with the vault's current expiry.", body = PaymentMethodResponse),
        (status = 201, description = "The saved card, with display data only.", body = PaymentMethodResponse),
        (status = 400, description = "A field is invalid, the card has expired, or the vault has no such card for the caller; `errors` names each field.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The session needs a recent MFA check (`step-up-required`); pass one with /v1/me/step-up and retry. Or the device first signed in less than the configured window ago (`new-device-payment-change`); save the card from an older device or after the time in `detail`.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn register_payment_method(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    StrictJson(request): StrictJson<RegisterPaymentMethodRequest>,
) -> Result<(StatusCode, Json<PaymentMethodResponse>), ApiError> {
    let request_id = request_id(&headers);
    let access = Access::load(&state, caller, request_id.clone()).await?;
    access
        .require(
            &state,
            Action::Write,
            &method_resource(None, caller.user_id),
        )
        .await?;
    // step-up: a new card needs an MFA check from this session within the
    // configured window, so a stolen access token alone cannot add one.
    crate::identity::step_up::require_recent_mfa(&state, &caller).await?;
    reject_new_device(&state, &caller, request_id.as_deref()).await?;

    let today = now().date();
    request
        .validate(today.year().clamp(0, 9999) as u16, u8::from(today.month()))
        .map_err(ApiError::invalid_fields)?;
    // Look the token up at the vault for this caller. Another user's token
    // is not found, and the stored display data is the vault's, not what
    // the phone sent.
    let card = match state
        .vault
        .card(UserId(caller.user_id), &request.vault_token)
        .await
    {
        Ok(card) => card,
        Err(ServiceError::NotFound) => {
            return Err(ApiError::invalid_field(
                "vault_token",
                "is not a card you saved at the vault; save the card at the vault again",
            ));
        }
        Err(e) => return Err(vault_unavailable(e)),
    };
    let method = PaymentMethodRow {
        id: Uuid::now_v7(),
        user_id: caller.user_id,
        vault_token: card.token,
        brand: card.brand.slug().to_owned(),
        last4: card.last4,
        expiry_month: u8::try_from(card.expiry_month)
            .map_err(|e| ApiError::internal("reading the vault's card expiry", e))?,
        expiry_year: u16::try_from(card.expiry_year)
            .map_err(|e| ApiError::internal("reading the vault's card expiry", e))?,
        created_at: now(),
        deleted_at: None,
    };
    match state.store.insert_payment_method(method.clone()).await {
        Ok(()) => {}
        // The vault hands back the first token when a user saves the same
        // card again, so the card is already stored: return that one, with
        // the expiry the vault now holds.
        Err(StoreError::Duplicate(_)) => {
            return saved_method(&state, &method).await;
        }
        Err(e) => return Err(ApiError::internal("storing a payment method", e)),
    }
    super::audit_change(
        &state,
        caller.user_id,
        "payment_method.create",
        format!("payment_method:{}", method.id),
        Outcome::Success,
        request_id.as_deref(),
        serde_json::json!({"brand": method.brand}),
    )
    .await?;
    tracing::info!(user_id = %caller.user_id, payment_method_id = %method.id, "saved a payment method");
    Ok((StatusCode::CREATED, Json(method_response(&method)?)))
}

/// Returns, for a repeated registration, the live payment method of the
/// same user and vault token, with the display data of `registered`.
async fn saved_method(
    state: &AppState,
    registered: &PaymentMethodRow,
) -> Result<(StatusCode, Json<PaymentMethodResponse>), ApiError> {
    let user_id = registered.user_id;
    let token = registered.vault_token.as_bytes();
    let methods = state
        .store
        .list_payment_methods(user_id)
        .await
        .map_err(|e| ApiError::internal("listing payment methods", e))?;
    let existing = methods
        .into_iter()
        .find(|method| bool::from(method.vault_token.as_bytes().ct_eq(token)))
        .ok_or_else(|| {
            ApiError::internal(
                "finding a repeated payment method",
                "the store refused a duplicate but lists no card with its token",
            )
        })?;
    let refreshed = PaymentMethodRow {
        brand: registered.brand.clone(),
        last4: registered.last4.clone(),
        expiry_month: registered.expiry_month,
        expiry_year: registered.expiry_year,
        ..existing
    };
    state
        .store
        .update_payment_method_display(refreshed.clone())
        .await
        .map_err(|e| ApiError::internal("updating a payment method", e))?;
    tracing::info!(%user_id, payment_method_id = %refreshed.id, "a saved card was saved again");
    Ok((StatusCode::OK, Json(method_response(&refreshed)?)))
}

#[utoipa::path(
    get,
    path = "/v1/payment-methods",
    tag = "money",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's saved cards.", body = PaymentMethodListResponse),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_payment_methods(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
) -> Result<Json<PaymentMethodListResponse>, ApiError> {
    let access = Access::load(&state, caller, request_id(&headers)).await?;
    access
        .require(&state, Action::Read, &method_resource(None, caller.user_id))
        .await?;

    let methods = state
        .store
        .list_payment_methods(caller.user_id)
        .await
        .map_err(|e| ApiError::internal("listing payment methods", e))?;
    let payment_methods = methods
        .iter()
        .map(method_response)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(PaymentMethodListResponse { payment_methods }))
}

#[utoipa::path(
    delete,
    path = "/v1/payment-methods/{payment_method_id}",
    tag = "money",
    security(("bearer" = [])),
    params(("payment_method_id" = String, Path, description = "UUIDv7 of the payment method")),
    responses(
        (status = 204, description = "Deleted here and at the vault."),
        (status = 404, description = "No such payment method, or not the caller's.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A payment with this card has no known outcome yet; retry it with its key first.", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "The vault call failed; retry later.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_payment_method(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(payment_method_id): PathId,
) -> Result<StatusCode, ApiError> {
    let request_id = request_id(&headers);
    let access = Access::load(&state, caller, request_id.clone()).await?;
    let method = state
        .store
        .find_payment_method(payment_method_id)
        .await
        .map_err(|e| ApiError::internal("loading a payment method", e))?
        .filter(|method| method.deleted_at.is_none())
        .ok_or(ApiError::NotFound)?;
    access
        .require(
            &state,
            Action::Delete,
            &method_resource(Some(method.id), method.user_id),
        )
        .await?;
    // Only a retry with its key finishes a payment whose outcome is not
    // known yet. The retry needs the card, so deleting it would block the
    // charge.
    let pending = state
        .store
        .list_payments(PaymentScope::User(method.user_id))
        .await
        .map_err(|e| ApiError::internal("listing payments", e))?
        .into_iter()
        .any(|payment| payment.payment_method_id == method.id && payment.status == "pending");
    if pending {
        return Err(ApiError::Conflict {
            detail: "a payment with this card has no known outcome yet; pay that charge \
                     with this card again, which finishes the payment without charging twice, \
                     then delete the card"
                .to_owned(),
        });
    }

    match state
        .vault
        .delete_card(UserId(method.user_id), &method.vault_token)
        .await
    {
        // A card the vault no longer has is already gone there.
        Ok(()) | Err(ServiceError::NotFound) => {}
        Err(e) => return Err(vault_unavailable(e)),
    }
    state
        .store
        .delete_payment_method(method.id, now())
        .await
        .map_err(|e| ApiError::internal("deleting a payment method", e))?;
    super::audit_change(
        &state,
        caller.user_id,
        "payment_method.delete",
        format!("payment_method:{}", method.id),
        Outcome::Success,
        request_id.as_deref(),
        serde_json::json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rejects a card from the caller's device while its first sign-in is
/// recent, a takeover pattern. The account stays open, so the user's other
/// devices keep working.
async fn reject_new_device(
    state: &AppState,
    caller: &AuthenticatedUser,
    request_id: Option<&str>,
) -> Result<(), ApiError> {
    let allowed_at =
        crate::security::rules::note_payment_method_change(state, caller, request_id).await?;
    let Some(allowed_at) = allowed_at else {
        return Ok(());
    };
    tracing::info!(user_id = %caller.user_id, %allowed_at, "rejected a card from a new device");
    Err(ApiError::NewDevicePaymentChange {
        allowed_at: rfc3339(allowed_at)?,
    })
}

/// Maps a failed vault call to an internal error. The cause goes to the
/// log and never contains card data.
pub(super) fn vault_unavailable(error: ServiceError) -> ApiError {
    ApiError::internal("calling the vault", error)
}
