//! The vault's TLS identity and listener configurations, separate from the
//! API server's, so phones pin the vault on its own keys.
//!
//! By default the vault creates, in `<data dir>/tls`, a local CA, a server
//! certificate for `localhost`, `127.0.0.1` and `::1`, and a backup key
//! whose pin phones carry next to the primary one. Both listeners speak TLS
//! 1.3 only, with ring's AEAD suites. The API-facing listener also requires
//! a client certificate issued by the configured client CA.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData,
};
use rustls::RootCertStore;
use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use zeroize::Zeroizing;

use crate::error::VaultError;
use crate::files::{read_text, write_private, write_public};

const CA_CERT_FILE: &str = "ca.pem";
const CA_KEY_FILE: &str = "ca-key.pem";
const SERVER_CERT_FILE: &str = "server.pem";
const SERVER_KEY_FILE: &str = "server-key.pem";
const BACKUP_KEY_FILE: &str = "backup-key.pem";

/// Certificate files given by the operator in place of generated ones.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// PEM certificate chain, server certificate first.
    pub certificate_chain: PathBuf,
    /// PEM private key of the server certificate.
    pub private_key: PathBuf,
    /// PEM private key kept in reserve, whose pin phones also carry.
    pub backup_private_key: PathBuf,
    /// PEM certificate of the CA that phones trust for the vault.
    pub ca_certificate: PathBuf,
}

/// The vault's TLS identity.
pub(crate) struct TlsMaterial {
    pub ca_certificate_path: PathBuf,
    pub ca_certificate_pem: String,
    cert_chain: Vec<CertificateDer<'static>>,
    key_pem: Zeroizing<String>,
    pub spki_pin: String,
    pub backup_spki_pin: String,
}

impl TlsMaterial {
    /// Loads the given files, or the generated ones in `dir`, creating them
    /// on first start.
    pub fn load(dir: &Path, given: Option<&TlsFiles>) -> Result<Self, VaultError> {
        let files = match given {
            Some(files) => files.clone(),
            None => generated_files(dir)?,
        };
        let ca_certificate_pem = read_text(&files.ca_certificate)?;
        let chain_pem = read_text(&files.certificate_chain)?;
        let key_pem = Zeroizing::new(read_text(&files.private_key)?);
        let backup_key_pem = Zeroizing::new(read_text(&files.backup_private_key)?);

        let cert_chain = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                VaultError::Tls(format!(
                    "invalid {}: {e}",
                    files.certificate_chain.display()
                ))
            })?;
        let key = parse_key_pair(&key_pem, &files.private_key)?;
        let backup_key = parse_key_pair(&backup_key_pem, &files.backup_private_key)?;

        Ok(Self {
            ca_certificate_path: files.ca_certificate,
            ca_certificate_pem,
            cert_chain,
            key_pem,
            spki_pin: spki_pin(&key.subject_public_key_info()),
            backup_spki_pin: spki_pin(&backup_key.subject_public_key_info()),
        })
    }

    /// Configuration of the phone-facing listener: no client certificate.
    pub fn phone_config(&self) -> Result<Arc<ServerConfig>, VaultError> {
        let config = tls13_server_builder()?
            .with_no_client_auth()
            .with_single_cert(self.cert_chain.clone(), self.private_key()?)
            .map_err(|e| VaultError::Tls(e.to_string()))?;
        Ok(finish(config))
    }

    /// Configuration of the API-facing listener: a client certificate
    /// issued by a CA in `client_ca_pem` is required.
    pub fn api_config(&self, client_ca_pem: &str) -> Result<Arc<ServerConfig>, VaultError> {
        let mut roots = RootCertStore::empty();
        for certificate in CertificateDer::pem_slice_iter(client_ca_pem.as_bytes()) {
            let certificate = certificate
                .map_err(|e| VaultError::Tls(format!("invalid client CA certificate: {e}")))?;
            roots
                .add(certificate)
                .map_err(|e| VaultError::Tls(format!("unusable client CA certificate: {e}")))?;
        }
        if roots.is_empty() {
            return Err(VaultError::Tls(
                "the client CA file contains no PEM certificate: check client_ca_path".into(),
            ));
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::new(tls13_provider()),
        )
        .build()
        .map_err(|e| VaultError::Tls(format!("client certificate verifier: {e}")))?;
        let config = tls13_server_builder()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.cert_chain.clone(), self.private_key()?)
            .map_err(|e| VaultError::Tls(e.to_string()))?;
        Ok(finish(config))
    }

    fn private_key(&self) -> Result<PrivateKeyDer<'static>, VaultError> {
        PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|e| VaultError::Tls(format!("invalid vault server key: {e}")))
    }
}

/// Returns the ring provider with only its TLS 1.3 suites, all AEAD with
/// ephemeral key exchange.
pub(crate) fn tls13_provider() -> rustls::crypto::CryptoProvider {
    let mut provider = rustls::crypto::ring::default_provider();
    provider
        .cipher_suites
        .retain(|suite| suite.version() == &rustls::version::TLS13);
    provider
}

fn tls13_server_builder()
-> Result<rustls::ConfigBuilder<ServerConfig, rustls::WantsVerifier>, VaultError> {
    ServerConfig::builder_with_provider(Arc::new(tls13_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| VaultError::Tls(e.to_string()))
}

fn finish(mut config: ServerConfig) -> Arc<ServerConfig> {
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

/// Computes a pin: base64 of the SHA-256 of a DER SubjectPublicKeyInfo.
pub fn spki_pin(spki_der: &[u8]) -> String {
    BASE64.encode(ring::digest::digest(&ring::digest::SHA256, spki_der))
}

fn generated_files(dir: &Path) -> Result<TlsFiles, VaultError> {
    std::fs::create_dir_all(dir).map_err(|e| VaultError::io("create", dir, e))?;
    let files = TlsFiles {
        certificate_chain: dir.join(SERVER_CERT_FILE),
        private_key: dir.join(SERVER_KEY_FILE),
        backup_private_key: dir.join(BACKUP_KEY_FILE),
        ca_certificate: dir.join(CA_CERT_FILE),
    };
    if !files.ca_certificate.exists() {
        create_tls_files(dir)?;
        tracing::info!(folder = %dir.display(), "created the vault's local CA and certificate");
    }
    Ok(files)
}

fn create_tls_files(dir: &Path) -> Result<(), VaultError> {
    let tls_error = |e: rcgen::Error| VaultError::Tls(e.to_string());

    let ca_key = KeyPair::generate().map_err(tls_error)?;
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = distinguished_name("SharePay vault local CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(tls_error)?;
    let issuer = Issuer::new(ca_params, &ca_key);

    let server_key = KeyPair::generate().map_err(tls_error)?;
    let names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let mut server_params = CertificateParams::new(names).map_err(tls_error)?;
    server_params.distinguished_name = distinguished_name("SharePay vault");
    server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server_params
        .signed_by(&server_key, &issuer)
        .map_err(tls_error)?;
    let backup_key = KeyPair::generate().map_err(tls_error)?;

    write_private(&dir.join(CA_KEY_FILE), &ca_key.serialize_pem())?;
    write_private(&dir.join(SERVER_KEY_FILE), &server_key.serialize_pem())?;
    write_private(&dir.join(BACKUP_KEY_FILE), &backup_key.serialize_pem())?;
    write_public(&dir.join(SERVER_CERT_FILE), &server_cert.pem())?;
    // The CA certificate comes last: its presence marks a complete set.
    write_public(&dir.join(CA_CERT_FILE), &ca_cert.pem())
}

fn distinguished_name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name.push(DnType::OrganizationName, "SharePay");
    name
}

fn parse_key_pair(pem: &str, path: &Path) -> Result<KeyPair, VaultError> {
    KeyPair::from_pem(pem).map_err(|e| VaultError::Tls(format!("invalid {}: {e}", path.display())))
}
