-- Security events raised by the suspicious-activity rules, accounts locked
-- pending review, and the credentials of services (API keys and OAuth2
-- clients). Secrets are stored only as SHA-256 hashes. Timestamps are Unix
-- seconds. A security event's user_id has no foreign key, because a refused
-- token may name a subject that is not a user.
CREATE TABLE security_events (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    details TEXT NOT NULL,
    client_address TEXT,
    created_at INTEGER NOT NULL,
    reviewed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX security_events_by_user ON security_events (user_id, kind, created_at);

CREATE TABLE account_locks (
    user_id BLOB PRIMARY KEY NOT NULL REFERENCES users (id),
    security_event_id BLOB NOT NULL REFERENCES security_events (id),
    locked_at INTEGER NOT NULL
);

CREATE TABLE service_credentials (
    id BLOB PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('api_key', 'oauth_client')),
    name TEXT NOT NULL,
    lookup_id TEXT NOT NULL UNIQUE,
    secret_hash BLOB NOT NULL,
    scopes TEXT NOT NULL,
    created_by BLOB,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
