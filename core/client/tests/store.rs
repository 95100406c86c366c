//! The encrypted store on real SQLCipher files: keys, corruption, field
//! encryption, wipes and the device fingerprint.

mod common;

use common::{UnavailableWrapper, XorWrapper, contains, device, open_raw, reading, store_key};
use secrecy::{ExposeSecret, SecretString};
use sharepay_client::fingerprint::device_fingerprint;
use sharepay_client::{CardDisplay, ClientError, EncryptedStore, OutboxState};

fn card() -> CardDisplay {
    CardDisplay {
        card_token: "tok_4f9a".into(),
        brand: "visa".into(),
        last4: "4242".into(),
        expiry_month: 12,
        expiry_year: 2030,
    }
}

#[test]
fn wrong_key_keeps_queued_readings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("create");
    let readings: Vec<_> = (1..=5)
        .map(|i| reading("meter-a", &format!("{i}00.5")))
        .collect();
    let queued = store.enqueue_readings(&readings, 0).expect("enqueue");
    drop(store);

    let error = EncryptedStore::open(dir.path(), &XorWrapper(2)).expect_err("wrong key");
    assert!(matches!(error, ClientError::WrongKey), "{error:?}");
    let error = EncryptedStore::open(dir.path(), &UnavailableWrapper).expect_err("locked keystore");
    assert!(matches!(error, ClientError::KeyWrapping(_)), "{error:?}");

    let store = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("right key");
    let items = store.outbox_items().expect("items");
    assert_eq!(items, queued);
    assert_eq!(items.len(), 5);
}

#[test]
fn corrupted_file_is_not_wrong_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop(EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("create"));
    let database = dir.path().join("sharepay-client.db");
    std::fs::remove_file(&database).expect("remove");
    let plain = rusqlite::Connection::open(&database).expect("plain SQLite");
    plain
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .expect("write plain SQLite");
    drop(plain);

    let error = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect_err("not SQLCipher");
    assert!(matches!(error, ClientError::StoreCorrupted(_)), "{error:?}");
    assert!(database.exists(), "the damaged file must not be deleted");

    let error = EncryptedStore::open(dir.path(), &XorWrapper(2)).expect_err("wrong key");
    assert!(matches!(error, ClientError::WrongKey), "{error:?}");
}

#[test]
fn garbage_file_is_corruption() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop(EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("create"));
    let database = dir.path().join("sharepay-client.db");
    std::fs::write(&database, vec![0x5au8; 8192]).expect("overwrite");

    let error = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect_err("garbage");
    assert!(matches!(error, ClientError::StoreCorrupted(_)), "{error:?}");
}

#[test]
fn refresh_token_is_ciphertext_in_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let wrapper = XorWrapper(7);
    let store = EncryptedStore::open(dir.path(), &wrapper).expect("create");
    let token = "refresh-token-plaintext-marker-0001";
    store
        .put_refresh_token(&SecretString::from(token))
        .expect("put token");
    store.put_card_display(&card()).expect("put card");
    let read_back = store.refresh_token().expect("get").expect("present");
    assert_eq!(read_back.expose_secret(), token);
    drop(store);

    let raw = open_raw(dir.path(), &store_key(dir.path(), &wrapper));
    let value: Vec<u8> = raw
        .query_row(
            "SELECT value FROM session_values WHERE name = 'refresh_token'",
            [],
            |row| row.get(0),
        )
        .expect("raw refresh token column");
    assert!(!contains(&value, token.as_bytes()), "token in plaintext");
    assert_eq!(value[0], 1, "format byte");
    assert_eq!(&value[1..5], &[0, 0, 0, 1], "key version 1");
    assert_eq!(value.len(), 1 + 4 + 12 + token.len() + 16);

    let display: Vec<u8> = raw
        .query_row("SELECT display FROM cards", [], |row| row.get(0))
        .expect("raw card column");
    assert!(!contains(&display, b"4242"), "last4 in plaintext");
    assert!(!contains(&display, b"visa"), "brand in plaintext");
}

#[test]
fn swapped_ciphertext_fails_to_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let wrapper = XorWrapper(7);
    let store = EncryptedStore::open(dir.path(), &wrapper).expect("create");
    store
        .put_refresh_token(&SecretString::from("token"))
        .expect("put token");
    drop(store);
    let raw = open_raw(dir.path(), &store_key(dir.path(), &wrapper));
    raw.execute_batch(
        "INSERT INTO session_values (name, value)
         SELECT 'cached_profile', value FROM session_values WHERE name = 'refresh_token';",
    )
    .expect("copy the token ciphertext into another row");
    drop(raw);

    let store = EncryptedStore::open(dir.path(), &wrapper).expect("reopen");
    let error = store.cached_profile().expect_err("moved ciphertext");
    assert!(matches!(error, ClientError::StoreCorrupted(_)), "{error:?}");
}

#[test]
fn wipe_session_keeps_outbox_and_fingerprint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("create");
    store
        .put_refresh_token(&SecretString::from("token"))
        .expect("put token");
    store.put_card_display(&card()).expect("put card");
    store
        .enqueue_readings(&[reading("meter-a", "1.000")], 0)
        .expect("enqueue");
    let before = device_fingerprint(&store, &device()).expect("fingerprint");

    store.wipe_session().expect("wipe session");

    assert!(store.refresh_token().expect("token").is_none());
    assert!(store.card_displays().expect("cards").is_empty());
    assert!(store.cached_profile().expect("profile").is_none());
    assert_eq!(store.outbox_items().expect("items").len(), 1);
    assert_eq!(
        device_fingerprint(&store, &device()).expect("fingerprint"),
        before
    );
}

#[test]
fn fingerprint_stable_across_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("create");
    let first = device_fingerprint(&store, &device()).expect("fingerprint");
    drop(store);

    let store = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("reopen");
    assert_eq!(
        device_fingerprint(&store, &device()).expect("fingerprint"),
        first
    );

    let mut changed = device();
    changed.model = "Pixel 9 Pro".into();
    assert_ne!(
        device_fingerprint(&store, &changed).expect("fingerprint"),
        first
    );
}

#[test]
fn wipe_all_changes_fingerprint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("create");
    store
        .enqueue_readings(&[reading("meter-a", "1.000")], 0)
        .expect("enqueue");
    store
        .record_pin_failure("api", "localhost", &["AAAA".into()])
        .expect("report");
    let before = device_fingerprint(&store, &device()).expect("fingerprint");

    store.wipe_all().expect("wipe all");

    let after = device_fingerprint(&store, &device()).expect("fingerprint");
    assert_ne!(after, before);
    assert!(store.outbox_items().expect("items").is_empty());
    assert!(
        store
            .pending_pin_failure_reports()
            .expect("reports")
            .is_empty()
    );
    drop(store);
    let store = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("reopen");
    assert_eq!(
        device_fingerprint(&store, &device()).expect("fingerprint"),
        after
    );
}

#[test]
fn fingerprint_differs_between_installs() {
    let first = tempfile::tempdir().expect("temp dir");
    let second = tempfile::tempdir().expect("temp dir");
    let a = EncryptedStore::open(first.path(), &XorWrapper(1)).expect("create");
    let b = EncryptedStore::open(second.path(), &XorWrapper(1)).expect("create");

    assert_ne!(
        device_fingerprint(&a, &device()).expect("fingerprint"),
        device_fingerprint(&b, &device()).expect("fingerprint")
    );
}

#[test]
fn invalid_reading_queues_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("create");
    let mut bad_time = reading("meter-a", "2.000");
    bad_time.reading_time = "yesterday".into();
    let cases = [
        ("value", reading("meter-a", "1.2345")),
        ("value", reading("meter-a", "-1")),
        ("meter_id", reading("  ", "1")),
        ("reading_time", bad_time),
    ];
    for (field, bad) in cases {
        let batch = [reading("meter-a", "1.000"), bad];
        let error = store
            .enqueue_readings(&batch, 0)
            .expect_err("invalid reading");
        let message = error.to_string();
        assert!(message.contains("reading 1"), "{message}");
        assert!(message.contains(field), "{message}");
    }
    assert!(store.outbox_items().expect("items").is_empty());
}

#[test]
fn enqueued_reading_keeps_its_fields() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("create");
    let mut full = reading("meter-a", "12345.678");
    full.reading_time = "2026-12-04T10:30:00+01:00".into();
    full.kind = sharepay_domain::meter::ReadingKind::Estimated;
    full.photo_sha256 = Some("ab".repeat(32));
    full.location = Some(sharepay_domain::wire::readings::ReadingLocation {
        latitude: "48.8566".into(),
        longitude: "-2.3522".into(),
    });

    let item = store
        .enqueue_readings(&[full.clone()], 0)
        .expect("enqueue")
        .remove(0);

    assert_eq!(item.reading.reading_time, "2026-12-04T09:30:00Z");
    assert_eq!(item.reading.value, "12345.678");
    assert_eq!(item.reading.kind, full.kind);
    assert_eq!(item.reading.photo_sha256, full.photo_sha256);
    assert_eq!(item.reading.location, full.location);
    assert_eq!(item.state, OutboxState::Queued);
    let key = uuid::Uuid::parse_str(&item.idempotency_key).expect("UUID key");
    assert_eq!(key.get_version_num(), 7);
}

#[test]
fn emptied_database_is_corruption_not_new_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("create");
    store
        .enqueue_readings(&[reading("meter-a", "100.5")], 0)
        .expect("enqueue");
    drop(store);
    let database = dir.path().join("sharepay-client.db");
    std::fs::write(&database, b"").expect("empty the database");

    let error = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect_err("empty file");
    assert!(matches!(error, ClientError::StoreCorrupted(_)), "{error:?}");
    assert!(error.to_string().contains("is empty"), "{error}");
}

#[test]
fn deleted_database_is_corruption_not_new_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop(EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("create"));
    std::fs::remove_file(dir.path().join("sharepay-client.db")).expect("delete");

    let error = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect_err("missing file");
    assert!(matches!(error, ClientError::StoreCorrupted(_)), "{error:?}");
    assert!(
        !dir.path().join("sharepay-client.db").exists(),
        "no new store was made"
    );
}

#[test]
fn interrupted_creation_opens_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop(EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("create"));
    // As if the app died after writing the key but before the first migration.
    std::fs::remove_file(dir.path().join("sharepay-client.db")).expect("delete");
    std::fs::remove_file(dir.path().join("store.initialized")).expect("delete marker");

    let store = EncryptedStore::open(dir.path(), &XorWrapper(1)).expect("creation resumes");
    assert!(store.outbox_items().expect("items").is_empty());
}
