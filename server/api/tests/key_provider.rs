//! Tests of the local keyring and the field ciphers built on it. Keys are
//! wrapped and versioned, a wrong operator secret changes nothing, and
//! ciphertexts are bound to their column and key version.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use sharepay_server::crypto::{BlindIndex, Column, FieldCipher, FieldError};
use sharepay_server::keys::{
    KdfParams, KeyError, KeyProvider, KeyPurpose, LocalKeyring, OperatorSecret,
};

const SECRET: &str = "keyring-test-operator-secret";
const OTHER_COLUMN: Column = Column {
    table: "users",
    column: "legal_name",
};

fn secret(text: &str) -> OperatorSecret {
    OperatorSecret::new(text, "test").expect("secret")
}

/// Cheap derivation parameters, so the tests stay fast in debug builds.
fn cheap_kdf() -> KdfParams {
    KdfParams::with_cost(256, 1).expect("kdf")
}

fn new_keyring(dir: &tempfile::TempDir) -> LocalKeyring {
    LocalKeyring::create(
        &dir.path().join("keyring.json"),
        &secret(SECRET),
        cheap_kdf(),
    )
    .expect("create keyring")
}

#[test]
fn wrong_secret_leaves_keyring_unchanged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keyring.json");
    drop(new_keyring(&dir));
    let before = std::fs::read(&path).expect("read keyring");

    let open = LocalKeyring::open(&path, &secret("not-the-operator-secret"));
    let open_or_create = LocalKeyring::open_or_create(&path, &secret("not-the-operator-secret"));

    let error = open.expect_err("a wrong secret must fail");
    assert!(
        matches!(error, KeyError::WrongOperatorSecret { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("does not open the keyring"), "{message}");
    assert!(message.contains("SHAREPAY_OPERATOR_SECRET"), "{message}");
    assert!(
        open_or_create.is_err(),
        "open_or_create must not replace it"
    );
    let after = std::fs::read(&path).expect("read keyring");
    assert_eq!(before, after, "the keyring file changed");
    LocalKeyring::open(&path, &secret(SECRET)).expect("the right secret still opens it");
}

#[test]
fn create_refuses_existing_keyring() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keyring.json");
    drop(new_keyring(&dir));
    let before = std::fs::read(&path).expect("read keyring");

    let result = LocalKeyring::create(&path, &secret(SECRET), cheap_kdf());

    assert!(result.is_err(), "create must not overwrite");
    assert_eq!(before, std::fs::read(&path).expect("read keyring"));
}

#[test]
fn keyring_file_holds_no_key_bytes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keyring = new_keyring(&dir);
    let text = std::fs::read_to_string(dir.path().join("keyring.json")).expect("read");

    for purpose in KeyPurpose::ALL {
        let key = keyring.current(purpose).expect("key");
        let encoded = base64::engine::general_purpose::STANDARD.encode(key.expose());
        assert!(!text.contains(&encoded), "{purpose} key stored unwrapped");
    }
    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(json["kdf"]["algorithm"], "argon2id");
    assert_eq!(json["kdf"]["memory_kib"], 256);
    assert!(json["kdf"]["salt"].as_str().is_some_and(|s| !s.is_empty()));
}

#[cfg(unix)]
#[test]
fn keyring_file_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let keyring = new_keyring(&dir);
    keyring
        .rotate(KeyPurpose::AuditChain)
        .expect("rotate rewrites the file");

    let mode = std::fs::metadata(dir.path().join("keyring.json"))
        .expect("metadata")
        .permissions()
        .mode();

    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn rotation_keeps_old_versions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keyring = new_keyring(&dir);
    let first = keyring.current(KeyPurpose::PiiField).expect("v1");

    let version = keyring.rotate(KeyPurpose::PiiField).expect("rotate");

    assert_eq!(first.version, 1);
    assert_eq!(version, 2);
    let current = keyring.current(KeyPurpose::PiiField).expect("current");
    assert_eq!(current.version, 2);
    assert_ne!(current.expose(), first.expose());
    let reopened =
        LocalKeyring::open(&dir.path().join("keyring.json"), &secret(SECRET)).expect("reopen");
    let old = reopened
        .get(KeyPurpose::PiiField, 1)
        .expect("v1 after reopen");
    assert_eq!(old.expose(), first.expose());
    assert_eq!(
        reopened.current(KeyPurpose::PiiField).expect("v2").version,
        2
    );
    let missing = reopened.get(KeyPurpose::PiiField, 3);
    assert!(matches!(
        missing,
        Err(KeyError::MissingVersion { version: 3, .. })
    ));
}

#[test]
fn database_key_rotation_is_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keyring = new_keyring(&dir);
    let before = std::fs::read(dir.path().join("keyring.json")).expect("read");

    let error = keyring
        .rotate(KeyPurpose::Database)
        .expect_err("database key rotation needs a rekey");

    assert!(matches!(
        error,
        KeyError::RotationUnsupported(KeyPurpose::Database)
    ));
    assert_eq!(
        before,
        std::fs::read(dir.path().join("keyring.json")).expect("read")
    );
}

#[test]
fn data_key_debug_is_redacted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keyring = new_keyring(&dir);
    let key = keyring.current(KeyPurpose::PiiField).expect("key");

    let debug_output = format!("{key:?} {:?}", secret(SECRET));

    assert!(
        debug_output.contains("[redacted]") || debug_output.contains("REDACTED"),
        "{debug_output}"
    );
    assert!(!debug_output.contains(SECRET), "{debug_output}");
    let bytes_shown = format!("{:?}", key.expose());
    assert!(!debug_output.contains(&bytes_shown), "{debug_output}");
}

#[test]
fn short_operator_secret_is_rejected() {
    let error = OperatorSecret::new("short", "SHAREPAY_OPERATOR_SECRET").expect_err("too short");

    assert!(error.to_string().contains("shorter than 16"), "{error}");
}

#[test]
fn field_value_decrypts_after_rotation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keyring: Arc<dyn KeyProvider> = Arc::new(new_keyring(&dir));
    let cipher = FieldCipher::new(Arc::clone(&keyring));
    let old = cipher
        .encrypt(Column::USERS_EMAIL, "zoë@example.org")
        .expect("encrypt");

    keyring.rotate(KeyPurpose::PiiField).expect("rotate");
    let new = cipher
        .encrypt(Column::USERS_EMAIL, "zoë@example.org")
        .expect("encrypt");

    assert!(old.starts_with("v1:"), "{old}");
    assert!(new.starts_with("v2:"), "{new}");
    assert_eq!(
        cipher.decrypt(Column::USERS_EMAIL, &old).expect("v1"),
        "zoë@example.org"
    );
    assert_eq!(
        cipher.decrypt(Column::USERS_EMAIL, &new).expect("v2"),
        "zoë@example.org"
    );
}

#[test]
fn ciphertext_is_bound_to_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cipher = FieldCipher::new(Arc::new(new_keyring(&dir)));
    let stored = cipher
        .encrypt(Column::USERS_EMAIL, "ada@example.org")
        .expect("encrypt");

    let moved = cipher.decrypt(OTHER_COLUMN, &stored);

    assert!(
        matches!(moved, Err(FieldError::Decrypt { .. })),
        "{moved:?}"
    );
}

#[test]
fn changed_ciphertext_fails_to_decrypt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cipher = FieldCipher::new(Arc::new(new_keyring(&dir)));
    let stored = cipher
        .encrypt(Column::USERS_EMAIL, "ada@example.org")
        .expect("encrypt");
    let (prefix, payload) = stored.split_once(':').expect("version prefix");
    let mut payload = URL_SAFE_NO_PAD.decode(payload).expect("base64url");
    // Flip one bit of the ciphertext, after the 12-byte nonce.
    payload[14] ^= 0x01;
    let changed = format!("{prefix}:{}", URL_SAFE_NO_PAD.encode(payload));

    let error = cipher
        .decrypt(Column::USERS_EMAIL, &changed)
        .expect_err("a changed ciphertext must fail");

    assert!(matches!(error, FieldError::Decrypt { .. }), "{error:?}");
    let unversioned = cipher.decrypt(Column::USERS_EMAIL, "plain@example.org");
    assert!(matches!(unversioned, Err(FieldError::Malformed { .. })));
}

#[test]
fn same_plaintext_encrypts_differently() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cipher = FieldCipher::new(Arc::new(new_keyring(&dir)));

    let first = cipher
        .encrypt(Column::USERS_EMAIL, "ada@example.org")
        .expect("encrypt");
    let second = cipher
        .encrypt(Column::USERS_EMAIL, "ada@example.org")
        .expect("encrypt");

    assert_ne!(first, second, "each value needs a fresh nonce");
}

#[test]
fn blind_index_depends_on_column_and_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let other_dir = tempfile::tempdir().expect("temp dir");
    let index = BlindIndex::new(Arc::new(new_keyring(&dir)));
    let other_key = BlindIndex::new(Arc::new(new_keyring(&other_dir)));

    let email = index
        .compute(Column::USERS_EMAIL, "ada@example.org")
        .expect("index");
    let again = index
        .compute(Column::USERS_EMAIL, "ada@example.org")
        .expect("index");
    let other_column = index
        .compute(OTHER_COLUMN, "ada@example.org")
        .expect("index");
    let other_keyring = other_key
        .compute(Column::USERS_EMAIL, "ada@example.org")
        .expect("index");

    assert_eq!(email, again);
    assert_ne!(email, other_column);
    assert_ne!(email, other_keyring);
}
