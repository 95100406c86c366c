//! `sharepay household ...` and `sharepay meter ...`: households,
//! invitations, members and meters on the server.

use anyhow::{Context, bail};
use secrecy::SecretString;
use sharepay_client::SharePayClient;
use sharepay_domain::authz::Role;
use sharepay_domain::meter::MeterUnit;
use sharepay_domain::wire::households::{CreateMeterRequest, HouseholdResponse};

pub async fn create(client: &SharePayClient, name: &str) -> anyhow::Result<()> {
    let household = client.create_household(name).await?;
    say!("created household {}", household.household_id);
    print_household(&household);
    Ok(())
}

pub async fn list(client: &SharePayClient) -> anyhow::Result<()> {
    let households = client.households().await?;
    say!("{}", crate::count(households.len(), "household"));
    for household in &households {
        print_household(household);
    }
    Ok(())
}

pub async fn show(client: &SharePayClient, household_id: &str) -> anyhow::Result<()> {
    let household = client.household(household_id).await?;
    print_household(&household);
    let members = client.members(household_id).await?;
    say!("  {}", crate::count(members.len(), "member"));
    Ok(())
}

fn print_household(household: &HouseholdResponse) {
    say!(
        "  {}: {} (your role: {}, created {})",
        household.household_id,
        household.name,
        household.role.name(),
        household.created_at
    );
}

pub async fn invite(
    client: &SharePayClient,
    household_id: &str,
    role: &str,
    expires_in_hours: Option<u32>,
) -> anyhow::Result<()> {
    let role = parse_role(role)?;
    let invitation = client
        .create_invitation(household_id, role, expires_in_hours)
        .await?;
    say!(
        "invitation code {} for role {}, valid until {}",
        invitation.code,
        invitation.role.name(),
        invitation.expires_at
    );
    say!("  the code is shown only now; the invited person runs `sharepay household accept CODE`");
    Ok(())
}

pub async fn accept(client: &SharePayClient, code: &str) -> anyhow::Result<()> {
    let membership = client
        .accept_invitation(&SecretString::from(code.to_owned()))
        .await
        .context("cannot accept the invitation")?;
    say!(
        "joined household {} as {}",
        membership.household_id,
        membership.role.name()
    );
    Ok(())
}

pub async fn members(client: &SharePayClient, household_id: &str) -> anyhow::Result<()> {
    let members = client.members(household_id).await?;
    say!("{}", crate::count(members.len(), "member"));
    for member in members {
        say!(
            "  {}: {} since {}",
            member.user_id,
            member.role.name(),
            member.joined_at
        );
    }
    Ok(())
}

pub async fn add_meter(
    client: &SharePayClient,
    household_id: &str,
    meter: CreateMeterRequest,
) -> anyhow::Result<()> {
    let created = client.add_meter(household_id, &meter).await?;
    say!(
        "added meter {} (serial {}, {} digits, {})",
        created.meter_id,
        created.serial,
        created.register_digits,
        created.unit.symbol()
    );
    Ok(())
}

pub async fn list_meters(client: &SharePayClient, household_id: &str) -> anyhow::Result<()> {
    let meters = client.meters(household_id).await?;
    say!("{}", crate::count(meters.len(), "meter"));
    for meter in meters {
        say!(
            "  {}: serial {}, {} digits, {}{}",
            meter.meter_id,
            meter.serial,
            meter.register_digits,
            meter.unit.symbol(),
            meter
                .dwelling_unit
                .map(|unit| format!(", unit {unit}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

pub async fn assign(client: &SharePayClient, meter_id: &str, user_id: &str) -> anyhow::Result<()> {
    client.assign_meter_reader(meter_id, user_id).await?;
    say!("user {user_id} may now read meter {meter_id}");
    Ok(())
}

/// Parses a household role as the API spells it.
pub fn parse_role(text: &str) -> anyhow::Result<Role> {
    match text {
        "primary_payer" => Ok(Role::PrimaryPayer),
        "participant" => Ok(Role::Participant),
        "meter_reader" => Ok(Role::MeterReader),
        other => bail!("invalid role {other:?}; use primary_payer, participant or meter_reader"),
    }
}

/// Parses a meter unit as the API spells it.
pub fn parse_unit(text: &str) -> anyhow::Result<MeterUnit> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|_| {
        anyhow::anyhow!(
            "invalid unit {text:?}; use kilowatt_hour, cubic_metre, litre, cubic_foot or megajoule"
        )
    })
}
