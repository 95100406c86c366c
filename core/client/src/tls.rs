//! Pinned TLS 1.3 for every connection the phone makes.
//!
//! The verifier first runs rustls's normal chain and hostname validation
//! against the configured roots, then requires the SHA-256 of the
//! SubjectPublicKeyInfo of some certificate in the chain to equal one of the
//! pins. A certificate from a trusted CA with an unpinned key is rejected.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::digest;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use subtle::ConstantTimeEq;

use crate::error::ClientError;

/// A pin: SHA-256 of a DER SubjectPublicKeyInfo.
pub type SpkiPin = [u8; 32];

/// The error a pin failure carries inside rustls, so callers can tell it
/// apart from other certificate errors and report what the server showed.
#[derive(Clone, Debug, thiserror::Error)]
#[error("no certificate in the chain of {host} has a pinned public key")]
pub struct PinMismatchError {
    /// The server name the connection was for.
    pub host: String,
    /// Base64 SHA-256 of the SPKI of each presented certificate, leaf first.
    pub presented_spki_sha256: Vec<String>,
}

/// Parses base64 pins, naming the field and position of an invalid one.
/// Unless `allow_single_pin` is set, at least two distinct pins are
/// required: the current server key and a backup key.
pub fn parse_pins(
    field: &str,
    pins: &[String],
    allow_single_pin: bool,
) -> Result<Vec<SpkiPin>, ClientError> {
    let parsed = decode_pins(field, pins)?;
    let mut distinct = parsed.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.is_empty() {
        return Err(ClientError::InvalidInput(format!(
            "{field} must contain at least one pin"
        )));
    }
    if distinct.len() < 2 && !allow_single_pin {
        return Err(ClientError::InvalidInput(format!(
            "{field} must contain at least two distinct pins, the server's current key and a \
             backup key: with one pin, replacing the server key locks out every installed app. \
             Set allow_single_pin: true only in development"
        )));
    }
    Ok(parsed)
}

fn decode_pins(field: &str, pins: &[String]) -> Result<Vec<SpkiPin>, ClientError> {
    pins.iter()
        .enumerate()
        .map(|(index, pin)| {
            let bytes = BASE64.decode(pin.trim()).ok();
            bytes
                .and_then(|bytes| SpkiPin::try_from(bytes.as_slice()).ok())
                .ok_or_else(|| {
                    ClientError::InvalidInput(format!(
                        "{field}[{index}] must be the base64 SHA-256 of a SubjectPublicKeyInfo (44 characters)"
                    ))
                })
        })
        .collect()
}

/// Returns the ring provider restricted to the TLS 1.3 suites.
fn tls13_provider() -> Arc<CryptoProvider> {
    let mut provider = rustls::crypto::ring::default_provider();
    provider
        .cipher_suites
        .retain(|suite| suite.version() == &rustls::version::TLS13);
    Arc::new(provider)
}

/// Builds a rustls client configuration: TLS 1.3 only, trusting the CAs in
/// `ca_certificate_pem` and requiring one of `pins`.
pub fn pinned_client_config(
    ca_certificate_pem: &str,
    pins: Vec<SpkiPin>,
) -> Result<rustls::ClientConfig, ClientError> {
    let mut roots = RootCertStore::empty();
    let certificates = CertificateDer::pem_slice_iter(ca_certificate_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            ClientError::InvalidInput(format!("ca_certificate_pem is not a PEM certificate: {e}"))
        })?;
    if certificates.is_empty() {
        return Err(ClientError::InvalidInput(
            "ca_certificate_pem contains no certificate".into(),
        ));
    }
    for certificate in certificates {
        roots.add(certificate).map_err(|e| {
            ClientError::InvalidInput(format!("ca_certificate_pem is not a usable CA: {e}"))
        })?;
    }

    let provider = tls13_provider();
    let chain_verifier =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .build()
            .map_err(|e| ClientError::InvalidInput(format!("cannot trust the CA: {e}")))?;
    let verifier = PinnedVerifier {
        chain_verifier,
        pins,
    };

    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| ClientError::Network(format!("TLS setup failed: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[derive(Debug)]
struct PinnedVerifier {
    chain_verifier: Arc<WebPkiServerVerifier>,
    pins: Vec<SpkiPin>,
}

impl PinnedVerifier {
    fn chain_has_pinned_key(&self, chain: impl Iterator<Item = impl AsRef<[u8]>>) -> bool {
        chain
            .filter_map(|der| spki_sha256(der.as_ref()))
            .any(|hash| self.pins.iter().any(|pin| bool::from(pin.ct_eq(&hash))))
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.chain_verifier.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        let chain = std::iter::once(end_entity).chain(intermediates.iter());
        if self.chain_has_pinned_key(chain) {
            return Ok(ServerCertVerified::assertion());
        }
        tracing::warn!(server = %server_name.to_str(), "rejected a server whose key is not pinned");
        let presented_spki_sha256 = std::iter::once(end_entity)
            .chain(intermediates.iter())
            .filter_map(|der| spki_sha256(der.as_ref()))
            .map(|hash| BASE64.encode(hash))
            .collect();
        let error = PinMismatchError {
            host: server_name.to_str().into_owned(),
            presented_spki_sha256,
        };
        Err(rustls::Error::InvalidCertificate(CertificateError::Other(
            OtherError(Arc::new(error)),
        )))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain_verifier
            .verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain_verifier
            .verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.chain_verifier.supported_verify_schemes()
    }
}

/// Hashes the SubjectPublicKeyInfo of a DER certificate.
fn spki_sha256(certificate_der: &[u8]) -> Option<[u8; 32]> {
    let (_, certificate) = x509_parser::parse_x509_certificate(certificate_der).ok()?;
    let spki = certificate.tbs_certificate.subject_pki.raw;
    let mut hash = [0u8; 32];
    hash.copy_from_slice(digest::digest(&digest::SHA256, spki).as_ref());
    Some(hash)
}

/// Returns the pin failure from [`PinnedVerifier`] in `error` or anywhere in
/// its source chain.
pub fn find_pin_mismatch(error: &(dyn std::error::Error + 'static)) -> Option<PinMismatchError> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<PinMismatchError>() {
            return Some(found.clone());
        }
        if let Some(rustls::Error::InvalidCertificate(CertificateError::Other(other))) =
            error.downcast_ref::<rustls::Error>()
            && let Some(found) = other.0.downcast_ref::<PinMismatchError>()
        {
            return Some(found.clone());
        }
        // io::Error hides its payload from `source()`; look inside it too.
        if let Some(inner) = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            && let Some(found) = find_pin_mismatch(inner)
        {
            return Some(found);
        }
        current = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_pin_names_its_position() {
        let pins = vec![BASE64.encode([0u8; 32]), "not-base64!".to_owned()];

        let error = parse_pins("spki_pins", &pins, false).expect_err("must fail");
        assert!(error.to_string().contains("spki_pins[1]"), "{error}");
    }

    #[test]
    fn short_pin_is_rejected() {
        let error =
            parse_pins("spki_pins", &[BASE64.encode([0u8; 20])], true).expect_err("must fail");

        assert!(matches!(error, ClientError::InvalidInput(_)));
    }

    #[test]
    fn single_pin_needs_development_flag() {
        let one = vec![BASE64.encode([1u8; 32])];

        let error = parse_pins("vault.spki_pins", &one, false).expect_err("one pin must fail");
        let message = error.to_string();
        assert!(message.contains("vault.spki_pins"), "{message}");
        assert!(message.contains("backup key"), "{message}");
        assert!(message.contains("allow_single_pin"), "{message}");
        assert_eq!(
            parse_pins("spki_pins", &one, true).expect("dev flag").len(),
            1
        );
    }

    #[test]
    fn repeated_pin_counts_once() {
        let same = vec![BASE64.encode([1u8; 32]), BASE64.encode([1u8; 32])];

        let error = parse_pins("spki_pins", &same, false).expect_err("duplicate pin must fail");
        assert!(matches!(error, ClientError::InvalidInput(_)), "{error:?}");
    }

    #[test]
    fn two_pins_are_accepted() {
        let two = vec![BASE64.encode([1u8; 32]), BASE64.encode([2u8; 32])];

        assert_eq!(
            parse_pins("spki_pins", &two, false)
                .expect("two pins")
                .len(),
            2
        );
    }

    #[test]
    fn empty_pins_are_rejected_even_in_development() {
        let error = parse_pins("spki_pins", &[], true).expect_err("no pins must fail");
        assert!(error.to_string().contains("at least one pin"), "{error}");
    }
}
