//! Invitations and members: a primary payer invites with a role, the
//! invitee accepts with the code (single use, expiring), and a primary
//! payer changes a member's role or removes them.
//!
//! An invitation code is 128 random bits, shown once in the response and
//! stored only as its SHA-256; it must never be logged.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};
use sharepay_domain::authz::{Action, ResourceKind, Role};
use sharepay_domain::wire::Problem;
use sharepay_domain::wire::households::{
    AcceptInvitationRequest, ChangeRoleRequest, CreateInvitationRequest, InvitationResponse,
    MemberListResponse, MemberResponse,
};
use uuid::Uuid;

use super::access::{Access, in_household};
use super::{now, request_id, rfc3339};
use crate::AppState;
use crate::audit::{Actor, AuditEvent, AuditKind, Outcome};
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::extract::{PathId, StrictJson, parse_v7};
use crate::store::households::{AcceptOutcome, InvitationRow, MemberRow};
use crate::store::money::ChargeScope;

const DEFAULT_INVITATION_HOURS: u32 = 72;
const MAX_INVITATION_HOURS: u32 = 30 * 24;
const CODE_BYTES: usize = 16;
/// Maximum length of a code in a request; a real code is 22 characters.
const MAX_CODE_CHARS: usize = 64;

#[utoipa::path(
    post,
    path = "/v1/households/{household_id}/invitations",
    tag = "households",
    security(("bearer" = [])),
    params(("household_id" = String, Path, description = "UUIDv7 of the household")),
    request_body = CreateInvitationRequest,
    responses(
        (status = 201, description = "Created; the code is shown only here.", body = InvitationResponse),
        (status = 400, description = "Invalid role or lifetime.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only a primary payer invites.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such household, or not the caller's.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(household_id): PathId,
    StrictJson(request): StrictJson<CreateInvitationRequest>,
) -> Result<(StatusCode, Json<InvitationResponse>), ApiError> {
    let access = Access::load(&state, caller, request_id(&headers)).await?;
    let resource = in_household(ResourceKind::Member, None, household_id);
    access.require(&state, Action::Manage, &resource).await?;

    let role = household_role("role", request.role)?;
    let hours = request.expires_in_hours.unwrap_or(DEFAULT_INVITATION_HOURS);
    if !(1..=MAX_INVITATION_HOURS).contains(&hours) {
        return Err(ApiError::invalid_field(
            "expires_in_hours",
            format!("{hours} is out of range; use 1 to {MAX_INVITATION_HOURS}"),
        ));
    }

    let code = new_code()?;
    let created_at = now();
    let invitation = InvitationRow {
        id: Uuid::now_v7(),
        household_id,
        role,
        code_hash: code_hash(&code),
        created_by: caller.user_id,
        created_at,
        expires_at: created_at + time::Duration::hours(i64::from(hours)),
    };
    state
        .store
        .insert_invitation(invitation.clone())
        .await
        .map_err(|e| ApiError::internal("storing an invitation", e))?;
    tracing::info!(%household_id, invitation_id = %invitation.id, role = role.name(), "created an invitation");
    Ok((
        StatusCode::CREATED,
        Json(InvitationResponse {
            invitation_id: invitation.id.to_string(),
            household_id: household_id.to_string(),
            code,
            role,
            expires_at: rfc3339(invitation.expires_at)?,
        }),
    ))
}

#[utoipa::path(
    post,
    path = "/v1/invitations/accept",
    tag = "households",
    security(("bearer" = [])),
    request_body = AcceptInvitationRequest,
    responses(
        (status = 200, description = "The caller is now a member.", body = MemberResponse),
        (status = 404, description = "No invitation has this code.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code has expired or was already used, or the caller is already a member of the household (the invitation then stays unused); the detail says which.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn accept_invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    StrictJson(request): StrictJson<AcceptInvitationRequest>,
) -> Result<Json<MemberResponse>, ApiError> {
    // The code itself is the grant: any signed-in user who has it may
    // join, so no matrix cell is consulted. The attempt is audited.
    let code = request.code.trim();
    if code.is_empty() || code.len() > MAX_CODE_CHARS {
        return Err(ApiError::invalid_field(
            "code",
            format!("must be 1 to {MAX_CODE_CHARS} characters"),
        ));
    }
    let outcome = state
        .store
        .accept_invitation(code_hash(code), caller.user_id, now())
        .await
        .map_err(|e| ApiError::internal("accepting an invitation", e))?;

    let (result, reason) = match outcome {
        AcceptOutcome::Accepted(member) => (Ok(member), "accepted"),
        AcceptOutcome::Unknown => (Err(ApiError::NotFound), "unknown code"),
        // A caller with a valid code may learn what became of it. An
        // invitee who finds their code used by someone else should know,
        // so that the household can remove that person.
        AcceptOutcome::Expired => (
            Err(ApiError::Conflict {
                detail: "this invitation code has expired; ask a primary payer of the \
                         household for a new invitation"
                    .to_owned(),
            }),
            "expired",
        ),
        AcceptOutcome::AlreadyUsed => (
            Err(ApiError::Conflict {
                detail: "this invitation code was already used; ask a primary payer of the \
                         household for a new invitation, and tell them if it was not you who \
                         used it"
                    .to_owned(),
            }),
            "already used",
        ),
        AcceptOutcome::AlreadyMember => (
            Err(ApiError::Conflict {
                detail: "you are already a member of this household; the invitation was not \
                         used, and a primary payer can change your role instead"
                    .to_owned(),
            }),
            "already a member",
        ),
    };
    let (outcome, resource) = match &result {
        Ok(member) => (
            Outcome::Success,
            format!("household:{}", member.household_id),
        ),
        Err(_) => (Outcome::Denied, "invitation".to_owned()),
    };
    let event = AuditEvent::new(
        AuditKind::Authorization,
        Actor::User(caller.user_id),
        "invitation.accept",
        &resource,
        outcome,
    )
    .reason(reason)
    .request_id(request_id(&headers).as_deref());
    state
        .audit
        .record(event)
        .await
        .map_err(|e| ApiError::internal("recording an invitation acceptance", e))?;
    Ok(Json(member_response(&result?)?))
}

#[utoipa::path(
    get,
    path = "/v1/households/{household_id}/members",
    tag = "households",
    security(("bearer" = [])),
    params(("household_id" = String, Path, description = "UUIDv7 of the household")),
    responses(
        (status = 200, description = "Current members, oldest first.", body = MemberListResponse),
        (status = 404, description = "No such household, or not the caller's.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_members(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    PathId(household_id): PathId,
) -> Result<Json<MemberListResponse>, ApiError> {
    let access = Access::load(&state, caller, request_id(&headers)).await?;
    let resource = in_household(ResourceKind::Member, None, household_id);
    access.require(&state, Action::Read, &resource).await?;

    let members = state
        .store
        .list_members(household_id)
        .await
        .map_err(|e| ApiError::internal("listing members", e))?;
    let members = members
        .iter()
        .map(member_response)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(MemberListResponse { members }))
}

#[utoipa::path(
    put,
    path = "/v1/households/{household_id}/members/{user_id}/role",
    tag = "households",
    security(("bearer" = [])),
    params(
        ("household_id" = String, Path, description = "UUIDv7 of the household"),
        ("user_id" = String, Path, description = "UUIDv7 of the member"),
    ),
    request_body = ChangeRoleRequest,
    responses(
        (status = 200, description = "The member with the new role.", body = MemberResponse),
        (status = 403, description = "Only a primary payer changes roles.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such member in the caller's household.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The change would leave no primary payer.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change_role(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    Path((household_id, user_id)): Path<(String, String)>,
    StrictJson(request): StrictJson<ChangeRoleRequest>,
) -> Result<Json<MemberResponse>, ApiError> {
    let household_id = parse_v7("household_id", &household_id)?;
    let user_id = parse_v7("user_id", &user_id)?;
    let access = Access::load(&state, caller, request_id(&headers)).await?;
    let resource = in_household(ResourceKind::Member, Some(user_id), household_id);
    access.require(&state, Action::Manage, &resource).await?;

    let role = household_role("role", request.role)?;
    let members = load_members(&state, household_id).await?;
    let member = find_member(&members, user_id)?;
    if member.role == Role::PrimaryPayer && role != Role::PrimaryPayer {
        ensure_other_primary_payer(&members, user_id)?;
    }
    let changed = state
        .store
        .set_member_role(household_id, user_id, role)
        .await
        .map_err(|e| ApiError::internal("changing a role", e))?;
    if !changed {
        return Err(ApiError::NotFound);
    }
    tracing::info!(%household_id, %user_id, role = role.name(), "changed a member's role");
    Ok(Json(member_response(&MemberRow {
        role,
        ..member.clone()
    })?))
}

#[utoipa::path(
    delete,
    path = "/v1/households/{household_id}/members/{user_id}",
    tag = "households",
    security(("bearer" = [])),
    params(
        ("household_id" = String, Path, description = "UUIDv7 of the household"),
        ("user_id" = String, Path, description = "UUIDv7 of the member"),
    ),
    responses(
        (status = 204, description = "Removed; the membership row is kept with its removal time."),
        (status = 403, description = "Only a primary payer removes members.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such member in the caller's household.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The last primary payer cannot be removed, nor a member who owes an open charge of the household.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_member(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: AuthenticatedUser,
    Path((household_id, user_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let household_id = parse_v7("household_id", &household_id)?;
    let user_id = parse_v7("user_id", &user_id)?;
    let access = Access::load(&state, caller, request_id(&headers)).await?;
    let resource = in_household(ResourceKind::Member, Some(user_id), household_id);
    access.require(&state, Action::Delete, &resource).await?;

    let members = load_members(&state, household_id).await?;
    let member = find_member(&members, user_id)?;
    if member.role == Role::PrimaryPayer {
        ensure_other_primary_payer(&members, user_id)?;
    }
    ensure_no_open_charges(&state, household_id, user_id).await?;
    let removed = state
        .store
        .remove_member(household_id, user_id, now())
        .await
        .map_err(|e| ApiError::internal("removing a member", e))?;
    if !removed {
        return Err(ApiError::NotFound);
    }
    tracing::info!(%household_id, %user_id, "removed a member");
    Ok(StatusCode::NO_CONTENT)
}

async fn load_members(state: &AppState, household_id: Uuid) -> Result<Vec<MemberRow>, ApiError> {
    state
        .store
        .list_members(household_id)
        .await
        .map_err(|e| ApiError::internal("listing members", e))
}

fn find_member(members: &[MemberRow], user_id: Uuid) -> Result<&MemberRow, ApiError> {
    members
        .iter()
        .find(|member| member.user_id == user_id)
        .ok_or(ApiError::NotFound)
}

/// Refuses to remove a member who still owes a charge of the household:
/// once removed, they could not see or pay it.
async fn ensure_no_open_charges(
    state: &AppState,
    household_id: Uuid,
    user_id: Uuid,
) -> Result<(), ApiError> {
    let open = state
        .store
        .list_charges(ChargeScope::User(user_id))
        .await
        .map_err(|e| ApiError::internal("listing charges", e))?
        .into_iter()
        .filter(|charge| charge.household_id == household_id && charge.status == "open")
        .count();
    if open > 0 {
        let charges = if open == 1 { "charge" } else { "charges" };
        return Err(ApiError::Conflict {
            detail: format!(
                "this member owes {open} open {charges} of the household; remove them once \
                 they have paid, or after the bill is changed without them"
            ),
        });
    }
    Ok(())
}

/// Keeps every household with at least one primary payer.
fn ensure_other_primary_payer(members: &[MemberRow], leaving: Uuid) -> Result<(), ApiError> {
    let others = members
        .iter()
        .filter(|member| member.role == Role::PrimaryPayer && member.user_id != leaving)
        .count();
    if others == 0 {
        return Err(ApiError::Conflict {
            detail: "the household would have no primary payer; make another member primary \
                     payer first"
                .to_owned(),
        });
    }
    Ok(())
}

fn household_role(field: &str, role: Role) -> Result<Role, ApiError> {
    if role.is_household_role() {
        Ok(role)
    } else {
        Err(ApiError::invalid_field(
            field,
            "must be primary_payer, participant or meter_reader",
        ))
    }
}

fn member_response(member: &MemberRow) -> Result<MemberResponse, ApiError> {
    Ok(MemberResponse {
        household_id: member.household_id.to_string(),
        user_id: member.user_id.to_string(),
        role: member.role,
        joined_at: rfc3339(member.joined_at)?,
    })
}

fn new_code() -> Result<String, ApiError> {
    let mut bytes = [0u8; CODE_BYTES];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| ApiError::internal("generating an invitation code", "no randomness"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn code_hash(code: &str) -> [u8; 32] {
    let mut hash = [0u8; 32];
    hash.copy_from_slice(digest::digest(&digest::SHA256, code.as_bytes()).as_ref());
    hash
}
