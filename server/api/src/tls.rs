//! TLS material and the rustls server configuration.
//!
//! On first start the server creates a local certificate authority and a
//! server certificate for `localhost` and `127.0.0.1`, so that it serves
//! HTTPS with no setup. It also creates a backup key pair that is not in use
//! yet, whose pin clients configure next to the primary one so that the
//! server key can be replaced without locking out pinned phones.
//!
//! The listener speaks TLS 1.3 only, with AEAD suites only. Private keys are
//! written with mode 0600 and never logged.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData,
};
use ring::digest;
use rustls::ServerConfig;
use rustls::crypto::ring as ring_provider;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::StartupError;

const CA_CERT_FILE: &str = "ca.pem";
const CA_KEY_FILE: &str = "ca-key.pem";
const SERVER_CERT_FILE: &str = "server.pem";
const SERVER_KEY_FILE: &str = "server-key.pem";
const BACKUP_KEY_FILE: &str = "backup-key.pem";
/// Lifetime of the generated local CA.
const CA_VALIDITY_DAYS: i64 = 10 * 365;
/// Lifetime of the generated server certificate: 397 days, the longest
/// that browsers accept for a publicly trusted certificate.
// TODO: reissue the server certificate on start when it nears expiry. Until
// then it stops working after this many days, and the operator must move
// the `tls` folder away to get a new CA, certificate and pins.
const SERVER_CERTIFICATE_VALIDITY_DAYS: i64 = 397;

/// The server's TLS identity as loaded from, or created in, the data directory.
pub struct TlsMaterial {
    /// PEM of the CA certificate that clients trust.
    pub ca_certificate_path: PathBuf,
    pub ca_certificate_pem: String,
    cert_chain: Vec<CertificateDer<'static>>,
    key_pem: zeroize::Zeroizing<String>,
    /// Base64 SHA-256 of the server key's SubjectPublicKeyInfo.
    pub spki_pin: String,
    /// Base64 SHA-256 of the backup key's SubjectPublicKeyInfo.
    pub backup_spki_pin: String,
}

impl TlsMaterial {
    /// Loads the TLS files from `dir`, creating a CA, a server certificate and
    /// a backup key on first start.
    pub fn load_or_create(dir: &Path) -> Result<Self, StartupError> {
        fs::create_dir_all(dir).map_err(|e| StartupError::io("create the TLS folder", dir, e))?;
        let ca_path = dir.join(CA_CERT_FILE);
        if !ca_path.exists() {
            create_tls_files(dir)?;
            tracing::info!(folder = %dir.display(), "created a local CA and server certificate");
        }

        let ca_certificate_pem = read_text(&ca_path)?;
        let server_cert_pem = read_text(&dir.join(SERVER_CERT_FILE))?;
        let key_pem = zeroize::Zeroizing::new(read_text(&dir.join(SERVER_KEY_FILE))?);
        let backup_key_pem = zeroize::Zeroizing::new(read_text(&dir.join(BACKUP_KEY_FILE))?);

        let cert_chain = CertificateDer::pem_slice_iter(server_cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StartupError::Tls(format!("invalid {SERVER_CERT_FILE}: {e}")))?;
        let server_key = parse_key_pair(&key_pem, SERVER_KEY_FILE)?;
        let backup_key = parse_key_pair(&backup_key_pem, BACKUP_KEY_FILE)?;

        Ok(Self {
            ca_certificate_path: ca_path,
            ca_certificate_pem,
            cert_chain,
            key_pem,
            spki_pin: spki_pin(&server_key.subject_public_key_info()),
            backup_spki_pin: spki_pin(&backup_key.subject_public_key_info()),
        })
    }

    /// Builds the rustls configuration: TLS 1.3 only, ring's AEAD suites,
    /// HTTP/2 and HTTP/1.1 by ALPN.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, StartupError> {
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|e| StartupError::Tls(format!("invalid {SERVER_KEY_FILE}: {e}")))?;
        let mut config = ServerConfig::builder_with_provider(Arc::new(tls13_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| StartupError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(self.cert_chain.clone(), key)
            .map_err(|e| StartupError::Tls(e.to_string()))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// Returns the ring crypto provider restricted to the TLS 1.3 suites, all of which
/// are AEAD (AES-GCM and ChaCha20-Poly1305) with ephemeral key exchange.
pub fn tls13_provider() -> rustls::crypto::CryptoProvider {
    let mut provider = ring_provider::default_provider();
    provider
        .cipher_suites
        .retain(|suite| suite.version() == &rustls::version::TLS13);
    provider
}

/// Computes the pin of a DER SubjectPublicKeyInfo: base64 of its SHA-256.
pub fn spki_pin(spki_der: &[u8]) -> String {
    BASE64.encode(digest::digest(&digest::SHA256, spki_der))
}

fn create_tls_files(dir: &Path) -> Result<(), StartupError> {
    let tls_error = |e: rcgen::Error| StartupError::Tls(e.to_string());

    let ca_key = KeyPair::generate().map_err(tls_error)?;
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = distinguished_name("SharePay local CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let now = time::OffsetDateTime::now_utc();
    // An hour of slack covers clients whose clocks run a little behind.
    ca_params.not_before = now - time::Duration::hours(1);
    ca_params.not_after = now + time::Duration::days(CA_VALIDITY_DAYS);
    let ca_cert = ca_params.self_signed(&ca_key).map_err(tls_error)?;
    let issuer = Issuer::new(ca_params, &ca_key);

    let server_key = KeyPair::generate().map_err(tls_error)?;
    let mut server_params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .map_err(tls_error)?;
    server_params.distinguished_name = distinguished_name("SharePay server");
    server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server_params.not_before = now - time::Duration::hours(1);
    server_params.not_after = now + time::Duration::days(SERVER_CERTIFICATE_VALIDITY_DAYS);
    let server_cert = server_params
        .signed_by(&server_key, &issuer)
        .map_err(tls_error)?;

    let backup_key = KeyPair::generate().map_err(tls_error)?;

    write_private(&dir.join(CA_KEY_FILE), &ca_key.serialize_pem())?;
    write_private(&dir.join(SERVER_KEY_FILE), &server_key.serialize_pem())?;
    write_private(&dir.join(BACKUP_KEY_FILE), &backup_key.serialize_pem())?;
    write_public(&dir.join(SERVER_CERT_FILE), &server_cert.pem())?;
    // The CA certificate is written last: its presence marks a complete set.
    write_public(&dir.join(CA_CERT_FILE), &ca_cert.pem())?;
    Ok(())
}

fn distinguished_name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name.push(DnType::OrganizationName, "SharePay");
    name
}

fn parse_key_pair(pem: &str, file: &str) -> Result<KeyPair, StartupError> {
    KeyPair::from_pem(pem).map_err(|e| StartupError::Tls(format!("invalid {file}: {e}")))
}

fn read_text(path: &Path) -> Result<String, StartupError> {
    fs::read_to_string(path).map_err(|e| StartupError::io("read", path, e))
}

fn write_public(path: &Path, contents: &str) -> Result<(), StartupError> {
    fs::write(path, contents).map_err(|e| StartupError::io("write", path, e))
}

/// Writes a secret file that only the owner can read (mode 0600 on Unix).
pub fn write_private(path: &Path, contents: &str) -> Result<(), StartupError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| StartupError::io("create", path, e))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| StartupError::io("write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificates_have_bounded_validity() {
        let dir = tempfile::tempdir().expect("temp dir");
        TlsMaterial::load_or_create(dir.path()).expect("create TLS files");

        for (file, days) in [
            (SERVER_CERT_FILE, SERVER_CERTIFICATE_VALIDITY_DAYS),
            (CA_CERT_FILE, CA_VALIDITY_DAYS),
        ] {
            let pem = std::fs::read(dir.path().join(file)).expect("read certificate");
            let der = CertificateDer::from_pem_slice(&pem).expect("PEM");
            let (_, certificate) = x509_parser::parse_x509_certificate(&der).expect("X.509");
            let validity = certificate.validity();
            let seconds = validity.not_after.timestamp() - validity.not_before.timestamp();
            let expected = days * 86_400 + 3_600;
            assert!((seconds - expected).abs() < 120, "{file}: {seconds} s");
        }
    }
}
