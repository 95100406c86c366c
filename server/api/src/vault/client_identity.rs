//! The API's client certificate for the vault's mTLS listener.
//!
//! The API's local CA (`data_dir/tls/ca.pem`) issues it on the first start
//! that finds it missing, with the `clientAuth` extended key usage only, so
//! it cannot serve as a server certificate. `sharepay-server vault` trusts
//! that CA as its client CA by default. The API's own server certificate
//! carries only `serverAuth`, so the vault rejects it as a client
//! certificate even though the same CA issued it. The private key is written
//! with mode 0600 and never logged.

use std::path::{Path, PathBuf};

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair,
    KeyUsagePurpose,
};
use zeroize::Zeroizing;

use crate::error::StartupError;
use crate::tls::write_private;
use crate::vault::settings::{CLIENT_CERTIFICATE_FILE, CLIENT_KEY_FILE};

const CA_CERT_FILE: &str = "ca.pem";
const CA_KEY_FILE: &str = "ca-key.pem";
/// Common name of the API's client certificate, as the vault's logs show it.
pub const CLIENT_COMMON_NAME: &str = "sharepay-server vault client";

/// Creates `vault-client.pem` and `vault-client-key.pem` in `tls_dir`,
/// signed by the local CA in the same folder, unless they exist. Returns
/// the paths of the certificate and the key.
pub fn ensure_client_identity(tls_dir: &Path) -> Result<(PathBuf, PathBuf), StartupError> {
    let certificate_path = tls_dir.join(CLIENT_CERTIFICATE_FILE);
    let key_path = tls_dir.join(CLIENT_KEY_FILE);
    if certificate_path.exists() {
        return Ok((certificate_path, key_path));
    }
    let ca_key_path = tls_dir.join(CA_KEY_FILE);
    if !ca_key_path.exists() {
        return Err(StartupError::Tls(format!(
            "cannot issue the vault client certificate: {} is missing; set \
             vault.client_certificate_file and vault.client_key_file instead",
            ca_key_path.display()
        )));
    }

    let tls_error = |e: rcgen::Error| StartupError::Tls(e.to_string());
    let ca_pem = read_text(&tls_dir.join(CA_CERT_FILE))?;
    let ca_key_pem = Zeroizing::new(read_text(&ca_key_path)?);
    let ca_key = KeyPair::from_pem(&ca_key_pem)
        .map_err(|e| StartupError::Tls(format!("invalid {CA_KEY_FILE}: {e}")))?;
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key)
        .map_err(|e| StartupError::Tls(format!("invalid {CA_CERT_FILE}: {e}")))?;

    let client_key = KeyPair::generate().map_err(tls_error)?;
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, CLIENT_COMMON_NAME);
    name.push(DnType::OrganizationName, "SharePay");
    params.distinguished_name = name;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let certificate = params.signed_by(&client_key, &issuer).map_err(tls_error)?;

    if key_path.exists() {
        // A start that stopped between the two writes left a key without
        // its certificate; it was never used, so a new pair replaces it.
        std::fs::remove_file(&key_path).map_err(|e| StartupError::io("remove", &key_path, e))?;
    }
    write_private(&key_path, &client_key.serialize_pem())?;
    // The certificate comes last: its presence marks a complete pair.
    std::fs::write(&certificate_path, certificate.pem())
        .map_err(|e| StartupError::io("write", &certificate_path, e))?;
    tracing::info!(
        certificate = %certificate_path.display(),
        "the local CA issued the API's vault client certificate"
    );
    Ok((certificate_path, key_path))
}

fn read_text(path: &Path) -> Result<String, StartupError> {
    std::fs::read_to_string(path).map_err(|e| StartupError::io("read", path, e))
}
