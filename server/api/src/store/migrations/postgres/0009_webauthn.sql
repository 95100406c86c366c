-- WebAuthn credentials (security keys and passkeys) and the server-side
-- state of open registration and authentication ceremonies.
CREATE TABLE webauthn_credentials (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id),
    credential_id BYTEA NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('passkey', 'security_key')),
    credential TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    CONSTRAINT webauthn_credentials_credential_id_key UNIQUE (credential_id)
);
CREATE INDEX webauthn_credentials_by_user ON webauthn_credentials (user_id, created_at);

CREATE TABLE webauthn_ceremonies (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL CHECK (kind IN ('registration', 'authentication')),
    state TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX webauthn_ceremonies_by_user ON webauthn_ceremonies (user_id, id);
CREATE INDEX webauthn_ceremonies_by_expiry ON webauthn_ceremonies (expires_at);
