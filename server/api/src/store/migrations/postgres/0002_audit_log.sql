-- The append-only audit trail. Ids are assigned by the server, one more
-- than the last, so a deleted row leaves a gap. details is TEXT, not JSONB,
-- because JSONB reorders keys and the HMAC covers the exact bytes. The
-- trigger stops ordinary updates, deletes and truncation; the HMAC chain
-- detects changes made by someone who drops it.
CREATE TABLE audit_log (
    id BIGINT PRIMARY KEY,
    recorded_at TIMESTAMPTZ NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    resource TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    request_id TEXT,
    details TEXT NOT NULL,
    key_version BIGINT NOT NULL,
    prev_mac BYTEA NOT NULL,
    mac BYTEA NOT NULL
);

CREATE INDEX audit_log_recorded_at ON audit_log (recorded_at);

CREATE FUNCTION audit_log_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_reject_change();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_reject_change();
