//! `sharepay reading import` and `list` as a user runs them: the real
//! binary, the real data files and a real SQLCipher store in a temporary
//! folder.

use std::path::Path;
use std::process::{Command, Output};

fn sharepay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sharepay"))
        .args(args)
        .env_remove("SHAREPAY_PHONE_DIR")
        .output()
        .expect("run sharepay")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const HOME: &str = "01890a5d-ac96-774b-bcce-b302099a8057";
const LYON: &str = "01890a5d-ac96-774b-bcce-b302099a8101,01890a5d-ac96-774b-bcce-b302099a8102,\
                    01890a5d-ac96-774b-bcce-b302099a8103,01890a5d-ac96-774b-bcce-b302099a8104";

/// Runs `sharepay reading import SOURCE --meter METERS --data-dir DATA_DIR`.
fn import(source: &str, meters: &str, data_dir: &str) -> Output {
    sharepay(&[
        "reading",
        "import",
        source,
        "--meter",
        meters,
        "--data-dir",
        data_dir,
    ])
}

fn list(data_dir: &Path) -> String {
    let output = sharepay(&[
        "reading",
        "list",
        "--data-dir",
        data_dir.to_str().expect("UTF-8 path"),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output)
}

#[test]
fn import_queues_hourly_file() {
    let dir = tempfile::tempdir().expect("dir");
    let data_dir = dir.path().to_str().expect("UTF-8 path");
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/electricity-usage-hourly.csv"
    );

    let output = import(file, HOME, data_dir);

    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("queued 2713 readings"),
        "{}",
        stdout(&output)
    );
    let listed = list(dir.path());
    assert!(listed.contains("2713 readings in the outbox"), "{listed}");
    assert!(
        listed.contains(&format!("{HOME}: queued 2713, accepted 0")),
        "{listed}"
    );
    assert!(listed.contains("latest register 1209.420"), "{listed}");
}

/// `sharepay reading list | head -0` closes the pipe before the first
/// line: the command still succeeds, prints no panic, and the store stays
/// readable.
#[test]
fn closed_stdout_is_not_a_failure() {
    let dir = tempfile::tempdir().expect("dir");
    let data_dir = dir.path().to_str().expect("UTF-8 path");
    let imported = import("builtin:hourly", HOME, data_dir);
    assert!(imported.status.success(), "{}", stderr(&imported));

    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let output = Command::new(env!("CARGO_BIN_EXE_sharepay"))
        .args(["reading", "list", "--data-dir", data_dir])
        .env_remove("SHAREPAY_PHONE_DIR")
        .stdout(writer)
        .output()
        .expect("run sharepay");

    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
    let listed = list(dir.path());
    assert!(listed.contains("2713 readings in the outbox"), "{listed}");
}

#[test]
fn import_twice_queues_once() {
    let dir = tempfile::tempdir().expect("dir");
    let data_dir = dir.path().to_str().expect("UTF-8 path");
    let import_minutely = || import("builtin:minutely", LYON, data_dir);

    let first = import_minutely();
    assert!(first.status.success(), "{}", stderr(&first));
    let second = import_minutely();

    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stdout(&second).contains("queued 0 readings"),
        "{}",
        stdout(&second)
    );
    assert!(
        stdout(&second).contains("(11524 already in the outbox)"),
        "{}",
        stdout(&second)
    );
    let listed = list(dir.path());
    assert!(listed.contains("11524 readings in the outbox"), "{listed}");
    assert!(
        listed.contains("01890a5d-ac96-774b-bcce-b302099a8101: queued 2881, accepted 0"),
        "{listed}"
    );
}

#[test]
fn import_splits_minutely_file() {
    let dir = tempfile::tempdir().expect("dir");
    let data_dir = dir.path().to_str().expect("UTF-8 path");

    let output = sharepay(&[
        "reading",
        "import",
        "builtin:minutely",
        "--meter",
        "01890a5d-ac96-774b-bcce-b302099a8201, 01890a5d-ac96-774b-bcce-b302099a8202,\
         01890a5d-ac96-774b-bcce-b302099a8203,01890a5d-ac96-774b-bcce-b302099a8204",
        "--data-dir",
        data_dir,
    ]);

    assert!(output.status.success(), "{}", stderr(&output));
    let listed = list(dir.path());
    for (meter, latest) in [
        ("01890a5d-ac96-774b-bcce-b302099a8201", "1.170"),
        ("01890a5d-ac96-774b-bcce-b302099a8202", "0.742"),
        ("01890a5d-ac96-774b-bcce-b302099a8203", "24.483"),
        ("01890a5d-ac96-774b-bcce-b302099a8204", "31.813"),
    ] {
        assert!(
            listed.contains(&format!(
                "{meter}: queued 2881, accepted 0, flagged 0, rejected 0, latest register {latest}"
            )),
            "{meter}: {listed}"
        );
    }
}

#[test]
fn import_error_queues_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let data_dir = dir.path().to_str().expect("UTF-8 path");
    let first = import("builtin:hourly", HOME, data_dir);
    assert!(first.status.success(), "{}", stderr(&first));
    let broken = dir.path().join("broken.csv");
    let mut text = include_str!("../data/electricity-usage-hourly.csv").to_owned();
    text.push_str("\r\n03/17/2012 02:00:00,0.3x,1,0,0");
    std::fs::write(&broken, text).expect("write broken file");

    let output = import(broken.to_str().expect("UTF-8"), HOME, data_dir);

    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("broken.csv:2714:2: "), "{message}");
    assert!(message.contains("\"0.3x\""), "{message}");
    assert!(
        list(dir.path()).contains("2713 readings in the outbox"),
        "nothing added"
    );
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        vec!["--help"],
        vec!["demo", "--help"],
        vec!["reading", "--help"],
        vec!["reading", "import", "--help"],
        vec!["reading", "list", "--help"],
        vec!["reading", "submit", "--help"],
        vec!["login", "--help"],
        vec!["logout", "--help"],
        vec!["household", "--help"],
        vec!["household", "invite", "--help"],
        vec!["meter", "add", "--help"],
        vec!["sync", "--help"],
        vec!["sessions", "--help"],
        vec!["sessions", "end-others", "--help"],
    ] {
        let output = sharepay(&args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        assert!(stdout(&output).contains("Usage:"), "{args:?}");
    }
}

#[test]
fn invalid_offset_is_rejected() {
    let dir = tempfile::tempdir().expect("dir");
    let data_dir = dir.path().to_str().expect("UTF-8 path");

    let output = sharepay(&[
        "reading",
        "import",
        "builtin:hourly",
        "--meter",
        HOME,
        "--utc-offset",
        "EST",
        "--data-dir",
        data_dir,
    ]);

    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("\"EST\" is not a UTC offset"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn import_rejects_malformed_meter_id() {
    let dir = tempfile::tempdir().expect("dir");
    let data_dir = dir.path().to_str().expect("UTF-8 path");

    let output = sharepay(&[
        "reading",
        "import",
        "builtin:hourly",
        "--meter",
        "home",
        "--data-dir",
        data_dir,
    ]);

    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("--meter: \"home\" is not a meter id"),
        "{message}"
    );
    assert!(message.contains("sharepay meter list"), "{message}");
    assert!(list(dir.path()).contains("0 readings in the outbox"));
}

#[test]
fn import_needs_meter_per_series() {
    let dir = tempfile::tempdir().expect("dir");
    let data_dir = dir.path().to_str().expect("UTF-8 path");

    let missing = sharepay(&[
        "reading",
        "import",
        "builtin:hourly",
        "--data-dir",
        data_dir,
    ]);
    let too_few = import("builtin:minutely", HOME, data_dir);

    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("--meter is missing"),
        "{}",
        stderr(&missing)
    );
    assert!(!too_few.status.success());
    assert!(
        stderr(&too_few).contains("has 4 meters, so give 4 meter ids"),
        "{}",
        stderr(&too_few)
    );
}

#[test]
fn submit_rejects_malformed_meter_id() {
    let dir = tempfile::tempdir().expect("dir");
    let data_dir = dir.path().to_str().expect("UTF-8 path");

    let output = sharepay(&["reading", "submit", "home", "12.5", "--data-dir", data_dir]);

    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("METER_ID: \"home\" is not a meter id"),
        "{message}"
    );
}
