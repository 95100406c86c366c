//! Households, invitations, members and meters: records converted from
//! the core's wire types, and the exported calls, each delegating to the
//! core.

use secrecy::SecretString;
use sharepay_domain::authz::Role;
use sharepay_domain::meter::MeterUnit as CoreMeterUnit;
use sharepay_domain::wire::households as wire;

use crate::{SharePayClient, SharePayError};

/// A role, as the API spells it in snake case.
#[derive(uniffi::Enum)]
pub enum UserRole {
    SystemAdministrator,
    PrimaryPayer,
    Participant,
    MeterReader,
}

#[derive(uniffi::Enum)]
pub enum MeterUnit {
    KilowattHour,
    CubicMetre,
    Litre,
    CubicFoot,
    Megajoule,
}

/// A household with the signed-in user's role in it.
#[derive(uniffi::Record)]
pub struct Household {
    pub household_id: String,
    pub name: String,
    pub role: UserRole,
    /// RFC 3339 UTC.
    pub created_at: String,
}

/// A new invitation. `code` is shown once: the server keeps only its hash.
#[derive(uniffi::Record)]
pub struct Invitation {
    pub invitation_id: String,
    pub household_id: String,
    pub code: String,
    pub role: UserRole,
    pub expires_at: String,
}

#[derive(uniffi::Record)]
pub struct Member {
    pub household_id: String,
    pub user_id: String,
    pub role: UserRole,
    pub joined_at: String,
}

#[derive(uniffi::Record)]
pub struct Meter {
    pub meter_id: String,
    pub household_id: String,
    pub serial: String,
    pub unit: MeterUnit,
    /// Digits before the decimal point. The register rolls over after
    /// `10^register_digits - 1`.
    pub register_digits: u8,
    /// The dwelling unit the meter belongs to, or null for a shared meter.
    pub dwelling_unit: Option<String>,
    pub created_at: String,
}

/// A meter to add to a household.
#[derive(uniffi::Record)]
pub struct NewMeter {
    pub serial: String,
    pub unit: MeterUnit,
    /// Digits before the decimal point, 1 to 12.
    pub register_digits: u8,
    pub dwelling_unit: Option<String>,
}

#[uniffi::export(async_runtime = "tokio")]
impl SharePayClient {
    /// Creates a household with the signed-in user as its primary payer.
    pub async fn create_household(&self, name: String) -> Result<Household, SharePayError> {
        Ok(self.inner.create_household(&name).await?.into())
    }

    /// Lists the signed-in user's households.
    pub async fn households(&self) -> Result<Vec<Household>, SharePayError> {
        let households = self.inner.households().await?;
        Ok(households.into_iter().map(Household::from).collect())
    }

    /// Reads one household of the signed-in user.
    pub async fn household(&self, household_id: String) -> Result<Household, SharePayError> {
        Ok(self.inner.household(&household_id).await?.into())
    }

    /// Creates an invitation; `expires_in_hours` null means the server's
    /// default.
    pub async fn create_invitation(
        &self,
        household_id: String,
        role: UserRole,
        expires_in_hours: Option<u32>,
    ) -> Result<Invitation, SharePayError> {
        let invitation = self
            .inner
            .create_invitation(&household_id, role.into(), expires_in_hours)
            .await?;
        Ok(invitation.into())
    }

    /// Joins a household with an invitation code.
    pub async fn accept_invitation(&self, code: String) -> Result<Member, SharePayError> {
        let code = SecretString::from(code);
        Ok(self.inner.accept_invitation(&code).await?.into())
    }

    /// Lists the members of a household, oldest first.
    pub async fn members(&self, household_id: String) -> Result<Vec<Member>, SharePayError> {
        let members = self.inner.members(&household_id).await?;
        Ok(members.into_iter().map(Member::from).collect())
    }

    /// Gives a member another role.
    pub async fn change_member_role(
        &self,
        household_id: String,
        user_id: String,
        role: UserRole,
    ) -> Result<Member, SharePayError> {
        let member = self
            .inner
            .change_member_role(&household_id, &user_id, role.into())
            .await?;
        Ok(member.into())
    }

    /// Removes a member from a household.
    pub async fn remove_member(
        &self,
        household_id: String,
        user_id: String,
    ) -> Result<(), SharePayError> {
        Ok(self.inner.remove_member(&household_id, &user_id).await?)
    }

    /// Lists the meters of a household that the signed-in user may see.
    pub async fn meters(&self, household_id: String) -> Result<Vec<Meter>, SharePayError> {
        let meters = self.inner.meters(&household_id).await?;
        Ok(meters.into_iter().map(Meter::from).collect())
    }

    /// Adds a meter to a household.
    pub async fn add_meter(
        &self,
        household_id: String,
        meter: NewMeter,
    ) -> Result<Meter, SharePayError> {
        let request = wire::CreateMeterRequest::from(meter);
        Ok(self.inner.add_meter(&household_id, &request).await?.into())
    }

    /// Lets a member with the meter reader role read a meter.
    pub async fn assign_meter_reader(
        &self,
        meter_id: String,
        user_id: String,
    ) -> Result<(), SharePayError> {
        Ok(self.inner.assign_meter_reader(&meter_id, &user_id).await?)
    }
}

impl From<Role> for UserRole {
    fn from(role: Role) -> Self {
        match role {
            Role::SystemAdministrator => Self::SystemAdministrator,
            Role::PrimaryPayer => Self::PrimaryPayer,
            Role::Participant => Self::Participant,
            Role::MeterReader => Self::MeterReader,
        }
    }
}

impl From<UserRole> for Role {
    fn from(role: UserRole) -> Self {
        match role {
            UserRole::SystemAdministrator => Self::SystemAdministrator,
            UserRole::PrimaryPayer => Self::PrimaryPayer,
            UserRole::Participant => Self::Participant,
            UserRole::MeterReader => Self::MeterReader,
        }
    }
}

impl From<CoreMeterUnit> for MeterUnit {
    fn from(unit: CoreMeterUnit) -> Self {
        match unit {
            CoreMeterUnit::KilowattHour => Self::KilowattHour,
            CoreMeterUnit::CubicMetre => Self::CubicMetre,
            CoreMeterUnit::Litre => Self::Litre,
            CoreMeterUnit::CubicFoot => Self::CubicFoot,
            CoreMeterUnit::Megajoule => Self::Megajoule,
        }
    }
}

impl From<MeterUnit> for CoreMeterUnit {
    fn from(unit: MeterUnit) -> Self {
        match unit {
            MeterUnit::KilowattHour => Self::KilowattHour,
            MeterUnit::CubicMetre => Self::CubicMetre,
            MeterUnit::Litre => Self::Litre,
            MeterUnit::CubicFoot => Self::CubicFoot,
            MeterUnit::Megajoule => Self::Megajoule,
        }
    }
}

impl From<wire::HouseholdResponse> for Household {
    fn from(household: wire::HouseholdResponse) -> Self {
        Self {
            household_id: household.household_id,
            name: household.name,
            role: household.role.into(),
            created_at: household.created_at,
        }
    }
}

impl From<wire::InvitationResponse> for Invitation {
    fn from(invitation: wire::InvitationResponse) -> Self {
        Self {
            invitation_id: invitation.invitation_id,
            household_id: invitation.household_id,
            code: invitation.code,
            role: invitation.role.into(),
            expires_at: invitation.expires_at,
        }
    }
}

impl From<wire::MemberResponse> for Member {
    fn from(member: wire::MemberResponse) -> Self {
        Self {
            household_id: member.household_id,
            user_id: member.user_id,
            role: member.role.into(),
            joined_at: member.joined_at,
        }
    }
}

impl From<wire::MeterResponse> for Meter {
    fn from(meter: wire::MeterResponse) -> Self {
        Self {
            meter_id: meter.meter_id,
            household_id: meter.household_id,
            serial: meter.serial,
            unit: meter.unit.into(),
            register_digits: meter.register_digits,
            dwelling_unit: meter.dwelling_unit,
            created_at: meter.created_at,
        }
    }
}

impl From<NewMeter> for wire::CreateMeterRequest {
    fn from(meter: NewMeter) -> Self {
        Self {
            serial: meter.serial,
            unit: meter.unit.into(),
            register_digits: meter.register_digits,
            dwelling_unit: meter.dwelling_unit,
        }
    }
}
