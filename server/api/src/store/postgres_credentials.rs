//! [`CredentialStore`] on PostgreSQL. The failure counter is one
//! `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` statement, so parallel
//! failures are each counted.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;
use super::credentials::{CredentialStore, LoginThrottle, PasswordRow};
use super::postgres::{PostgresStore, pg_error, whole_seconds};

fn version_to_db(version: u32) -> Result<i32, StoreError> {
    i32::try_from(version)
        .map_err(|_| StoreError::Database(format!("pepper version {version} is out of range")))
}

fn password_from_row(row: &tokio_postgres::Row) -> Result<PasswordRow, StoreError> {
    let version: i32 = row.get(1);
    Ok(PasswordRow {
        phc: row.get(0),
        pepper_version: u32::try_from(version).map_err(|_| StoreError::InvalidRow {
            row: "password hash".to_owned(),
            field: "pepper_version",
            detail: format!("{version} is out of range"),
        })?,
    })
}

async fn replace_if_current(
    client: &impl GenericClient,
    user_id: Uuid,
    expected: &PasswordRow,
    replacement: &PasswordRow,
) -> Result<bool, StoreError> {
    let count = client
        .execute(
            "UPDATE users SET password_hash = $1, pepper_version = $2
             WHERE id = $3 AND password_hash = $4 AND pepper_version = $5",
            &[
                &replacement.phc,
                &version_to_db(replacement.pepper_version)?,
                &user_id,
                &expected.phc,
                &version_to_db(expected.pepper_version)?,
            ],
        )
        .await
        .map_err(pg_error)?;
    Ok(count == 1)
}

#[async_trait]
impl CredentialStore for PostgresStore {
    async fn recent_passwords(
        &self,
        user_id: Uuid,
        count: usize,
    ) -> Result<Vec<PasswordRow>, StoreError> {
        let client = self.client().await?;
        let current = client
            .query_opt(
                "SELECT password_hash, pepper_version FROM users WHERE id = $1",
                &[&user_id],
            )
            .await
            .map_err(pg_error)?;
        let Some(current) = current else {
            return Ok(Vec::new());
        };
        let earlier = client
            .query(
                "SELECT password_hash, pepper_version FROM password_history
                 WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
                &[&user_id, &(count.saturating_sub(1) as i64)],
            )
            .await
            .map_err(pg_error)?;
        let mut rows = vec![password_from_row(&current)?];
        for row in &earlier {
            rows.push(password_from_row(row)?);
        }
        rows.truncate(count);
        Ok(rows)
    }

    async fn change_password(
        &self,
        user_id: Uuid,
        expected: &PasswordRow,
        replacement: &PasswordRow,
        history_keep: usize,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        if !replace_if_current(&transaction, user_id, expected, replacement).await? {
            return Ok(false);
        }
        transaction
            .execute(
                "INSERT INTO password_history (user_id, password_hash, pepper_version, retired_at)
                 VALUES ($1, $2, $3, $4)",
                &[
                    &user_id,
                    &expected.phc,
                    &version_to_db(expected.pepper_version)?,
                    &whole_seconds(now),
                ],
            )
            .await
            .map_err(pg_error)?;
        transaction
            .execute(
                "DELETE FROM password_history WHERE user_id = $1 AND id NOT IN (
                     SELECT id FROM password_history WHERE user_id = $1
                     ORDER BY id DESC LIMIT $2)",
                &[&user_id, &(history_keep as i64)],
            )
            .await
            .map_err(pg_error)?;
        transaction.commit().await.map_err(pg_error)?;
        Ok(true)
    }

    async fn rehash_password(
        &self,
        user_id: Uuid,
        expected: &PasswordRow,
        replacement: &PasswordRow,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        replace_if_current(&client, user_id, expected, replacement).await
    }

    async fn record_login_failure(
        &self,
        key: &str,
        now: OffsetDateTime,
        window_start: OffsetDateTime,
    ) -> Result<u32, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "INSERT INTO login_throttle (throttle_key, failures, last_failure_at)
                 VALUES ($1, 1, $2)
                 ON CONFLICT (throttle_key) DO UPDATE SET
                     failures = CASE WHEN login_throttle.last_failure_at < $3 THEN 1
                                     ELSE login_throttle.failures + 1 END,
                     last_failure_at = $2
                 RETURNING failures",
                &[&key, &whole_seconds(now), &whole_seconds(window_start)],
            )
            .await
            .map_err(pg_error)?;
        let failures: i32 = row.get(0);
        Ok(u32::try_from(failures).unwrap_or(0))
    }

    async fn lock_login(&self, key: &str, until: OffsetDateTime) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE login_throttle SET locked_until = $1
                 WHERE throttle_key = $2 AND (locked_until IS NULL OR locked_until < $1)",
                &[&whole_seconds(until), &key],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn login_throttle(&self, key: &str) -> Result<Option<LoginThrottle>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT failures, locked_until FROM login_throttle WHERE throttle_key = $1",
                &[&key],
            )
            .await
            .map_err(pg_error)?;
        Ok(row.map(|row| {
            let failures: i32 = row.get(0);
            LoginThrottle {
                failures: u32::try_from(failures).unwrap_or(0),
                locked_until: row.get(1),
            }
        }))
    }

    async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM login_throttle WHERE throttle_key = $1",
                &[&key],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }
}
