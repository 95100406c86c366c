//! The device fingerprint sent at login: a keyed hash of what the platform
//! reports about the device, under a secret that only this installation has.
//!
//! `fingerprint = base64url_nopad(HMAC-SHA256(install_secret, canonical))`,
//! where `install_secret` is 32 random bytes created in the store on first
//! use and `canonical` is, byte for byte:
//!
//! 1. the ASCII tag `sharepay-device-fingerprint-v2`;
//! 2. `platform` and `model`, in that order, each as a 4-byte big-endian
//!    byte length followed by its UTF-8 bytes;
//! 3. the number of `extra` attributes as a 4-byte big-endian integer, then
//!    each attribute sorted by the UTF-8 bytes of its name, as its name and
//!    then its value, both length-prefixed as above.
//!
//! The length prefixes keep `("ab", "c")` and `("a", "bc")` apart, and the
//! sort makes the result independent of map order. The same install gives
//! the same fingerprint after a restart. A reinstall or
//! [`EncryptedStore::wipe_all`] creates a new install secret and so a new
//! fingerprint, and the server cannot link the two. The attributes are
//! never sent, only the hash.
//!
//! The OS and app versions, locale and time zone are left out: they change
//! with every update and when a user travels, and the server refuses a
//! refresh from a different fingerprint, which would sign the user out.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;

use crate::error::ClientError;
use crate::store::EncryptedStore;

const TAG: &[u8] = b"sharepay-device-fingerprint-v2";

/// Device attributes as the platform reports them. Only `platform`,
/// `model` and `extra` go into the fingerprint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceInfo {
    /// `android` or `ios`, or the desktop OS for the terminal shell.
    pub platform: String,
    pub os_version: String,
    pub model: String,
    pub app_version: String,
    /// BCP 47 language tag, such as `fr-FR`.
    pub locale: String,
    /// IANA time zone name, such as `Europe/Paris`.
    pub time_zone: String,
    /// Further attributes that stay the same for the life of an install;
    /// order does not matter.
    pub extra: HashMap<String, String>,
}

/// A failure reported by the platform's device information source.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DeviceInfoError {
    pub message: String,
}

/// Supplied by the shell: reads the device attributes from the platform.
pub trait DeviceInfoProvider: Send + Sync {
    fn device_info(&self) -> Result<DeviceInfo, DeviceInfoError>;
}

/// Encodes `info` canonically, as the module documentation describes.
pub fn canonical_encoding(info: &DeviceInfo) -> Vec<u8> {
    let mut out = TAG.to_vec();
    for field in [&info.platform, &info.model] {
        push_length_prefixed(&mut out, field);
    }
    let mut extra: Vec<(&String, &String)> = info.extra.iter().collect();
    extra.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    push_length(&mut out, extra.len());
    for (name, value) in extra {
        push_length_prefixed(&mut out, name);
        push_length_prefixed(&mut out, value);
    }
    out
}

fn push_length(out: &mut Vec<u8>, length: usize) {
    // Attributes are short; a length beyond u32 is clamped, which only
    // matters for inputs no platform produces.
    let length = u32::try_from(length).unwrap_or(u32::MAX);
    out.extend_from_slice(&length.to_be_bytes());
}

fn push_length_prefixed(out: &mut Vec<u8>, text: &str) {
    push_length(out, text.len());
    out.extend_from_slice(text.as_bytes());
}

/// Computes the fingerprint of `info` under `install_secret`.
pub fn fingerprint_with_secret(install_secret: &[u8], info: &DeviceInfo) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, install_secret);
    let tag = hmac::sign(&key, &canonical_encoding(info));
    URL_SAFE_NO_PAD.encode(tag.as_ref())
}

/// Computes the fingerprint of `info` under the store's install secret.
pub fn device_fingerprint(
    store: &EncryptedStore,
    info: &DeviceInfo,
) -> Result<String, ClientError> {
    let secret = store.install_secret()?;
    Ok(fingerprint_with_secret(&secret, info))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DeviceInfo {
        DeviceInfo {
            platform: "android".into(),
            os_version: "15".into(),
            model: "Pixel 9".into(),
            app_version: "1.4.0".into(),
            locale: "fr-FR".into(),
            time_zone: "Europe/Paris".into(),
            extra: HashMap::new(),
        }
    }

    #[test]
    fn fingerprint_is_base64url_without_padding() {
        let fingerprint = fingerprint_with_secret(&[1u8; 32], &sample());

        assert_eq!(fingerprint.len(), 43);
        assert!(
            fingerprint
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{fingerprint}"
        );
    }

    #[test]
    fn fingerprint_survives_updates_and_travel() {
        let base = fingerprint_with_secret(&[1u8; 32], &sample());
        let changes: [fn(&mut DeviceInfo); 4] = [
            |i| i.os_version = "16".into(),
            |i| i.app_version = "1.4.1".into(),
            |i| i.locale = "de-DE".into(),
            |i| i.time_zone = "Europe/Berlin".into(),
        ];
        for (index, change) in changes.iter().enumerate() {
            let mut info = sample();
            change(&mut info);
            assert_eq!(
                fingerprint_with_secret(&[1u8; 32], &info),
                base,
                "change {index}"
            );
        }
    }

    #[test]
    fn fingerprint_changes_with_stable_attributes() {
        let base = fingerprint_with_secret(&[1u8; 32], &sample());
        let changes: [fn(&mut DeviceInfo); 3] = [
            |i| i.platform = "ios".into(),
            |i| i.model = "Pixel 8".into(),
            |i| {
                i.extra.insert("build".into(), "42".into());
            },
        ];
        for (index, change) in changes.iter().enumerate() {
            let mut info = sample();
            change(&mut info);
            assert_ne!(
                fingerprint_with_secret(&[1u8; 32], &info),
                base,
                "change {index}"
            );
        }
    }

    #[test]
    fn fingerprint_ignores_map_order() {
        let names: Vec<String> = (0..32).map(|i| format!("attribute-{i}")).collect();
        let mut forward = sample();
        for name in &names {
            forward
                .extra
                .insert(name.clone(), format!("value of {name}"));
        }
        let mut backward = sample();
        for name in names.iter().rev() {
            backward
                .extra
                .insert(name.clone(), format!("value of {name}"));
        }

        assert_eq!(
            fingerprint_with_secret(&[1u8; 32], &forward),
            fingerprint_with_secret(&[1u8; 32], &backward)
        );
    }

    #[test]
    fn length_prefix_separates_fields() {
        let mut first = sample();
        first.platform = "ab".into();
        first.model = "c".into();
        let mut second = sample();
        second.platform = "a".into();
        second.model = "bc".into();

        assert_ne!(canonical_encoding(&first), canonical_encoding(&second));
    }

    #[test]
    fn fingerprint_depends_on_install_secret() {
        assert_ne!(
            fingerprint_with_secret(&[1u8; 32], &sample()),
            fingerprint_with_secret(&[2u8; 32], &sample())
        );
    }
}
