//! Helpers shared by the phone core's integration tests.

#![allow(dead_code)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use sharepay_client::clock::Clock;
use sharepay_client::{DeviceInfo, KeyWrapper, KeyWrapperError, NewReading};
use sharepay_domain::meter::ReadingKind;
use zeroize::Zeroizing;

pub mod fixture;

/// XORs the key with one byte. It only lets tests tell keys apart and
/// protects nothing.
pub struct XorWrapper(pub u8);

impl KeyWrapper for XorWrapper {
    fn wrap_key(&self, key: &[u8]) -> Result<Vec<u8>, KeyWrapperError> {
        Ok(key.iter().map(|b| b ^ self.0).collect())
    }
    fn unwrap_key(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyWrapperError> {
        Ok(Zeroizing::new(wrapped.iter().map(|b| b ^ self.0).collect()))
    }
}

/// A key store that is locked, as after a device restore.
pub struct UnavailableWrapper;

impl KeyWrapper for UnavailableWrapper {
    fn wrap_key(&self, _key: &[u8]) -> Result<Vec<u8>, KeyWrapperError> {
        Err(KeyWrapperError {
            message: "the keystore is locked".into(),
        })
    }
    fn unwrap_key(&self, _wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyWrapperError> {
        Err(KeyWrapperError {
            message: "the keystore is locked".into(),
        })
    }
}

/// A clock whose `sleep` advances time at once, recording each wait.
pub struct FakeClock {
    now_ms: AtomicI64,
    pub sleeps: std::sync::Mutex<Vec<Duration>>,
}

impl FakeClock {
    pub fn starting_at(now_ms: i64) -> Self {
        Self {
            now_ms: AtomicI64::new(now_ms),
            sleeps: std::sync::Mutex::new(Vec::new()),
        }
    }
}

#[async_trait::async_trait]
impl Clock for FakeClock {
    fn now_unix_ms(&self) -> i64 {
        self.now_ms.load(Ordering::SeqCst)
    }

    async fn sleep(&self, duration: Duration) {
        self.sleeps.lock().expect("sleeps").push(duration);
        let millis = i64::try_from(duration.as_millis()).expect("short sleep");
        self.now_ms.fetch_add(millis.max(1), Ordering::SeqCst);
        tokio::task::yield_now().await;
    }
}

/// A valid actual reading of `meter_id`.
pub fn reading(meter_id: &str, value: &str) -> NewReading {
    NewReading {
        meter_id: meter_id.to_owned(),
        value: value.to_owned(),
        reading_time: "2026-12-04T09:30:00Z".to_owned(),
        kind: ReadingKind::Actual,
        photo_sha256: None,
        location: None,
    }
}

/// The raw store key, unwrapped from the key file with `wrapper`.
pub fn store_key(dir: &std::path::Path, wrapper: &dyn KeyWrapper) -> Zeroizing<Vec<u8>> {
    let wrapped = std::fs::read(dir.join("store-key.wrapped")).expect("wrapped key");
    wrapper.unwrap_key(&wrapped).expect("unwrap")
}

/// Opens the store file directly with rusqlite and the raw key.
pub fn open_raw(dir: &std::path::Path, key: &[u8]) -> rusqlite::Connection {
    let connection =
        rusqlite::Connection::open(dir.join("sharepay-client.db")).expect("open store file");
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    connection
        .execute_batch(&format!("PRAGMA key = \"x'{hex}'\";"))
        .expect("set key");
    connection
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// The attributes of a phone, for fingerprint tests.
pub fn device() -> DeviceInfo {
    DeviceInfo {
        platform: "android".into(),
        os_version: "15".into(),
        model: "Pixel 9".into(),
        app_version: "1.4.0".into(),
        locale: "fr-FR".into(),
        time_zone: "Europe/Paris".into(),
        extra: std::collections::HashMap::new(),
    }
}
