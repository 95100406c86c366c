//! Keyed HMAC-SHA256 blind indexes for equality lookups of encrypted
//! columns.
//!
//! The index is computed over the column name and the normalized value, so
//! equal values in different columns get unrelated indexes. It reveals
//! which rows share a value, and nothing else, to anyone without the key.

use std::sync::Arc;

use ring::hmac;

use super::{Column, FieldError};
use crate::keys::{KeyProvider, KeyPurpose};

/// Length of a blind index in bytes (a full SHA-256 output).
pub const BLIND_INDEX_LENGTH: usize = 32;

/// Computes blind indexes under the current PII blind-index key.
#[derive(Clone)]
pub struct BlindIndex {
    keys: Arc<dyn KeyProvider>,
}

impl std::fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlindIndex").finish_non_exhaustive()
    }
}

impl BlindIndex {
    pub fn new(keys: Arc<dyn KeyProvider>) -> Self {
        Self { keys }
    }

    /// Computes the index of an already normalized `value` in `column`.
    ///
    /// NOTE: the blind-index key is not rotated yet (the key provider
    /// rejects it), so every stored index uses the current version.
    pub fn compute(
        &self,
        column: Column,
        value: &str,
    ) -> Result<[u8; BLIND_INDEX_LENGTH], FieldError> {
        let key = self.keys.current(KeyPurpose::PiiBlindIndex)?;
        let key = hmac::Key::new(hmac::HMAC_SHA256, key.expose());
        let mut context = hmac::Context::with_key(&key);
        let label = column.label();
        context.update(&(label.len() as u32).to_be_bytes());
        context.update(label.as_bytes());
        context.update(value.as_bytes());
        let tag = context.sign();
        let mut index = [0u8; BLIND_INDEX_LENGTH];
        index.copy_from_slice(tag.as_ref());
        Ok(index)
    }
}
