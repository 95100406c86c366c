-- Password hashes record their pepper version; earlier passwords are kept
-- (as hashes) for the reuse rule; failed logins are counted per account and
-- per address.
ALTER TABLE users ADD COLUMN pepper_version INTEGER NOT NULL DEFAULT 1;

CREATE TABLE password_history (
    id BIGSERIAL PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id),
    password_hash TEXT NOT NULL,
    pepper_version INTEGER NOT NULL,
    retired_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX password_history_by_user ON password_history (user_id, id);

CREATE TABLE login_throttle (
    throttle_key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    locked_until TIMESTAMPTZ,
    last_failure_at TIMESTAMPTZ NOT NULL
);
