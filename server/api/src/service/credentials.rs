//! Creating, listing and revoking service credentials, shared by API keys
//! and OAuth2 clients.
//!
//! A credential has a public lookup id and a 256-bit random secret. Only
//! the SHA-256 of the secret is stored (the secret is random, so a salted
//! slow hash would add nothing), and a presented secret is compared with
//! it in constant time. The secret is returned once, at creation.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::SecretString;
use sharepay_domain::wire::service::{ServiceCredentialRequest, ServiceCredentialView};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::scope;
use crate::AppState;
use crate::audit::{Actor, AuditEvent, AuditKind, Outcome};
use crate::error::ApiError;
use crate::routes::record;
use crate::store::StoreError;
use crate::store::security::{CredentialKind, ServiceCredentialRow};

/// Start of every API key: `spk_<prefix>_<secret>`.
pub const API_KEY_START: &str = "spk_";
/// Start of every OAuth2 `client_id`.
pub const CLIENT_ID_START: &str = "spc_";
/// Hex digits of the visible API key prefix.
pub const API_KEY_PREFIX_CHARS: usize = 8;
const MAX_NAME_CHARS: usize = 100;
/// Attempts at a lookup id that is not taken yet.
const MAX_ID_ATTEMPTS: usize = 3;

/// A credential just created, with its secret.
pub struct CreatedCredential {
    pub row: ServiceCredentialRow,
    pub secret: SecretString,
}

/// Checks the name and scopes of a new credential; returns the trimmed name
/// and the scopes sorted without duplicates.
pub fn validate_request(
    request: &ServiceCredentialRequest,
) -> Result<(String, Vec<String>), ApiError> {
    let name = request.name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(ApiError::invalid_field(
            "name",
            format!("must be 1 to {MAX_NAME_CHARS} characters with no control characters"),
        ));
    }
    if request.scopes.is_empty() {
        return Err(ApiError::invalid_field(
            "scopes",
            format!("must list at least one of: {}", scope::ALL.join(", ")),
        ));
    }
    let mut scopes = Vec::new();
    for requested in &request.scopes {
        if !scope::ALL.contains(&requested.as_str()) {
            return Err(ApiError::invalid_field(
                "scopes",
                format!(
                    "{requested:?} is not a scope; use {}",
                    scope::ALL.join(", ")
                ),
            ));
        }
        scopes.push(requested.clone());
    }
    scopes.sort();
    scopes.dedup();
    Ok((name.to_owned(), scopes))
}

fn random_bytes(length: usize) -> Result<zeroize::Zeroizing<Vec<u8>>, ApiError> {
    let mut bytes = zeroize::Zeroizing::new(vec![0u8; length]);
    SystemRandom::new()
        .fill(bytes.as_mut_slice())
        .map_err(|_| ApiError::internal("generating a credential", "system random failed"))?;
    Ok(bytes)
}

fn random_hex(length: usize) -> Result<String, ApiError> {
    let bytes = random_bytes(length.div_ceil(2))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(hex[..length].to_owned())
}

pub fn hash_secret(secret: &str) -> [u8; 32] {
    let mut hash = [0u8; 32];
    hash.copy_from_slice(digest::digest(&digest::SHA256, secret.as_bytes()).as_ref());
    hash
}

/// Compares a presented secret with a stored hash in constant time.
pub fn secret_matches(stored_hash: &[u8; 32], presented: &str) -> bool {
    hash_secret(presented).ct_eq(stored_hash).into()
}

/// Creates a credential of `kind` for `admin` and audits it.
pub async fn create(
    state: &AppState,
    admin: Uuid,
    kind: CredentialKind,
    request: &ServiceCredentialRequest,
    request_id: Option<&str>,
) -> Result<CreatedCredential, ApiError> {
    let (name, scopes) = validate_request(request)?;
    let secret = SecretString::from(BASE64URL.encode(random_bytes(32)?.as_slice()));
    let secret_hash = hash_secret(secrecy::ExposeSecret::expose_secret(&secret));

    for _ in 0..MAX_ID_ATTEMPTS {
        let lookup_id = match kind {
            CredentialKind::ApiKey => random_hex(API_KEY_PREFIX_CHARS)?,
            CredentialKind::OAuthClient => format!("{CLIENT_ID_START}{}", random_hex(16)?),
        };
        let row = ServiceCredentialRow {
            id: Uuid::now_v7(),
            kind,
            name: name.clone(),
            lookup_id,
            secret_hash,
            scopes: scopes.clone(),
            created_by: Some(admin),
            created_at: OffsetDateTime::now_utc(),
            revoked_at: None,
        };
        match state
            .security
            .store
            .insert_service_credential(row.clone())
            .await
        {
            Ok(()) => {
                audit_change(state, admin, kind, "create", &row, request_id).await?;
                tracing::info!(%admin, id = %row.id, kind = kind.as_str(), "created a service credential");
                return Ok(CreatedCredential { row, secret });
            }
            Err(StoreError::Duplicate(_)) => continue,
            Err(e) => return Err(ApiError::internal("storing a service credential", e)),
        }
    }
    Err(ApiError::internal(
        "storing a service credential",
        "every random lookup id was taken",
    ))
}

/// Lists the credentials of `kind`, oldest first.
pub async fn list(
    state: &AppState,
    kind: CredentialKind,
) -> Result<Vec<ServiceCredentialView>, ApiError> {
    let rows = state
        .security
        .store
        .list_service_credentials(kind)
        .await
        .map_err(|e| ApiError::internal("listing service credentials", e))?;
    rows.iter().map(view).collect()
}

/// Revokes a credential of `kind` and audits it; 404 when there is no such
/// unrevoked credential.
pub async fn revoke(
    state: &AppState,
    admin: Uuid,
    kind: CredentialKind,
    id: Uuid,
    request_id: Option<&str>,
) -> Result<(), ApiError> {
    let revoked = state
        .security
        .store
        .revoke_service_credential(kind, id, OffsetDateTime::now_utc())
        .await
        .map_err(|e| ApiError::internal("revoking a service credential", e))?;
    if !revoked {
        return Err(ApiError::NotFound);
    }
    let event = AuditEvent::new(
        AuditKind::SystemChange,
        Actor::User(admin),
        &format!("admin.{}.revoke", kind.as_str()),
        &format!("{}:{id}", kind.as_str()),
        Outcome::Success,
    )
    .request_id(request_id);
    record(state, event).await?;
    tracing::info!(%admin, %id, kind = kind.as_str(), "revoked a service credential");
    Ok(())
}

async fn audit_change(
    state: &AppState,
    admin: Uuid,
    kind: CredentialKind,
    verb: &str,
    row: &ServiceCredentialRow,
    request_id: Option<&str>,
) -> Result<(), ApiError> {
    let event = AuditEvent::new(
        AuditKind::SystemChange,
        Actor::User(admin),
        &format!("admin.{}.{verb}", kind.as_str()),
        &format!("{}:{}", kind.as_str(), row.id),
        Outcome::Success,
    )
    .request_id(request_id)
    .details(serde_json::json!({
        "public_id": public_id(row),
        "scopes": row.scopes,
    }));
    record(state, event).await
}

/// Returns the identifier a credential is shown by: `spk_<prefix>` or
/// the `client_id`.
pub fn public_id(row: &ServiceCredentialRow) -> String {
    match row.kind {
        CredentialKind::ApiKey => format!("{API_KEY_START}{}", row.lookup_id),
        CredentialKind::OAuthClient => row.lookup_id.clone(),
    }
}

pub fn format_time(time: OffsetDateTime) -> Result<String, ApiError> {
    time.format(&Rfc3339)
        .map_err(|e| ApiError::internal("formatting a timestamp", e))
}

fn view(row: &ServiceCredentialRow) -> Result<ServiceCredentialView, ApiError> {
    Ok(ServiceCredentialView {
        id: row.id.to_string(),
        name: row.name.clone(),
        public_id: public_id(row),
        scopes: row.scopes.clone(),
        created_at: format_time(row.created_at)?,
        revoked_at: row.revoked_at.map(format_time).transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, scopes: &[&str]) -> ServiceCredentialRequest {
        ServiceCredentialRequest {
            name: name.to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn scopes_are_checked_and_sorted() {
        let (name, scopes) = validate_request(&request(
            " billing export ",
            &[
                scope::SECURITY_EVENTS_READ,
                scope::AUDIT_READ,
                scope::AUDIT_READ,
            ],
        ))
        .expect("valid");
        assert_eq!(name, "billing export");
        assert_eq!(scopes, [scope::AUDIT_READ, scope::SECURITY_EVENTS_READ]);
    }

    #[test]
    fn unknown_scope_and_bad_name_are_rejected() {
        assert!(validate_request(&request("x", &["admin:all"])).is_err());
        assert!(validate_request(&request("x", &[])).is_err());
        assert!(validate_request(&request("  ", &[scope::AUDIT_READ])).is_err());
        assert!(validate_request(&request("a\nb", &[scope::AUDIT_READ])).is_err());
    }

    #[test]
    fn secret_matches_only_its_hash() {
        let hash = hash_secret("correct-secret");
        assert!(secret_matches(&hash, "correct-secret"));
        assert!(!secret_matches(&hash, "correct-secreT"));
        assert!(!secret_matches(&hash, ""));
    }
}
