-- Households, their members, invitations, meters and meter assignments.
-- Timestamps are Unix seconds. Nothing here is hard-deleted: a removed
-- member keeps its row with removed_at set, a revoked assignment keeps its
-- row with revoked_at set.
CREATE TABLE households (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_by BLOB NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL
);

CREATE TABLE household_members (
    household_id BLOB NOT NULL REFERENCES households(id),
    user_id BLOB NOT NULL REFERENCES users(id),
    role TEXT NOT NULL CHECK (role IN ('primary_payer', 'participant', 'meter_reader')),
    joined_at INTEGER NOT NULL,
    removed_at INTEGER,
    PRIMARY KEY (household_id, user_id)
);
CREATE INDEX household_members_by_user ON household_members (user_id);

-- An invitation code is stored only as its SHA-256.
CREATE TABLE household_invitations (
    id BLOB PRIMARY KEY NOT NULL,
    household_id BLOB NOT NULL REFERENCES households(id),
    role TEXT NOT NULL CHECK (role IN ('primary_payer', 'participant', 'meter_reader')),
    code_hash BLOB NOT NULL UNIQUE,
    created_by BLOB NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    accepted_by BLOB REFERENCES users(id),
    accepted_at INTEGER
);

CREATE TABLE meters (
    id BLOB PRIMARY KEY NOT NULL,
    household_id BLOB NOT NULL REFERENCES households(id),
    serial TEXT NOT NULL,
    unit TEXT NOT NULL,
    register_digits INTEGER NOT NULL CHECK (register_digits BETWEEN 1 AND 12),
    dwelling_unit TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (household_id, serial)
);

CREATE TABLE meter_assignments (
    meter_id BLOB NOT NULL REFERENCES meters(id),
    user_id BLOB NOT NULL REFERENCES users(id),
    assigned_by BLOB NOT NULL REFERENCES users(id),
    assigned_at INTEGER NOT NULL,
    revoked_at INTEGER,
    PRIMARY KEY (meter_id, user_id)
);
