//! [`CredentialStore`] on the SQLCipher file. The failure counter is one
//! `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` statement, so parallel
//! failures are each counted.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;
use super::credentials::{CredentialStore, LoginThrottle, PasswordRow};
use super::sqlcipher::{SqlCipherStore, db_error, from_unix_seconds};

fn current_password(
    connection: &Connection,
    user_id: Uuid,
) -> Result<Option<PasswordRow>, StoreError> {
    connection
        .query_row(
            "SELECT password_hash, pepper_version FROM users WHERE id = ?1",
            params![user_id.as_bytes().as_slice()],
            |row| {
                Ok(PasswordRow {
                    phc: row.get(0)?,
                    pepper_version: row.get(1)?,
                })
            },
        )
        .optional()
        .map_err(db_error)
}

fn replace_if_current(
    connection: &Connection,
    user_id: Uuid,
    expected: &PasswordRow,
    replacement: &PasswordRow,
) -> Result<bool, StoreError> {
    connection
        .execute(
            "UPDATE users SET password_hash = ?1, pepper_version = ?2
             WHERE id = ?3 AND password_hash = ?4 AND pepper_version = ?5",
            params![
                replacement.phc,
                replacement.pepper_version,
                user_id.as_bytes().as_slice(),
                expected.phc,
                expected.pepper_version
            ],
        )
        .map(|count| count == 1)
        .map_err(db_error)
}

#[async_trait]
impl CredentialStore for SqlCipherStore {
    async fn recent_passwords(
        &self,
        user_id: Uuid,
        count: usize,
    ) -> Result<Vec<PasswordRow>, StoreError> {
        self.with_connection(move |connection| {
            let Some(current) = current_password(connection, user_id)? else {
                return Ok(Vec::new());
            };
            let mut statement = connection
                .prepare(
                    "SELECT password_hash, pepper_version FROM password_history
                     WHERE user_id = ?1 ORDER BY id DESC LIMIT ?2",
                )
                .map_err(db_error)?;
            let earlier = statement
                .query_map(
                    params![
                        user_id.as_bytes().as_slice(),
                        count.saturating_sub(1) as i64
                    ],
                    |row| {
                        Ok(PasswordRow {
                            phc: row.get(0)?,
                            pepper_version: row.get(1)?,
                        })
                    },
                )
                .map_err(db_error)?;
            let mut rows = vec![current];
            for row in earlier {
                rows.push(row.map_err(db_error)?);
            }
            rows.truncate(count);
            Ok(rows)
        })
        .await
    }

    async fn change_password(
        &self,
        user_id: Uuid,
        expected: &PasswordRow,
        replacement: &PasswordRow,
        history_keep: usize,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let expected = expected.clone();
        let replacement = replacement.clone();
        self.with_connection(move |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            if !replace_if_current(&transaction, user_id, &expected, &replacement)? {
                return Ok(false);
            }
            let user = user_id.as_bytes().as_slice();
            transaction
                .execute(
                    "INSERT INTO password_history (user_id, password_hash, pepper_version,
                         retired_at)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![
                        user,
                        expected.phc,
                        expected.pepper_version,
                        now.unix_timestamp()
                    ],
                )
                .map_err(db_error)?;
            transaction
                .execute(
                    "DELETE FROM password_history WHERE user_id = ?1 AND id NOT IN (
                         SELECT id FROM password_history WHERE user_id = ?1
                         ORDER BY id DESC LIMIT ?2)",
                    params![user, history_keep as i64],
                )
                .map_err(db_error)?;
            transaction.commit().map_err(db_error)?;
            Ok(true)
        })
        .await
    }

    async fn rehash_password(
        &self,
        user_id: Uuid,
        expected: &PasswordRow,
        replacement: &PasswordRow,
    ) -> Result<bool, StoreError> {
        let expected = expected.clone();
        let replacement = replacement.clone();
        self.with_connection(move |connection| {
            replace_if_current(connection, user_id, &expected, &replacement)
        })
        .await
    }

    async fn record_login_failure(
        &self,
        key: &str,
        now: OffsetDateTime,
        window_start: OffsetDateTime,
    ) -> Result<u32, StoreError> {
        let key = key.to_owned();
        self.with_connection(move |connection| {
            connection
                .query_row(
                    "INSERT INTO login_throttle (throttle_key, failures, last_failure_at)
                     VALUES (?1, 1, ?2)
                     ON CONFLICT (throttle_key) DO UPDATE SET
                         failures = CASE WHEN login_throttle.last_failure_at < ?3 THEN 1
                                         ELSE login_throttle.failures + 1 END,
                         last_failure_at = ?2
                     RETURNING failures",
                    params![key, now.unix_timestamp(), window_start.unix_timestamp()],
                    |row| row.get(0),
                )
                .map_err(db_error)
        })
        .await
    }

    async fn lock_login(&self, key: &str, until: OffsetDateTime) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.with_connection(move |connection| {
            connection
                .execute(
                    "UPDATE login_throttle SET locked_until = ?1
                     WHERE throttle_key = ?2 AND (locked_until IS NULL OR locked_until < ?1)",
                    params![until.unix_timestamp(), key],
                )
                .map(|_| ())
                .map_err(db_error)
        })
        .await
    }

    async fn login_throttle(&self, key: &str) -> Result<Option<LoginThrottle>, StoreError> {
        let key = key.to_owned();
        self.with_connection(move |connection| {
            connection
                .query_row(
                    "SELECT failures, locked_until FROM login_throttle WHERE throttle_key = ?1",
                    params![key],
                    |row| {
                        let locked_until: Option<i64> = row.get(1)?;
                        Ok(LoginThrottle {
                            failures: row.get(0)?,
                            locked_until: locked_until
                                .map(|seconds| from_unix_seconds(1, seconds))
                                .transpose()?,
                        })
                    },
                )
                .optional()
                .map_err(db_error)
        })
        .await
    }

    async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.with_connection(move |connection| {
            connection
                .execute(
                    "DELETE FROM login_throttle WHERE throttle_key = ?1",
                    params![key],
                )
                .map(|_| ())
                .map_err(db_error)
        })
        .await
    }
}
