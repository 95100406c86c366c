-- Users keep their email only as AES-256-GCM ciphertext plus an HMAC blind
-- index for lookups. Timestamps are Unix seconds.
CREATE TABLE users (
    id BLOB PRIMARY KEY NOT NULL,
    email_ciphertext TEXT NOT NULL,
    email_blind_index BLOB NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES users(id),
    refresh_token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
