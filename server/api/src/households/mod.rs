//! Households: creating one (the creator becomes its primary payer),
//! invitations, members and their roles, meters and meter reader
//! assignments.
//!
//! Every handler authorizes through [`access::Access`] before it reads or
//! changes a household's data, so a caller outside the household gets 404.
//! No handler hard-deletes a row.

pub mod access;
mod corrections;
mod members;
mod meters;
mod readings;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use sharepay_domain::authz::{Action, Resource, ResourceKind, Role};
use sharepay_domain::ids::UserId;
use sharepay_domain::wire::Problem;
use sharepay_domain::wire::households::{
    CreateHouseholdRequest, HouseholdListResponse, HouseholdResponse,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::AppState;
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::extract::{PathId, StrictJson};
use crate::store::households::HouseholdRow;

use access::{Access, in_household};

const MAX_NAME_CHARS: usize = 100;

/// Routes of the household endpoints, merged into the API router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/households",
            post(create_household).get(list_households),
        )
        .route("/v1/households/{household_id}", get(get_household))
        .route(
            "/v1/households/{household_id}/invitations",
            post(members::create_invitation),
        )
        .route("/v1/invitations/accept", post(members::accept_invitation))
        .route(
            "/v1/households/{household_id}/members",
            get(members::list_members),
        )
        .route(
            "/v1/households/{household_id}/members/{user_id}",
            axum::routing::delete(members::remove_member),
        )
        .route(
            "/v1/households/{household_id}/members/{user_id}/role",
            put(members::change_role),
        )
        .route(
            "/v1/households/{household_id}/meters",
            post(meters::create_meter).get(meters::list_meters),
        )
        .route("/v1/meters/{meter_id}/readers", post(meters::assign_reader))
        .route(
            "/v1/meters/{meter_id}/readings",
            post(readings::submit_reading),
        )
        .route(
            "/v1/readings/{reading_id}/corrections",
            post(corrections::correct_reading),
        )
}

#[utoipa::path(
    post,
    path = "/v1/households",
    tag = "households",
    security(("bearer" = [])),
    request_body = CreateHouseholdRequest,
    responses(
        (status = 201, description = "Created; the caller is its primary payer.", body = HouseholdResponse),
        (status = 400, description = "Invalid name.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_household(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    StrictJson(request): StrictJson<CreateHouseholdRequest>,
) -> Result<(StatusCode, Json<HouseholdResponse>), ApiError> {
    let access = Access::load(&state, caller, request_id(&headers)).await?;
    let mut resource = Resource::new(ResourceKind::Household);
    resource.owner = Some(UserId(caller.user_id));
    access.require(&state, Action::Write, &resource).await?;

    let name = validate_text("name", &request.name, MAX_NAME_CHARS)?;
    let household = HouseholdRow {
        id: Uuid::now_v7(),
        name,
        created_by: caller.user_id,
        created_at: now(),
    };
    let member = state
        .store
        .create_household(household.clone())
        .await
        .map_err(|e| ApiError::internal("creating a household", e))?;
    tracing::info!(household_id = %household.id, user_id = %caller.user_id, "created a household");
    Ok((
        StatusCode::CREATED,
        Json(household_response(&household, member.role)?),
    ))
}

#[utoipa::path(
    get,
    path = "/v1/households",
    tag = "households",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's households with their role in each.", body = HouseholdListResponse),
        (status = 401, description = "Not signed in.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_households(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
) -> Result<Json<HouseholdListResponse>, ApiError> {
    let access = Access::load(&state, caller, request_id(&headers)).await?;
    let mut households = Vec::new();
    for membership in &access.principal.memberships {
        let resource = in_household(
            ResourceKind::Household,
            Some(membership.household.0),
            membership.household.0,
        );
        access.require(&state, Action::Read, &resource).await?;
        let household = load_household(&state, membership.household.0).await?;
        households.push(household_response(&household, membership.role)?);
    }
    Ok(Json(HouseholdListResponse { households }))
}

#[utoipa::path(
    get,
    path = "/v1/households/{household_id}",
    tag = "households",
    security(("bearer" = [])),
    params(("household_id" = String, Path, description = "UUIDv7 of the household")),
    responses(
        (status = 200, description = "The household with the caller's role.", body = HouseholdResponse),
        (status = 404, description = "No such household, or not the caller's.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_household(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(household_id): PathId,
) -> Result<Json<HouseholdResponse>, ApiError> {
    let access = Access::load(&state, caller, request_id(&headers)).await?;
    let resource = in_household(ResourceKind::Household, Some(household_id), household_id);
    access.require(&state, Action::Read, &resource).await?;

    let household = load_household(&state, household_id).await?;
    let role = access
        .principal
        .memberships
        .iter()
        .find(|membership| membership.household.0 == household_id)
        .map(|membership| membership.role)
        .ok_or(ApiError::NotFound)?;
    Ok(Json(household_response(&household, role)?))
}

async fn load_household(state: &AppState, id: Uuid) -> Result<HouseholdRow, ApiError> {
    state
        .store
        .find_household(id)
        .await
        .map_err(|e| ApiError::internal("loading a household", e))?
        .ok_or(ApiError::NotFound)
}

fn household_response(household: &HouseholdRow, role: Role) -> Result<HouseholdResponse, ApiError> {
    Ok(HouseholdResponse {
        household_id: household.id.to_string(),
        name: household.name.clone(),
        role,
        created_at: rfc3339(household.created_at)?,
    })
}

/// Returns the current time to the second, the precision both backends store.
pub(crate) fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

pub(crate) fn rfc3339(time: OffsetDateTime) -> Result<String, ApiError> {
    time.format(&Rfc3339)
        .map_err(|e| ApiError::internal("formatting a timestamp", e))
}

pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(crate::middleware::REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// Trims `value` and checks that it has 1 to `max_chars` characters and no
/// control character.
pub(crate) fn validate_text(
    field: &str,
    value: &str,
    max_chars: usize,
) -> Result<String, ApiError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ApiError::invalid_field(field, "must not be empty"));
    }
    if trimmed.chars().count() > max_chars {
        return Err(ApiError::invalid_field(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if trimmed.chars().any(sharepay_domain::text::is_hidden_char) {
        return Err(ApiError::invalid_field(
            field,
            sharepay_domain::text::HIDDEN_CHAR_MESSAGE,
        ));
    }
    Ok(trimmed.to_owned())
}

/// The OpenAPI paths of the household endpoints, nested into the API document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_household,
    list_households,
    get_household,
    members::create_invitation,
    members::accept_invitation,
    members::list_members,
    members::change_role,
    members::remove_member,
    meters::create_meter,
    meters::list_meters,
    meters::assign_reader,
    readings::submit_reading,
    corrections::correct_reading,
))]
pub struct HouseholdsApi;
