//! [`MfaStore`] on the SQLCipher file. The store's single connection
//! serializes every call, and each read-then-write runs in one immediate
//! transaction.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;
use super::mfa::{
    ChallengeRow, CodeCheck, CodeDecision, CodeRow, DeviceRow, MfaRow, MfaStore, OutboxRow,
    SessionMfaRow, StoredCode, decide_code, methods_from_db, methods_to_db,
};
use super::sqlcipher::{
    SqlCipherStore, db_error, from_unix_seconds, is_unique_violation, uuid_from_row,
};
use crate::crypto::BLIND_INDEX_LENGTH;

fn seconds(time: OffsetDateTime) -> i64 {
    time.unix_timestamp()
}

fn optional_seconds(time: Option<OffsetDateTime>) -> Option<i64> {
    time.map(seconds)
}

fn optional_time(column: usize, value: Option<i64>) -> rusqlite::Result<Option<OffsetDateTime>> {
    value.map(|v| from_unix_seconds(column, v)).transpose()
}

fn bytes(id: &Uuid) -> &[u8] {
    id.as_bytes().as_slice()
}

const MFA_COLUMNS: &str = "user_id, email_verified_at, pending_email_ciphertext, \
                           totp_secret_ciphertext, totp_enabled_at, totp_last_step, \
                           phone_ciphertext, phone_verified_at, pending_phone_ciphertext";

fn mfa_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<MfaRow> {
    Ok(MfaRow {
        user_id: uuid_from_row(0, row.get(0)?)?,
        email_verified_at: optional_time(1, row.get(1)?)?,
        pending_email_ciphertext: row.get(2)?,
        totp_secret_ciphertext: row.get(3)?,
        totp_enabled_at: optional_time(4, row.get(4)?)?,
        totp_last_step: row.get(5)?,
        phone_ciphertext: row.get(6)?,
        phone_verified_at: optional_time(7, row.get(7)?)?,
        pending_phone_ciphertext: row.get(8)?,
    })
}

const CHALLENGE_COLUMNS: &str = "id, token_hash, user_id, device_fingerprint, ip_address, \
                                 user_agent, methods, expires_at, failures, completed_at";

fn challenge_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(ChallengeRow, Vec<u8>)> {
    let methods: String = row.get(6)?;
    Ok((
        ChallengeRow {
            id: uuid_from_row(0, row.get(0)?)?,
            token_hash: [0u8; 32],
            user_id: uuid_from_row(2, row.get(2)?)?,
            device_fingerprint: row.get(3)?,
            ip_address: row.get(4)?,
            user_agent: row.get(5)?,
            methods: methods_from_db(&methods),
            expires_at: from_unix_seconds(7, row.get(7)?)?,
            failures: row.get(8)?,
            completed_at: optional_time(9, row.get(9)?)?,
        },
        row.get(1)?,
    ))
}

const DEVICE_COLUMNS: &str =
    "id, user_id, fingerprint, first_seen_at, last_seen_at, user_agent, revoked_at";

fn device_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRow> {
    Ok(DeviceRow {
        id: uuid_from_row(0, row.get(0)?)?,
        user_id: uuid_from_row(1, row.get(1)?)?,
        fingerprint: row.get(2)?,
        first_seen_at: from_unix_seconds(3, row.get(3)?)?,
        last_seen_at: from_unix_seconds(4, row.get(4)?)?,
        user_agent: row.get(5)?,
        revoked_at: optional_time(6, row.get(6)?)?,
    })
}

const OUTBOX_COLUMNS: &str = "id, kind, channel, recipient_ciphertext, subject, \
                              body_ciphertext, attempts, next_attempt_at, sent_at, created_at";

fn outbox_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        id: uuid_from_row(0, row.get(0)?)?,
        kind: row.get(1)?,
        channel: row.get(2)?,
        recipient_ciphertext: row.get(3)?,
        subject: row.get(4)?,
        body_ciphertext: row.get(5)?,
        attempts: row.get(6)?,
        next_attempt_at: from_unix_seconds(7, row.get(7)?)?,
        sent_at: optional_time(8, row.get(8)?)?,
        created_at: from_unix_seconds(9, row.get(9)?)?,
    })
}

fn check_code(
    connection: &mut Connection,
    user_id: Uuid,
    purpose: &str,
    presented: &[u8; 32],
    now: OffsetDateTime,
    max_attempts: u32,
) -> Result<CodeCheck, StoreError> {
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    let stored = transaction
        .query_row(
            "SELECT code_hash, expires_at, attempts, used_at FROM one_time_codes
             WHERE user_id = ?1 AND purpose = ?2",
            params![bytes(&user_id), purpose],
            |row| {
                Ok(StoredCode {
                    code_hash: row.get(0)?,
                    expires_at: from_unix_seconds(1, row.get(1)?)?,
                    attempts: row.get(2)?,
                    used: row.get::<_, Option<i64>>(3)?.is_some(),
                })
            },
        )
        .optional()
        .map_err(db_error)?;
    let outcome = match decide_code(stored.as_ref(), presented, now, max_attempts) {
        CodeDecision::Reply(check) => return Ok(check),
        CodeDecision::Consume => {
            transaction
                .execute(
                    "UPDATE one_time_codes SET used_at = ?1 WHERE user_id = ?2 AND purpose = ?3",
                    params![seconds(now), bytes(&user_id), purpose],
                )
                .map_err(db_error)?;
            CodeCheck::Accepted
        }
        CodeDecision::CountFailure => {
            let attempts: u32 = transaction
                .query_row(
                    "UPDATE one_time_codes SET attempts = attempts + 1
                     WHERE user_id = ?1 AND purpose = ?2 RETURNING attempts",
                    params![bytes(&user_id), purpose],
                    |row| row.get(0),
                )
                .map_err(db_error)?;
            CodeCheck::Wrong {
                attempts_left: max_attempts.saturating_sub(attempts),
            }
        }
    };
    transaction.commit().map_err(db_error)?;
    Ok(outcome)
}

fn revoke_device(
    connection: &mut Connection,
    user_id: Uuid,
    device_id: Uuid,
    now: OffsetDateTime,
) -> Result<Option<u64>, StoreError> {
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    let fingerprint: Option<String> = transaction
        .query_row(
            "UPDATE known_devices SET revoked_at = COALESCE(revoked_at, ?1)
             WHERE id = ?2 AND user_id = ?3 RETURNING fingerprint",
            params![seconds(now), bytes(&device_id), bytes(&user_id)],
            |row| row.get(0),
        )
        .optional()
        .map_err(db_error)?;
    let Some(fingerprint) = fingerprint else {
        return Ok(None);
    };
    let ended = transaction
        .execute(
            "DELETE FROM sessions WHERE user_id = ?1 AND device_fingerprint = ?2",
            params![bytes(&user_id), fingerprint],
        )
        .map_err(db_error)?;
    transaction.commit().map_err(db_error)?;
    Ok(Some(ended as u64))
}

fn claim_notifications(
    connection: &mut Connection,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
    limit: u32,
) -> Result<Vec<OutboxRow>, StoreError> {
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    let due = {
        let mut statement = transaction
            .prepare(&format!(
                "SELECT {OUTBOX_COLUMNS} FROM notification_outbox
                 WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?1
                 ORDER BY created_at, id LIMIT ?2"
            ))
            .map_err(db_error)?;
        statement
            .query_map(params![seconds(now), limit], outbox_from_row)
            .map_err(db_error)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db_error)?
    };
    for message in &due {
        transaction
            .execute(
                "UPDATE notification_outbox SET next_attempt_at = ?1 WHERE id = ?2",
                params![seconds(lease_until), bytes(&message.id)],
            )
            .map_err(db_error)?;
    }
    transaction.commit().map_err(db_error)?;
    Ok(due)
}

#[async_trait]
impl MfaStore for SqlCipherStore {
    async fn mfa_state(&self, user_id: Uuid) -> Result<Option<MfaRow>, StoreError> {
        self.with_connection(move |connection| {
            connection
                .query_row(
                    &format!("SELECT {MFA_COLUMNS} FROM user_mfa WHERE user_id = ?1"),
                    params![bytes(&user_id)],
                    mfa_from_row,
                )
                .optional()
                .map_err(db_error)
        })
        .await
    }

    async fn save_mfa_state(&self, row: MfaRow) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "INSERT INTO user_mfa (user_id, email_verified_at, pending_email_ciphertext,
                         totp_secret_ciphertext, totp_enabled_at, phone_ciphertext,
                         phone_verified_at, pending_phone_ciphertext)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (user_id) DO UPDATE SET
                         email_verified_at = excluded.email_verified_at,
                         pending_email_ciphertext = excluded.pending_email_ciphertext,
                         totp_secret_ciphertext = excluded.totp_secret_ciphertext,
                         totp_enabled_at = excluded.totp_enabled_at,
                         phone_ciphertext = excluded.phone_ciphertext,
                         phone_verified_at = excluded.phone_verified_at,
                         pending_phone_ciphertext = excluded.pending_phone_ciphertext",
                    params![
                        bytes(&row.user_id),
                        optional_seconds(row.email_verified_at),
                        row.pending_email_ciphertext,
                        row.totp_secret_ciphertext,
                        optional_seconds(row.totp_enabled_at),
                        row.phone_ciphertext,
                        optional_seconds(row.phone_verified_at),
                        row.pending_phone_ciphertext
                    ],
                )
                .map(|_| ())
                .map_err(db_error)
        })
        .await
    }

    async fn claim_totp_step(&self, user_id: Uuid, step: i64) -> Result<bool, StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "UPDATE user_mfa SET totp_last_step = ?1
                     WHERE user_id = ?2 AND (totp_last_step IS NULL OR totp_last_step < ?1)",
                    params![step, bytes(&user_id)],
                )
                .map(|changed| changed == 1)
                .map_err(db_error)
        })
        .await
    }

    async fn replace_email(
        &self,
        user_id: Uuid,
        email_ciphertext: String,
        email_blind_index: [u8; BLIND_INDEX_LENGTH],
    ) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "UPDATE users SET email_ciphertext = ?1, email_blind_index = ?2 WHERE id = ?3",
                    params![
                        email_ciphertext,
                        email_blind_index.as_slice(),
                        bytes(&user_id)
                    ],
                )
                .map(|_| ())
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::DuplicateEmail
                    } else {
                        db_error(e)
                    }
                })
        })
        .await
    }

    async fn put_code(&self, code: CodeRow) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "INSERT INTO one_time_codes (user_id, purpose, code_hash, expires_at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (user_id, purpose) DO UPDATE SET
                         code_hash = excluded.code_hash, expires_at = excluded.expires_at,
                         attempts = 0, used_at = NULL",
                    params![
                        bytes(&code.user_id),
                        code.purpose,
                        code.code_hash.as_slice(),
                        seconds(code.expires_at)
                    ],
                )
                .map(|_| ())
                .map_err(db_error)
        })
        .await
    }

    async fn check_code(
        &self,
        user_id: Uuid,
        purpose: &str,
        presented_hash: [u8; 32],
        now: OffsetDateTime,
        max_attempts: u32,
    ) -> Result<CodeCheck, StoreError> {
        let purpose = purpose.to_owned();
        self.with_connection(move |connection| {
            check_code(
                connection,
                user_id,
                &purpose,
                &presented_hash,
                now,
                max_attempts,
            )
        })
        .await
    }

    async fn replace_recovery_codes(
        &self,
        user_id: Uuid,
        hashes: Vec<[u8; 32]>,
    ) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            transaction
                .execute(
                    "DELETE FROM recovery_codes WHERE user_id = ?1",
                    params![bytes(&user_id)],
                )
                .map_err(db_error)?;
            for hash in &hashes {
                transaction
                    .execute(
                        "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?1, ?2)",
                        params![bytes(&user_id), hash.as_slice()],
                    )
                    .map_err(db_error)?;
            }
            transaction.commit().map_err(db_error)
        })
        .await
    }

    async fn use_recovery_code(
        &self,
        user_id: Uuid,
        hash: [u8; 32],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "UPDATE recovery_codes SET used_at = ?1
                     WHERE user_id = ?2 AND code_hash = ?3 AND used_at IS NULL",
                    params![seconds(now), bytes(&user_id), hash.as_slice()],
                )
                .map(|changed| changed == 1)
                .map_err(db_error)
        })
        .await
    }

    async fn unused_recovery_codes(&self, user_id: Uuid) -> Result<u32, StoreError> {
        self.with_connection(move |connection| {
            connection
                .query_row(
                    "SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL",
                    params![bytes(&user_id)],
                    |row| row.get(0),
                )
                .map_err(db_error)
        })
        .await
    }

    async fn insert_challenge(&self, challenge: ChallengeRow) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "INSERT INTO mfa_challenges (id, token_hash, user_id, device_fingerprint,
                         ip_address, user_agent, methods, expires_at, failures)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0)",
                    params![
                        bytes(&challenge.id),
                        challenge.token_hash.as_slice(),
                        bytes(&challenge.user_id),
                        challenge.device_fingerprint,
                        challenge.ip_address,
                        challenge.user_agent,
                        methods_to_db(&challenge.methods),
                        seconds(challenge.expires_at)
                    ],
                )
                .map(|_| ())
                .map_err(db_error)
        })
        .await
    }

    async fn find_challenge(
        &self,
        token_hash: [u8; 32],
    ) -> Result<Option<ChallengeRow>, StoreError> {
        self.with_connection(move |connection| {
            let found = connection
                .query_row(
                    &format!(
                        "SELECT {CHALLENGE_COLUMNS} FROM mfa_challenges WHERE token_hash = ?1"
                    ),
                    params![token_hash.as_slice()],
                    challenge_from_row,
                )
                .optional()
                .map_err(db_error)?;
            Ok(found.map(|(challenge, _)| ChallengeRow {
                token_hash,
                ..challenge
            }))
        })
        .await
    }

    async fn record_challenge_failure(&self, challenge_id: Uuid) -> Result<u32, StoreError> {
        self.with_connection(move |connection| {
            connection
                .query_row(
                    "UPDATE mfa_challenges SET failures = failures + 1 WHERE id = ?1
                     RETURNING failures",
                    params![bytes(&challenge_id)],
                    |row| row.get(0),
                )
                .map_err(db_error)
        })
        .await
    }

    async fn complete_challenge(
        &self,
        challenge_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "UPDATE mfa_challenges SET completed_at = ?1
                     WHERE id = ?2 AND completed_at IS NULL",
                    params![seconds(now), bytes(&challenge_id)],
                )
                .map(|changed| changed == 1)
                .map_err(db_error)
        })
        .await
    }

    async fn record_session_mfa(&self, row: SessionMfaRow) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "INSERT INTO session_mfa (session_id, user_id, last_mfa_at, amr)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (session_id) DO UPDATE SET
                         last_mfa_at = excluded.last_mfa_at, amr = excluded.amr",
                    params![
                        bytes(&row.session_id),
                        bytes(&row.user_id),
                        seconds(row.last_mfa_at),
                        methods_to_db(&row.amr)
                    ],
                )
                .map(|_| ())
                .map_err(db_error)
        })
        .await
    }

    async fn session_mfa(&self, session_id: Uuid) -> Result<Option<SessionMfaRow>, StoreError> {
        self.with_connection(move |connection| {
            connection
                .query_row(
                    "SELECT session_id, user_id, last_mfa_at, amr FROM session_mfa
                     WHERE session_id = ?1",
                    params![bytes(&session_id)],
                    |row| {
                        let amr: String = row.get(3)?;
                        Ok(SessionMfaRow {
                            session_id: uuid_from_row(0, row.get(0)?)?,
                            user_id: uuid_from_row(1, row.get(1)?)?,
                            last_mfa_at: from_unix_seconds(2, row.get(2)?)?,
                            amr: methods_from_db(&amr),
                        })
                    },
                )
                .optional()
                .map_err(db_error)
        })
        .await
    }

    async fn find_device(
        &self,
        user_id: Uuid,
        fingerprint: &str,
    ) -> Result<Option<DeviceRow>, StoreError> {
        let fingerprint = fingerprint.to_owned();
        self.with_connection(move |connection| {
            connection
                .query_row(
                    &format!(
                        "SELECT {DEVICE_COLUMNS} FROM known_devices
                         WHERE user_id = ?1 AND fingerprint = ?2"
                    ),
                    params![bytes(&user_id), fingerprint],
                    device_from_row,
                )
                .optional()
                .map_err(db_error)
        })
        .await
    }

    async fn count_devices(&self, user_id: Uuid) -> Result<u64, StoreError> {
        self.with_connection(move |connection| {
            connection
                .query_row(
                    "SELECT COUNT(*) FROM known_devices WHERE user_id = ?1",
                    params![bytes(&user_id)],
                    |row| row.get::<_, i64>(0),
                )
                .map(|count| u64::try_from(count).unwrap_or(0))
                .map_err(db_error)
        })
        .await
    }

    async fn remember_device(&self, device: DeviceRow) -> Result<Uuid, StoreError> {
        self.with_connection(move |connection| {
            connection
                .query_row(
                    "INSERT INTO known_devices (id, user_id, fingerprint, first_seen_at,
                         last_seen_at, user_agent)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (user_id, fingerprint) DO UPDATE SET
                         last_seen_at = excluded.last_seen_at,
                         user_agent = COALESCE(excluded.user_agent, known_devices.user_agent),
                         revoked_at = NULL
                     RETURNING id",
                    params![
                        bytes(&device.id),
                        bytes(&device.user_id),
                        device.fingerprint,
                        seconds(device.first_seen_at),
                        seconds(device.last_seen_at),
                        device.user_agent
                    ],
                    |row| uuid_from_row(0, row.get(0)?),
                )
                .map_err(db_error)
        })
        .await
    }

    async fn touch_device(
        &self,
        user_id: Uuid,
        fingerprint: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let fingerprint = fingerprint.to_owned();
        self.with_connection(move |connection| {
            connection
                .execute(
                    "UPDATE known_devices SET last_seen_at = ?1
                     WHERE user_id = ?2 AND fingerprint = ?3 AND revoked_at IS NULL",
                    params![seconds(now), bytes(&user_id), fingerprint],
                )
                .map(|_| ())
                .map_err(db_error)
        })
        .await
    }

    async fn list_devices(&self, user_id: Uuid) -> Result<Vec<DeviceRow>, StoreError> {
        self.with_connection(move |connection| {
            let mut statement = connection
                .prepare(&format!(
                    "SELECT {DEVICE_COLUMNS} FROM known_devices WHERE user_id = ?1
                     ORDER BY first_seen_at, id"
                ))
                .map_err(db_error)?;
            statement
                .query_map(params![bytes(&user_id)], device_from_row)
                .map_err(db_error)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db_error)
        })
        .await
    }

    async fn revoke_device(
        &self,
        user_id: Uuid,
        device_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<Option<u64>, StoreError> {
        self.with_connection(move |connection| revoke_device(connection, user_id, device_id, now))
            .await
    }

    async fn enqueue_notification(&self, message: OutboxRow) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "INSERT INTO notification_outbox (id, kind, channel, recipient_ciphertext,
                         subject, body_ciphertext, attempts, next_attempt_at, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        bytes(&message.id),
                        message.kind,
                        message.channel,
                        message.recipient_ciphertext,
                        message.subject,
                        message.body_ciphertext,
                        message.attempts,
                        seconds(message.next_attempt_at),
                        seconds(message.created_at)
                    ],
                )
                .map(|_| ())
                .map_err(db_error)
        })
        .await
    }

    async fn claim_notifications(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        self.with_connection(move |connection| {
            claim_notifications(connection, now, lease_until, limit)
        })
        .await
    }

    async fn mark_notification_sent(
        &self,
        message_id: Uuid,
        attempts: u32,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "UPDATE notification_outbox SET sent_at = ?1, attempts = ?2, last_error = NULL
                     WHERE id = ?3",
                    params![seconds(now), attempts, bytes(&message_id)],
                )
                .map(|_| ())
                .map_err(db_error)
        })
        .await
    }

    async fn mark_notification_failed(
        &self,
        message_id: Uuid,
        attempts: u32,
        retry_at: Option<OffsetDateTime>,
        error: String,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "UPDATE notification_outbox SET attempts = ?1, last_error = ?2,
                         next_attempt_at = COALESCE(?3, next_attempt_at),
                         failed_at = CASE WHEN ?3 IS NULL THEN ?4 ELSE NULL END
                     WHERE id = ?5",
                    params![
                        attempts,
                        error,
                        optional_seconds(retry_at),
                        seconds(now),
                        bytes(&message_id)
                    ],
                )
                .map(|_| ())
                .map_err(db_error)
        })
        .await
    }
}
