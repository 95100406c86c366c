//! The SMTP adapter: sends email through a configured server with lettre
//! (tokio, rustls on ring, system roots from `rustls-native-certs`).
//!
//! `tls = "starttls"` fails rather than send in the clear when the server
//! does not offer STARTTLS; `tls = "none"` is for a relay on the same host.
//! Errors carry the server's reply code but not its text, because the text
//! often repeats the recipient's address.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox as Address, Message as Email};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;

use super::Message;
use super::config::{SmtpConfig, SmtpTls};
use super::delivery::{DeliveryError, Transport};

/// Sends email through one SMTP server.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Address,
}

impl Smtp {
    pub fn new(config: &SmtpConfig) -> Result<Self, DeliveryError> {
        let from: Address = config.from.parse().map_err(|e| {
            DeliveryError::Permanent(format!(
                "notifications.smtp.from {:?} is not a valid address: {e}",
                config.from
            ))
        })?;
        let tls = match config.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Starttls => Tls::Required(tls_parameters(&config.host)?),
            SmtpTls::Tls => Tls::Wrapper(tls_parameters(&config.host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(config.timeout_seconds)));
        if let (Some(username), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(
                username.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

// NOTE: the tests cover only `tls = "none"` against a local listener; the
// STARTTLS and TLS modes rely on lettre and the system's root certificates.
fn tls_parameters(host: &str) -> Result<TlsParameters, DeliveryError> {
    TlsParameters::new(host.to_owned()).map_err(|e| {
        DeliveryError::Permanent(format!("setting up TLS for the SMTP server failed: {e}"))
    })
}

#[async_trait]
impl Transport for Smtp {
    fn name(&self) -> &'static str {
        "smtp"
    }

    async fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        let to: Address = message.recipient.parse().map_err(|_| {
            DeliveryError::Permanent("the recipient is not a valid email address".to_owned())
        })?;
        let email = Email::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(message.body.clone())
            .map_err(|e| DeliveryError::Permanent(format!("building the email failed: {e}")))?;
        match self.transport.send(email).await {
            Ok(_) => Ok(()),
            Err(e) => Err(classify(&e)),
        }
    }
}

/// Maps a lettre error to a retry decision, without the server's text.
fn classify(error: &lettre::transport::smtp::Error) -> DeliveryError {
    let detail = match error.status() {
        Some(code) => format!("the SMTP server replied {code}"),
        None if error.is_timeout() => "the SMTP server did not answer in time".to_owned(),
        None => format!("the SMTP exchange failed: {error}"),
    };
    if error.is_permanent() {
        DeliveryError::Permanent(detail)
    } else {
        DeliveryError::Temporary(detail)
    }
}
