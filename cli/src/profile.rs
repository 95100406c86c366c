//! The connection profile of the terminal shell: which server to talk to,
//! the CA it must chain to and its SPKI pins, saved by `sharepay login` in
//! the data directory so later commands need no connection options.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use sharepay_client::{ClientConfig, EndpointConfig, SharePayClient};

use crate::demo::TerminalDevice;
use crate::file_key_wrapper::FileKeyWrapper;

/// Name of the key file that wraps the store key in the data directory.
pub const KEY_FILE: &str = "desktop-key.bin";
const PROFILE_FILE: &str = "profile.json";

/// Options that choose the server, overriding the saved profile.
#[derive(Debug, Default, clap::Args)]
pub struct ConnectionArgs {
    /// Server base URL, such as https://127.0.0.1:8443.
    #[arg(long, value_name = "URL", global = true)]
    pub server: Option<String>,
    /// PEM file of the CA the server's certificate must chain to.
    #[arg(long, value_name = "FILE", global = true)]
    pub ca: Option<PathBuf>,
    /// Base64 SHA-256 SPKI pin of a server key. Give it twice, for the
    /// current key and the backup key.
    #[arg(long = "pin", value_name = "PIN", global = true)]
    pub pins: Vec<String>,
    /// Development only: accept a single --pin.
    #[arg(long, global = true)]
    pub allow_single_pin: bool,
    /// Card vault URL for saving cards, such as https://127.0.0.1:8444.
    #[arg(long, value_name = "URL", global = true)]
    pub vault: Option<String>,
    /// PEM file of the CA the vault's certificate must chain to.
    #[arg(long, value_name = "FILE", global = true)]
    pub vault_ca: Option<PathBuf>,
    /// Base64 SHA-256 SPKI pin of a vault key. Give it twice, for the
    /// current key and the backup key.
    #[arg(long = "vault-pin", value_name = "PIN", global = true)]
    pub vault_pins: Vec<String>,
}

/// The saved connection settings. The CA is stored as PEM, so moving the
/// original file does not break the profile.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub server_url: String,
    pub ca_certificate_pem: String,
    pub spki_pins: Vec<String>,
    #[serde(default)]
    pub allow_single_pin: bool,
    /// The card vault, which has its own CA and pins; absent until given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<VaultProfile>,
}

/// The saved connection settings of the card vault.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultProfile {
    pub url: String,
    pub ca_certificate_pem: String,
    pub spki_pins: Vec<String>,
}

impl VaultProfile {
    /// Builds the vault settings from the options, or `None` when no vault
    /// option is given.
    fn from_args(args: &ConnectionArgs) -> anyhow::Result<Option<Self>> {
        if args.vault.is_none() && args.vault_ca.is_none() && args.vault_pins.is_empty() {
            return Ok(None);
        }
        let (Some(url), Some(ca)) = (&args.vault, &args.vault_ca) else {
            bail!(
                "--vault and --vault-ca go together, with --vault-pin for each pinned key; give \
                 all of them"
            );
        };
        let ca_certificate_pem = std::fs::read_to_string(ca)
            .with_context(|| format!("cannot read the vault CA certificate {}", ca.display()))?;
        Ok(Some(Self {
            url: url.clone(),
            ca_certificate_pem,
            spki_pins: args.vault_pins.clone(),
        }))
    }
}

impl Profile {
    /// Builds a profile from the options, or loads the saved one when no
    /// server option is given. Vault options replace the vault settings in
    /// either.
    pub fn resolve(data_dir: &Path, args: &ConnectionArgs) -> anyhow::Result<Self> {
        let mut profile = Self::resolve_server(data_dir, args)?;
        if let Some(vault) = VaultProfile::from_args(args)? {
            profile.vault = Some(vault);
        }
        Ok(profile)
    }

    fn resolve_server(data_dir: &Path, args: &ConnectionArgs) -> anyhow::Result<Self> {
        if args.server.is_none() && args.ca.is_none() && args.pins.is_empty() {
            return Self::load(data_dir);
        }
        let (Some(server_url), Some(ca)) = (&args.server, &args.ca) else {
            bail!(
                "--server and --ca go together, with --pin for each pinned key; give all of them"
            );
        };
        let ca_certificate_pem = std::fs::read_to_string(ca)
            .with_context(|| format!("cannot read the CA certificate {}", ca.display()))?;
        Ok(Self {
            server_url: server_url.clone(),
            ca_certificate_pem,
            spki_pins: args.pins.clone(),
            allow_single_pin: args.allow_single_pin,
            vault: None,
        })
    }

    fn load(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join(PROFILE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "no server profile in {}; run `sharepay login --server URL --ca FILE --pin PIN \
                 --pin BACKUP_PIN --email EMAIL` first",
                data_dir.display()
            ),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a valid profile; log in again", path.display()))
    }

    /// Saves the profile in the data directory.
    pub fn save(&self, data_dir: &Path) -> anyhow::Result<()> {
        crate::private_files::create_private_dir(data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        let path = data_dir.join(PROFILE_FILE);
        let text = serde_json::to_string_pretty(self).context("cannot encode the profile")?;
        crate::private_files::write_private_file(&path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// Opens the phone client on the data directory with this profile.
    pub fn open_client(&self, data_dir: &Path) -> anyhow::Result<SharePayClient> {
        check_pin_count(
            "--pin",
            "spki-pin-sha256",
            &self.spki_pins,
            self.allow_single_pin,
        )?;
        if let Some(vault) = &self.vault {
            check_pin_count(
                "--vault-pin",
                "vault-spki-pin-sha256",
                &vault.spki_pins,
                self.allow_single_pin,
            )?;
        }
        let mut config = ClientConfig::new(
            self.server_url.clone(),
            self.ca_certificate_pem.clone(),
            self.spki_pins.clone(),
            data_dir,
        );
        config.allow_single_pin = self.allow_single_pin;
        config.vault = self.vault.as_ref().map(|vault| EndpointConfig {
            base_url: vault.url.clone(),
            ca_certificate_pem: vault.ca_certificate_pem.clone(),
            spki_pins: vault.spki_pins.clone(),
        });
        open_terminal_client(config)
    }
}

/// Opens the phone client with `config`, its store key wrapped by the key
/// file in `config.data_dir` (created on first use), and this terminal as
/// the device of the fingerprint.
pub fn open_terminal_client(config: ClientConfig) -> anyhow::Result<SharePayClient> {
    let data_dir = config.data_dir.clone();
    let key_wrapper = FileKeyWrapper::open_or_create(&data_dir.join(KEY_FILE))
        .map_err(|e| anyhow::anyhow!("key file: {e}"))?;
    let client = SharePayClient::new(config, Arc::new(key_wrapper))
        .with_context(|| format!("cannot open the phone client in {}", data_dir.display()))?;
    client.set_device_info_provider(Arc::new(TerminalDevice));
    Ok(client)
}

/// Checks the number of distinct pins given with `flag` before the core
/// does, so the error names the command-line options. `startup_line` is
/// the server's start-up line that prints each pin.
fn check_pin_count(
    flag: &str,
    startup_line: &str,
    pins: &[String],
    allow_single_pin: bool,
) -> anyhow::Result<()> {
    let mut distinct: Vec<&str> = pins.iter().map(|pin| pin.trim()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    match distinct.len() {
        0 => {
            bail!("{flag} is missing; give it once for each {startup_line} line the server printed")
        }
        1 if !allow_single_pin => bail!(
            "{flag} needs two distinct pins, the server's current key and a backup key, because \
             with one pin a key change locks out every installed app; give {flag} once for each \
             {startup_line} line, or add --allow-single-pin in development only"
        ),
        _ => Ok(()),
    }
}

/// Opens the client with the options or the saved profile.
///
/// NOTE: the access token lives only in this process, so every command
/// refreshes the session. Two commands at once on one data directory can
/// present the same refresh token, which the server treats as reuse: it
/// ends the session and both must log in again.
pub fn open_client(data_dir: &Path, args: &ConnectionArgs) -> anyhow::Result<SharePayClient> {
    Profile::resolve(data_dir, args)?.open_client(data_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIN_A: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    const PIN_B: &str = "uVjP7bwmOHg9KDEbhRvNwtRVW2oBs7bdXxeIQXfrm2c=";

    #[test]
    fn pin_count_names_flags() {
        let none = check_pin_count("--pin", "spki-pin-sha256", &[], false)
            .expect_err("no pin")
            .to_string();
        let one = check_pin_count(
            "--vault-pin",
            "vault-spki-pin-sha256",
            &[PIN_A.into()],
            false,
        )
        .expect_err("one pin")
        .to_string();
        let repeated = check_pin_count(
            "--pin",
            "spki-pin-sha256",
            &[PIN_A.into(), PIN_A.into()],
            false,
        )
        .expect_err("one distinct pin")
        .to_string();

        assert!(none.starts_with("--pin is missing"), "{none}");
        assert!(
            one.starts_with("--vault-pin needs two distinct pins"),
            "{one}"
        );
        assert!(one.contains("--allow-single-pin"), "{one}");
        assert!(!one.contains("allow_single_pin"), "{one}");
        assert!(
            repeated.starts_with("--pin needs two distinct pins"),
            "{repeated}"
        );
    }

    #[test]
    fn pin_count_accepts_two_or_flag() {
        let two = check_pin_count(
            "--pin",
            "spki-pin-sha256",
            &[PIN_A.into(), PIN_B.into()],
            false,
        );
        let single_allowed = check_pin_count("--pin", "spki-pin-sha256", &[PIN_A.into()], true);

        assert!(two.is_ok());
        assert!(single_allowed.is_ok());
    }
}
