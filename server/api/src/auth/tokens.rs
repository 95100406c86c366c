//! Access tokens (EdDSA JWTs, 15 minutes) and opaque refresh tokens.
//!
//! Verification accepts only EdDSA and checks `iss`, `aud`, `exp` and `nbf`.
//! Refresh tokens are 256 random bits; only their SHA-256 is stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ApiError;
use crate::keys::DataKey;

pub const ACCESS_TOKEN_SECONDS: u64 = 15 * 60;
pub const ISSUER: &str = "sharepay";
pub const AUDIENCE: &str = "sharepay-api";

/// Claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    /// Session id, so a revoked session's tokens can be refused.
    pub sid: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

pub struct TokenSigner {
    kid: String,
    encoding_key: EncodingKey,
    decoding_key: DecodingKey,
}

impl TokenSigner {
    /// Builds the signer from the PKCS#8 Ed25519 key in `key`.
    pub fn new(key: &DataKey) -> Result<Self, ApiError> {
        let pair = Ed25519KeyPair::from_pkcs8(key.expose())
            .map_err(|e| ApiError::internal("loading the JWT signing key", e))?;
        let public = pair.public_key().as_ref();
        let fingerprint = digest::digest(&digest::SHA256, public);
        Ok(Self {
            kid: BASE64URL.encode(&fingerprint.as_ref()[..12]),
            encoding_key: EncodingKey::from_ed_der(key.expose()),
            decoding_key: DecodingKey::from_ed_der(public),
        })
    }

    /// Signs an access token for `user_id` in session `session_id`.
    pub fn issue(&self, user_id: Uuid, session_id: Uuid) -> Result<SecretString, ApiError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = AccessClaims {
            sub: user_id.to_string(),
            sid: session_id.to_string(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            nbf: now,
            exp: now + ACCESS_TOKEN_SECONDS as i64,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding_key)
            .map(SecretString::from)
            .map_err(|e| ApiError::internal("signing an access token", e))
    }

    /// Verifies signature, algorithm, issuer, audience and validity window.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, jsonwebtoken::errors::Error> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding_key, &validation)
            .map(|data| data.claims)
    }
}

/// A new refresh token and the hash that is stored in its place.
pub struct RefreshToken {
    pub token: SecretString,
    pub hash: [u8; 32],
}

/// Generates a 256-bit random refresh token.
pub fn new_refresh_token() -> Result<RefreshToken, ApiError> {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    SystemRandom::new()
        .fill(bytes.as_mut())
        .map_err(|_| ApiError::internal("generating a refresh token", "system random failed"))?;
    let token = SecretString::from(BASE64URL.encode(bytes.as_ref()));
    let hash = hash_refresh_token(token.expose_secret());
    Ok(RefreshToken { token, hash })
}

pub fn hash_refresh_token(token: &str) -> [u8; 32] {
    let mut hash = [0u8; 32];
    hash.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KdfParams, KeyProvider, KeyPurpose, LocalKeyring, OperatorSecret};

    fn signer() -> TokenSigner {
        let dir = tempfile::tempdir().expect("temp dir");
        let secret = OperatorSecret::new("token-test-operator-secret", "test").expect("secret");
        let kdf = KdfParams::with_cost(64, 1).expect("kdf");
        let keyring =
            LocalKeyring::create(&dir.path().join("keyring.json"), &secret, kdf).expect("keyring");
        let key = keyring.current(KeyPurpose::JwtSigning).expect("key");
        TokenSigner::new(&key).expect("signer")
    }

    #[test]
    fn issued_token_verifies_with_claims() {
        let signer = signer();
        let user = Uuid::now_v7();
        let session = Uuid::now_v7();
        let token = signer.issue(user, session).expect("issue");

        let claims = signer.verify(token.expose_secret()).expect("verify");
        assert_eq!(claims.sub, user.to_string());
        assert_eq!(claims.sid, session.to_string());
        assert_eq!(claims.exp - claims.iat, 900);
    }

    #[test]
    fn token_from_other_key_is_rejected() {
        let token = signer()
            .issue(Uuid::now_v7(), Uuid::now_v7())
            .expect("issue");

        assert!(signer().verify(token.expose_secret()).is_err());
    }

    #[test]
    fn unsigned_token_is_rejected() {
        let signer = signer();
        let header = BASE64URL.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = BASE64URL.encode(
            format!(
                r#"{{"sub":"x","sid":"y","iss":"sharepay","aud":"sharepay-api","iat":{now},"nbf":{now},"exp":{}}}"#,
                now + 600
            )
            .as_bytes(),
        );

        assert!(signer.verify(&format!("{header}.{claims}.")).is_err());
    }
}
