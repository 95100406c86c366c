//! Storage of households: members with their roles, invitations, meters
//! and meter assignments, behind [`HouseholdStore`].
//!
//! Both backends implement it (`sqlcipher/households.rs`,
//! `postgres/households.rs`) and the household conformance suite runs
//! against both. Rows are never hard-deleted: removing a member or
//! revoking an assignment sets a timestamp. An invitation stores only the
//! SHA-256 of its code, never the code.

use async_trait::async_trait;
use sharepay_domain::authz::Role;
use sharepay_domain::meter::MeterUnit;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HouseholdRow {
    pub id: Uuid,
    pub name: String,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
}

/// A user's role in one household.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRow {
    pub household_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
    pub joined_at: OffsetDateTime,
}

#[derive(Clone, PartialEq, Eq)]
pub struct InvitationRow {
    pub id: Uuid,
    pub household_id: Uuid,
    pub role: Role,
    /// SHA-256 of the invitation code.
    pub code_hash: [u8; 32],
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for InvitationRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvitationRow")
            .field("id", &self.id)
            .field("household_id", &self.household_id)
            .field("role", &self.role)
            .field("code_hash", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Result of presenting an invitation code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AcceptOutcome {
    /// The code was valid; the user is now a member with the invited role.
    Accepted(MemberRow),
    /// No invitation has this code.
    Unknown,
    /// The invitation expired before it was used.
    Expired,
    /// The invitation was already used.
    AlreadyUsed,
    /// The user is already a member of the household; the invitation stays
    /// unused, so it cannot change an existing member's role.
    AlreadyMember,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeterRow {
    pub id: Uuid,
    pub household_id: Uuid,
    pub serial: String,
    pub unit: MeterUnit,
    /// Digits before the decimal point; the register rolls over after
    /// `10^register_digits - 1`.
    pub register_digits: u8,
    /// The dwelling unit the meter belongs to; `None` for a shared meter.
    pub dwelling_unit: Option<String>,
    pub created_at: OffsetDateTime,
}

/// A resource-level grant: a meter assigned to a meter reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeterAssignmentRow {
    pub meter_id: Uuid,
    pub household_id: Uuid,
    pub user_id: Uuid,
}

#[async_trait]
pub trait HouseholdStore: Send + Sync {
    /// Inserts a household and makes `household.created_by` its primary
    /// payer, in one transaction.
    async fn create_household(&self, household: HouseholdRow) -> Result<MemberRow, StoreError>;
    async fn find_household(&self, id: Uuid) -> Result<Option<HouseholdRow>, StoreError>;

    /// Lists the current (not removed) memberships of a user.
    async fn memberships_of(&self, user_id: Uuid) -> Result<Vec<MemberRow>, StoreError>;
    /// Lists the current members of a household, oldest first.
    async fn list_members(&self, household_id: Uuid) -> Result<Vec<MemberRow>, StoreError>;
    /// Changes a current member's role; returns `false` when the user is
    /// not a current member.
    async fn set_member_role(
        &self,
        household_id: Uuid,
        user_id: Uuid,
        role: Role,
    ) -> Result<bool, StoreError>;
    /// Marks a current member as removed and revokes their meter
    /// assignments in the household; returns `false` when the user is not a
    /// current member.
    async fn remove_member(
        &self,
        household_id: Uuid,
        user_id: Uuid,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    async fn insert_invitation(&self, invitation: InvitationRow) -> Result<(), StoreError>;
    /// Uses the invitation whose code hashes to `code_hash`, once: the first
    /// caller before `now < expires_at` becomes a member (a removed member
    /// comes back with the invited role), every later one gets
    /// [`AcceptOutcome::AlreadyUsed`].
    async fn accept_invitation(
        &self,
        code_hash: [u8; 32],
        user_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<AcceptOutcome, StoreError>;

    async fn insert_meter(&self, meter: MeterRow) -> Result<(), StoreError>;
    async fn find_meter(&self, id: Uuid) -> Result<Option<MeterRow>, StoreError>;
    async fn list_meters(&self, household_id: Uuid) -> Result<Vec<MeterRow>, StoreError>;
    /// Assigns a meter to a user (again, if revoked before).
    async fn assign_meter(
        &self,
        meter_id: Uuid,
        user_id: Uuid,
        assigned_by: Uuid,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Lists the meters currently assigned to a user, in every household.
    async fn assignments_of(&self, user_id: Uuid) -> Result<Vec<MeterAssignmentRow>, StoreError>;
}

/// Parses a stored household role name.
pub(crate) fn role_from_db(row: &str, name: &str) -> Result<Role, StoreError> {
    match name {
        "primary_payer" => Ok(Role::PrimaryPayer),
        "participant" => Ok(Role::Participant),
        "meter_reader" => Ok(Role::MeterReader),
        other => Err(StoreError::InvalidRow {
            row: row.to_owned(),
            field: "role",
            detail: format!("{other:?} is not a household role"),
        }),
    }
}

pub(crate) fn digits_from_db(meter_id: Uuid, value: i64) -> Result<u8, StoreError> {
    u8::try_from(value).map_err(|_| StoreError::InvalidRow {
        row: format!("meter {meter_id}"),
        field: "register_digits",
        detail: format!("{value} is out of range"),
    })
}

/// Returns the stored name of a meter unit, its symbol.
pub(crate) fn unit_to_db(unit: MeterUnit) -> &'static str {
    unit.symbol()
}

/// Parses a stored meter unit symbol.
pub(crate) fn unit_from_db(meter_id: Uuid, symbol: &str) -> Result<MeterUnit, StoreError> {
    const UNITS: [MeterUnit; 5] = [
        MeterUnit::KilowattHour,
        MeterUnit::CubicMetre,
        MeterUnit::Litre,
        MeterUnit::CubicFoot,
        MeterUnit::Megajoule,
    ];
    UNITS
        .into_iter()
        .find(|unit| unit.symbol() == symbol)
        .ok_or_else(|| StoreError::InvalidRow {
            row: format!("meter {meter_id}"),
            field: "unit",
            detail: format!("{symbol:?} is not a known unit"),
        })
}
