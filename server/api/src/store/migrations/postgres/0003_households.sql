-- Households, their members, invitations, meters and meter assignments.
-- Nothing here is hard-deleted: a removed member keeps its row with
-- removed_at set, a revoked assignment keeps its row with revoked_at set.
CREATE TABLE households (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    created_by UUID NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE household_members (
    household_id UUID NOT NULL REFERENCES households (id),
    user_id UUID NOT NULL REFERENCES users (id),
    role TEXT NOT NULL CHECK (role IN ('primary_payer', 'participant', 'meter_reader')),
    joined_at TIMESTAMPTZ NOT NULL,
    removed_at TIMESTAMPTZ,
    PRIMARY KEY (household_id, user_id)
);
CREATE INDEX household_members_by_user ON household_members (user_id);

-- An invitation code is stored only as its SHA-256.
CREATE TABLE household_invitations (
    id UUID PRIMARY KEY,
    household_id UUID NOT NULL REFERENCES households (id),
    role TEXT NOT NULL CHECK (role IN ('primary_payer', 'participant', 'meter_reader')),
    code_hash BYTEA NOT NULL UNIQUE,
    created_by UUID NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    accepted_by UUID REFERENCES users (id),
    accepted_at TIMESTAMPTZ
);

CREATE TABLE meters (
    id UUID PRIMARY KEY,
    household_id UUID NOT NULL REFERENCES households (id),
    serial TEXT NOT NULL,
    unit TEXT NOT NULL,
    register_digits INTEGER NOT NULL CHECK (register_digits BETWEEN 1 AND 12),
    dwelling_unit TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (household_id, serial)
);

CREATE TABLE meter_assignments (
    meter_id UUID NOT NULL REFERENCES meters (id),
    user_id UUID NOT NULL REFERENCES users (id),
    assigned_by UUID NOT NULL REFERENCES users (id),
    assigned_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    PRIMARY KEY (meter_id, user_id)
);
