//! The people of the demo, each on a phone of their own: a data directory
//! with its own key file and encrypted store, and a [`SharePayClient`].

use std::path::Path;

use anyhow::Context;
use secrecy::SecretString;
use sharepay_client::{BackoffPolicy, ClientConfig, EndpointConfig, SharePayClient};
use sharepay_server::RunningServer;

use super::detail;
use crate::profile::open_terminal_client;

/// One person's account and phone.
pub struct Person {
    /// The person's part in the story, such as `meter reader`.
    pub role_label: String,
    pub email: String,
    pub user_id: String,
    pub client: SharePayClient,
}

/// The endpoint a phone connects to: the server, or a relay in front of it.
pub struct PhoneConnection<'a> {
    pub server: &'a RunningServer,
    /// `https://host:port` of the server or of a relay.
    pub base_url: String,
    pub backoff: BackoffPolicy,
}

impl Person {
    /// Opens a fresh phone in `phone_dir`, creates the account and logs in.
    pub async fn sign_up(
        role_label: &str,
        email: &str,
        password: &str,
        phone_dir: &Path,
        connection: PhoneConnection<'_>,
    ) -> anyhow::Result<Self> {
        let client = open_phone(phone_dir, connection)?;
        let user_id = client
            .register(email, SecretString::from(password))
            .await
            .with_context(|| format!("signing up the {role_label} {email} failed"))?;
        client
            .login(email, SecretString::from(password))
            .await
            .with_context(|| format!("logging in the {role_label} {email} failed"))?;
        detail(&format!(
            "{role_label} {email} signed up and logged in: user id {user_id}, phone store {}",
            client.store_path().display()
        ));
        Ok(Self {
            role_label: role_label.to_owned(),
            email: email.to_owned(),
            user_id,
            client,
        })
    }
}

/// Opens the encrypted store in `phone_dir` (creating it and its key file)
/// and prepares the pinned TLS 1.3 connections to the API and to the
/// server's embedded card vault, which has pins of its own.
fn open_phone(phone_dir: &Path, connection: PhoneConnection<'_>) -> anyhow::Result<SharePayClient> {
    std::fs::create_dir_all(phone_dir)
        .with_context(|| format!("cannot create {}", phone_dir.display()))?;
    let server = connection.server;
    let mut config = ClientConfig::new(
        connection.base_url,
        server.ca_certificate_pem.clone(),
        server.spki_pins.clone(),
        phone_dir,
    );
    config.backoff = connection.backoff;
    config.vault = server
        .vault_phone_endpoint
        .as_ref()
        .map(|vault| EndpointConfig {
            base_url: vault.url.clone(),
            ca_certificate_pem: vault.ca_certificate_pem.clone(),
            spki_pins: vault.spki_pins.clone(),
        });
    open_terminal_client(config)
}
