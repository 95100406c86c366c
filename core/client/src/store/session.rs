//! Session values of the signed-in user: the refresh token and the cached
//! profile, each field-encrypted in `session_values`.
//! [`EncryptedStore::wipe_session`] deletes them all.

use rusqlite::{OptionalExtension, params};
use secrecy::{ExposeSecret, SecretString};
use sharepay_domain::wire::MeResponse;

use super::EncryptedStore;
use super::field_cipher::FieldPlace;
use crate::error::ClientError;

const REFRESH_TOKEN: &str = "refresh_token";
const CACHED_PROFILE: &str = "cached_profile";

fn place(name: &str) -> FieldPlace<'_> {
    FieldPlace {
        table: "session_values",
        column: "value",
        row_key: name,
    }
}

impl EncryptedStore {
    fn put_session_value(&self, name: &str, plaintext: &[u8]) -> Result<(), ClientError> {
        let sealed = self.fields().seal(place(name), plaintext)?;
        self.lock()?.execute(
            "INSERT INTO session_values (name, value) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            params![name, sealed],
        )?;
        Ok(())
    }

    fn session_value(
        &self,
        name: &str,
    ) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, ClientError> {
        let sealed: Option<Vec<u8>> = self
            .lock()?
            .query_row(
                "SELECT value FROM session_values WHERE name = ?1",
                params![name],
                |row| row.get(0),
            )
            .optional()?;
        sealed
            .map(|sealed| self.fields().open(place(name), &sealed))
            .transpose()
    }

    /// Stores the refresh token, field-encrypted.
    pub fn put_refresh_token(&self, token: &SecretString) -> Result<(), ClientError> {
        self.put_session_value(REFRESH_TOKEN, token.expose_secret().as_bytes())
    }

    /// Returns the stored refresh token, if the user is signed in.
    pub fn refresh_token(&self) -> Result<Option<SecretString>, ClientError> {
        let Some(bytes) = self.session_value(REFRESH_TOKEN)? else {
            return Ok(None);
        };
        let token = std::str::from_utf8(&bytes).map_err(|_| {
            ClientError::StoreCorrupted(
                "the stored refresh token is not UTF-8; log in again".into(),
            )
        })?;
        Ok(Some(SecretString::from(token.to_owned())))
    }

    /// Caches the signed-in user's profile, field-encrypted because it
    /// contains the email address.
    pub fn put_cached_profile(&self, profile: &MeResponse) -> Result<(), ClientError> {
        let json = zeroize::Zeroizing::new(
            serde_json::to_vec(profile)
                .map_err(|e| ClientError::Storage(format!("cannot encode the profile: {e}")))?,
        );
        self.put_session_value(CACHED_PROFILE, &json)
    }

    /// Returns the cached profile, if any.
    pub fn cached_profile(&self) -> Result<Option<MeResponse>, ClientError> {
        let Some(json) = self.session_value(CACHED_PROFILE)? else {
            return Ok(None);
        };
        let profile = serde_json::from_slice(&json).map_err(|_| {
            ClientError::StoreCorrupted("the cached profile cannot be read; log in again".into())
        })?;
        Ok(Some(profile))
    }
}
