-- WebAuthn credentials (security keys and passkeys) and the server-side
-- state of open registration and authentication ceremonies. Timestamps are
-- Unix seconds.
CREATE TABLE webauthn_credentials (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES users(id),
    credential_id BLOB NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('passkey', 'security_key')),
    credential TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX webauthn_credentials_by_user ON webauthn_credentials (user_id, created_at);

CREATE TABLE webauthn_ceremonies (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL CHECK (kind IN ('registration', 'authentication')),
    state TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX webauthn_ceremonies_by_user ON webauthn_ceremonies (user_id, id);
CREATE INDEX webauthn_ceremonies_by_expiry ON webauthn_ceremonies (expires_at);
