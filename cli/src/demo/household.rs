//! The demo's household: the house near Paris of the minutely sub-metering
//! file, with one dwelling unit per sub-meter and a shared meter for the
//! rest of the house.

use anyhow::{Context, bail};
use secrecy::SecretString;
use sharepay_domain::authz::Role;
use sharepay_domain::meter::MeterUnit;
use sharepay_domain::wire::households::CreateMeterRequest;

use super::detail;
use super::people::Person;
use crate::reading_import::decimal::format_kwh;

/// One meter of the house and the importer series its register follows.
pub struct MeterPlan {
    /// Suffix of the minutely importer's series (`kitchen`, `laundry`,
    /// `water-heater` or `shared`).
    pub series_suffix: &'static str,
    pub serial: &'static str,
    /// `None` for the shared meter.
    pub dwelling_unit: Option<&'static str>,
    pub register_digits: u8,
    /// Register value at the file's first minute, in Wh.
    pub register_start_wh: u64,
}

/// The four meters. The sub-meters measure the three units. The shared
/// meter counts the whole house minus the three sub-meters, as the
/// importer's `shared` series does. The water heater uses 24.483 kWh over
/// the file's two days, so its 4-digit register, started at 9,988 kWh,
/// rolls over from 9,999.999 to 0 about halfway.
pub const METER_PLANS: [MeterPlan; 4] = [
    MeterPlan {
        series_suffix: "kitchen",
        serial: "PAR-SUB-1-KITCHEN",
        dwelling_unit: Some("Unit 1: kitchen"),
        register_digits: 6,
        register_start_wh: 3_412_000,
    },
    MeterPlan {
        series_suffix: "laundry",
        serial: "PAR-SUB-2-LAUNDRY",
        dwelling_unit: Some("Unit 2: laundry room"),
        register_digits: 6,
        register_start_wh: 1_876_000,
    },
    MeterPlan {
        series_suffix: "water-heater",
        serial: "PAR-SUB-3-HEATING",
        dwelling_unit: Some("Unit 3: water heater and air conditioner"),
        register_digits: 4,
        register_start_wh: 9_988_000,
    },
    MeterPlan {
        series_suffix: "shared",
        serial: "PAR-HOUSE-SHARED",
        dwelling_unit: None,
        register_digits: 6,
        register_start_wh: 20_117_000,
    },
];

/// A meter created on the server, with its plan.
pub struct HouseMeter {
    pub plan: &'static MeterPlan,
    pub meter_id: String,
}

impl HouseMeter {
    /// Returns the unit the meter belongs to, or `shared part`.
    pub fn label(&self) -> &'static str {
        self.plan.dwelling_unit.unwrap_or("shared part")
    }
}

pub struct House {
    pub household_id: String,
    pub meters: Vec<HouseMeter>,
}

impl House {
    /// Iterates over the meters of the dwelling units, in the order of
    /// [`METER_PLANS`].
    pub fn unit_meters(&self) -> impl Iterator<Item = &HouseMeter> {
        self.meters
            .iter()
            .filter(|meter| meter.plan.dwelling_unit.is_some())
    }

    /// Creates the household with `payer` as its primary payer, and its
    /// four meters.
    pub async fn create(payer: &Person, name: &str) -> anyhow::Result<Self> {
        let household = payer
            .client
            .create_household(name)
            .await
            .context("creating the household failed")?;
        detail(&format!(
            "household {:?} created: id {}, your role {}",
            household.name,
            household.household_id,
            household.role.name()
        ));

        let mut meters = Vec::with_capacity(METER_PLANS.len());
        for plan in &METER_PLANS {
            let request = CreateMeterRequest {
                serial: plan.serial.to_owned(),
                unit: MeterUnit::KilowattHour,
                register_digits: plan.register_digits,
                dwelling_unit: plan.dwelling_unit.map(str::to_owned),
            };
            let meter = payer
                .client
                .add_meter(&household.household_id, &request)
                .await
                .with_context(|| format!("adding meter {} failed", plan.serial))?;
            let house_meter = HouseMeter {
                plan,
                meter_id: meter.meter_id,
            };
            detail(&format!(
                "meter {} ({}): {} digits, register at {} kWh, id {}",
                plan.serial,
                house_meter.label(),
                meter.register_digits,
                format_kwh(plan.register_start_wh),
                house_meter.meter_id
            ));
            meters.push(house_meter);
        }
        Ok(Self {
            household_id: household.household_id,
            meters,
        })
    }

    /// Invites `invitee` with `role` from the payer's phone and has the
    /// invitee accept the code on their own phone.
    pub async fn invite(&self, payer: &Person, invitee: &Person, role: Role) -> anyhow::Result<()> {
        let invitation = payer
            .client
            .create_invitation(&self.household_id, role, None)
            .await
            .with_context(|| format!("inviting the {} failed", invitee.role_label))?;
        // The code travels from one phone to the other as a person would
        // pass it on; the demo never prints it.
        let code = SecretString::from(invitation.code);
        let member = invitee
            .client
            .accept_invitation(&code)
            .await
            .with_context(|| {
                format!("the {} could not accept the invitation", invitee.role_label)
            })?;
        if member.role != role {
            bail!(
                "the {} joined as {} instead of {}",
                invitee.role_label,
                member.role.name(),
                role.name()
            );
        }
        detail(&format!(
            "{} {} accepted invitation {} and joined as {}",
            invitee.role_label,
            invitee.email,
            invitation.invitation_id,
            member.role.name()
        ));
        Ok(())
    }

    /// Lets the meter reader read every meter of the house.
    pub async fn assign_reader(&self, payer: &Person, reader: &Person) -> anyhow::Result<()> {
        for meter in &self.meters {
            payer
                .client
                .assign_meter_reader(&meter.meter_id, &reader.user_id)
                .await
                .with_context(|| format!("assigning meter {} failed", meter.plan.serial))?;
        }
        let visible = reader
            .client
            .meters(&self.household_id)
            .await
            .context("the meter reader could not list the meters")?;
        if visible.len() != self.meters.len() {
            bail!(
                "the meter reader sees {} meters instead of {}",
                visible.len(),
                self.meters.len()
            );
        }
        detail(&format!(
            "meter reader {} assigned to all {} meters",
            reader.email,
            visible.len()
        ));
        Ok(())
    }
}
