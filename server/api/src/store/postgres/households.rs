//! [`HouseholdStore`] on PostgreSQL. Timestamps are stored to the second,
//! as the SQLCipher backend stores them.

use async_trait::async_trait;
use sharepay_domain::authz::Role;
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use super::{PostgresStore, pg_error, unique_constraint, whole_seconds};
use crate::store::StoreError;
use crate::store::households::{
    AcceptOutcome, HouseholdRow, HouseholdStore, InvitationRow, MemberRow, MeterAssignmentRow,
    MeterRow, digits_from_db, role_from_db, unit_from_db, unit_to_db,
};

const MEMBER_COLUMNS: &str = "household_id, user_id, role, joined_at";
const METER_COLUMNS: &str =
    "id, household_id, serial, unit, register_digits, dwelling_unit, created_at";

fn member_from_row(row: &Row) -> Result<MemberRow, StoreError> {
    let user_id: Uuid = row.try_get(1).map_err(pg_error)?;
    let role: String = row.try_get(2).map_err(pg_error)?;
    Ok(MemberRow {
        household_id: row.try_get(0).map_err(pg_error)?,
        user_id,
        role: role_from_db(&format!("member {user_id}"), &role)?,
        joined_at: row.try_get(3).map_err(pg_error)?,
    })
}

fn meter_from_row(row: &Row) -> Result<MeterRow, StoreError> {
    let id: Uuid = row.try_get(0).map_err(pg_error)?;
    let digits: i32 = row.try_get(4).map_err(pg_error)?;
    let unit: String = row.try_get(3).map_err(pg_error)?;
    Ok(MeterRow {
        id,
        household_id: row.try_get(1).map_err(pg_error)?,
        serial: row.try_get(2).map_err(pg_error)?,
        unit: unit_from_db(id, &unit)?,
        register_digits: digits_from_db(id, i64::from(digits))?,
        dwelling_unit: row.try_get(5).map_err(pg_error)?,
        created_at: row.try_get(6).map_err(pg_error)?,
    })
}

#[async_trait]
impl HouseholdStore for PostgresStore {
    async fn create_household(&self, household: HouseholdRow) -> Result<MemberRow, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        let created_at = whole_seconds(household.created_at);
        let inserted = transaction
            .execute(
                "INSERT INTO households (id, name, created_by, created_at) VALUES ($1, $2, $3, $4)",
                &[
                    &household.id,
                    &household.name,
                    &household.created_by,
                    &created_at,
                ],
            )
            .await;
        match inserted {
            Err(e) if unique_constraint(&e).is_some() => return Err(StoreError::DuplicateId),
            other => other.map_err(pg_error)?,
        };
        transaction
            .execute(
                &format!(
                    "INSERT INTO household_members ({MEMBER_COLUMNS}) VALUES ($1, $2, $3, $4)"
                ),
                &[
                    &household.id,
                    &household.created_by,
                    &Role::PrimaryPayer.name(),
                    &created_at,
                ],
            )
            .await
            .map_err(pg_error)?;
        transaction.commit().await.map_err(pg_error)?;
        Ok(MemberRow {
            household_id: household.id,
            user_id: household.created_by,
            role: Role::PrimaryPayer,
            joined_at: created_at,
        })
    }

    async fn find_household(&self, id: Uuid) -> Result<Option<HouseholdRow>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT id, name, created_by, created_at FROM households WHERE id = $1",
                &[&id],
            )
            .await
            .map_err(pg_error)?;
        row.map(|row| {
            Ok(HouseholdRow {
                id: row.try_get(0).map_err(pg_error)?,
                name: row.try_get(1).map_err(pg_error)?,
                created_by: row.try_get(2).map_err(pg_error)?,
                created_at: row.try_get(3).map_err(pg_error)?,
            })
        })
        .transpose()
    }

    async fn memberships_of(&self, user_id: Uuid) -> Result<Vec<MemberRow>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {MEMBER_COLUMNS} FROM household_members \
                     WHERE user_id = $1 AND removed_at IS NULL ORDER BY joined_at, household_id"
                ),
                &[&user_id],
            )
            .await
            .map_err(pg_error)?;
        rows.iter().map(member_from_row).collect()
    }

    async fn list_members(&self, household_id: Uuid) -> Result<Vec<MemberRow>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {MEMBER_COLUMNS} FROM household_members \
                     WHERE household_id = $1 AND removed_at IS NULL ORDER BY joined_at, user_id"
                ),
                &[&household_id],
            )
            .await
            .map_err(pg_error)?;
        rows.iter().map(member_from_row).collect()
    }

    async fn set_member_role(
        &self,
        household_id: Uuid,
        user_id: Uuid,
        role: Role,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let changed = client
            .execute(
                "UPDATE household_members SET role = $3 \
                 WHERE household_id = $1 AND user_id = $2 AND removed_at IS NULL",
                &[&household_id, &user_id, &role.name()],
            )
            .await
            .map_err(pg_error)?;
        Ok(changed == 1)
    }

    async fn remove_member(
        &self,
        household_id: Uuid,
        user_id: Uuid,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        let at = whole_seconds(at);
        let removed = transaction
            .execute(
                "UPDATE household_members SET removed_at = $3 \
                 WHERE household_id = $1 AND user_id = $2 AND removed_at IS NULL",
                &[&household_id, &user_id, &at],
            )
            .await
            .map_err(pg_error)?;
        transaction
            .execute(
                "UPDATE meter_assignments SET revoked_at = $3 \
                 WHERE user_id = $2 AND revoked_at IS NULL \
                   AND meter_id IN (SELECT id FROM meters WHERE household_id = $1)",
                &[&household_id, &user_id, &at],
            )
            .await
            .map_err(pg_error)?;
        transaction.commit().await.map_err(pg_error)?;
        Ok(removed == 1)
    }

    async fn insert_invitation(&self, invitation: InvitationRow) -> Result<(), StoreError> {
        let client = self.client().await?;
        let result = client
            .execute(
                "INSERT INTO household_invitations \
                 (id, household_id, role, code_hash, created_by, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &invitation.id,
                    &invitation.household_id,
                    &invitation.role.name(),
                    &invitation.code_hash.as_slice(),
                    &invitation.created_by,
                    &whole_seconds(invitation.created_at),
                    &whole_seconds(invitation.expires_at),
                ],
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if unique_constraint(&e).is_some() => Err(StoreError::DuplicateId),
            Err(e) => Err(pg_error(e)),
        }
    }

    async fn accept_invitation(
        &self,
        code_hash: [u8; 32],
        user_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<AcceptOutcome, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        let now = whole_seconds(now);
        // FOR UPDATE makes a concurrent acceptance of the same code wait,
        // then see accepted_by set.
        let found = transaction
            .query_opt(
                "SELECT id, household_id, role, expires_at, accepted_by \
                 FROM household_invitations WHERE code_hash = $1 FOR UPDATE",
                &[&code_hash.as_slice()],
            )
            .await
            .map_err(pg_error)?;
        let Some(row) = found else {
            return Ok(AcceptOutcome::Unknown);
        };
        let id: Uuid = row.try_get(0).map_err(pg_error)?;
        let household_id: Uuid = row.try_get(1).map_err(pg_error)?;
        let role: String = row.try_get(2).map_err(pg_error)?;
        let expires_at: OffsetDateTime = row.try_get(3).map_err(pg_error)?;
        let accepted_by: Option<Uuid> = row.try_get(4).map_err(pg_error)?;
        if accepted_by.is_some() {
            return Ok(AcceptOutcome::AlreadyUsed);
        }
        if now >= expires_at {
            return Ok(AcceptOutcome::Expired);
        }
        let role = role_from_db("invitation", &role)?;
        let member = transaction
            .query_opt(
                "SELECT 1 FROM household_members \
                 WHERE household_id = $1 AND user_id = $2 AND removed_at IS NULL FOR UPDATE",
                &[&household_id, &user_id],
            )
            .await
            .map_err(pg_error)?;
        if member.is_some() {
            return Ok(AcceptOutcome::AlreadyMember);
        }
        transaction
            .execute(
                "UPDATE household_invitations SET accepted_by = $2, accepted_at = $3 \
                 WHERE id = $1 AND accepted_by IS NULL",
                &[&id, &user_id, &now],
            )
            .await
            .map_err(pg_error)?;
        transaction
            .execute(
                "INSERT INTO household_members (household_id, user_id, role, joined_at) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (household_id, user_id) DO UPDATE SET \
                   role = excluded.role, joined_at = excluded.joined_at, removed_at = NULL",
                &[&household_id, &user_id, &role.name(), &now],
            )
            .await
            .map_err(pg_error)?;
        transaction.commit().await.map_err(pg_error)?;
        Ok(AcceptOutcome::Accepted(MemberRow {
            household_id,
            user_id,
            role,
            joined_at: now,
        }))
    }

    async fn insert_meter(&self, meter: MeterRow) -> Result<(), StoreError> {
        let client = self.client().await?;
        let result = client
            .execute(
                &format!(
                    "INSERT INTO meters ({METER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                ),
                &[
                    &meter.id,
                    &meter.household_id,
                    &meter.serial,
                    &unit_to_db(meter.unit),
                    &i32::from(meter.register_digits),
                    &meter.dwelling_unit,
                    &whole_seconds(meter.created_at),
                ],
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match unique_constraint(&e) {
                Some(name) if name == "meters_pkey" => Err(StoreError::DuplicateId),
                Some(_) => Err(StoreError::Duplicate("meter serial")),
                None => Err(pg_error(e)),
            },
        }
    }

    async fn find_meter(&self, id: Uuid) -> Result<Option<MeterRow>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {METER_COLUMNS} FROM meters WHERE id = $1"),
                &[&id],
            )
            .await
            .map_err(pg_error)?;
        row.as_ref().map(meter_from_row).transpose()
    }

    async fn list_meters(&self, household_id: Uuid) -> Result<Vec<MeterRow>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {METER_COLUMNS} FROM meters WHERE household_id = $1 ORDER BY serial"
                ),
                &[&household_id],
            )
            .await
            .map_err(pg_error)?;
        rows.iter().map(meter_from_row).collect()
    }

    async fn assign_meter(
        &self,
        meter_id: Uuid,
        user_id: Uuid,
        assigned_by: Uuid,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO meter_assignments (meter_id, user_id, assigned_by, assigned_at) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (meter_id, user_id) DO UPDATE SET \
                   assigned_by = excluded.assigned_by, assigned_at = excluded.assigned_at, \
                   revoked_at = NULL",
                &[&meter_id, &user_id, &assigned_by, &whole_seconds(at)],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn assignments_of(&self, user_id: Uuid) -> Result<Vec<MeterAssignmentRow>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT a.meter_id, m.household_id FROM meter_assignments a \
                 JOIN meters m ON m.id = a.meter_id \
                 WHERE a.user_id = $1 AND a.revoked_at IS NULL ORDER BY a.meter_id",
                &[&user_id],
            )
            .await
            .map_err(pg_error)?;
        rows.iter()
            .map(|row| {
                Ok(MeterAssignmentRow {
                    meter_id: row.try_get(0).map_err(pg_error)?,
                    household_id: row.try_get(1).map_err(pg_error)?,
                    user_id,
                })
            })
            .collect()
    }
}
