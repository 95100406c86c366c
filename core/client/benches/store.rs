//! Benchmarks of the phone store, run with
//! `cargo bench -p sharepay-client --bench store`:
//!
//! 1. insert throughput of SQLCipher as a ratio of plain SQLite: the same
//!    library (rusqlite with bundled SQLCipher), the same schema (the
//!    store's migrations), the same statement and batch sizes, once with a
//!    raw key and once without. Slices alternate between the two (and which
//!    goes first) so machine noise hits both alike; the median ratio of the
//!    slices is printed.
//! 2. the time to open an existing store, key unwrap included, as the
//!    median of N opens, with an in-memory AES-256-GCM key wrapper.

use std::path::Path;
use std::time::{Duration, Instant};

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::{Connection, params};
use sharepay_client::store::migrations::migrate;
use sharepay_client::{EncryptedStore, KeyWrapper, KeyWrapperError};
use zeroize::Zeroizing;

const SLICES: usize = 15;
const ROWS_PER_SLICE: usize = 2_000;
const BATCH_SIZES: [usize; 3] = [1, 100, 1_000];
const OPENS: usize = 41;

/// Wraps keys with AES-256-GCM under a random in-memory key, as a platform
/// keystore does in hardware.
struct AesGcmWrapper {
    key: LessSafeKey,
    random: SystemRandom,
}

impl AesGcmWrapper {
    fn new() -> Self {
        let random = SystemRandom::new();
        let mut bytes = [0u8; 32];
        random.fill(&mut bytes).expect("random key");
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &bytes).expect("AES key"));
        Self { key, random }
    }
}

impl KeyWrapper for AesGcmWrapper {
    fn wrap_key(&self, key: &[u8]) -> Result<Vec<u8>, KeyWrapperError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).expect("random nonce");
        let mut sealed = key.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                &mut sealed,
            )
            .expect("seal");
        let mut wrapped = nonce.to_vec();
        wrapped.extend_from_slice(&sealed);
        Ok(wrapped)
    }

    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyWrapperError> {
        let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).expect("nonce");
        let mut buffer = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut buffer)
            .map_err(|_| KeyWrapperError {
                message: "unwrap failed".into(),
            })?;
        Ok(Zeroizing::new(plain.to_vec()))
    }
}

fn open_database(path: &Path, key: Option<&[u8]>) -> Connection {
    let connection = Connection::open(path).expect("open database");
    if let Some(key) = key {
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        connection
            .execute_batch(&format!("PRAGMA key = \"x'{hex}'\";"))
            .expect("key");
    }
    connection
        .execute_batch("PRAGMA secure_delete = ON;")
        .expect("secure_delete");
    migrate(&connection).expect("schema");
    connection
}

/// Inserts `rows` outbox rows in transactions of `batch` rows.
fn insert_rows(
    connection: &mut Connection,
    rows: usize,
    batch: usize,
    counter: &mut u64,
) -> Duration {
    let started = Instant::now();
    let mut remaining = rows;
    while remaining > 0 {
        let count = remaining.min(batch);
        let transaction = connection.transaction().expect("begin");
        {
            let mut insert = transaction
                .prepare_cached(
                    "INSERT INTO outbox (idempotency_key, meter_id, value, reading_time,
                         reading_kind, state, next_attempt_at_ms, queued_at)
                     VALUES (?1, ?2, ?3, ?4, 'actual', 'queued', 0, ?4)",
                )
                .expect("prepare");
            for _ in 0..count {
                *counter += 1;
                insert
                    .execute(params![
                        format!("0190c0de-0000-7000-8000-{:012x}", *counter),
                        format!("meter-{}", *counter % 16),
                        format!("{}.{:03}", *counter / 1000, *counter % 1000),
                        "2026-12-04T09:30:00Z",
                    ])
                    .expect("insert");
            }
        }
        transaction.commit().expect("commit");
        remaining -= count;
    }
    started.elapsed()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn bench_insert_ratio() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut key = [0u8; 32];
    SystemRandom::new().fill(&mut key).expect("random key");

    println!(
        "insert throughput, SQLCipher / plain SQLite ({SLICES} alternating slices of {ROWS_PER_SLICE} rows)"
    );
    for batch in BATCH_SIZES {
        let mut encrypted = open_database(
            &dir.path().join(format!("encrypted-{batch}.db")),
            Some(&key),
        );
        let mut plain = open_database(&dir.path().join(format!("plain-{batch}.db")), None);
        let mut counter = 0u64;
        // One warm-up slice each, not counted.
        insert_rows(&mut encrypted, ROWS_PER_SLICE, batch, &mut counter);
        insert_rows(&mut plain, ROWS_PER_SLICE, batch, &mut counter);

        let mut ratios = Vec::with_capacity(SLICES);
        let mut encrypted_rates = Vec::with_capacity(SLICES);
        let mut plain_rates = Vec::with_capacity(SLICES);
        for slice in 0..SLICES {
            let (encrypted_time, plain_time) = if slice % 2 == 0 {
                let e = insert_rows(&mut encrypted, ROWS_PER_SLICE, batch, &mut counter);
                let p = insert_rows(&mut plain, ROWS_PER_SLICE, batch, &mut counter);
                (e, p)
            } else {
                let p = insert_rows(&mut plain, ROWS_PER_SLICE, batch, &mut counter);
                let e = insert_rows(&mut encrypted, ROWS_PER_SLICE, batch, &mut counter);
                (e, p)
            };
            ratios.push(plain_time.as_secs_f64() / encrypted_time.as_secs_f64());
            encrypted_rates.push(ROWS_PER_SLICE as f64 / encrypted_time.as_secs_f64());
            plain_rates.push(ROWS_PER_SLICE as f64 / plain_time.as_secs_f64());
        }
        let min_ratio = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let max_ratio = ratios.iter().copied().fold(0.0, f64::max);
        println!(
            "  batch {batch:>5} rows/transaction: median ratio {:.2} (slices {:.2} to {:.2}); \
             median SQLCipher {:.0} rows/s, plain {:.0} rows/s",
            median(&mut ratios),
            min_ratio,
            max_ratio,
            median(&mut encrypted_rates),
            median(&mut plain_rates),
        );
    }
}

fn bench_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let wrapper = AesGcmWrapper::new();

    let started = Instant::now();
    let store = EncryptedStore::open(dir.path(), &wrapper).expect("create store");
    let create = started.elapsed();
    let readings: Vec<_> = (0..1_000)
        .map(|i| sharepay_client::NewReading {
            meter_id: format!("meter-{}", i % 16),
            value: format!("{i}.000"),
            reading_time: "2026-12-04T09:30:00Z".into(),
            kind: sharepay_domain::meter::ReadingKind::Actual,
            photo_sha256: None,
            location: None,
        })
        .collect();
    store.enqueue_readings(&readings, 0).expect("fill outbox");
    drop(store);

    let mut opens = Vec::with_capacity(OPENS);
    for _ in 0..OPENS {
        let started = Instant::now();
        let store = EncryptedStore::open(dir.path(), &wrapper).expect("open store");
        opens.push(started.elapsed().as_secs_f64() * 1_000.0);
        drop(store);
    }
    let min = opens.iter().copied().fold(f64::INFINITY, f64::min);
    let max = opens.iter().copied().fold(0.0, f64::max);
    println!(
        "open existing store (1,000 queued readings), AES-256-GCM key unwrap included: \
         median {:.2} ms of {OPENS} opens (min {min:.2}, max {max:.2}); first open with key creation {:.2} ms",
        median(&mut opens),
        create.as_secs_f64() * 1_000.0
    );
}

fn main() {
    bench_insert_ratio();
    bench_open();
}
