//! `sharepay mfa totp enroll` and `sharepay login` with a second check, as
//! a user runs them: the real binary against a real server started in this
//! test process, with codes typed on standard input or given by
//! environment variable.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sharepay_server::{RunningServer, ServerConfig};
use totp_rs::Totp;

const PASSWORD: &str = "Copper-Kettle-5519!";
const EMAIL: &str = "cli.mfa@example.org";
/// Subject of the emails that carry login and step-up codes.
const CODE_SUBJECT: &str = "Your SharePay security code";

async fn start_server(dir: &Path) -> RunningServer {
    let mut config = ServerConfig {
        data_dir: dir.to_path_buf(),
        listen: "127.0.0.1:0".parse().expect("loopback address"),
        ..ServerConfig::default()
    };
    config.http.metrics_listen = None;
    config.notifications.poll_interval_ms = 50;
    sharepay_server::start(config)
        .await
        .expect("start the server")
}

/// `sharepay` with the data directory and connection options of one user.
fn sharepay(server: &RunningServer, data_dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sharepay"));
    command
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--server")
        .arg(&server.url)
        .arg("--ca")
        .arg(&server.ca_certificate_path)
        .env_remove("SHAREPAY_PHONE_DIR")
        .env_remove("SHAREPAY_MFA_CODE")
        .env_remove("SHAREPAY_MFA_METHOD")
        .env("SHAREPAY_PASSWORD", PASSWORD);
    for pin in &server.spki_pins {
        command.arg("--pin").arg(pin);
    }
    command
}

/// Runs `command` on a blocking thread, so the server in this process
/// keeps serving, and fails the test on a non-zero exit.
async fn run_ok(mut command: Command) -> String {
    let output: Output = tokio::task::spawn_blocking(move || command.output().expect("run"))
        .await
        .expect("the command thread");
    assert!(
        output.status.success(),
        "sharepay failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Waits for code email number `index` (from 0) to [`EMAIL`] and returns
/// its six-digit code.
fn wait_for_emailed_code(mailbox: &Path, index: usize) -> String {
    for _ in 0..200 {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(mailbox)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
                    .collect()
            })
            .unwrap_or_default();
        paths.sort();
        let to = format!("To: {EMAIL}");
        let messages: Vec<String> = paths
            .iter()
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .filter(|text| text.lines().any(|line| line == to) && text.contains(CODE_SUBJECT))
            .collect();
        if let Some(message) = messages.get(index) {
            let body = message
                .split_once("\n\n")
                .map_or(message.as_str(), |(_, body)| body);
            return body
                .split(|c: char| !c.is_ascii_digit())
                .find(|run| run.len() == 6)
                .expect("a six-digit code")
                .to_owned();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "no code email number {} in {}",
        index + 1,
        mailbox.display()
    );
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Runs `sharepay mfa totp enroll` as a user would: types the emailed
/// step-up code, reads the printed secret, and types the first TOTP code.
/// Returns the output and the secret's generator.
fn enroll_interactively(mut command: Command, mailbox: &Path) -> (String, Totp) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sharepay");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));

    let step_up_code = wait_for_emailed_code(mailbox, 0);
    writeln!(stdin, "{step_up_code}").expect("type the step-up code");

    let mut printed = String::new();
    let uri = loop {
        let mut line = String::new();
        let read = stdout.read_line(&mut line).expect("read output");
        assert!(read > 0, "the output ended before the URI: {printed}");
        printed.push_str(&line);
        if let Some(uri) = line.trim().strip_prefix("otpauth URI: ") {
            break uri.to_owned();
        }
    };
    let totp = Totp::from_url(&uri).expect("otpauth URI");
    writeln!(stdin, "{}", totp.generate(unix_now())).expect("type the TOTP code");
    drop(stdin);

    stdout
        .read_to_string(&mut printed)
        .expect("read the rest of the output");
    let output = child.wait_with_output().expect("wait for sharepay");
    assert!(
        output.status.success(),
        "enroll failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (printed, totp)
}

/// Checks that the phone folder is 0700 and every file in it, and the QR
/// code, 0600.
#[cfg(unix)]
fn assert_private_modes(phone: &Path, qr_png: &Path) {
    use std::os::unix::fs::PermissionsExt;

    let mode = |path: &Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(phone), 0o700, "phone folder");
    assert_eq!(mode(qr_png), 0o600, "QR code");
    for entry in std::fs::read_dir(phone).expect("list the phone folder") {
        let path = entry.expect("entry").path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_enroll_login_and_step_up() {
    let root = tempfile::tempdir().expect("temp dir");
    let server_dir = root.path().join("server");
    let server = start_server(&server_dir).await;
    let phone = root.path().join("phone");

    let output = run_ok(sharepay(
        &server,
        &phone,
        &["login", "--register", "--email", EMAIL],
    ))
    .await;
    assert!(
        output.contains(&format!("logged in as {EMAIL}")),
        "{output}"
    );

    let qr_png = root.path().join("totp-qr.png");
    let command = sharepay(
        &server,
        &phone,
        &[
            "mfa",
            "totp",
            "enroll",
            "--qr-png",
            qr_png.to_str().expect("UTF-8 path"),
        ],
    );
    let mailbox = server_dir.join("mailbox");
    let (enrolled, totp) =
        tokio::task::spawn_blocking(move || enroll_interactively(command, &mailbox))
            .await
            .expect("the enroll thread");
    assert!(enrolled.contains("secret: "), "{enrolled}");
    assert!(enrolled.contains("TOTP is enabled"), "{enrolled}");
    assert!(enrolled.contains("10 recovery codes"), "{enrolled}");
    let png = std::fs::read(&qr_png).expect("read the QR code");
    assert!(png.starts_with(b"\x89PNG"), "the QR code is a PNG file");
    #[cfg(unix)]
    assert_private_modes(&phone, &qr_png);

    run_ok(sharepay(&server, &phone, &["logout"])).await;
    let mut login = sharepay(&server, &phone, &["login", "--email", EMAIL]);
    // The next step's code: within the one-step skew and not yet used.
    login.env("SHAREPAY_MFA_METHOD", "totp").env(
        "SHAREPAY_MFA_CODE",
        totp.generate(unix_now() + 30).to_string(),
    );
    let output = run_ok(login).await;
    assert!(
        output.contains(&format!("logged in as {EMAIL}")),
        "{output}"
    );

    let listed = run_ok(sharepay(&server, &phone, &["mfa", "list"])).await;
    assert!(listed.contains("totp: enabled"), "{listed}");
    assert!(listed.contains("recovery codes left: 10"), "{listed}");

    let recovery_code = enrolled
        .lines()
        .skip_while(|line| !line.contains("10 recovery codes"))
        .nth(1)
        .expect("a recovery code after the heading")
        .trim()
        .to_owned();
    let mut step_up = sharepay(
        &server,
        &phone,
        &["mfa", "step-up", "--method", "recovery_code"],
    );
    step_up.env("SHAREPAY_MFA_CODE", &recovery_code);
    run_ok(step_up).await;
    let listed = run_ok(sharepay(&server, &phone, &["mfa", "list"])).await;
    assert!(listed.contains("recovery codes left: 9"), "{listed}");

    let renewed = run_ok(sharepay(&server, &phone, &["mfa", "recovery-codes"])).await;
    assert!(renewed.contains("10 recovery codes"), "{renewed}");
    assert!(!renewed.contains(&recovery_code), "{renewed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_rejects_unoffered_method() {
    let root = tempfile::tempdir().expect("temp dir");
    let server = start_server(&root.path().join("server")).await;
    run_ok(sharepay(
        &server,
        &root.path().join("first-phone"),
        &["login", "--register", "--email", EMAIL],
    ))
    .await;

    // A second phone is an unknown device, so the login needs an emailed
    // code, and TOTP is not enrolled.
    let mut login = sharepay(
        &server,
        &root.path().join("second-phone"),
        &["login", "--email", EMAIL, "--mfa-method", "totp"],
    );
    let output = tokio::task::spawn_blocking(move || login.output().expect("run"))
        .await
        .expect("the command thread");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "login passed: {stderr}");
    assert!(stderr.contains("\"totp\" is not available"), "{stderr}");
    assert!(stderr.contains("email_code"), "{stderr}");
}
