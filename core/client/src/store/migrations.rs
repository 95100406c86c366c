//! Versioned schema of the phone store. `PRAGMA user_version` contains the
//! number of migrations applied, and each runs once, in its own transaction.
//! Never edit a released migration: append a new one.

use rusqlite::Connection;

use crate::error::ClientError;

const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r"
CREATE TABLE settings (
    name TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
);
",
    // 2: field encryption, session data, outbox and pin failure reports.
    // Version 1 kept the refresh token without field encryption, so it is
    // dropped and the user logs in again.
    r"
DELETE FROM settings WHERE name = 'refresh_token';

CREATE TABLE session_values (
    name TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
);

CREATE TABLE cards (
    card_token TEXT PRIMARY KEY NOT NULL,
    display BLOB NOT NULL,
    saved_at TEXT NOT NULL
);

CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    meter_id TEXT NOT NULL,
    value TEXT NOT NULL,
    reading_time TEXT NOT NULL,
    reading_kind TEXT NOT NULL CHECK (reading_kind IN ('actual', 'estimated')),
    photo_sha256 TEXT,
    latitude TEXT,
    longitude TEXT,
    state TEXT NOT NULL
        CHECK (state IN ('queued', 'sending', 'accepted', 'flagged', 'rejected')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms INTEGER NOT NULL,
    reading_id TEXT,
    reasons TEXT NOT NULL DEFAULT '[]',
    last_error TEXT,
    queued_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX outbox_pending_by_meter ON outbox (meter_id, seq)
    WHERE state IN ('queued', 'sending');

CREATE TABLE pin_failure_reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    host TEXT NOT NULL,
    presented_spki_sha256 TEXT NOT NULL,
    reported_at TEXT
);
",
    // 3: the payment method id of each saved card, and the Idempotency-Key
    // of every payment attempt, kept before the request is sent.
    r"
ALTER TABLE cards ADD COLUMN payment_method_id TEXT;

CREATE TABLE payment_attempts (
    charge_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    payment_method_id TEXT NOT NULL,
    state TEXT NOT NULL
        CHECK (state IN ('pending', 'succeeded', 'declined', 'rejected')),
    created_at TEXT NOT NULL,
    finished_at TEXT,
    PRIMARY KEY (charge_id, attempt)
);
",
];

/// Number of migrations in this build.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// Applies the migrations not yet applied. Public so benchmarks can build
/// the same schema in a plain SQLite file.
pub fn migrate(connection: &Connection) -> Result<(), ClientError> {
    let applied: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let applied = usize::try_from(applied).unwrap_or(usize::MAX);
    if applied > SCHEMA_VERSION {
        return Err(ClientError::Storage(format!(
            "the store has schema version {applied}, newer than this app's {SCHEMA_VERSION}; update the app"
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let version = index + 1;
        connection.execute_batch(&format!(
            "BEGIN; {sql} PRAGMA user_version = {version}; COMMIT;"
        ))?;
    }
    Ok(())
}
