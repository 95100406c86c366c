//! Log lines of the real binary: on standard error, without ANSI colours
//! when piped, and without the embedded server's warnings by default.

use std::process::{Command, Output};

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn piped_log_lines_have_no_colours() {
    let output = Command::new(env!("CARGO_BIN_EXE_sharepay"))
        .args(["demo"])
        .env("RUST_LOG", "info")
        .output()
        .expect("run sharepay demo");

    assert!(output.status.success(), "{}", stderr(&output));
    let log = stderr(&output);
    assert!(
        log.contains(" INFO "),
        "the demo server logs at info: {log}"
    );
    assert!(!log.contains('\u{1b}'), "ANSI escape on stderr: {log}");
    assert!(!stdout(&output).contains('\u{1b}'), "ANSI escape on stdout");
}

#[test]
fn default_log_filter_hides_server_warnings() {
    let output = Command::new(env!("CARGO_BIN_EXE_sharepay"))
        .args(["demo"])
        .env_remove("RUST_LOG")
        .output()
        .expect("run sharepay demo");

    assert!(output.status.success(), "{}", stderr(&output));
    let log = stderr(&output);
    assert!(!log.contains("sharepay_server"), "{log}");
}
