-- Identity: system roles of users, device and last-use data of sessions, and
-- the hashes of refresh tokens that were already rotated, so presenting one
-- again is recognized as reuse. Timestamps are Unix seconds.
ALTER TABLE users ADD COLUMN system_roles TEXT NOT NULL DEFAULT '';

ALTER TABLE sessions ADD COLUMN device_fingerprint TEXT;
ALTER TABLE sessions ADD COLUMN ip_address TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER;
CREATE INDEX sessions_by_user ON sessions (user_id, created_at);

CREATE TABLE rotated_refresh_tokens (
    token_hash BLOB PRIMARY KEY NOT NULL,
    session_id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    rotated_at INTEGER NOT NULL
);
CREATE INDEX rotated_refresh_tokens_by_session ON rotated_refresh_tokens (session_id);
