//! The HMAC chain that links audit rows.
//!
//! Each row's MAC is HMAC-SHA256, under audit key `key_version`, of a
//! canonical encoding of its fields followed by the previous row's MAC (32
//! zero bytes for the first row). Every variable-length field is encoded as
//! a 4-byte big-endian length and its bytes, and an optional field gets a
//! presence byte first, so no two different rows encode to the same bytes.

use std::sync::Arc;

use ring::hmac;

use crate::keys::{KeyProvider, KeyPurpose};
use crate::store::{AuditRow, AuditSealer, StoreError};

/// The `prev_mac` of the first row.
pub const GENESIS_MAC: [u8; 32] = [0u8; 32];

const DOMAIN: &[u8] = b"sharepay-audit-chain-v1";

/// Encodes every field of `row` except `mac`, in a fixed order.
pub fn canonical_bytes(row: &AuditRow) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + row.details.len());
    push_field(&mut out, DOMAIN);
    out.extend_from_slice(&row.id.to_be_bytes());
    out.extend_from_slice(&micros(row).to_be_bytes());
    for field in [
        &row.kind,
        &row.actor,
        &row.action,
        &row.resource,
        &row.outcome,
    ] {
        push_field(&mut out, field.as_bytes());
    }
    for optional in [&row.reason, &row.request_id] {
        match optional {
            None => out.push(0),
            Some(value) => {
                out.push(1);
                push_field(&mut out, value.as_bytes());
            }
        }
    }
    push_field(&mut out, row.details.as_bytes());
    out.extend_from_slice(&row.key_version.to_be_bytes());
    push_field(&mut out, &row.prev_mac);
    out
}

fn micros(row: &AuditRow) -> i64 {
    (row.recorded_at.unix_timestamp_nanos() / 1_000) as i64
}

fn push_field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Seals new rows with the current audit key and checks stored ones with
/// the version they name.
pub struct ChainSealer {
    keys: Arc<dyn KeyProvider>,
}

impl ChainSealer {
    pub fn new(keys: Arc<dyn KeyProvider>) -> Self {
        Self { keys }
    }

    /// Checks whether `row.mac` is the MAC of the row's fields, compared in
    /// constant time. Fails only if the key version is unknown.
    pub fn verify(&self, row: &AuditRow) -> Result<bool, crate::keys::KeyError> {
        let key = self.keys.get(KeyPurpose::AuditChain, row.key_version)?;
        let key = hmac::Key::new(hmac::HMAC_SHA256, key.expose());
        Ok(hmac::verify(&key, &canonical_bytes(row), &row.mac).is_ok())
    }
}

impl AuditSealer for ChainSealer {
    fn seal(&self, row: &mut AuditRow) -> Result<(), StoreError> {
        let key = self
            .keys
            .current(KeyPurpose::AuditChain)
            .map_err(|e| StoreError::Seal(e.to_string()))?;
        row.key_version = key.version;
        let key = hmac::Key::new(hmac::HMAC_SHA256, key.expose());
        row.mac = hmac::sign(&key, &canonical_bytes(row)).as_ref().to_vec();
        Ok(())
    }
}
