//! The storage conformance suite: every check here runs unchanged against
//! each backend through the `Store` trait and the services built on it.
//! `storage_conformance.rs` instantiates it once per backend.

mod credentials;
mod identity;
mod mfa;
mod security;
mod webauthn;

pub use credentials::*;
pub use identity::*;
pub use mfa::*;
pub use security::*;
pub use webauthn::*;

use std::sync::Arc;

use sharepay_server::audit::{Actor, AuditEvent, AuditKind, ChainSealer, Outcome};
use sharepay_server::keys::KeyPurpose;
use sharepay_server::store::users::UserRecord;
use sharepay_server::store::{
    AuditQuery, AuditRow, AuditSealer, SessionRecord, StoreError, UserRow,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::support::{TestBackend, contains, hex, https_request};

/// Strings that break SQL built by concatenation, and text that is easy to
/// mangle on the way through a driver. None contains NUL.
const HOSTILE_STRINGS: &[&str] = &[
    "'; DROP TABLE users; --",
    "Robert'); DROP TABLE audit_log;--",
    "\"double\" and 'single' quotes",
    "back\\slash \\' \\\" \\\\",
    "100% _wild_ %_ cards",
    "$1 $$dollar$$ ? ?1 :name @p",
    "unicode: Zoë Łódź 東京 😀 \u{202e}rtl \u{200b}zero-width",
    "line\nbreak\r\ttab",
    "-- comment /* block */",
];

fn now_seconds() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).expect("zero nanoseconds")
}

fn user_row(email_ciphertext: &str, index_byte: u8) -> UserRow {
    UserRow {
        id: Uuid::now_v7(),
        email_ciphertext: email_ciphertext.to_owned(),
        email_blind_index: [index_byte; 32],
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        created_at: now_seconds(),
    }
}

fn plain_user(email: &str) -> UserRecord {
    UserRecord {
        id: Uuid::now_v7(),
        email: email.to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        created_at: now_seconds(),
    }
}

fn event(action: &str) -> AuditEvent {
    AuditEvent::new(
        AuditKind::Authentication,
        Actor::User(Uuid::now_v7()),
        action,
        "user:test",
        Outcome::Success,
    )
}

async fn record_events(backend: &TestBackend, count: usize) {
    for index in 0..count {
        backend
            .data
            .audit
            .record(event(&format!("test.event{index}")))
            .await
            .expect("record");
    }
}

pub async fn user_round_trips(backend: &TestBackend) {
    let store = &backend.data.store;
    let user = user_row("v1:ciphertext", 1);

    store.insert_user(user.clone()).await.expect("insert");

    let by_index = store
        .find_user_by_email_index(&[1; 32])
        .await
        .expect("find by index");
    assert_eq!(by_index.as_ref(), Some(&user));
    let by_id = store.find_user_by_id(user.id).await.expect("find by id");
    assert_eq!(by_id.as_ref(), Some(&user));
}

pub async fn unknown_user_is_none(backend: &TestBackend) {
    let store = &backend.data.store;

    let by_index = store
        .find_user_by_email_index(&[9; 32])
        .await
        .expect("find");
    let by_id = store.find_user_by_id(Uuid::now_v7()).await.expect("find");

    assert!(by_index.is_none());
    assert!(by_id.is_none());
}

pub async fn duplicate_email_is_rejected(backend: &TestBackend) {
    let store = &backend.data.store;
    store.insert_user(user_row("v1:a", 2)).await.expect("first");

    let error = store
        .insert_user(user_row("v1:b", 2))
        .await
        .expect_err("same blind index must fail");

    assert!(matches!(error, StoreError::DuplicateEmail), "{error:?}");
}

pub async fn duplicate_user_id_is_rejected(backend: &TestBackend) {
    let store = &backend.data.store;
    let first = user_row("v1:a", 3);
    store.insert_user(first.clone()).await.expect("first");
    let mut second = user_row("v1:b", 4);
    second.id = first.id;

    let error = store
        .insert_user(second)
        .await
        .expect_err("same id must fail");

    assert!(matches!(error, StoreError::DuplicateId), "{error:?}");
}

pub async fn session_round_trips(backend: &TestBackend) {
    let store = &backend.data.store;
    let user = user_row("v1:a", 5);
    store.insert_user(user.clone()).await.expect("user");
    let session = SessionRecord {
        id: Uuid::now_v7(),
        user_id: user.id,
        refresh_token_hash: [7; 32],
        created_at: now_seconds(),
        expires_at: now_seconds() + time::Duration::days(30),
    };

    store.insert_session(session.clone()).await.expect("insert");

    let found = store.find_session(session.id).await.expect("find");
    assert_eq!(found, Some(session));
    let missing = store.find_session(Uuid::now_v7()).await.expect("find");
    assert_eq!(missing, None);
}

pub async fn sql_metacharacters_stored_verbatim(backend: &TestBackend) {
    let store = &backend.data.store;
    let sealer: Arc<dyn AuditSealer> = Arc::new(ChainSealer::new(Arc::clone(&backend.data.keys)));

    for (index, text) in HOSTILE_STRINGS.iter().enumerate() {
        // Every string column of users, straight through the store.
        let mut row = user_row(text, 100 + index as u8);
        row.password_hash = (*text).to_owned();
        store.insert_user(row.clone()).await.expect("insert user");
        let found = store.find_user_by_id(row.id).await.expect("find user");
        assert_eq!(found.as_ref(), Some(&row), "users row with {text:?}");

        // The email, through encryption and the blind index.
        let email = format!("{text}@example.org");
        let user = plain_user(&email);
        backend
            .data
            .users
            .insert(user.clone())
            .await
            .expect("insert");
        let found = backend
            .data
            .users
            .find_by_email(&email)
            .await
            .expect("find");
        assert_eq!(
            found.map(|u| u.email),
            Some(email.clone()),
            "email {text:?}"
        );

        // Every string column of audit_log.
        let audit_row = AuditRow {
            id: 0,
            recorded_at: now_seconds(),
            kind: (*text).to_owned(),
            actor: (*text).to_owned(),
            action: (*text).to_owned(),
            resource: (*text).to_owned(),
            outcome: (*text).to_owned(),
            reason: Some((*text).to_owned()),
            request_id: Some((*text).to_owned()),
            details: serde_json::json!({ "note": text }).to_string(),
            key_version: 0,
            prev_mac: Vec::new(),
            mac: Vec::new(),
        };
        let stored = store
            .append_audit(audit_row, Arc::clone(&sealer))
            .await
            .expect("append");
        let listed = store
            .list_audit(AuditQuery {
                after_id: stored.id - 1,
                since: None,
                limit: 1,
            })
            .await
            .expect("list");
        assert_eq!(listed, vec![stored], "audit row with {text:?}");
    }

    let users = backend.raw_rows("users").await;
    assert_eq!(
        users.len(),
        HOSTILE_STRINGS.len() * 2,
        "the users table is intact"
    );
    let report = backend.data.audit.verify().await.expect("verify");
    assert_eq!(report.verified, HOSTILE_STRINGS.len() as u64);
    assert_eq!(report.broken, None);
}

pub async fn raw_rows_hold_only_ciphertext(backend: &TestBackend) {
    let email = "ciphertext.probe@example.org";
    let user = plain_user(email);
    backend
        .data
        .users
        .insert(user.clone())
        .await
        .expect("insert");

    let rows = backend.raw_rows("users").await;

    assert_eq!(rows.len(), 1);
    assert!(
        !contains(&rows[0], email.as_bytes()),
        "plaintext email in the row"
    );
    assert!(
        !contains(&rows[0], hex(email.as_bytes()).as_bytes()),
        "hex-encoded email in the row"
    );
    assert!(
        !contains(&rows[0], b"ciphertext.probe"),
        "local part in the row"
    );
    let stored = backend
        .data
        .store
        .find_user_by_id(user.id)
        .await
        .expect("find")
        .expect("row");
    assert!(
        stored.email_ciphertext.starts_with("v1:"),
        "key version prefix"
    );
    let found = backend.data.users.find_by_email(email).await.expect("find");
    assert_eq!(found.map(|u| u.email).as_deref(), Some(email));
}

pub async fn field_decrypts_after_rotation(backend: &TestBackend) {
    let old = plain_user("before.rotation@example.org");
    backend
        .data
        .users
        .insert(old.clone())
        .await
        .expect("insert v1");

    let version = backend
        .data
        .keys
        .rotate(KeyPurpose::PiiField)
        .expect("rotate");
    let new = plain_user("after.rotation@example.org");
    backend
        .data
        .users
        .insert(new.clone())
        .await
        .expect("insert v2");

    assert_eq!(version, 2);
    let old_row = backend
        .data
        .store
        .find_user_by_id(old.id)
        .await
        .expect("find");
    let new_row = backend
        .data
        .store
        .find_user_by_id(new.id)
        .await
        .expect("find");
    assert!(old_row.expect("old").email_ciphertext.starts_with("v1:"));
    assert!(new_row.expect("new").email_ciphertext.starts_with("v2:"));
    // A restarted server reads both versions from the keyring file.
    let reopened = backend.reopen().await;
    let old_found = reopened.users.find_by_id(old.id).await.expect("find old");
    let new_found = reopened.users.find_by_id(new.id).await.expect("find new");
    assert_eq!(old_found.map(|u| u.email), Some(old.email));
    assert_eq!(new_found.map(|u| u.email), Some(new.email));
}

pub async fn audit_entries_form_chain(backend: &TestBackend) {
    record_events(backend, 3).await;

    let rows = backend
        .data
        .store
        .list_audit(AuditQuery {
            after_id: 0,
            since: None,
            limit: 10,
        })
        .await
        .expect("list");

    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    assert_eq!(ids, vec![1, 2, 3]);
    assert_eq!(rows[0].prev_mac, vec![0u8; 32]);
    assert_eq!(rows[1].prev_mac, rows[0].mac);
    assert_eq!(rows[2].prev_mac, rows[1].mac);
    let report = backend.data.audit.verify().await.expect("verify");
    assert_eq!(report.verified, 3);
    assert_eq!(report.broken, None);
}

pub async fn concurrent_appends_never_fork(backend: &TestBackend) {
    let mut tasks = Vec::new();
    for index in 0..24 {
        let audit = Arc::clone(&backend.data.audit);
        tasks.push(tokio::spawn(async move {
            audit.record(event(&format!("concurrent.{index}"))).await
        }));
    }
    // A second handle on the same database appends at the same time, as a
    // second server instance would.
    let other = backend.reopen().await;
    for index in 0..8 {
        other
            .audit
            .record(event(&format!("other.{index}")))
            .await
            .expect("record from a second instance");
    }
    for task in tasks {
        task.await.expect("task").expect("record");
    }

    let report = backend.data.audit.verify().await.expect("verify");
    assert_eq!(report.broken, None);
    assert_eq!(report.verified, 32);
}

pub async fn audit_rows_reject_update(backend: &TestBackend) {
    record_events(backend, 2).await;

    let update = backend
        .raw_execute("UPDATE audit_log SET action = 'changed' WHERE id = 1")
        .await;
    let delete = backend
        .raw_execute("DELETE FROM audit_log WHERE id = 2")
        .await;

    let update_error = update.expect_err("the trigger must reject an update");
    let delete_error = delete.expect_err("the trigger must reject a delete");
    assert!(update_error.contains("append-only"), "{update_error}");
    assert!(delete_error.contains("append-only"), "{delete_error}");
}

/// Records five events, then runs `sql` with the append-only triggers
/// disabled, as an attacker with database access could. Returns the number
/// of rows changed.
async fn tamper_with_audit(backend: &TestBackend, sql: &str) -> u64 {
    record_events(backend, 5).await;
    for statement in backend.disable_audit_triggers_sql() {
        backend
            .raw_execute(statement)
            .await
            .expect("disable triggers");
    }
    backend.raw_execute(sql).await.expect("tamper")
}

/// Runs `audit verify` through the binary and checks that it fails naming
/// entry `id`.
fn assert_cli_names_broken_entry(backend: &TestBackend, id: i64) {
    let output = backend.run_cli(&["audit", "verify"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "audit verify must fail: {stdout}");
    assert!(
        stdout.contains(&format!("broken at entry {id}:")),
        "{stdout}"
    );
}

pub async fn verify_names_changed_entry(backend: &TestBackend) {
    // One byte of one row: `test.event2` becomes `test.event7`.
    let changed = tamper_with_audit(
        backend,
        "UPDATE audit_log SET action = 'test.event7' WHERE id = 3",
    )
    .await;
    assert_eq!(changed, 1);

    let report = backend.data.audit.verify().await.expect("verify");

    let broken = report.broken.expect("the change must be found");
    assert_eq!(broken.id, 3);
    assert_eq!(report.verified, 2);
    assert_cli_names_broken_entry(backend, 3);
}

pub async fn verify_detects_deleted_entry(backend: &TestBackend) {
    let deleted = tamper_with_audit(backend, "DELETE FROM audit_log WHERE id = 3").await;
    assert_eq!(deleted, 1);

    let report = backend.data.audit.verify().await.expect("verify");

    let broken = report.broken.expect("the deletion must be found");
    assert_eq!(broken.id, 4);
    assert!(broken.problem.contains("deleted"), "{}", broken.problem);
    assert_cli_names_broken_entry(backend, 4);
}

pub async fn verify_detects_removed_newest_entries(backend: &TestBackend) {
    let deleted = tamper_with_audit(backend, "DELETE FROM audit_log WHERE id >= 4").await;
    assert_eq!(deleted, 2);

    let report = backend.data.audit.verify().await.expect("verify");

    let broken = report.broken.expect("the truncation must be found");
    assert_eq!(broken.id, 5);
    assert_eq!(report.verified, 3);
    assert!(
        broken.problem.contains("newest entries were removed"),
        "{}",
        broken.problem
    );
    assert_cli_names_broken_entry(backend, 5);
}

pub async fn verify_detects_changed_mac(backend: &TestBackend) {
    // A replaced MAC no longer matches the row. Forging a matching one
    // needs the audit key, which the database does not contain.
    let changed =
        tamper_with_audit(backend, "UPDATE audit_log SET mac = prev_mac WHERE id = 2").await;
    assert_eq!(changed, 1);

    let report = backend.data.audit.verify().await.expect("verify");

    let broken = report.broken.expect("the change must be found");
    assert_eq!(broken.id, 2);
    assert_cli_names_broken_entry(backend, 2);
}

pub async fn cli_verifies_intact_chain(backend: &TestBackend) {
    record_events(backend, 4).await;

    let output = backend.run_cli(&["audit", "verify"]);

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout.trim(), "4 entries verified");
}

pub async fn cli_exports_since_time(backend: &TestBackend) {
    record_events(backend, 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let cutoff = OffsetDateTime::now_utc();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    record_events(backend, 3).await;
    let since = cutoff
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");

    let all = backend.run_cli(&["audit", "export"]);
    let recent = backend.run_cli(&["audit", "export", "--since", &since]);
    let invalid = backend.run_cli(&["audit", "export", "--since", "yesterday"]);

    assert!(
        all.status.success(),
        "{}",
        String::from_utf8_lossy(&all.stderr)
    );
    assert!(
        recent.status.success(),
        "{}",
        String::from_utf8_lossy(&recent.stderr)
    );
    let all_lines: Vec<serde_json::Value> = String::from_utf8_lossy(&all.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    let recent_lines: Vec<serde_json::Value> = String::from_utf8_lossy(&recent.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(all_lines.len(), 5);
    assert_eq!(recent_lines.len(), 3);
    assert_eq!(recent_lines[0]["id"], 3);
    assert_eq!(recent_lines[0]["kind"], "authentication");
    assert_eq!(recent_lines[0]["action"], "test.event0");
    assert!(!invalid.status.success());
    assert!(String::from_utf8_lossy(&invalid.stderr).contains("RFC 3339"));
}

pub async fn reopen_keeps_data_and_schema(backend: &TestBackend) {
    let user = plain_user("reopen@example.org");
    backend
        .data
        .users
        .insert(user.clone())
        .await
        .expect("insert");
    record_events(backend, 1).await;

    let reopened = backend.reopen().await;

    let found = reopened
        .users
        .find_by_email("reopen@example.org")
        .await
        .expect("find");
    assert_eq!(found.map(|u| u.id), Some(user.id));
    assert_eq!(reopened.audit.verify().await.expect("verify").verified, 1);
    assert_eq!(reopened.store.backend(), backend.backend_name());
}

pub async fn server_audits_authentication(backend: &TestBackend) {
    let email = "audited.user@example.org";
    let password = "Tulip-Harbor-4821!";
    let register = serde_json::json!({ "email": email, "password": password }).to_string();
    let wrong = serde_json::json!({ "email": email, "password": "Tulip-Harbor-4821?" }).to_string();
    let unknown =
        serde_json::json!({ "email": "nobody@example.org", "password": password }).to_string();
    let server = backend.start_server().await;

    let registered = https_request(&server, "POST", "/v1/auth/register", Some(&register)).await;
    let rejected = https_request(&server, "POST", "/v1/auth/login", Some(&wrong)).await;
    let unknown_rejected = https_request(&server, "POST", "/v1/auth/login", Some(&unknown)).await;
    let logged_in = https_request(&server, "POST", "/v1/auth/login", Some(&register)).await;
    server.shutdown().await;

    assert_eq!(registered.0, 201, "{}", registered.1);
    assert_eq!(rejected.0, 401, "{}", rejected.1);
    assert_eq!(unknown_rejected.0, 401, "{}", unknown_rejected.1);
    assert_eq!(logged_in.0, 200, "{}", logged_in.1);
    let user_id =
        serde_json::from_str::<serde_json::Value>(&registered.1).expect("JSON")["user_id"]
            .as_str()
            .expect("user_id")
            .to_owned();

    let rows = backend
        .data
        .store
        .list_audit(AuditQuery {
            after_id: 0,
            since: None,
            limit: 100,
        })
        .await
        .expect("list");
    let summary: Vec<(&str, &str, &str, Option<&str>)> = rows
        .iter()
        .map(|row| {
            (
                row.action.as_str(),
                row.outcome.as_str(),
                row.actor.as_str(),
                row.reason.as_deref(),
            )
        })
        .collect();
    let user_actor = format!("user:{user_id}");
    assert_eq!(
        summary,
        vec![
            ("server.start", "success", "system", None),
            ("auth.register", "success", user_actor.as_str(), None),
            ("auth.login", "failure", "anonymous", Some("wrong password")),
            ("auth.login", "failure", "anonymous", Some("unknown email")),
            ("auth.login", "success", user_actor.as_str(), None),
        ]
    );
    assert_eq!(rows[2].resource, user_actor);
    assert!(
        rows[3].resource.starts_with("email_index:"),
        "{}",
        rows[3].resource
    );
    assert!(
        rows[0].details.contains("config_sha256"),
        "{}",
        rows[0].details
    );
    for row in &rows[1..] {
        assert!(
            row.request_id.is_some(),
            "entry {} has no request id",
            row.id
        );
    }
    for raw in backend.raw_rows("audit_log").await {
        assert!(
            !contains(&raw, email.as_bytes()),
            "email in the audit trail"
        );
        assert!(
            !contains(&raw, b"nobody@example.org"),
            "email in the audit trail"
        );
        assert!(
            !contains(&raw, password.as_bytes()),
            "password in the audit trail"
        );
    }
    let report = backend.data.audit.verify().await.expect("verify");
    assert_eq!(report.verified, 5);
    assert_eq!(report.broken, None);
}

/// Fails every seal, to make the audit half of a transaction fail.
struct FailingSealer;

impl AuditSealer for FailingSealer {
    fn seal(&self, _row: &mut AuditRow) -> Result<(), StoreError> {
        Err(StoreError::Seal("rejected by the test".to_owned()))
    }
}

pub async fn user_and_audit_commit_together(backend: &TestBackend) {
    let store = &backend.data.store;
    let audit = &backend.data.audit;
    let user = user_row("v1:a", 6);
    let (row, sealer) = audit.prepare(event("auth.register")).expect("prepare");
    store
        .insert_user_with_audit(user.clone(), row, sealer)
        .await
        .expect("insert both");

    let (row, _) = audit.prepare(event("auth.register")).expect("prepare");
    let failed_seal = store
        .insert_user_with_audit(user_row("v1:b", 7), row, Arc::new(FailingSealer))
        .await;
    let (row, sealer) = audit.prepare(event("auth.register")).expect("prepare");
    let duplicate = store
        .insert_user_with_audit(user_row("v1:c", 6), row, sealer)
        .await;

    assert!(
        matches!(failed_seal, Err(StoreError::Seal(_))),
        "{failed_seal:?}"
    );
    assert!(
        matches!(duplicate, Err(StoreError::DuplicateEmail)),
        "{duplicate:?}"
    );
    let rolled_back = store
        .find_user_by_email_index(&[7; 32])
        .await
        .expect("find");
    assert!(
        rolled_back.is_none(),
        "the user of a failed audit append was kept"
    );
    assert_eq!(backend.raw_rows("users").await.len(), 1);
    let report = audit.verify().await.expect("verify");
    assert_eq!(report.verified, 1, "only the committed audit row exists");
    assert_eq!(report.broken, None);
}
