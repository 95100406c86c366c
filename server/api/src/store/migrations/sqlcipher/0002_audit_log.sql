-- The append-only audit trail. Ids are assigned by the server, one more
-- than the last, so a deleted row leaves a gap. recorded_at is Unix
-- microseconds. The triggers stop ordinary updates and deletes; the HMAC
-- chain detects changes made by someone who drops them.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY NOT NULL,
    recorded_at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    resource TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    request_id TEXT,
    details TEXT NOT NULL,
    key_version INTEGER NOT NULL,
    prev_mac BLOB NOT NULL,
    mac BLOB NOT NULL
);

CREATE INDEX audit_log_recorded_at ON audit_log (recorded_at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
