-- Meter readings and idempotency keys. Reading values are thousandths of
-- the meter's unit.
CREATE TABLE meter_readings (
    id UUID PRIMARY KEY,
    meter_id UUID NOT NULL REFERENCES meters (id),
    household_id UUID NOT NULL REFERENCES households (id),
    serial TEXT NOT NULL,
    value_milli BIGINT NOT NULL CHECK (value_milli >= 0),
    taken_at TIMESTAMPTZ NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('actual', 'estimated')),
    status TEXT NOT NULL CHECK (status IN ('accepted', 'flagged', 'rejected')),
    reasons TEXT NOT NULL,
    usage_milli BIGINT,
    photo_sha256 TEXT,
    latitude TEXT,
    longitude TEXT,
    submitted_by UUID NOT NULL REFERENCES users (id),
    submitted_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX meter_readings_by_meter ON meter_readings (meter_id, taken_at);

-- A primary payer's review or correction of a reading: the values before
-- and after, with the reason. The reading row holds the current values;
-- these rows are its history.
CREATE TABLE reading_corrections (
    id UUID PRIMARY KEY,
    reading_id UUID NOT NULL REFERENCES meter_readings (id),
    previous_value_milli BIGINT NOT NULL,
    value_milli BIGINT NOT NULL,
    previous_status TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected')),
    reason TEXT NOT NULL,
    corrected_by UUID NOT NULL REFERENCES users (id),
    corrected_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX reading_corrections_by_reading ON reading_corrections (reading_id);

-- One row per (scope, key): the hash of the first request and, once it
-- finished, its response. A pending row (no response yet) makes a
-- concurrent duplicate wait for the first one instead of running twice.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_sha256 BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    response_status INTEGER,
    response_body TEXT,
    completed_at TIMESTAMPTZ,
    PRIMARY KEY (scope, idempotency_key)
);
