//! The server's one typed configuration: defaults, then a TOML file, then
//! `SHAREPAY_*` environment variables, then command-line flags, each
//! overriding the one before.
//!
//! Every key has a default that starts a local server with no setup. An
//! environment variable names a key in upper case with `SHAREPAY_` in
//! front and `__` between nested keys: `listen` is `SHAREPAY_LISTEN` and
//! `http.trusted_proxies` is `SHAREPAY_HTTP__TRUSTED_PROXIES`. The operator
//! secret itself is read only from `SHAREPAY_OPERATOR_SECRET` (or a file
//! named by `operator_secret_file`), never from the configuration file.
//! This module must never log or format a secret: the database URL's
//! password and the operator secret are redacted in `Debug` and in
//! [`ServerConfig::redacted`].

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ring::digest;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use crate::http_config::HttpConfig;
use crate::keys::OPERATOR_SECRET_ENV;
pub use crate::vault::settings::VaultSettings;

/// Environment variable that names the configuration file.
pub const CONFIG_FILE_ENV: &str = "SHAREPAY_CONFIG";
const ENV_PREFIX: &str = "SHAREPAY_";
/// Top-level keys that environment variables may set. Other `SHAREPAY_*`
/// variables (such as `SHAREPAY_CACHE` of the test script) are ignored.
const ENV_KEYS: &[&str] = &[
    "data_dir",
    "listen",
    "database_url",
    "database_pool_size",
    "operator_secret_file",
    "http",
    "vault",
    "identity",
    "webauthn",
    "security",
    "notifications",
    "mfa",
];
const MAX_POOL_SIZE: usize = 1024;

/// Settings of the server. Every field has a default that works with no
/// setup.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Folder for the keyring, the SQLCipher database and TLS files.
    pub data_dir: PathBuf,
    /// Address and port of the HTTPS listener; port 0 picks a free port.
    pub listen: SocketAddr,
    /// `postgres://user[:password]@host[:port]/database` to store data in
    /// PostgreSQL; unset stores it in `data_dir/sharepay.db` (SQLCipher).
    pub database_url: Option<DatabaseUrl>,
    /// Most PostgreSQL connections the server opens at once.
    pub database_pool_size: usize,
    /// File holding the operator secret that protects the keyring.
    pub operator_secret_file: Option<PathBuf>,
    /// The operator secret from `SHAREPAY_OPERATOR_SECRET`.
    #[serde(skip)]
    pub operator_secret: Option<SecretString>,
    pub http: HttpConfig,
    /// Where the card vault runs and how the API reaches it.
    pub vault: VaultSettings,
    /// Sessions, refresh tokens and signing key rotation.
    pub identity: crate::identity::IdentityConfig,
    /// The WebAuthn relying party and the origins it accepts.
    pub webauthn: crate::identity::webauthn::WebauthnConfig,
    /// Suspicious-activity rules, alerts, account locks and service tokens.
    pub security: crate::security::SecurityConfig,
    /// Adapters and retries of outgoing email and SMS.
    pub notifications: crate::notify::NotificationsConfig,
    /// Lifetimes of one-time codes, MFA challenges and step-up checks.
    pub mfa: crate::identity::mfa_config::MfaConfig,
    /// Transaction monitoring rules that run after every payment.
    pub monitoring: crate::money::MonitoringConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("sharepay-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            database_url: None,
            database_pool_size: 16,
            operator_secret_file: None,
            operator_secret: None,
            http: HttpConfig::default(),
            vault: VaultSettings::default(),
            identity: crate::identity::IdentityConfig::default(),
            webauthn: crate::identity::webauthn::WebauthnConfig::default(),
            security: crate::security::SecurityConfig::default(),
            notifications: crate::notify::NotificationsConfig::default(),
            mfa: crate::identity::mfa_config::MfaConfig::default(),
            monitoring: crate::money::MonitoringConfig::default(),
        }
    }
}

/// A PostgreSQL connection URL. `Debug` and [`DatabaseUrl::redacted`] hide
/// its password.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    pub fn new(url: &str) -> Self {
        Self(SecretString::from(url.to_owned()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Returns the URL with the password (in the user part or a `password=`
    /// parameter) replaced by `[redacted]`.
    pub fn redacted(&self) -> String {
        let url = self.expose();
        let Some((scheme, rest)) = url.split_once("://") else {
            return "[redacted]".to_owned();
        };
        let (location, query) = match rest.split_once('?') {
            Some((location, query)) => (location, Some(query)),
            None => (rest, None),
        };
        let location = match location.rsplit_once('@') {
            Some((user_info, host)) => match user_info.split_once(':') {
                Some((user, _password)) => format!("{user}:[redacted]@{host}"),
                None => format!("{user_info}@{host}"),
            },
            None => location.to_owned(),
        };
        match query {
            Some(query) if query.contains("password") => {
                format!("{scheme}://{location}?[redacted]")
            }
            Some(query) => format!("{scheme}://{location}?{query}"),
            None => format!("{scheme}://{location}"),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// A configuration that cannot be used, naming the key and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "cannot read the configuration file {path}: {source}; check --config or {CONFIG_FILE_ENV}"
    )]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid TOML: {message}")]
    Parse { path: String, message: String },
    #[error("configuration key `{key}` ({env}): {message}")]
    Invalid {
        key: String,
        env: String,
        message: String,
    },
}

impl ConfigError {
    fn invalid(key: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.to_owned(),
            env: env_name(key),
            message: message.into(),
        }
    }
}

/// Returns the environment variable that sets `key` (`http.x` is `SHAREPAY_HTTP__X`).
pub fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.replace('.', "__").to_uppercase())
}

impl ServerConfig {
    /// Reads the configuration: defaults, then `file` if given, then the
    /// `SHAREPAY_*` entries of `env`. Call [`ServerConfig::validate`] after
    /// applying command-line flags.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some(path) => read_file(path)?,
            None => toml::Table::new(),
        };
        let mut operator_secret = None;
        for (name, value) in env {
            let Some(key) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if name == OPERATOR_SECRET_ENV {
                operator_secret = Some(SecretString::from(value));
                continue;
            }
            let path: Vec<String> = key.split("__").map(str::to_lowercase).collect();
            if !ENV_KEYS.contains(&path[0].as_str()) {
                continue;
            }
            set_path(&mut table, &path, env_value(&value))?;
        }

        let mut config: ServerConfig = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|error| {
                let key = error.path().to_string();
                let key = if key == "." {
                    "(top level)".to_owned()
                } else {
                    key
                };
                ConfigError::invalid(&key, error.inner().to_string())
            })?;
        config.operator_secret = operator_secret;
        Ok(config)
    }

    /// Checks values that types alone cannot, with a message naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.data_dir.as_os_str().is_empty() {
            return Err(ConfigError::invalid(
                "data_dir",
                "must not be empty; name a folder such as sharepay-data",
            ));
        }
        if self.database_pool_size == 0 || self.database_pool_size > MAX_POOL_SIZE {
            return Err(ConfigError::invalid(
                "database_pool_size",
                format!(
                    "{} is out of range; use 1 to {MAX_POOL_SIZE}",
                    self.database_pool_size
                ),
            ));
        }
        if self.operator_secret_file.is_some() && self.operator_secret.is_some() {
            return Err(ConfigError::invalid(
                "operator_secret_file",
                format!("is set together with {OPERATOR_SECRET_ENV}; keep only one"),
            ));
        }
        if let Some(url) = &self.database_url {
            validate_database_url(url)?;
        }
        self.identity
            .validate()
            .map_err(|(key, message)| ConfigError::invalid(key, message))?;
        self.webauthn
            .validate(self.listen)
            .map_err(|(key, message)| ConfigError::invalid(key, message))?;
        self.security
            .validate()
            .map_err(|(key, message)| ConfigError::invalid(key, message))?;
        self.notifications
            .validate()
            .map_err(|(key, message)| ConfigError::invalid(key, message))?;
        self.mfa
            .validate()
            .map_err(|(key, message)| ConfigError::invalid(key, message))?;
        self.monitoring
            .validate()
            .map_err(|e| ConfigError::invalid("monitoring", e.to_string()))?;
        self.vault.validate()
    }

    /// Returns the effective configuration as JSON, with secrets redacted, for the
    /// start-up log and the configuration hash.
    pub fn redacted(&self) -> serde_json::Value {
        let database = match &self.database_url {
            Some(url) => url.redacted(),
            None => "sqlcipher (data_dir/sharepay.db)".to_owned(),
        };
        let operator_secret = match (&self.operator_secret_file, &self.operator_secret) {
            (Some(path), _) => format!("file {}", path.display()),
            (None, Some(_)) => format!("environment {OPERATOR_SECRET_ENV}"),
            (None, None) => "data_dir/operator-secret".to_owned(),
        };
        serde_json::json!({
            "data_dir": self.data_dir.display().to_string(),
            "listen": self.listen.to_string(),
            "database_url": database,
            "database_pool_size": self.database_pool_size,
            "operator_secret": operator_secret,
            "http": format!("{:?}", self.http),
            "vault": self.vault.redacted(),
            "identity": format!("{:?}", self.identity),
            "webauthn": format!("{:?}", self.webauthn),
            "security": self.security.redacted(),
            "notifications": format!("{:?}", self.notifications),
            "mfa": format!("{:?}", self.mfa),
            "monitoring": format!("{:?}", self.monitoring),
        })
    }

    /// SHA-256 (hex) of [`ServerConfig::redacted`], recorded in the audit
    /// trail at start so configuration changes between starts are visible.
    pub fn redacted_sha256(&self) -> String {
        let text = self.redacted().to_string();
        digest::digest(&digest::SHA256, text.as_bytes())
            .as_ref()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

fn read_file(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    toml::Table::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Types an environment value: arrays and inline tables (`[...]`, `{...}`),
/// integers and `true`/`false` are read as TOML, anything else is a string.
///
/// NOTE: a string key set to digits only (say `SHAREPAY_DATA_DIR=2024`)
/// reads as an integer and is rejected; use the file for such values.
fn env_value(raw: &str) -> toml::Value {
    let trimmed = raw.trim();
    let looks_typed = trimmed.starts_with('[')
        || trimmed.starts_with('{')
        || trimmed == "true"
        || trimmed == "false"
        || (!trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()));
    if looks_typed
        && let Ok(mut table) = toml::Table::from_str(&format!("value = {trimmed}"))
        && let Some(value) = table.remove("value")
    {
        return value;
    }
    toml::Value::String(raw.to_owned())
}

fn set_path(
    table: &mut toml::Table,
    path: &[String],
    value: toml::Value,
) -> Result<(), ConfigError> {
    let (last, parents) = path
        .split_last()
        .ok_or_else(|| ConfigError::invalid("(top level)", "empty environment key"))?;
    let mut current = table;
    for (depth, parent) in parents.iter().enumerate() {
        let entry = current
            .entry(parent.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| ConfigError::invalid(&path[..=depth].join("."), "is not a section"))?;
    }
    current.insert(last.clone(), value);
    Ok(())
}

fn validate_database_url(url: &DatabaseUrl) -> Result<(), ConfigError> {
    let text = url.expose();
    if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
        return Err(ConfigError::invalid(
            "database_url",
            format!(
                "{} is not a PostgreSQL URL; use postgres://user@host:port/database, or unset it \
                 to use the embedded SQLCipher store",
                url.redacted()
            ),
        ));
    }
    let parsed = tokio_postgres::Config::from_str(text).map_err(|e| {
        ConfigError::invalid(
            "database_url",
            format!("{} is invalid: {e}", url.redacted()),
        )
    })?;
    if parsed.get_dbname().is_none() {
        return Err(ConfigError::invalid(
            "database_url",
            "names no database; add one, as in postgres://postgres@127.0.0.1:5432/sharepay",
        ));
    }
    for host in parsed.get_hosts() {
        let local = match host {
            tokio_postgres::config::Host::Tcp(name) => is_loopback(name),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(_) => true,
        };
        if !local {
            return Err(ConfigError::invalid(
                "database_url",
                "connections to PostgreSQL are not encrypted yet, so only a loopback host \
                 (127.0.0.1, ::1, localhost) or a Unix socket is accepted",
            ));
        }
    }
    Ok(())
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_need_no_configuration() {
        let config = ServerConfig::load(None, env(&[])).expect("defaults");

        config.validate().expect("defaults are valid");
        assert_eq!(config.data_dir, PathBuf::from("sharepay-data"));
        assert_eq!(config.listen.to_string(), "127.0.0.1:8443");
        assert!(config.database_url.is_none());
    }

    #[test]
    fn environment_overrides_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("server.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\ndata_dir = \"/srv/a\"\n",
        )
        .expect("write");

        let config = ServerConfig::load(
            Some(&file),
            env(&[
                ("SHAREPAY_LISTEN", "127.0.0.1:9001"),
                ("SHAREPAY_DATABASE_POOL_SIZE", "4"),
                ("SHAREPAY_CACHE", "/ignored"),
            ]),
        )
        .expect("load");

        assert_eq!(config.listen.to_string(), "127.0.0.1:9001");
        assert_eq!(config.data_dir, PathBuf::from("/srv/a"));
        assert_eq!(config.database_pool_size, 4);
    }

    #[test]
    fn unknown_file_key_is_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("server.toml");
        std::fs::write(&file, "lisen = \"127.0.0.1:9000\"\n").expect("write");

        let error = ServerConfig::load(Some(&file), env(&[])).expect_err("typo must fail");
        assert!(error.to_string().contains("lisen"), "{error}");
    }

    #[test]
    fn invalid_listen_names_key_and_variable() {
        let error = ServerConfig::load(None, env(&[("SHAREPAY_LISTEN", "not-an-address")]))
            .expect_err("must fail");

        let message = error.to_string();
        assert!(message.contains("`listen`"), "{message}");
        assert!(message.contains("SHAREPAY_LISTEN"), "{message}");
    }

    #[test]
    fn remote_database_host_is_rejected() {
        let config = ServerConfig {
            database_url: Some(DatabaseUrl::new("postgres://app:pw@db.internal/sharepay")),
            ..ServerConfig::default()
        };

        let error = config.validate().expect_err("remote host must fail");
        let message = error.to_string();
        assert!(message.contains("database_url"), "{message}");
        assert!(!message.contains("pw@"), "{message}");
    }

    #[test]
    fn redacted_hides_database_password() {
        let config = ServerConfig {
            database_url: Some(DatabaseUrl::new(
                "postgres://app:s3cret-pass@127.0.0.1:5432/sharepay",
            )),
            operator_secret: Some(SecretString::from("operator-secret-value".to_owned())),
            ..ServerConfig::default()
        };

        let output = format!("{} {:?}", config.redacted(), config);
        assert!(!output.contains("s3cret-pass"), "{output}");
        assert!(!output.contains("operator-secret-value"), "{output}");
        assert!(
            output.contains("app:[redacted]@127.0.0.1:5432/sharepay"),
            "{output}"
        );
    }

    #[test]
    fn operator_secret_comes_from_environment_only() {
        let config = ServerConfig::load(
            None,
            env(&[(OPERATOR_SECRET_ENV, "a-long-operator-secret-value")]),
        )
        .expect("load");

        assert!(config.operator_secret.is_some());
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("server.toml");
        std::fs::write(&file, "operator_secret = \"in-a-file-is-wrong\"\n").expect("write");
        ServerConfig::load(Some(&file), env(&[])).expect_err("the file may not hold the secret");
    }
}
