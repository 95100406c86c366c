//! [`HouseholdStore`] on the SQLCipher file. Timestamps are Unix seconds.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sharepay_domain::authz::Role;
use sharepay_domain::meter::MeterUnit;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{SqlCipherStore, db_error, from_unix_seconds, is_unique_violation, uuid_from_row};
use crate::store::StoreError;
use crate::store::households::{
    AcceptOutcome, HouseholdRow, HouseholdStore, InvitationRow, MemberRow, MeterAssignmentRow,
    MeterRow, digits_from_db, role_from_db, unit_from_db, unit_to_db,
};

const MEMBER_COLUMNS: &str = "household_id, user_id, role, joined_at";
const METER_COLUMNS: &str =
    "id, household_id, serial, unit, register_digits, dwelling_unit, created_at";

/// Reads a member row with its role still as text, checked afterwards.
fn raw_member(row: &rusqlite::Row<'_>) -> rusqlite::Result<(MemberRow, String)> {
    Ok((
        MemberRow {
            household_id: uuid_from_row(0, row.get(0)?)?,
            user_id: uuid_from_row(1, row.get(1)?)?,
            role: Role::Participant,
            joined_at: from_unix_seconds(3, row.get(3)?)?,
        },
        row.get(2)?,
    ))
}

fn finish_member((mut member, role): (MemberRow, String)) -> Result<MemberRow, StoreError> {
    member.role = role_from_db(&format!("member {}", member.user_id), &role)?;
    Ok(member)
}

/// Reads a meter row with its unit and register size still raw, checked
/// afterwards.
fn raw_meter(row: &rusqlite::Row<'_>) -> rusqlite::Result<(MeterRow, String, i64)> {
    Ok((
        MeterRow {
            id: uuid_from_row(0, row.get(0)?)?,
            household_id: uuid_from_row(1, row.get(1)?)?,
            serial: row.get(2)?,
            unit: MeterUnit::KilowattHour,
            register_digits: 0,
            dwelling_unit: row.get(5)?,
            created_at: from_unix_seconds(6, row.get(6)?)?,
        },
        row.get(3)?,
        row.get(4)?,
    ))
}

fn finish_meter(
    (mut meter, unit, digits): (MeterRow, String, i64),
) -> Result<MeterRow, StoreError> {
    meter.unit = unit_from_db(meter.id, &unit)?;
    meter.register_digits = digits_from_db(meter.id, digits)?;
    Ok(meter)
}

fn query_members(
    connection: &Connection,
    sql: &str,
    id: Uuid,
) -> Result<Vec<MemberRow>, StoreError> {
    let mut statement = connection.prepare(sql).map_err(db_error)?;
    let rows = statement
        .query_map(params![id.as_bytes().as_slice()], raw_member)
        .map_err(db_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db_error)?;
    rows.into_iter().map(finish_member).collect()
}

#[async_trait]
impl HouseholdStore for SqlCipherStore {
    async fn create_household(&self, household: HouseholdRow) -> Result<MemberRow, StoreError> {
        self.with_connection(move |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let inserted = transaction.execute(
                "INSERT INTO households (id, name, created_by, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    household.id.as_bytes().as_slice(),
                    household.name,
                    household.created_by.as_bytes().as_slice(),
                    household.created_at.unix_timestamp()
                ],
            );
            match inserted {
                Err(e) if is_unique_violation(&e) || super::is_primary_key_violation(&e) => {
                    return Err(StoreError::DuplicateId);
                }
                other => other.map_err(db_error)?,
            };
            transaction
                .execute(
                    &format!(
                        "INSERT INTO household_members ({MEMBER_COLUMNS}) VALUES (?1, ?2, ?3, ?4)"
                    ),
                    params![
                        household.id.as_bytes().as_slice(),
                        household.created_by.as_bytes().as_slice(),
                        Role::PrimaryPayer.name(),
                        household.created_at.unix_timestamp()
                    ],
                )
                .map_err(db_error)?;
            transaction.commit().map_err(db_error)?;
            Ok(MemberRow {
                household_id: household.id,
                user_id: household.created_by,
                role: Role::PrimaryPayer,
                joined_at: household.created_at,
            })
        })
        .await
    }

    async fn find_household(&self, id: Uuid) -> Result<Option<HouseholdRow>, StoreError> {
        self.with_connection(move |connection| {
            connection
                .query_row(
                    "SELECT id, name, created_by, created_at FROM households WHERE id = ?1",
                    params![id.as_bytes().as_slice()],
                    |row| {
                        Ok(HouseholdRow {
                            id: uuid_from_row(0, row.get(0)?)?,
                            name: row.get(1)?,
                            created_by: uuid_from_row(2, row.get(2)?)?,
                            created_at: from_unix_seconds(3, row.get(3)?)?,
                        })
                    },
                )
                .optional()
                .map_err(db_error)
        })
        .await
    }

    async fn memberships_of(&self, user_id: Uuid) -> Result<Vec<MemberRow>, StoreError> {
        self.with_connection(move |connection| {
            query_members(
                connection,
                &format!(
                    "SELECT {MEMBER_COLUMNS} FROM household_members \
                     WHERE user_id = ?1 AND removed_at IS NULL ORDER BY joined_at, household_id"
                ),
                user_id,
            )
        })
        .await
    }

    async fn list_members(&self, household_id: Uuid) -> Result<Vec<MemberRow>, StoreError> {
        self.with_connection(move |connection| {
            query_members(
                connection,
                &format!(
                    "SELECT {MEMBER_COLUMNS} FROM household_members \
                     WHERE household_id = ?1 AND removed_at IS NULL ORDER BY joined_at, user_id"
                ),
                household_id,
            )
        })
        .await
    }

    async fn set_member_role(
        &self,
        household_id: Uuid,
        user_id: Uuid,
        role: Role,
    ) -> Result<bool, StoreError> {
        self.with_connection(move |connection| {
            let changed = connection
                .execute(
                    "UPDATE household_members SET role = ?3 \
                     WHERE household_id = ?1 AND user_id = ?2 AND removed_at IS NULL",
                    params![
                        household_id.as_bytes().as_slice(),
                        user_id.as_bytes().as_slice(),
                        role.name()
                    ],
                )
                .map_err(db_error)?;
            Ok(changed == 1)
        })
        .await
    }

    async fn remove_member(
        &self,
        household_id: Uuid,
        user_id: Uuid,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.with_connection(move |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let household = household_id.as_bytes().as_slice();
            let user = user_id.as_bytes().as_slice();
            let removed = transaction
                .execute(
                    "UPDATE household_members SET removed_at = ?3 \
                     WHERE household_id = ?1 AND user_id = ?2 AND removed_at IS NULL",
                    params![household, user, at.unix_timestamp()],
                )
                .map_err(db_error)?;
            transaction
                .execute(
                    "UPDATE meter_assignments SET revoked_at = ?3 \
                     WHERE user_id = ?2 AND revoked_at IS NULL \
                       AND meter_id IN (SELECT id FROM meters WHERE household_id = ?1)",
                    params![household, user, at.unix_timestamp()],
                )
                .map_err(db_error)?;
            transaction.commit().map_err(db_error)?;
            Ok(removed == 1)
        })
        .await
    }

    async fn insert_invitation(&self, invitation: InvitationRow) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            let result = connection.execute(
                "INSERT INTO household_invitations \
                 (id, household_id, role, code_hash, created_by, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    invitation.id.as_bytes().as_slice(),
                    invitation.household_id.as_bytes().as_slice(),
                    invitation.role.name(),
                    invitation.code_hash.as_slice(),
                    invitation.created_by.as_bytes().as_slice(),
                    invitation.created_at.unix_timestamp(),
                    invitation.expires_at.unix_timestamp()
                ],
            );
            match result {
                Ok(_) => Ok(()),
                Err(e) if is_unique_violation(&e) || super::is_primary_key_violation(&e) => {
                    Err(StoreError::DuplicateId)
                }
                Err(e) => Err(db_error(e)),
            }
        })
        .await
    }

    async fn accept_invitation(
        &self,
        code_hash: [u8; 32],
        user_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<AcceptOutcome, StoreError> {
        self.with_connection(move |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let found: Option<(Vec<u8>, Vec<u8>, String, i64, Option<Vec<u8>>)> = transaction
                .query_row(
                    "SELECT id, household_id, role, expires_at, accepted_by \
                     FROM household_invitations WHERE code_hash = ?1",
                    params![code_hash.as_slice()],
                    |row| {
                        Ok((
                            row.get(0)?,
                            row.get(1)?,
                            row.get(2)?,
                            row.get(3)?,
                            row.get(4)?,
                        ))
                    },
                )
                .optional()
                .map_err(db_error)?;
            let Some((id, household, role, expires_at, accepted_by)) = found else {
                return Ok(AcceptOutcome::Unknown);
            };
            if accepted_by.is_some() {
                return Ok(AcceptOutcome::AlreadyUsed);
            }
            if now.unix_timestamp() >= expires_at {
                return Ok(AcceptOutcome::Expired);
            }
            let role = role_from_db("invitation", &role)?;
            let household_id =
                Uuid::from_slice(&household).map_err(|e| StoreError::InvalidRow {
                    row: "invitation".to_owned(),
                    field: "household_id",
                    detail: e.to_string(),
                })?;
            let user = user_id.as_bytes().as_slice();
            let member: Option<i64> = transaction
                .query_row(
                    "SELECT 1 FROM household_members \
                     WHERE household_id = ?1 AND user_id = ?2 AND removed_at IS NULL",
                    params![household, user],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db_error)?;
            if member.is_some() {
                return Ok(AcceptOutcome::AlreadyMember);
            }
            transaction
                .execute(
                    "UPDATE household_invitations SET accepted_by = ?2, accepted_at = ?3 \
                     WHERE id = ?1 AND accepted_by IS NULL",
                    params![id, user, now.unix_timestamp()],
                )
                .map_err(db_error)?;
            transaction
                .execute(
                    "INSERT INTO household_members (household_id, user_id, role, joined_at) \
                     VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (household_id, user_id) DO UPDATE SET \
                       role = excluded.role, joined_at = excluded.joined_at, removed_at = NULL",
                    params![household, user, role.name(), now.unix_timestamp()],
                )
                .map_err(db_error)?;
            transaction.commit().map_err(db_error)?;
            Ok(AcceptOutcome::Accepted(MemberRow {
                household_id,
                user_id,
                role,
                joined_at: now,
            }))
        })
        .await
    }

    async fn insert_meter(&self, meter: MeterRow) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            let result = connection.execute(
                &format!(
                    "INSERT INTO meters ({METER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                ),
                params![
                    meter.id.as_bytes().as_slice(),
                    meter.household_id.as_bytes().as_slice(),
                    meter.serial,
                    unit_to_db(meter.unit),
                    i64::from(meter.register_digits),
                    meter.dwelling_unit,
                    meter.created_at.unix_timestamp()
                ],
            );
            match result {
                Ok(_) => Ok(()),
                Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate("meter serial")),
                Err(e) if super::is_primary_key_violation(&e) => Err(StoreError::DuplicateId),
                Err(e) => Err(db_error(e)),
            }
        })
        .await
    }

    async fn find_meter(&self, id: Uuid) -> Result<Option<MeterRow>, StoreError> {
        self.with_connection(move |connection| {
            connection
                .query_row(
                    &format!("SELECT {METER_COLUMNS} FROM meters WHERE id = ?1"),
                    params![id.as_bytes().as_slice()],
                    raw_meter,
                )
                .optional()
                .map_err(db_error)?
                .map(finish_meter)
                .transpose()
        })
        .await
    }

    async fn list_meters(&self, household_id: Uuid) -> Result<Vec<MeterRow>, StoreError> {
        self.with_connection(move |connection| {
            let mut statement = connection
                .prepare(&format!(
                    "SELECT {METER_COLUMNS} FROM meters WHERE household_id = ?1 ORDER BY serial"
                ))
                .map_err(db_error)?;
            let rows = statement
                .query_map(params![household_id.as_bytes().as_slice()], raw_meter)
                .map_err(db_error)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_error)?;
            rows.into_iter().map(finish_meter).collect()
        })
        .await
    }

    async fn assign_meter(
        &self,
        meter_id: Uuid,
        user_id: Uuid,
        assigned_by: Uuid,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "INSERT INTO meter_assignments (meter_id, user_id, assigned_by, assigned_at) \
                     VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (meter_id, user_id) DO UPDATE SET \
                       assigned_by = excluded.assigned_by, assigned_at = excluded.assigned_at, \
                       revoked_at = NULL",
                    params![
                        meter_id.as_bytes().as_slice(),
                        user_id.as_bytes().as_slice(),
                        assigned_by.as_bytes().as_slice(),
                        at.unix_timestamp()
                    ],
                )
                .map_err(db_error)?;
            Ok(())
        })
        .await
    }

    async fn assignments_of(&self, user_id: Uuid) -> Result<Vec<MeterAssignmentRow>, StoreError> {
        self.with_connection(move |connection| {
            let mut statement = connection
                .prepare(
                    "SELECT a.meter_id, m.household_id FROM meter_assignments a \
                     JOIN meters m ON m.id = a.meter_id \
                     WHERE a.user_id = ?1 AND a.revoked_at IS NULL ORDER BY a.meter_id",
                )
                .map_err(db_error)?;
            statement
                .query_map(params![user_id.as_bytes().as_slice()], |row| {
                    Ok(MeterAssignmentRow {
                        meter_id: uuid_from_row(0, row.get(0)?)?,
                        household_id: uuid_from_row(1, row.get(1)?)?,
                        user_id,
                    })
                })
                .map_err(db_error)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_error)
        })
        .await
    }
}
