//! The server-facing commands of `sharepay` as a user runs them: the real
//! binary against a real server started in this test process, with a
//! primary payer and a meter reader in separate data directories.

use std::path::Path;
use std::process::Output;

use sharepay_server::{RunningServer, ServerConfig};

const PASSWORD: &str = "Copper-Kettle-5519!";

struct User<'a> {
    data_dir: &'a Path,
    connection: Vec<String>,
}

impl User<'_> {
    /// Runs `sharepay` with this user's data directory, on a blocking
    /// thread so the server in this process keeps serving.
    async fn run(&self, args: &[&str]) -> Output {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_sharepay"));
        command
            .args(args)
            .arg("--data-dir")
            .arg(self.data_dir)
            .env_remove("SHAREPAY_PHONE_DIR")
            .env("SHAREPAY_PASSWORD", PASSWORD);
        tokio::task::spawn_blocking(move || command.output().expect("run sharepay"))
            .await
            .expect("the command thread")
    }

    /// Runs `sharepay` and returns its standard output, failing the test on
    /// a non-zero exit.
    async fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args).await;
        assert!(
            output.status.success(),
            "sharepay {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    async fn login(&self, email: &str) -> String {
        let mut args = vec!["login", "--register", "--email", email];
        args.extend(self.connection.iter().map(String::as_str));
        self.ok(&args).await
    }
}

async fn start_server(dir: &Path) -> RunningServer {
    let mut config = ServerConfig {
        data_dir: dir.to_path_buf(),
        listen: "127.0.0.1:0".parse().expect("loopback address"),
        ..ServerConfig::default()
    };
    config.http.metrics_listen = None;
    sharepay_server::start(config)
        .await
        .expect("start the server")
}

fn connection_args(server: &RunningServer) -> Vec<String> {
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

/// Returns the word after `prefix` in `text`.
fn word_after(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix:?} not in {text}"))
        + prefix.len();
    text[start..]
        .split_whitespace()
        .next()
        .expect("a word")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn household_meter_and_sync_commands() {
    let root = tempfile::tempdir().expect("temp dir");
    let server = start_server(&root.path().join("server")).await;
    let payer = User {
        data_dir: &root.path().join("payer"),
        connection: connection_args(&server),
    };
    let reader = User {
        data_dir: &root.path().join("reader"),
        connection: connection_args(&server),
    };

    let output = payer.login("cli.payer@example.org").await;
    assert!(
        output.contains("logged in as cli.payer@example.org"),
        "{output}"
    );
    reader.login("cli.reader@example.org").await;

    let output = payer.ok(&["household", "create", "Mill House"]).await;
    let household_id = word_after(&output, "created household ");
    let output = payer
        .ok(&[
            "household",
            "invite",
            &household_id,
            "--role",
            "meter_reader",
        ])
        .await;
    let code = word_after(&output, "invitation code ");
    let output = reader.ok(&["household", "accept", &code]).await;
    assert!(output.contains("as meter_reader"), "{output}");
    let members = payer.ok(&["household", "members", &household_id]).await;
    assert!(members.starts_with("2 members"), "{members}");
    let reader_line = members
        .lines()
        .find(|line| line.contains("meter_reader"))
        .expect("the reader is listed");
    let reader_id = reader_line
        .trim()
        .split(':')
        .next()
        .expect("user id")
        .to_owned();

    let output = payer
        .ok(&["meter", "add", &household_id, "--serial", "MH-1"])
        .await;
    let meter_id = word_after(&output, "added meter ");
    payer.ok(&["meter", "assign", &meter_id, &reader_id]).await;
    let meters = reader.ok(&["meter", "list", &household_id]).await;
    assert!(meters.contains(&meter_id), "{meters}");

    // Three hourly rows give four register readings (the importer starts
    // with a zero reading an hour before the first row). Imported twice,
    // they reach the server once.
    let file = root.path().join("three-hours.csv");
    std::fs::write(
        &file,
        "DateTime,Consumption kWh,Off-peak,Mid-peak,On-peak\n\
         11/25/2011 01:00:00,0.39,1,0,0\n\
         11/25/2011 02:00:00,0.33,1,0,0\n\
         11/25/2011 03:00:00,0.27,1,0,0\n",
    )
    .expect("write the data file");
    let file = file.to_str().expect("UTF-8 path");
    reader
        .ok(&["reading", "import", file, "--meter", &meter_id])
        .await;
    let output = reader.ok(&["sync"]).await;
    assert!(output.contains("rejected 0, still queued 0"), "{output}");
    assert!(output.contains("sync: accepted 4"), "{output}");
    let output = reader
        .ok(&["reading", "import", file, "--meter", &meter_id])
        .await;
    assert!(output.contains("queued 0 readings"), "{output}");
    assert!(output.contains("(4 already in the outbox)"), "{output}");
    let output = reader.ok(&["sync"]).await;
    assert!(output.contains("sync: accepted 0"), "{output}");

    let output = reader
        .ok(&[
            "reading",
            "submit",
            &meter_id,
            "1.5",
            "--time",
            "2011-11-26T08:00:00Z",
        ])
        .await;
    assert!(output.contains("queued reading 1.5"), "{output}");
    let output = reader.ok(&["sync"]).await;
    assert!(output.contains("still queued 0"), "{output}");
    let listed = reader.ok(&["reading", "list"]).await;
    assert!(listed.contains("queued 0"), "{listed}");

    let sessions = reader.ok(&["sessions", "list"]).await;
    assert!(sessions.starts_with("1 sessions"), "{sessions}");
    assert!(sessions.contains("(this device)"), "{sessions}");
    let output = reader.ok(&["sessions", "end-others"]).await;
    assert!(output.contains("ended 0 other sessions"), "{output}");

    let output = reader.ok(&["logout"]).await;
    assert!(
        output.contains("the session ended on the server"),
        "{output}"
    );
    let output = reader.run(&["household", "list"]).await;
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("log in"), "{message}");

    server.shutdown().await;
}

#[tokio::test]
async fn missing_profile_names_the_fix() {
    let dir = tempfile::tempdir().expect("temp dir");
    let user = User {
        data_dir: dir.path(),
        connection: Vec::new(),
    };

    let output = user.run(&["household", "list"]).await;

    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("no server profile"), "{message}");
    assert!(message.contains("sharepay login --server URL"), "{message}");
}
