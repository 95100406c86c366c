//! AES-256-GCM encryption of single columns inside the SQLCipher store.
//!
//! SQLCipher protects the file at rest. Field encryption adds a second layer
//! for the values that matter most (the refresh token, the install secret,
//! cached profile and card display data), so a decrypted page, a plaintext
//! export or a logged row still does not reveal them.
//!
//! The field key is derived from the store key with HKDF-SHA256 instead of
//! being a second random key wrapped by the platform. Both choices rest on
//! the same platform key, so a second wrapped key would add no protection.
//! It would cost a second keystore call at every start (which may show a
//! biometric prompt) and could drift out of step with the store key. The
//! HKDF info carries the key version, so a new version is a new key.
//!
//! Each sealed value is `format (1 byte) || key_version (u32 BE) || nonce
//! (12 bytes) || ciphertext || tag`. The AAD binds the header and the
//! value's place (table, column and row key), so a value copied to another
//! row or column fails to open. This module must never log a plaintext.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::error::ClientError;

/// Format byte of a sealed value.
const FORMAT_V1: u8 = 1;
/// Field key version used for new values.
pub(crate) const CURRENT_KEY_VERSION: u32 = 1;
const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;
const HKDF_SALT: &[u8] = b"sharepay-client field-encryption salt";

/// Location of a sealed value (table, column, row key), bound into the AAD.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FieldPlace<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub row_key: &'a str,
}

pub(crate) struct FieldCipher {
    key: LessSafeKey,
    random: SystemRandom,
}

struct KeyLength;

impl hkdf::KeyType for KeyLength {
    fn len(&self) -> usize {
        32
    }
}

impl FieldCipher {
    /// Derives field key `CURRENT_KEY_VERSION` from the 32-byte store key.
    pub(crate) fn derive(store_key: &[u8]) -> Result<Self, ClientError> {
        let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, HKDF_SALT);
        let info = format!("sharepay field key v{CURRENT_KEY_VERSION}");
        let info_parts = [info.as_bytes()];
        let prk = salt.extract(store_key);
        let okm = prk
            .expand(&info_parts, KeyLength)
            .map_err(|_| ClientError::Storage("deriving the field key failed".into()))?;
        let mut key_bytes = Zeroizing::new([0u8; 32]);
        okm.fill(key_bytes.as_mut())
            .map_err(|_| ClientError::Storage("deriving the field key failed".into()))?;
        let unbound = UnboundKey::new(&AES_256_GCM, key_bytes.as_ref())
            .map_err(|_| ClientError::Storage("the field key is invalid".into()))?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
            random: SystemRandom::new(),
        })
    }

    /// Encrypts `plaintext` for `place` under the current key version.
    pub(crate) fn seal(
        &self,
        place: FieldPlace<'_>,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, ClientError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| ClientError::Storage("the system random generator failed".into()))?;
        let mut header = Vec::with_capacity(HEADER_LEN + plaintext.len() + 16);
        header.push(FORMAT_V1);
        header.extend_from_slice(&CURRENT_KEY_VERSION.to_be_bytes());
        header.extend_from_slice(&nonce);

        let aad = associated_data(&header[..5], place);
        let mut sealed = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad),
                &mut sealed,
            )
            .map_err(|_| ClientError::Storage("encrypting a stored field failed".into()))?;
        header.extend_from_slice(&sealed);
        Ok(header)
    }

    /// Decrypts a value sealed by [`FieldCipher::seal`] for the same place.
    pub(crate) fn open(
        &self,
        place: FieldPlace<'_>,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, ClientError> {
        // The row key is left out of the message: for cards it is a token.
        let damaged = || {
            ClientError::StoreCorrupted(format!(
                "a value in {}.{} cannot be decrypted; log in again to replace it",
                place.table, place.column
            ))
        };
        if sealed.len() < HEADER_LEN || sealed[0] != FORMAT_V1 {
            return Err(damaged());
        }
        let version = u32::from_be_bytes([sealed[1], sealed[2], sealed[3], sealed[4]]);
        if version != CURRENT_KEY_VERSION {
            return Err(ClientError::StoreCorrupted(format!(
                "{}.{} uses field key version {version}, which this app does not know; update the app",
                place.table, place.column
            )));
        }
        let nonce =
            Nonce::try_assume_unique_for_key(&sealed[5..HEADER_LEN]).map_err(|_| damaged())?;
        let aad = associated_data(&sealed[..5], place);
        let mut buffer = Zeroizing::new(sealed[HEADER_LEN..].to_vec());
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(&aad), buffer.as_mut_slice())
            .map_err(|_| damaged())?;
        Ok(Zeroizing::new(plaintext.to_vec()))
    }
}

/// Length-prefixed place fields after the format and version bytes, so no
/// two places share an encoding.
fn associated_data(format_and_version: &[u8], place: FieldPlace<'_>) -> Vec<u8> {
    let mut aad = format_and_version.to_vec();
    for part in [place.table, place.column, place.row_key] {
        aad.extend_from_slice(&(part.len() as u32).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLACE: FieldPlace<'static> = FieldPlace {
        table: "session_values",
        column: "value",
        row_key: "refresh_token",
    };

    #[test]
    fn sealed_value_opens_in_same_place() {
        let cipher = FieldCipher::derive(&[7u8; 32]).expect("derive");
        let sealed = cipher.seal(PLACE, b"secret").expect("seal");

        let opened = cipher.open(PLACE, &sealed).expect("open");
        assert_eq!(opened.as_slice(), b"secret");
        assert_eq!(sealed[0], FORMAT_V1);
        assert_eq!(&sealed[1..5], &CURRENT_KEY_VERSION.to_be_bytes());
    }

    #[test]
    fn sealed_value_fails_in_other_row() {
        let cipher = FieldCipher::derive(&[7u8; 32]).expect("derive");
        let sealed = cipher.seal(PLACE, b"secret").expect("seal");
        let other = FieldPlace {
            row_key: "cached_profile",
            ..PLACE
        };

        let error = cipher
            .open(other, &sealed)
            .expect_err("moved value must fail");
        assert!(matches!(error, ClientError::StoreCorrupted(_)), "{error:?}");
    }

    #[test]
    fn other_store_key_cannot_open() {
        let sealed = FieldCipher::derive(&[7u8; 32])
            .expect("derive")
            .seal(PLACE, b"secret")
            .expect("seal");

        let other = FieldCipher::derive(&[8u8; 32]).expect("derive");
        assert!(other.open(PLACE, &sealed).is_err());
    }

    #[test]
    fn two_seals_use_different_nonces() {
        let cipher = FieldCipher::derive(&[7u8; 32]).expect("derive");
        let first = cipher.seal(PLACE, b"secret").expect("seal");
        let second = cipher.seal(PLACE, b"secret").expect("seal");

        assert_ne!(first[5..HEADER_LEN], second[5..HEADER_LEN]);
    }
}
