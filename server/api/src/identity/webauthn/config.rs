//! The `[webauthn]` configuration section: the relying party (RP) that
//! credentials are bound to, and the origins whose ceremonies are accepted.

use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use serde::Deserialize;
use webauthn_rs::prelude::Url;

/// Prefix of the origin an Android app sends (a FIDO facet id), followed
/// by the base64url SHA-256 of the app's signing certificate.
pub const ANDROID_ORIGIN_PREFIX: &str = "android:apk-key-hash:";
/// Prefix of the origin an iOS app sends when it is identified by its
/// bundle id (a FIDO facet id), followed by the bundle id.
pub const IOS_ORIGIN_PREFIX: &str = "ios:bundle-id:";
/// Maximum length of an accepted iOS bundle id, in bytes. It is a
/// generous bound on real bundle ids, not a documented Apple limit.
const MAX_BUNDLE_ID_CHARS: usize = 155;

/// Settings of WebAuthn (security keys and passkeys).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebauthnConfig {
    /// The RP ID: the domain credentials are bound to. Changing it makes
    /// every registered credential unusable.
    pub rp_id: String,
    /// The RP name that authenticators may show to the user.
    pub rp_name: String,
    /// The web origin (`https://host[:port]`) whose ceremonies are
    /// accepted; unset derives `https://<rp_id>:<port of listen>`.
    pub rp_origin: Option<String>,
    /// Origins of native apps, each `android:apk-key-hash:<hash>` or
    /// `ios:bundle-id:<bundle id>`.
    pub allowed_native_origins: Vec<String>,
}

impl Default for WebauthnConfig {
    fn default() -> Self {
        Self {
            rp_id: "localhost".to_owned(),
            rp_name: "SharePay".to_owned(),
            rp_origin: None,
            allowed_native_origins: Vec::new(),
        }
    }
}

/// A configuration value that cannot be used: the key and the fix.
pub type ConfigProblem = (&'static str, String);

impl WebauthnConfig {
    /// Checks every value, naming the key that is wrong.
    pub fn validate(&self, listen: SocketAddr) -> Result<(), ConfigProblem> {
        validate_rp_id(&self.rp_id)?;
        if self.rp_name.trim().is_empty() || self.rp_name.chars().count() > 64 {
            return Err((
                "webauthn.rp_name",
                "must be 1 to 64 characters, such as SharePay".to_owned(),
            ));
        }
        self.web_origin(listen)?;
        self.native_origins()?;
        Ok(())
    }

    /// Returns the web origin: `rp_origin`, or the one derived from
    /// `rp_id` and the listen port.
    pub fn web_origin(&self, listen: SocketAddr) -> Result<Url, ConfigProblem> {
        let text = match &self.rp_origin {
            Some(origin) => origin.clone(),
            None if listen.port() == 443 => format!("https://{}", self.rp_id),
            None => format!("https://{}:{}", self.rp_id, listen.port()),
        };
        let key = "webauthn.rp_origin";
        let origin = Url::parse(&text).map_err(|e| {
            (
                key,
                format!("{text:?} is not a URL ({e}); use https://host[:port]"),
            )
        })?;
        if origin.scheme() != "https" {
            return Err((
                key,
                format!(
                    "{text:?} must start with https://, because WebAuthn needs a secure origin"
                ),
            ));
        }
        if origin.path() != "/" || origin.query().is_some() || origin.fragment().is_some() {
            return Err((
                key,
                format!(
                    "{text:?} must be only scheme, host and port, such as https://pay.example.com"
                ),
            ));
        }
        let bound_to_rp_id = origin
            .domain()
            .is_some_and(|host| host == self.rp_id || host.ends_with(&format!(".{}", self.rp_id)));
        if !bound_to_rp_id {
            return Err((
                key,
                format!(
                    "the host of {text:?} must be webauthn.rp_id ({}) or a subdomain of it",
                    self.rp_id
                ),
            ));
        }
        Ok(origin)
    }

    /// Parses `allowed_native_origins`.
    pub fn native_origins(&self) -> Result<Vec<Url>, ConfigProblem> {
        self.allowed_native_origins
            .iter()
            .map(|origin| parse_native_origin(origin))
            .collect()
    }
}

fn validate_rp_id(rp_id: &str) -> Result<(), ConfigProblem> {
    let key = "webauthn.rp_id";
    let valid_label = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if rp_id.is_empty() || rp_id.len() > 253 || !rp_id.split('.').all(valid_label) {
        return Err((
            key,
            format!(
                "{rp_id:?} is not a lower-case domain name; use the domain the app is served \
                 from, such as pay.example.com, without scheme or port"
            ),
        ));
    }
    if rp_id.parse::<std::net::IpAddr>().is_ok() {
        return Err((
            key,
            format!("{rp_id:?} is an IP address, which WebAuthn does not accept; use a domain"),
        ));
    }
    Ok(())
}

/// Parses one native-app origin, accepting exactly:
/// `android:apk-key-hash:` followed by 43 base64url characters without
/// padding (the SHA-256 of the APK signing certificate), or
/// `ios:bundle-id:` followed by a bundle id of letters, digits, `-` and
/// `.` with at least two dot-separated parts.
pub fn parse_native_origin(origin: &str) -> Result<Url, ConfigProblem> {
    let key = "webauthn.allowed_native_origins";
    if let Some(hash) = origin.strip_prefix(ANDROID_ORIGIN_PREFIX) {
        let decoded = BASE64URL.decode(hash).map_err(|_| {
            (
                key,
                format!(
                    "{origin:?}: the hash must be base64url without padding; encode the SHA-256 \
                     of the APK signing certificate"
                ),
            )
        })?;
        if decoded.len() != 32 {
            return Err((
                key,
                format!(
                    "{origin:?}: the hash decodes to {} bytes instead of 32; use the SHA-256 of \
                     the APK signing certificate",
                    decoded.len()
                ),
            ));
        }
    } else if let Some(bundle_id) = origin.strip_prefix(IOS_ORIGIN_PREFIX) {
        let valid_part = |part: &str| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        let parts: Vec<&str> = bundle_id.split('.').collect();
        if bundle_id.len() > MAX_BUNDLE_ID_CHARS
            || parts.len() < 2
            || !parts.iter().all(|part| valid_part(part))
        {
            return Err((
                key,
                format!(
                    "{origin:?}: the bundle id must be reverse-DNS letters, digits and '-', \
                     such as com.example.sharepay"
                ),
            ));
        }
    } else {
        return Err((
            key,
            format!(
                "{origin:?} is neither {ANDROID_ORIGIN_PREFIX}<hash> nor \
                 {IOS_ORIGIN_PREFIX}<bundle id>; the web origin belongs in webauthn.rp_origin"
            ),
        ));
    }
    Url::parse(origin).map_err(|e| (key, format!("{origin:?} is not a valid origin: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn default_origin_is_derived_from_listen_port() {
        let config = WebauthnConfig::default();

        config.validate(listen(8443)).expect("defaults are valid");
        let origin = config.web_origin(listen(8443)).expect("origin");
        assert_eq!(origin.as_str(), "https://localhost:8443/");
    }

    #[test]
    fn origin_outside_rp_id_is_rejected() {
        let config = WebauthnConfig {
            rp_id: "example.com".to_owned(),
            rp_origin: Some("https://badexample.com".to_owned()),
            ..WebauthnConfig::default()
        };

        let (key, message) = config.validate(listen(443)).expect_err("must fail");
        assert_eq!(key, "webauthn.rp_origin");
        assert!(message.contains("subdomain"), "{message}");
    }

    #[test]
    fn plain_http_origin_is_rejected() {
        let config = WebauthnConfig {
            rp_origin: Some("http://localhost:8443".to_owned()),
            ..WebauthnConfig::default()
        };

        let (key, _) = config.validate(listen(8443)).expect_err("must fail");
        assert_eq!(key, "webauthn.rp_origin");
    }

    #[test]
    fn native_origin_formats() {
        let hash = BASE64URL.encode([7u8; 32]);
        let accepted = [
            format!("android:apk-key-hash:{hash}"),
            "ios:bundle-id:com.example.sharepay".to_owned(),
        ];
        for origin in &accepted {
            parse_native_origin(origin).unwrap_or_else(|e| panic!("{origin}: {e:?}"));
        }
        let rejected = [
            format!("android:apk-key-hash:{hash}="),
            format!("android:apk-key-hash:{}", BASE64URL.encode([7u8; 20])),
            "android:apk-key-hash:".to_owned(),
            "ios:bundle-id:sharepay".to_owned(),
            "ios:bundle-id:com.example/app".to_owned(),
            "https://localhost:8443".to_owned(),
        ];
        for origin in &rejected {
            assert!(
                parse_native_origin(origin).is_err(),
                "{origin} was accepted"
            );
        }
    }

    #[test]
    fn environment_sets_native_origins() {
        let origin = format!("android:apk-key-hash:{}", BASE64URL.encode([9u8; 32]));
        let env = vec![
            (
                "SHAREPAY_WEBAUTHN__ALLOWED_NATIVE_ORIGINS".to_owned(),
                format!("[\"{origin}\"]"),
            ),
            (
                "SHAREPAY_WEBAUTHN__RP_ID".to_owned(),
                "pay.example.com".to_owned(),
            ),
        ];

        let config = crate::config::ServerConfig::load(None, env).expect("load");
        config.validate().expect("valid");
        assert_eq!(config.webauthn.allowed_native_origins, vec![origin]);
        let web_origin = config.webauthn.web_origin(config.listen).expect("origin");
        assert_eq!(web_origin.as_str(), "https://pay.example.com:8443/");
    }

    #[test]
    fn invalid_native_origin_names_key_and_variable() {
        let env = vec![(
            "SHAREPAY_WEBAUTHN__ALLOWED_NATIVE_ORIGINS".to_owned(),
            "[\"android:apk-key-hash:short\"]".to_owned(),
        )];

        let config = crate::config::ServerConfig::load(None, env).expect("load");
        let message = config.validate().expect_err("must fail").to_string();
        assert!(
            message.contains("webauthn.allowed_native_origins"),
            "{message}"
        );
        assert!(
            message.contains("SHAREPAY_WEBAUTHN__ALLOWED_NATIVE_ORIGINS"),
            "{message}"
        );
    }

    #[test]
    fn rp_id_must_be_a_domain() {
        for rp_id in [
            "",
            "Example.com",
            "https://example.com",
            "127.0.0.1",
            "a..b",
        ] {
            let config = WebauthnConfig {
                rp_id: rp_id.to_owned(),
                ..WebauthnConfig::default()
            };
            assert!(
                config.validate(listen(8443)).is_err(),
                "{rp_id} was accepted"
            );
        }
    }
}
