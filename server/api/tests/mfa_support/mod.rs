//! Helpers for the MFA tests: a live server whose MFA and notification
//! settings the test chooses, the development mailbox it writes to, an
//! `oathtool` wrapper, and a minimal SMTP listener on loopback.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sharepay_server::{RunningServer, ServerConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::http_support::{GOOD_PASSWORD, login_limited, tls_client_config};
pub use crate::identity_support::{code_in, mailbox_messages};
use crate::support::TestBackend;

/// A live server with its backend and an HTTPS client that trusts it.
pub struct MfaLive {
    pub backend: TestBackend,
    pub server: RunningServer,
    pub client: reqwest::Client,
}

impl MfaLive {
    /// Starts a server on `backend` after `adjust` changed its settings.
    pub async fn start(backend: TestBackend, adjust: impl FnOnce(&mut ServerConfig)) -> Self {
        let mut config = ServerConfig {
            listen: "127.0.0.1:0".parse().expect("loopback address"),
            http: login_limited(1000, &[]),
            ..backend.config.clone()
        };
        config.notifications.poll_interval_ms = 50;
        adjust(&mut config);
        let server = sharepay_server::start(config)
            .await
            .expect("start the server");
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_client_config(
                &server.ca_certificate_pem,
                &[b"http/1.1"],
            ))
            .http1_only()
            .build()
            .expect("build the HTTP client");
        Self {
            backend,
            server,
            client,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url)
    }

    /// Sends `method path` with an optional bearer token and JSON body.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("send");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    /// Registers `email` from `device`.
    pub async fn register(&self, email: &str, device: &str) {
        let body = json!({"email": email, "password": GOOD_PASSWORD, "device_fingerprint": device});
        let (status, answer) = self.post("/v1/auth/register", None, &body).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }

    /// Logs in from `device` and returns the 200 body: tokens or a
    /// challenge.
    pub async fn login(&self, email: &str, device: &str) -> Value {
        let body = json!({"email": email, "password": GOOD_PASSWORD, "device_fingerprint": device});
        let (status, answer) = self.post("/v1/auth/login", None, &body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer
    }

    /// Logs in from a device that needs no MFA and returns the access token.
    pub async fn access_token(&self, email: &str, device: &str) -> String {
        let answer = self.login(email, device).await;
        answer["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("expected tokens, got {answer}"))
            .to_owned()
    }

    pub fn mailbox(&self) -> PathBuf {
        self.backend.data_dir().join("mailbox")
    }

    /// Waits for the newest message to `recipient` whose subject contains
    /// `subject`, and returns its file content.
    pub async fn wait_for_message(&self, recipient: &str, subject: &str) -> String {
        self.wait_for_messages(recipient, subject, 1)
            .await
            .pop()
            .expect("one message")
    }

    /// Waits until at least `count` matching messages exist; returns them
    /// oldest first.
    pub async fn wait_for_messages(
        &self,
        recipient: &str,
        subject: &str,
        count: usize,
    ) -> Vec<String> {
        for _ in 0..100 {
            let found = self.messages(recipient, subject);
            if found.len() >= count {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no {count} messages to {recipient} with subject {subject:?} in {} within 5 s",
            self.mailbox().display()
        );
    }

    /// Passes a step-up check for the session of `token` with a code
    /// emailed to `email`, as adding a factor needs.
    pub async fn step_up_by_email(&self, email: &str, token: &str) {
        const SUBJECT: &str = "Your SharePay security code";
        let before = self.messages(email, SUBJECT).len();
        let (status, sent) = self
            .post(
                "/v1/me/step-up/challenge",
                Some(token),
                &serde_json::json!({"method": "email_code"}),
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{sent}");
        let code = self.wait_for_code(email, SUBJECT, before + 1).await;
        let (status, passed) = self
            .post(
                "/v1/me/step-up/verify",
                Some(token),
                &serde_json::json!({"method": "email_code", "code": code}),
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{passed}");
    }

    /// Lists the matching messages in the mailbox, oldest first.
    pub fn messages(&self, recipient: &str, subject: &str) -> Vec<String> {
        mailbox_messages(&self.mailbox(), recipient, subject)
    }

    /// Waits for the `count`-th code message to `recipient` and returns
    /// the code of the newest.
    pub async fn wait_for_code(&self, recipient: &str, subject: &str, count: usize) -> String {
        let messages = self.wait_for_messages(recipient, subject, count).await;
        code_in(messages.last().expect("a message"))
    }
}

/// Runs `oathtool --totp -b SECRET` for the time `offset_seconds` from now.
pub fn oathtool(secret: &str, offset_seconds: i64) -> String {
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(offset_seconds);
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    let when = at.format(&format).expect("format the time");
    let output = std::process::Command::new("oathtool")
        .args(["--totp", "-b", "--now", &when, secret])
        .output()
        .expect("run oathtool; install the Debian package oathtool");
    assert!(
        output.status.success(),
        "oathtool failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("oathtool output")
        .trim()
        .to_owned()
}

/// One message a [`SmtpSink`] received.
#[derive(Debug)]
pub struct ReceivedMail {
    pub recipients: Vec<String>,
    pub data: String,
}

/// A minimal SMTP server on 127.0.0.1 that accepts every message without
/// TLS or authentication and passes it to the test.
pub struct SmtpSink {
    pub port: u16,
    pub received: mpsc::UnboundedReceiver<ReceivedMail>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP");
        let port = listener.local_addr().expect("SMTP address").port();
        let (sender, received) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sender = sender.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve_smtp(stream, sender).await {
                        eprintln!("SMTP sink connection failed: {e}");
                    }
                });
            }
        });
        Self { port, received }
    }
}

async fn serve_smtp(
    stream: tokio::net::TcpStream,
    sender: mpsc::UnboundedSender<ReceivedMail>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink.test ESMTP\r\n").await?;
    let mut recipients = Vec::new();
    while let Some(line) = lines.next_line().await? {
        let command = line.to_ascii_uppercase();
        if command.starts_with("EHLO") || command.starts_with("HELO") {
            write
                .write_all(b"250-sink.test\r\n250 8BITMIME\r\n")
                .await?;
        } else if command.starts_with("MAIL FROM") {
            write.write_all(b"250 OK\r\n").await?;
        } else if command.starts_with("RCPT TO") {
            recipients.push(line[8..].trim().to_owned());
            write.write_all(b"250 OK\r\n").await?;
        } else if command == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            while let Some(data_line) = lines.next_line().await? {
                if data_line == "." {
                    break;
                }
                data.push_str(&data_line);
                data.push('\n');
            }
            let mail = ReceivedMail {
                recipients: std::mem::take(&mut recipients),
                data,
            };
            let _ = sender.send(mail);
            write.write_all(b"250 queued\r\n").await?;
        } else if command == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else if command == "RSET" || command == "NOOP" {
            write.write_all(b"250 OK\r\n").await?;
        } else {
            write.write_all(b"502 not implemented\r\n").await?;
        }
    }
    Ok(())
}

/// One request an [`SmsGatewaySink`] received.
#[derive(Debug)]
pub struct ReceivedSms {
    pub authorization: Option<String>,
    pub body: Value,
}

/// A minimal HTTP SMS gateway on 127.0.0.1 that responds to every request
/// with `status` and passes it to the test.
pub struct SmsGatewaySink {
    pub url: String,
    pub received: mpsc::UnboundedReceiver<ReceivedSms>,
}

impl SmsGatewaySink {
    pub async fn start(status: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind gateway");
        let port = listener.local_addr().expect("gateway address").port();
        let (sender, received) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sender = sender.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve_http(stream, sender, status).await {
                        eprintln!("SMS gateway sink connection failed: {e}");
                    }
                });
            }
        });
        Self {
            url: format!("http://127.0.0.1:{port}/sms"),
            received,
        }
    }
}

async fn serve_http(
    stream: tokio::net::TcpStream,
    sender: mpsc::UnboundedSender<ReceivedSms>,
    status: u16,
) -> std::io::Result<()> {
    use tokio::io::AsyncReadExt;

    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut authorization = None;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        match name.to_ascii_lowercase().as_str() {
            "authorization" => authorization = Some(value.trim().to_owned()),
            "content-length" => length = value.trim().parse().unwrap_or(0),
            _ => {}
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).await?;
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let _ = sender.send(ReceivedSms {
        authorization,
        body,
    });
    let response =
        format!("HTTP/1.1 {status} Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    write.write_all(response.as_bytes()).await?;
    write.shutdown().await
}
