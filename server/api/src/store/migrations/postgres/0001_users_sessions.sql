-- Users keep their email only as AES-256-GCM ciphertext plus an HMAC blind
-- index for lookups.
CREATE TABLE users (
    id UUID PRIMARY KEY,
    email_ciphertext TEXT NOT NULL,
    email_blind_index BYTEA NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE sessions (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id),
    refresh_token_hash BYTEA NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
