//! [`MfaStore`] on PostgreSQL. Checks that read and then write lock their
//! row (`SELECT ... FOR UPDATE`), and the outbox worker claims messages
//! with `FOR UPDATE SKIP LOCKED`, so several API instances never claim
//! one message at the same time.

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use super::StoreError;
use super::mfa::{
    ChallengeRow, CodeCheck, CodeDecision, CodeRow, DeviceRow, MfaRow, MfaStore, OutboxRow,
    SessionMfaRow, StoredCode, decide_code, methods_from_db, methods_to_db,
};
use super::postgres::{PostgresStore, pg_error, whole_seconds};
use crate::crypto::BLIND_INDEX_LENGTH;

fn count(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

fn stored_count(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

const MFA_COLUMNS: &str = "user_id, email_verified_at, pending_email_ciphertext, \
                           totp_secret_ciphertext, totp_enabled_at, totp_last_step, \
                           phone_ciphertext, phone_verified_at, pending_phone_ciphertext";

fn mfa_from_row(row: &Row) -> MfaRow {
    MfaRow {
        user_id: row.get(0),
        email_verified_at: row.get(1),
        pending_email_ciphertext: row.get(2),
        totp_secret_ciphertext: row.get(3),
        totp_enabled_at: row.get(4),
        totp_last_step: row.get(5),
        phone_ciphertext: row.get(6),
        phone_verified_at: row.get(7),
        pending_phone_ciphertext: row.get(8),
    }
}

const CHALLENGE_COLUMNS: &str = "id, token_hash, user_id, device_fingerprint, ip_address, \
                                 user_agent, methods, expires_at, failures, completed_at";

fn challenge_from_row(row: &Row, token_hash: [u8; 32]) -> ChallengeRow {
    let methods: String = row.get(6);
    ChallengeRow {
        id: row.get(0),
        token_hash,
        user_id: row.get(2),
        device_fingerprint: row.get(3),
        ip_address: row.get(4),
        user_agent: row.get(5),
        methods: methods_from_db(&methods),
        expires_at: row.get(7),
        failures: count(row.get(8)),
        completed_at: row.get(9),
    }
}

const DEVICE_COLUMNS: &str =
    "id, user_id, fingerprint, first_seen_at, last_seen_at, user_agent, revoked_at";

fn device_from_row(row: &Row) -> DeviceRow {
    DeviceRow {
        id: row.get(0),
        user_id: row.get(1),
        fingerprint: row.get(2),
        first_seen_at: row.get(3),
        last_seen_at: row.get(4),
        user_agent: row.get(5),
        revoked_at: row.get(6),
    }
}

const OUTBOX_COLUMNS: &str = "id, kind, channel, recipient_ciphertext, subject, \
                              body_ciphertext, attempts, next_attempt_at, sent_at, created_at";

fn outbox_from_row(row: &Row) -> OutboxRow {
    OutboxRow {
        id: row.get(0),
        kind: row.get(1),
        channel: row.get(2),
        recipient_ciphertext: row.get(3),
        subject: row.get(4),
        body_ciphertext: row.get(5),
        attempts: count(row.get(6)),
        next_attempt_at: row.get(7),
        sent_at: row.get(8),
        created_at: row.get(9),
    }
}

#[async_trait]
impl MfaStore for PostgresStore {
    async fn mfa_state(&self, user_id: Uuid) -> Result<Option<MfaRow>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {MFA_COLUMNS} FROM user_mfa WHERE user_id = $1"),
                &[&user_id],
            )
            .await
            .map_err(pg_error)?;
        Ok(row.as_ref().map(mfa_from_row))
    }

    async fn save_mfa_state(&self, row: MfaRow) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO user_mfa (user_id, email_verified_at, pending_email_ciphertext,
                     totp_secret_ciphertext, totp_enabled_at, phone_ciphertext,
                     phone_verified_at, pending_phone_ciphertext)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (user_id) DO UPDATE SET
                     email_verified_at = excluded.email_verified_at,
                     pending_email_ciphertext = excluded.pending_email_ciphertext,
                     totp_secret_ciphertext = excluded.totp_secret_ciphertext,
                     totp_enabled_at = excluded.totp_enabled_at,
                     phone_ciphertext = excluded.phone_ciphertext,
                     phone_verified_at = excluded.phone_verified_at,
                     pending_phone_ciphertext = excluded.pending_phone_ciphertext",
                &[
                    &row.user_id,
                    &row.email_verified_at.map(whole_seconds),
                    &row.pending_email_ciphertext,
                    &row.totp_secret_ciphertext,
                    &row.totp_enabled_at.map(whole_seconds),
                    &row.phone_ciphertext,
                    &row.phone_verified_at.map(whole_seconds),
                    &row.pending_phone_ciphertext,
                ],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn claim_totp_step(&self, user_id: Uuid, step: i64) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let changed = client
            .execute(
                "UPDATE user_mfa SET totp_last_step = $1
                 WHERE user_id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
                &[&step, &user_id],
            )
            .await
            .map_err(pg_error)?;
        Ok(changed == 1)
    }

    async fn replace_email(
        &self,
        user_id: Uuid,
        email_ciphertext: String,
        email_blind_index: [u8; BLIND_INDEX_LENGTH],
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE users SET email_ciphertext = $1, email_blind_index = $2 WHERE id = $3",
                &[&email_ciphertext, &email_blind_index.as_slice(), &user_id],
            )
            .await
            .map_err(|e| {
                let unique = e
                    .as_db_error()
                    .is_some_and(|db| db.code() == &SqlState::UNIQUE_VIOLATION);
                if unique {
                    StoreError::DuplicateEmail
                } else {
                    pg_error(e)
                }
            })?;
        Ok(())
    }

    async fn put_code(&self, code: CodeRow) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO one_time_codes (user_id, purpose, code_hash, expires_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (user_id, purpose) DO UPDATE SET
                     code_hash = excluded.code_hash, expires_at = excluded.expires_at,
                     attempts = 0, used_at = NULL",
                &[
                    &code.user_id,
                    &code.purpose,
                    &code.code_hash.as_slice(),
                    &whole_seconds(code.expires_at),
                ],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn check_code(
        &self,
        user_id: Uuid,
        purpose: &str,
        presented_hash: [u8; 32],
        now: OffsetDateTime,
        max_attempts: u32,
    ) -> Result<CodeCheck, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        let stored = transaction
            .query_opt(
                "SELECT code_hash, expires_at, attempts, used_at FROM one_time_codes
                 WHERE user_id = $1 AND purpose = $2 FOR UPDATE",
                &[&user_id, &purpose],
            )
            .await
            .map_err(pg_error)?
            .map(|row| StoredCode {
                code_hash: row.get(0),
                expires_at: row.get(1),
                attempts: count(row.get(2)),
                used: row.get::<_, Option<OffsetDateTime>>(3).is_some(),
            });
        let outcome = match decide_code(stored.as_ref(), &presented_hash, now, max_attempts) {
            CodeDecision::Reply(check) => return Ok(check),
            CodeDecision::Consume => {
                transaction
                    .execute(
                        "UPDATE one_time_codes SET used_at = $1
                         WHERE user_id = $2 AND purpose = $3",
                        &[&whole_seconds(now), &user_id, &purpose],
                    )
                    .await
                    .map_err(pg_error)?;
                CodeCheck::Accepted
            }
            CodeDecision::CountFailure => {
                let row = transaction
                    .query_one(
                        "UPDATE one_time_codes SET attempts = attempts + 1
                         WHERE user_id = $1 AND purpose = $2 RETURNING attempts",
                        &[&user_id, &purpose],
                    )
                    .await
                    .map_err(pg_error)?;
                CodeCheck::Wrong {
                    attempts_left: max_attempts.saturating_sub(count(row.get(0))),
                }
            }
        };
        transaction.commit().await.map_err(pg_error)?;
        Ok(outcome)
    }

    async fn replace_recovery_codes(
        &self,
        user_id: Uuid,
        hashes: Vec<[u8; 32]>,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        transaction
            .execute("DELETE FROM recovery_codes WHERE user_id = $1", &[&user_id])
            .await
            .map_err(pg_error)?;
        for hash in &hashes {
            transaction
                .execute(
                    "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)",
                    &[&user_id, &hash.as_slice()],
                )
                .await
                .map_err(pg_error)?;
        }
        transaction.commit().await.map_err(pg_error)
    }

    async fn use_recovery_code(
        &self,
        user_id: Uuid,
        hash: [u8; 32],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let changed = client
            .execute(
                "UPDATE recovery_codes SET used_at = $1
                 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
                &[&whole_seconds(now), &user_id, &hash.as_slice()],
            )
            .await
            .map_err(pg_error)?;
        Ok(changed == 1)
    }

    async fn unused_recovery_codes(&self, user_id: Uuid) -> Result<u32, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
                &[&user_id],
            )
            .await
            .map_err(pg_error)?;
        Ok(u32::try_from(row.get::<_, i64>(0)).unwrap_or(u32::MAX))
    }

    async fn insert_challenge(&self, challenge: ChallengeRow) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO mfa_challenges (id, token_hash, user_id, device_fingerprint,
                     ip_address, user_agent, methods, expires_at, failures)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)",
                &[
                    &challenge.id,
                    &challenge.token_hash.as_slice(),
                    &challenge.user_id,
                    &challenge.device_fingerprint,
                    &challenge.ip_address,
                    &challenge.user_agent,
                    &methods_to_db(&challenge.methods),
                    &whole_seconds(challenge.expires_at),
                ],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn find_challenge(
        &self,
        token_hash: [u8; 32],
    ) -> Result<Option<ChallengeRow>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {CHALLENGE_COLUMNS} FROM mfa_challenges WHERE token_hash = $1"),
                &[&token_hash.as_slice()],
            )
            .await
            .map_err(pg_error)?;
        Ok(row.map(|row| challenge_from_row(&row, token_hash)))
    }

    async fn record_challenge_failure(&self, challenge_id: Uuid) -> Result<u32, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "UPDATE mfa_challenges SET failures = failures + 1 WHERE id = $1
                 RETURNING failures",
                &[&challenge_id],
            )
            .await
            .map_err(pg_error)?;
        Ok(count(row.get(0)))
    }

    async fn complete_challenge(
        &self,
        challenge_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let changed = client
            .execute(
                "UPDATE mfa_challenges SET completed_at = $1
                 WHERE id = $2 AND completed_at IS NULL",
                &[&whole_seconds(now), &challenge_id],
            )
            .await
            .map_err(pg_error)?;
        Ok(changed == 1)
    }

    async fn record_session_mfa(&self, row: SessionMfaRow) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO session_mfa (session_id, user_id, last_mfa_at, amr)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (session_id) DO UPDATE SET
                     last_mfa_at = excluded.last_mfa_at, amr = excluded.amr",
                &[
                    &row.session_id,
                    &row.user_id,
                    &whole_seconds(row.last_mfa_at),
                    &methods_to_db(&row.amr),
                ],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn session_mfa(&self, session_id: Uuid) -> Result<Option<SessionMfaRow>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT session_id, user_id, last_mfa_at, amr FROM session_mfa
                 WHERE session_id = $1",
                &[&session_id],
            )
            .await
            .map_err(pg_error)?;
        Ok(row.map(|row| {
            let amr: String = row.get(3);
            SessionMfaRow {
                session_id: row.get(0),
                user_id: row.get(1),
                last_mfa_at: row.get(2),
                amr: methods_from_db(&amr),
            }
        }))
    }

    async fn find_device(
        &self,
        user_id: Uuid,
        fingerprint: &str,
    ) -> Result<Option<DeviceRow>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {DEVICE_COLUMNS} FROM known_devices
                     WHERE user_id = $1 AND fingerprint = $2"
                ),
                &[&user_id, &fingerprint],
            )
            .await
            .map_err(pg_error)?;
        Ok(row.as_ref().map(device_from_row))
    }

    async fn count_devices(&self, user_id: Uuid) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT COUNT(*) FROM known_devices WHERE user_id = $1",
                &[&user_id],
            )
            .await
            .map_err(pg_error)?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    async fn remember_device(&self, device: DeviceRow) -> Result<Uuid, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "INSERT INTO known_devices (id, user_id, fingerprint, first_seen_at,
                     last_seen_at, user_agent)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (user_id, fingerprint) DO UPDATE SET
                     last_seen_at = excluded.last_seen_at,
                     user_agent = COALESCE(excluded.user_agent, known_devices.user_agent),
                     revoked_at = NULL
                 RETURNING id",
                &[
                    &device.id,
                    &device.user_id,
                    &device.fingerprint,
                    &whole_seconds(device.first_seen_at),
                    &whole_seconds(device.last_seen_at),
                    &device.user_agent,
                ],
            )
            .await
            .map_err(pg_error)?;
        Ok(row.get(0))
    }

    async fn touch_device(
        &self,
        user_id: Uuid,
        fingerprint: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE known_devices SET last_seen_at = $1
                 WHERE user_id = $2 AND fingerprint = $3 AND revoked_at IS NULL",
                &[&whole_seconds(now), &user_id, &fingerprint],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn list_devices(&self, user_id: Uuid) -> Result<Vec<DeviceRow>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {DEVICE_COLUMNS} FROM known_devices WHERE user_id = $1
                     ORDER BY first_seen_at, id"
                ),
                &[&user_id],
            )
            .await
            .map_err(pg_error)?;
        Ok(rows.iter().map(device_from_row).collect())
    }

    async fn revoke_device(
        &self,
        user_id: Uuid,
        device_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<Option<u64>, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        let revoked = transaction
            .query_opt(
                "UPDATE known_devices SET revoked_at = COALESCE(revoked_at, $1)
                 WHERE id = $2 AND user_id = $3 RETURNING fingerprint",
                &[&whole_seconds(now), &device_id, &user_id],
            )
            .await
            .map_err(pg_error)?;
        let Some(revoked) = revoked else {
            return Ok(None);
        };
        let fingerprint: String = revoked.get(0);
        let ended = transaction
            .execute(
                "DELETE FROM sessions WHERE user_id = $1 AND device_fingerprint = $2",
                &[&user_id, &fingerprint],
            )
            .await
            .map_err(pg_error)?;
        transaction.commit().await.map_err(pg_error)?;
        Ok(Some(ended))
    }

    async fn enqueue_notification(&self, message: OutboxRow) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO notification_outbox (id, kind, channel, recipient_ciphertext,
                     subject, body_ciphertext, attempts, next_attempt_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &message.id,
                    &message.kind,
                    &message.channel,
                    &message.recipient_ciphertext,
                    &message.subject,
                    &message.body_ciphertext,
                    &stored_count(message.attempts),
                    &whole_seconds(message.next_attempt_at),
                    &whole_seconds(message.created_at),
                ],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn claim_notifications(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "UPDATE notification_outbox SET next_attempt_at = $1
                     WHERE id IN (
                         SELECT id FROM notification_outbox
                         WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2
                         ORDER BY created_at, id LIMIT $3
                         FOR UPDATE SKIP LOCKED)
                     RETURNING {OUTBOX_COLUMNS}"
                ),
                &[&whole_seconds(lease_until), &now, &i64::from(limit)],
            )
            .await
            .map_err(pg_error)?;
        let mut claimed: Vec<OutboxRow> = rows.iter().map(outbox_from_row).collect();
        claimed.sort_by_key(|message| (message.created_at, message.id));
        Ok(claimed)
    }

    async fn mark_notification_sent(
        &self,
        message_id: Uuid,
        attempts: u32,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE notification_outbox SET sent_at = $1, attempts = $2, last_error = NULL
                 WHERE id = $3",
                &[&whole_seconds(now), &stored_count(attempts), &message_id],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn mark_notification_failed(
        &self,
        message_id: Uuid,
        attempts: u32,
        retry_at: Option<OffsetDateTime>,
        error: String,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let failed_at = retry_at.is_none().then(|| whole_seconds(now));
        client
            .execute(
                "UPDATE notification_outbox SET attempts = $1, last_error = $2,
                     next_attempt_at = COALESCE($3, next_attempt_at), failed_at = $4
                 WHERE id = $5",
                &[
                    &stored_count(attempts),
                    &error,
                    &retry_at.map(whole_seconds),
                    &failed_at,
                    &message_id,
                ],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }
}
