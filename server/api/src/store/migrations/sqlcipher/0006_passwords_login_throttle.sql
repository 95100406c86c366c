-- Password hashes record their pepper version; earlier passwords are kept
-- (as hashes) for the reuse rule; failed logins are counted per account and
-- per address. Timestamps are Unix seconds.
ALTER TABLE users ADD COLUMN pepper_version INTEGER NOT NULL DEFAULT 1;

CREATE TABLE password_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BLOB NOT NULL REFERENCES users(id),
    password_hash TEXT NOT NULL,
    pepper_version INTEGER NOT NULL,
    retired_at INTEGER NOT NULL
);
CREATE INDEX password_history_by_user ON password_history (user_id, id);

CREATE TABLE login_throttle (
    throttle_key TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    locked_until INTEGER,
    last_failure_at INTEGER NOT NULL
);
