//! The PostgreSQL store: tokio-postgres behind a small deadpool pool.
//!
//! Applied migrations are listed in `schema_migrations`. Migrations and
//! audit appends each take a transaction-scoped advisory lock, so several
//! server instances on one database neither migrate twice nor fork the
//! audit chain.
//!
//! NOTE: connections are not encrypted (no TLS to PostgreSQL yet), so the
//! configuration accepts only loopback hosts and Unix sockets.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use time::OffsetDateTime;
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row};
use uuid::Uuid;

use super::{
    AuditQuery, AuditRow, AuditSealer, SessionRecord, Store, StoreError, UserRow,
    blind_index_from_db, key_version_from_db, token_hash_from_db,
};
use crate::crypto::BLIND_INDEX_LENGTH;

mod households;
mod money;
mod readings;
mod security;
mod webauthn;

/// Numbered migrations; migration N is recorded as version N.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/postgres/0001_users_sessions.sql"),
    include_str!("migrations/postgres/0002_audit_log.sql"),
    include_str!("migrations/postgres/0003_households.sql"),
    include_str!("migrations/postgres/0004_readings_idempotency.sql"),
    include_str!("migrations/postgres/0005_identity_sessions.sql"),
    include_str!("migrations/postgres/0006_passwords_login_throttle.sql"),
    include_str!("migrations/postgres/0007_mfa_devices_outbox.sql"),
    include_str!("migrations/postgres/0008_security_events_service_credentials.sql"),
    include_str!("migrations/postgres/0009_webauthn.sql"),
    include_str!("migrations/postgres/0010_money.sql"),
    include_str!("migrations/postgres/0011_payment_vault_charge_id.sql"),
    include_str!("migrations/postgres/0012_payment_method_per_card.sql"),
];

/// Advisory lock ids, arbitrary but fixed, so every instance takes the same.
const MIGRATION_LOCK: i64 = 0x5350_0001;
const AUDIT_APPEND_LOCK: i64 = 0x5350_0002;

/// How long opening one connection may take before the pool gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

const USER_COLUMNS: &str = "id, email_ciphertext, email_blind_index, password_hash, created_at";
const AUDIT_COLUMNS: &str = "id, recorded_at, kind, actor, action, resource, outcome, reason, \
                             request_id, details, key_version, prev_mac, mac";

pub struct PostgresStore {
    pool: Pool,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/database`) with at most
    /// `pool_size` connections and applies pending migrations.
    pub async fn connect(url: &str, pool_size: usize) -> Result<Self, StoreError> {
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StoreError::Database(format!("invalid database_url: {e}")))?;
        config.connect_timeout(CONNECT_TIMEOUT);
        config.application_name("sharepay-server");
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(CONNECT_TIMEOUT))
            .wait_timeout(Some(CONNECT_TIMEOUT * 2))
            .build()
            .map_err(|e| StoreError::Database(format!("building the connection pool: {e}")))?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    pub(super) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|e| {
            StoreError::Database(format!(
                "cannot connect to PostgreSQL: {e}; check database_url and that the server runs"
            ))
        })
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(pg_error)?;
        transaction
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (
                     version INTEGER PRIMARY KEY,
                     applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                 )",
            )
            .await
            .map_err(pg_error)?;
        let applied: i32 = transaction
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )
            .await
            .map_err(pg_error)?
            .get(0);
        let applied = applied as usize;
        if applied > MIGRATIONS.len() {
            return Err(StoreError::Migration {
                version: applied,
                detail: format!(
                    "the database is at schema version {applied}, newer than this build knows \
                     ({}); run a newer sharepay-server",
                    MIGRATIONS.len()
                ),
            });
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
            let version = index + 1;
            let migration_error = |e: tokio_postgres::Error| StoreError::Migration {
                version,
                detail: describe(&e),
            };
            transaction
                .batch_execute(sql)
                .await
                .map_err(migration_error)?;
            transaction
                .execute(
                    "INSERT INTO schema_migrations (version) VALUES ($1)",
                    &[&(version as i32)],
                )
                .await
                .map_err(migration_error)?;
            tracing::info!(
                version,
                backend = "postgres",
                "applied a database migration"
            );
        }
        transaction.commit().await.map_err(pg_error)
    }
}

fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}

pub(super) fn pg_error(error: tokio_postgres::Error) -> StoreError {
    StoreError::Database(describe(&error))
}

fn unique_constraint(error: &tokio_postgres::Error) -> Option<String> {
    let db = error.as_db_error()?;
    if db.code() != &SqlState::UNIQUE_VIOLATION {
        return None;
    }
    Some(db.constraint().unwrap_or_default().to_owned())
}

fn user_from_row(row: &Row) -> Result<UserRow, StoreError> {
    let id: Uuid = row.try_get(0).map_err(pg_error)?;
    let index: Vec<u8> = row.try_get(2).map_err(pg_error)?;
    Ok(UserRow {
        id,
        email_ciphertext: row.try_get(1).map_err(pg_error)?,
        email_blind_index: blind_index_from_db(id, &index)?,
        password_hash: row.try_get(3).map_err(pg_error)?,
        created_at: row.try_get(4).map_err(pg_error)?,
    })
}

fn audit_from_row(row: &Row) -> Result<AuditRow, StoreError> {
    let id: i64 = row.try_get(0).map_err(pg_error)?;
    let key_version: i64 = row.try_get(10).map_err(pg_error)?;
    Ok(AuditRow {
        id,
        recorded_at: row.try_get(1).map_err(pg_error)?,
        kind: row.try_get(2).map_err(pg_error)?,
        actor: row.try_get(3).map_err(pg_error)?,
        action: row.try_get(4).map_err(pg_error)?,
        resource: row.try_get(5).map_err(pg_error)?,
        outcome: row.try_get(6).map_err(pg_error)?,
        reason: row.try_get(7).map_err(pg_error)?,
        request_id: row.try_get(8).map_err(pg_error)?,
        details: row.try_get(9).map_err(pg_error)?,
        key_version: key_version_from_db(id, key_version)?,
        prev_mac: row.try_get(11).map_err(pg_error)?,
        mac: row.try_get(12).map_err(pg_error)?,
    })
}

async fn insert_user_row(client: &impl GenericClient, user: &UserRow) -> Result<(), StoreError> {
    let result = client
        .execute(
            &format!("INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"),
            &[
                &user.id,
                &user.email_ciphertext,
                &user.email_blind_index.as_slice(),
                &user.password_hash,
                &whole_seconds(user.created_at),
            ],
        )
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) => match unique_constraint(&e).as_deref() {
            Some("users_pkey") => Err(StoreError::DuplicateId),
            Some(_) => Err(StoreError::DuplicateEmail),
            None => Err(pg_error(e)),
        },
    }
}

/// Chains `row` to the last audit row and inserts it inside `transaction`.
async fn append_audit_row(
    transaction: &tokio_postgres::Transaction<'_>,
    mut row: AuditRow,
    sealer: &dyn AuditSealer,
) -> Result<AuditRow, StoreError> {
    // Held until commit or rollback, so appends from every instance take
    // turns and each reads the row the previous one wrote.
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_APPEND_LOCK])
        .await
        .map_err(pg_error)?;

    let last = transaction
        .query_opt(
            "SELECT id, mac FROM audit_log ORDER BY id DESC LIMIT 1",
            &[],
        )
        .await
        .map_err(pg_error)?;
    let (last_id, last_mac) = match last {
        Some(last) => (
            last.try_get::<_, i64>(0).map_err(pg_error)?,
            last.try_get::<_, Vec<u8>>(1).map_err(pg_error)?,
        ),
        None => (0, crate::audit::GENESIS_MAC.to_vec()),
    };
    row.id = last_id + 1;
    row.prev_mac = last_mac;
    sealer.seal(&mut row)?;

    transaction
        .execute(
            &format!(
                "INSERT INTO audit_log ({AUDIT_COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ),
            &[
                &row.id,
                &row.recorded_at,
                &row.kind,
                &row.actor,
                &row.action,
                &row.resource,
                &row.outcome,
                &row.reason,
                &row.request_id,
                &row.details,
                &i64::from(row.key_version),
                &row.prev_mac,
                &row.mac,
            ],
        )
        .await
        .map_err(pg_error)?;
    Ok(row)
}

/// Drops sub-second digits, so both backends store the same instant.
pub(super) fn whole_seconds(time: OffsetDateTime) -> OffsetDateTime {
    time.replace_nanosecond(0).unwrap_or(time)
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn insert_user(&self, user: UserRow) -> Result<(), StoreError> {
        let client = self.client().await?;
        insert_user_row(&client, &user).await
    }

    async fn insert_user_with_audit(
        &self,
        user: UserRow,
        audit: AuditRow,
        sealer: Arc<dyn AuditSealer>,
    ) -> Result<AuditRow, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        insert_user_row(&transaction, &user).await?;
        let stored = append_audit_row(&transaction, audit, sealer.as_ref()).await?;
        transaction.commit().await.map_err(pg_error)?;
        Ok(stored)
    }

    async fn find_user_by_email_index(
        &self,
        index: &[u8; BLIND_INDEX_LENGTH],
    ) -> Result<Option<UserRow>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE email_blind_index = $1"),
                &[&index.as_slice()],
            )
            .await
            .map_err(pg_error)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn find_user_by_id(&self, id: Uuid) -> Result<Option<UserRow>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
                &[&id],
            )
            .await
            .map_err(pg_error)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn insert_session(&self, session: SessionRecord) -> Result<(), StoreError> {
        let client = self.client().await?;
        let result = client
            .execute(
                "INSERT INTO sessions (id, user_id, refresh_token_hash, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &session.id,
                    &session.user_id,
                    &session.refresh_token_hash.as_slice(),
                    &whole_seconds(session.created_at),
                    &whole_seconds(session.expires_at),
                ],
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if unique_constraint(&e).is_some() => Err(StoreError::DuplicateId),
            Err(e) => Err(pg_error(e)),
        }
    }

    async fn find_session(&self, id: Uuid) -> Result<Option<SessionRecord>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT id, user_id, refresh_token_hash, created_at, expires_at
                 FROM sessions WHERE id = $1",
                &[&id],
            )
            .await
            .map_err(pg_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let hash: Vec<u8> = row.try_get(2).map_err(pg_error)?;
        Ok(Some(SessionRecord {
            id: row.try_get(0).map_err(pg_error)?,
            user_id: row.try_get(1).map_err(pg_error)?,
            refresh_token_hash: token_hash_from_db(id, &hash)?,
            created_at: row.try_get(3).map_err(pg_error)?,
            expires_at: row.try_get(4).map_err(pg_error)?,
        }))
    }

    async fn append_audit(
        &self,
        row: AuditRow,
        sealer: Arc<dyn AuditSealer>,
    ) -> Result<AuditRow, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        let stored = append_audit_row(&transaction, row, sealer.as_ref()).await?;
        transaction.commit().await.map_err(pg_error)?;
        Ok(stored)
    }

    async fn list_audit(&self, query: AuditQuery) -> Result<Vec<AuditRow>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_log
                     WHERE id > $1 AND ($2::timestamptz IS NULL OR recorded_at >= $2)
                     ORDER BY id LIMIT $3"
                ),
                &[&query.after_id, &query.since, &i64::from(query.limit)],
            )
            .await
            .map_err(pg_error)?;
        rows.iter().map(audit_from_row).collect()
    }
}
