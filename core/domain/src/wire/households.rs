//! Bodies of the household endpoints: households, invitations, members,
//! meters and meter reader assignments. Ids are UUIDv7 strings and
//! timestamps RFC 3339 UTC.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::authz::Role;
use crate::meter::MeterUnit;

/// Body of `POST /v1/households`. The caller becomes its primary payer.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateHouseholdRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
}

/// A household with the caller's role in it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdResponse {
    pub household_id: String,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "primary_payer"))]
    pub role: Role,
    pub created_at: String,
}

/// Body of `GET /v1/households`: the caller's households.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdListResponse {
    pub households: Vec<HouseholdResponse>,
}

/// Body of `POST /v1/households/{household_id}/invitations`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInvitationRequest {
    /// `primary_payer`, `participant` or `meter_reader`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "participant"))]
    pub role: Role,
    /// Hours until the code expires, 1 to 720; 72 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_hours: Option<u32>,
}

/// A new invitation. `code` is shown once: the server keeps only its hash.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
pub struct InvitationResponse {
    pub invitation_id: String,
    pub household_id: String,
    pub code: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub role: Role,
    pub expires_at: String,
}

impl fmt::Debug for InvitationResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvitationResponse")
            .field("invitation_id", &self.invitation_id)
            .field("household_id", &self.household_id)
            .field("code", &"[redacted]")
            .field("role", &self.role)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Body of `POST /v1/invitations/accept`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitationRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub code: String,
}

impl fmt::Debug for AcceptInvitationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcceptInvitationRequest")
            .field("code", &"[redacted]")
            .finish()
    }
}

/// A member of a household.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberResponse {
    pub household_id: String,
    pub user_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub role: Role,
    pub joined_at: String,
}

/// Body of `GET /v1/households/{household_id}/members`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberListResponse {
    pub members: Vec<MemberResponse>,
}

/// Body of `PUT /v1/households/{household_id}/members/{user_id}/role`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeRoleRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub role: Role,
}

/// Body of `POST /v1/households/{household_id}/meters`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateMeterRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub serial: String,
    /// Unit of the register: `kilowatt_hour`, `cubic_metre`, `litre`,
    /// `cubic_foot` or `megajoule`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "kilowatt_hour"))]
    pub unit: MeterUnit,
    /// Digits before the decimal point, 1 to 12; the register rolls over
    /// after `10^register_digits - 1`.
    pub register_digits: u8,
    /// The dwelling unit the meter belongs to; absent for a shared meter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub dwelling_unit: Option<String>,
}

/// A meter.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeterResponse {
    pub meter_id: String,
    pub household_id: String,
    pub serial: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "kilowatt_hour"))]
    pub unit: MeterUnit,
    pub register_digits: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dwelling_unit: Option<String>,
    pub created_at: String,
}

/// Body of `GET /v1/households/{household_id}/meters`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeterListResponse {
    pub meters: Vec<MeterResponse>,
}

/// Body of `POST /v1/meters/{meter_id}/readers`: assigns the meter to a
/// member with the meter reader role.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignMeterReaderRequest {
    pub user_id: String,
}
