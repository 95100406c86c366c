//! Access tokens (EdDSA JWTs, 15 minutes) and opaque refresh tokens, and
//! the OAuth2 client-credentials tokens of services, which are signed by
//! the same keys for another audience.
//!
//! Verification accepts only EdDSA and checks `kid`, `iss`, `aud`, `exp` and
//! `nbf`. Signing keys rotate through the key provider; a retired key stays
//! published at the JWKS endpoint until the tokens it signed have expired.
//! Refresh tokens are 256 random bits; only their SHA-256 is stored.

use std::sync::RwLock;

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
use crate::keys::{DataKey, KeyProvider, KeyPurpose};

pub const ACCESS_TOKEN_SECONDS: u64 = 15 * 60;
pub const ISSUER: &str = "sharepay";
pub const AUDIENCE: &str = "sharepay-api";
/// Audience of OAuth2 client-credentials tokens. User endpoints verify
/// [`AUDIENCE`], so they reject these tokens, and service endpoints reject
/// user tokens.
pub const SERVICE_AUDIENCE: &str = "sharepay-service";

/// Claims of an access token. Every field is required when verifying.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    /// Session id, so a revoked session's tokens can be refused.
    pub sid: String,
    /// System roles of the user when the token was issued, such as `admin`.
    pub roles: Vec<String>,
    /// Authentication methods of the session (RFC 8176 values: `pwd`, `otp`,
    /// `hwk`, ...).
    pub amr: Vec<String>,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// Claims of an OAuth2 client-credentials access token (RFC 9068 names).
#[derive(Debug, Serialize, Deserialize)]
pub struct ServiceClaims {
    /// The OAuth2 `client_id`.
    pub sub: String,
    pub client_id: String,
    /// Space-separated scopes.
    pub scope: String,
    /// Unique token id.
    pub jti: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// How long after its retirement a signing key is still published and
/// accepted: the token lifetime plus the verification leeway.
const RETIRED_KEY_SECONDS: i64 = ACCESS_TOKEN_SECONDS as i64 + LEEWAY_SECONDS as i64;
const LEEWAY_SECONDS: u64 = 30;

/// One Ed25519 key: the private half only for the current key.
struct JwtKey {
    kid: String,
    public: Vec<u8>,
    decoding_key: DecodingKey,
    /// When the key stopped signing; `None` for the current key.
    retired_at: Option<OffsetDateTime>,
}

struct KeySet {
    kid: String,
    encoding_key: EncodingKey,
    keys: Vec<JwtKey>,
}

/// Signs access tokens with the current Ed25519 key and verifies them with
/// any published key, chosen by the token's `kid`.
pub struct TokenSigner {
    keys: RwLock<KeySet>,
}

fn load_key(key: &DataKey) -> Result<(EncodingKey, JwtKey), ApiError> {
    let pair = Ed25519KeyPair::from_pkcs8(key.expose())
        .map_err(|e| ApiError::internal("loading the JWT signing key", e))?;
    let public = pair.public_key().as_ref().to_vec();
    let fingerprint = digest::digest(&digest::SHA256, &public);
    let kid = BASE64URL.encode(&fingerprint.as_ref()[..12]);
    Ok((
        EncodingKey::from_ed_der(key.expose()),
        JwtKey {
            kid,
            decoding_key: DecodingKey::from_ed_der(&public),
            public,
            retired_at: None,
        },
    ))
}

impl TokenSigner {
    /// Builds the signer from the PKCS#8 Ed25519 key in `key` alone.
    pub fn new(key: &DataKey) -> Result<Self, ApiError> {
        let (encoding_key, current) = load_key(key)?;
        Ok(Self {
            keys: RwLock::new(KeySet {
                kid: current.kid.clone(),
                encoding_key,
                keys: vec![current],
            }),
        })
    }

    /// Builds the signer from the provider's current JWT key, and also
    /// accepts the previous version: it may have signed tokens that are
    /// still valid when the server restarts soon after a rotation.
    pub fn from_provider(provider: &dyn KeyProvider) -> Result<Self, ApiError> {
        let current = provider
            .current(KeyPurpose::JwtSigning)
            .map_err(|e| ApiError::internal("loading the JWT signing key", e))?;
        let signer = Self::new(&current)?;
        if current.version > 1 {
            let previous = provider
                .get(KeyPurpose::JwtSigning, current.version - 1)
                .map_err(|e| ApiError::internal("loading the previous JWT signing key", e))?;
            let (_, mut retired) = load_key(&previous)?;
            retired.retired_at = Some(OffsetDateTime::now_utc());
            signer.write().keys.push(retired);
        }
        Ok(signer)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, KeySet> {
        self.keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, KeySet> {
        self.keys
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a new JWT key version to `provider` and signs with it from now
    /// on. The old key stays published until the tokens it signed expire;
    /// keys retired longer ago are dropped.
    pub fn rotate(&self, provider: &dyn KeyProvider) -> Result<String, ApiError> {
        let version = provider
            .rotate(KeyPurpose::JwtSigning)
            .map_err(|e| ApiError::internal("rotating the JWT signing key", e))?;
        let key = provider
            .get(KeyPurpose::JwtSigning, version)
            .map_err(|e| ApiError::internal("loading the new JWT signing key", e))?;
        let (encoding_key, current) = load_key(&key)?;
        let now = OffsetDateTime::now_utc();
        let kid = current.kid.clone();

        let mut set = self.write();
        for key in &mut set.keys {
            key.retired_at.get_or_insert(now);
        }
        set.keys.retain(|key| {
            key.retired_at
                .is_none_or(|retired| (now - retired).whole_seconds() < RETIRED_KEY_SECONDS)
        });
        set.keys.insert(0, current);
        set.kid = kid.clone();
        set.encoding_key = encoding_key;
        Ok(kid)
    }

    /// Returns the `kid` of the key that signs new tokens.
    pub fn current_kid(&self) -> String {
        self.read().kid.clone()
    }

    /// Returns the published keys as an RFC 7517 JWK set (RFC 8037 OKP
    /// keys), current key first.
    pub fn jwks(&self) -> serde_json::Value {
        let now = OffsetDateTime::now_utc();
        let set = self.read();
        let keys: Vec<serde_json::Value> = set
            .keys
            .iter()
            .filter(|key| is_published(key, now))
            .map(|key| {
                serde_json::json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": BASE64URL.encode(&key.public),
                    "kid": key.kid,
                    "alg": "EdDSA",
                    "use": "sig",
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Signs an access token for `user_id` in session `session_id` with no
    /// roles and the password as the only authentication method.
    pub fn issue(&self, user_id: Uuid, session_id: Uuid) -> Result<SecretString, ApiError> {
        self.issue_with(user_id, session_id, Vec::new(), vec!["pwd".to_owned()])
    }

    /// Signs an access token carrying `roles` and `amr`.
    pub fn issue_with(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        roles: Vec<String>,
        amr: Vec<String>,
    ) -> Result<SecretString, ApiError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = AccessClaims {
            sub: user_id.to_string(),
            sid: session_id.to_string(),
            roles,
            amr,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            nbf: now,
            exp: now + ACCESS_TOKEN_SECONDS as i64,
        };
        self.sign(&claims)
    }

    /// Signs an OAuth2 client-credentials token for `client_id` with
    /// `scopes`, valid for `lifetime_secs`.
    pub fn issue_service(
        &self,
        client_id: &str,
        scopes: &[String],
        lifetime_secs: u64,
    ) -> Result<SecretString, ApiError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = ServiceClaims {
            sub: client_id.to_owned(),
            client_id: client_id.to_owned(),
            scope: scopes.join(" "),
            jti: Uuid::now_v7().to_string(),
            iss: ISSUER.to_owned(),
            aud: SERVICE_AUDIENCE.to_owned(),
            iat: now,
            nbf: now,
            exp: now + lifetime_secs as i64,
        };
        self.sign(&claims)
    }

    fn sign<T: Serialize>(&self, claims: &T) -> Result<SecretString, ApiError> {
        let set = self.read();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(set.kid.clone());
        jsonwebtoken::encode(&header, claims, &set.encoding_key)
            .map(SecretString::from)
            .map_err(|e| ApiError::internal("signing an access token", e))
    }

    /// Verifies a user access token: the key named by `kid`, the algorithm
    /// (EdDSA only), issuer, audience [`AUDIENCE`] and validity window.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, jsonwebtoken::errors::Error> {
        self.verify_for(token, AUDIENCE)
    }

    /// Verifies a service token like [`TokenSigner::verify`], but for the
    /// audience [`SERVICE_AUDIENCE`].
    pub fn verify_service(
        &self,
        token: &str,
    ) -> Result<ServiceClaims, jsonwebtoken::errors::Error> {
        self.verify_for(token, SERVICE_AUDIENCE)
    }

    fn verify_for<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        audience: &str,
    ) -> Result<T, jsonwebtoken::errors::Error> {
        use jsonwebtoken::errors::ErrorKind;

        let header = jsonwebtoken::decode_header(token)?;
        if header.alg != Algorithm::EdDSA {
            return Err(ErrorKind::InvalidAlgorithm.into());
        }
        let kid = header.kid.ok_or(ErrorKind::InvalidToken)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;

        let now = OffsetDateTime::now_utc();
        let set = self.read();
        let key = set
            .keys
            .iter()
            .find(|key| key.kid == kid && is_published(key, now))
            .ok_or(ErrorKind::InvalidKeyFormat)?;
        jsonwebtoken::decode::<T>(token, &key.decoding_key, &validation).map(|data| data.claims)
    }
}

fn is_published(key: &JwtKey, now: OffsetDateTime) -> bool {
    key.retired_at
        .is_none_or(|retired| (now - retired).whole_seconds() < RETIRED_KEY_SECONDS)
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

    fn keyring(dir: &tempfile::TempDir) -> LocalKeyring {
        let secret = OperatorSecret::new("token-test-operator-secret", "test").expect("secret");
        let kdf = KdfParams::with_cost(64, 1).expect("kdf");
        LocalKeyring::create(&dir.path().join("keyring.json"), &secret, kdf).expect("keyring")
    }

    fn signer() -> TokenSigner {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = keyring(&dir).current(KeyPurpose::JwtSigning).expect("key");
        TokenSigner::new(&key).expect("signer")
    }

    fn published_kids(signer: &TokenSigner) -> Vec<String> {
        signer.jwks()["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|key| key["kid"].as_str().expect("kid").to_owned())
            .collect()
    }

    #[test]
    fn rotation_keeps_old_tokens_valid() {
        let dir = tempfile::tempdir().expect("temp dir");
        let keyring = keyring(&dir);
        let signer = TokenSigner::from_provider(&keyring).expect("signer");
        let old_kid = signer.current_kid();
        let old_token = signer.issue(Uuid::now_v7(), Uuid::now_v7()).expect("issue");

        let new_kid = signer.rotate(&keyring).expect("rotate");
        let new_token = signer.issue(Uuid::now_v7(), Uuid::now_v7()).expect("issue");

        assert_ne!(old_kid, new_kid);
        assert_eq!(
            published_kids(&signer),
            vec![new_kid.clone(), old_kid.clone()]
        );
        assert!(signer.verify(old_token.expose_secret()).is_ok());
        let header = jsonwebtoken::decode_header(new_token.expose_secret()).expect("header");
        assert_eq!(header.kid.as_deref(), Some(new_kid.as_str()));
        let restarted = TokenSigner::from_provider(&keyring).expect("signer after restart");
        assert_eq!(published_kids(&restarted), vec![new_kid, old_kid]);
        assert!(restarted.verify(old_token.expose_secret()).is_ok());
    }

    #[test]
    fn second_rotation_drops_nothing_still_valid() {
        let dir = tempfile::tempdir().expect("temp dir");
        let keyring = keyring(&dir);
        let signer = TokenSigner::from_provider(&keyring).expect("signer");
        let first = signer.issue(Uuid::now_v7(), Uuid::now_v7()).expect("issue");

        signer.rotate(&keyring).expect("rotate");
        signer.rotate(&keyring).expect("rotate again");

        // The first key retired moments ago, so its tokens still verify.
        assert_eq!(published_kids(&signer).len(), 3);
        assert!(signer.verify(first.expose_secret()).is_ok());
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
    fn audiences_keep_user_and_service_tokens_apart() {
        let signer = signer();
        let user = signer.issue(Uuid::now_v7(), Uuid::now_v7()).expect("issue");
        let service = signer
            .issue_service("spc_0011", &["audit:read".to_owned()], 600)
            .expect("issue service");

        let claims = signer
            .verify_service(service.expose_secret())
            .expect("service token verifies as one");
        assert_eq!(claims.client_id, "spc_0011");
        assert_eq!(claims.scope, "audit:read");
        assert!(signer.verify(service.expose_secret()).is_err());
        assert!(signer.verify_service(user.expose_secret()).is_err());
    }

    #[test]
    fn unsigned_token_is_rejected() {
        let signer = signer();
        let header = BASE64URL.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = BASE64URL.encode(
            format!(
                r#"{{"sub":"x","sid":"y","roles":[],"amr":[],"iss":"sharepay","aud":"sharepay-api","iat":{now},"nbf":{now},"exp":{}}}"#,
                now + 600
            )
            .as_bytes(),
        );

        assert!(signer.verify(&format!("{header}.{claims}.")).is_err());
    }
}
