-- MFA, one-time codes, known devices and the notification outbox.
-- Timestamps are Unix seconds. Secrets are stored only as HMAC-SHA256
-- (codes, recovery codes), SHA-256 (256-bit random MFA tokens) or field
-- ciphertext (the TOTP secret, phone numbers, addresses, message bodies).

-- Per-user MFA state: one row per user, created on first use.
CREATE TABLE user_mfa (
    user_id BLOB PRIMARY KEY NOT NULL REFERENCES users(id),
    email_verified_at INTEGER,
    -- An address the user asked to change to, until it is verified.
    pending_email_ciphertext TEXT,
    totp_secret_ciphertext TEXT,
    totp_enabled_at INTEGER,
    -- The last RFC 6238 time step accepted, so a code is used only once.
    totp_last_step INTEGER,
    phone_ciphertext TEXT,
    phone_verified_at INTEGER,
    pending_phone_ciphertext TEXT
);

-- Six-digit codes sent by email or SMS, one live code per user and purpose.
CREATE TABLE one_time_codes (
    user_id BLOB NOT NULL REFERENCES users(id),
    purpose TEXT NOT NULL,
    code_hash BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    used_at INTEGER,
    PRIMARY KEY (user_id, purpose)
);

CREATE TABLE recovery_codes (
    user_id BLOB NOT NULL REFERENCES users(id),
    code_hash BLOB NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

-- Pending second-factor checks of logins that passed the password.
CREATE TABLE mfa_challenges (
    id BLOB PRIMARY KEY NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    user_id BLOB NOT NULL REFERENCES users(id),
    device_fingerprint TEXT,
    ip_address TEXT,
    user_agent TEXT,
    methods TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    completed_at INTEGER
);
CREATE INDEX mfa_challenges_by_user ON mfa_challenges (user_id);

-- When each session last passed an MFA check, and with which methods.
CREATE TABLE session_mfa (
    session_id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL,
    last_mfa_at INTEGER NOT NULL,
    amr TEXT NOT NULL
);

CREATE TABLE known_devices (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES users(id),
    fingerprint TEXT NOT NULL,
    first_seen_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    user_agent TEXT,
    revoked_at INTEGER,
    UNIQUE (user_id, fingerprint)
);

CREATE TABLE notification_outbox (
    id BLOB PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    recipient_ciphertext TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_ciphertext TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    sent_at INTEGER,
    last_error TEXT,
    -- Set when delivery was given up after the last allowed attempt.
    failed_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX notification_outbox_pending ON notification_outbox (next_attempt_at)
    WHERE sent_at IS NULL AND failed_at IS NULL;
