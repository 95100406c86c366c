//! Helpers of the `sharepay` command tests: a user who runs the real
//! binary with their own data directory, and a server started in the test
//! process.

#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use sharepay_server::{RunningServer, ServerConfig};

pub const PASSWORD: &str = "Copper-Kettle-5519!";

pub struct User<'a> {
    pub data_dir: &'a Path,
    pub connection: Vec<String>,
}

impl User<'_> {
    /// Runs `sharepay` with this user's data directory and `stdin` as its
    /// standard input, on a blocking thread so the server keeps serving.
    pub async fn run_with_input(&self, args: &[&str], stdin: &str) -> Output {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_sharepay"));
        command
            .args(args)
            .arg("--data-dir")
            .arg(self.data_dir)
            .env_remove("SHAREPAY_PHONE_DIR")
            .env("SHAREPAY_PASSWORD", PASSWORD)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let stdin = stdin.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut child = command.spawn().expect("start sharepay");
            child
                .stdin
                .take()
                .expect("piped stdin")
                .write_all(stdin.as_bytes())
                .expect("write stdin");
            child.wait_with_output().expect("wait for sharepay")
        })
        .await
        .expect("the command thread")
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        self.run_with_input(args, "").await
    }

    /// Runs `sharepay` and returns its standard output, failing the test on
    /// a non-zero exit.
    pub async fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args).await;
        assert!(
            output.status.success(),
            "sharepay {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs `sharepay`, expects a non-zero exit, and returns its standard
    /// error.
    pub async fn fails(&self, args: &[&str], stdin: &str) -> String {
        let output = self.run_with_input(args, stdin).await;
        assert!(
            !output.status.success(),
            "sharepay {args:?} succeeded: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    pub async fn login(&self, email: &str) -> String {
        let mut args = vec!["login", "--register", "--email", email];
        args.extend(self.connection.iter().map(String::as_str));
        self.ok(&args).await
    }
}

/// Starts a server on a loopback port in `dir`, with its configuration
/// changed by `adjust` first.
pub async fn start_server(dir: &Path, adjust: impl FnOnce(&mut ServerConfig)) -> RunningServer {
    let mut config = ServerConfig {
        data_dir: dir.to_path_buf(),
        listen: "127.0.0.1:0".parse().expect("loopback address"),
        ..ServerConfig::default()
    };
    config.http.metrics_listen = None;
    adjust(&mut config);
    sharepay_server::start(config)
        .await
        .expect("start the server")
}

/// Returns the word after `prefix` in `text`.
pub fn word_after(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix:?} not in {text}"))
        + prefix.len();
    text[start..]
        .split_whitespace()
        .next()
        .expect("a word")
        .trim_end_matches([':', ','])
        .to_owned()
}

/// Returns the options that connect to `server`'s API.
pub fn connection_args(server: &RunningServer) -> Vec<String> {
    let mut args = vec![
        "--server".to_owned(),
        server.url.clone(),
        "--ca".to_owned(),
        server.ca_certificate_path.display().to_string(),
    ];
    for pin in &server.spki_pins {
        args.push("--pin".to_owned());
        args.push(pin.clone());
    }
    args
}
