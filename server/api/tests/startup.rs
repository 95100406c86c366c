//! The `sharepay-server` binary at start-up: zero configuration, the
//! generated operator secret, configuration errors that name the key, and
//! a wrong operator secret that changes nothing.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Starts the binary in `cwd` with only `env` set among SHAREPAY_*
/// variables.
fn server_command(cwd: &Path, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sharepay-server"));
    command.current_dir(cwd);
    for (name, _) in std::env::vars() {
        if name.starts_with("SHAREPAY_") {
            command.env_remove(name);
        }
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// Starts the server with `env` and stdout piped, for [`start_lines`].
fn spawn_server(cwd: &Path, env: &[(&str, &str)]) -> Child {
    server_command(cwd, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server")
}

/// Reads stdout until the server has printed its four start lines, then
/// stops it and returns them.
fn start_lines(child: Child) -> Vec<String> {
    first_lines(child, 4)
}

/// Reads the first `count` lines of stdout, then stops the process and
/// returns them.
fn first_lines(mut child: Child, count: usize) -> Vec<String> {
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read a line");
        lines.push(line);
        if lines.len() == count {
            break;
        }
    }
    child.kill().expect("stop the server");
    child.wait().expect("wait for the server");
    lines
}

#[test]
fn prints_embedded_vault_lines_last() {
    let cwd = tempfile::tempdir().expect("temp dir");
    let child = spawn_server(cwd.path(), &[("SHAREPAY_LISTEN", "127.0.0.1:0")]);

    let lines = first_lines(child, 8);

    assert_eq!(lines.len(), 8, "{lines:?}");
    assert!(lines[0].starts_with("listening: "), "{lines:?}");
    assert!(
        lines[4].starts_with("vault-listening: https://127.0.0.1:"),
        "{lines:?}"
    );
    assert!(lines[5].starts_with("vault-ca-certificate: "), "{lines:?}");
    assert!(lines[6].starts_with("vault-spki-pin-sha256: "), "{lines:?}");
    assert!(lines[7].starts_with("vault-spki-pin-sha256: "), "{lines:?}");
}

#[test]
fn vault_subcommand_serves_mtls_listener() {
    let cwd = tempfile::tempdir().expect("temp dir");
    let env = [("SHAREPAY_LISTEN", "127.0.0.1:0")];
    start_lines(spawn_server(cwd.path(), &env));

    let child = server_command(cwd.path(), &env)
        .args([
            "vault",
            "--phone-listen",
            "127.0.0.1:0",
            "--api-listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the vault");
    let lines = first_lines(child, 5);

    assert_eq!(lines.len(), 5, "{lines:?}");
    assert!(lines[0].starts_with("vault-listening: "), "{lines:?}");
    assert!(lines[1].starts_with("vault-api-listening: "), "{lines:?}");
    assert!(lines[2].starts_with("vault-ca-certificate: "), "{lines:?}");
    let vault_dir = cwd.path().join("sharepay-data").join("vault");
    assert!(vault_dir.join("vault.db").exists());
}

#[test]
fn starts_with_no_configuration() {
    let cwd = tempfile::tempdir().expect("temp dir");
    let child = spawn_server(cwd.path(), &[("SHAREPAY_LISTEN", "127.0.0.1:0")]);

    let lines = start_lines(child);

    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(
        lines[0].starts_with("listening: https://127.0.0.1:"),
        "{lines:?}"
    );
    assert!(lines[1].starts_with("ca-certificate: "), "{lines:?}");
    assert!(lines[2].starts_with("spki-pin-sha256: "), "{lines:?}");
    assert!(lines[3].starts_with("spki-pin-sha256: "), "{lines:?}");
    let data = cwd.path().join("sharepay-data");
    assert!(data.join("keyring.json").exists());
    assert!(data.join("sharepay.db").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("operator-secret"))
            .expect("the generated operator secret")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn wrong_operator_secret_fails_cleanly() {
    let cwd = tempfile::tempdir().expect("temp dir");
    let first = spawn_server(
        cwd.path(),
        &[
            ("SHAREPAY_LISTEN", "127.0.0.1:0"),
            ("SHAREPAY_OPERATOR_SECRET", "the-first-operator-secret"),
        ],
    );
    assert_eq!(start_lines(first).len(), 4);
    let keyring = cwd.path().join("sharepay-data").join("keyring.json");
    let before = std::fs::read(&keyring).expect("read keyring");

    let second = server_command(
        cwd.path(),
        &[
            ("SHAREPAY_LISTEN", "127.0.0.1:0"),
            ("SHAREPAY_OPERATOR_SECRET", "a-different-operator-secret"),
        ],
    )
    .output()
    .expect("run");

    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success());
    assert!(stderr.contains("does not open the keyring"), "{stderr}");
    assert_eq!(before, std::fs::read(&keyring).expect("read keyring"));
}

#[test]
fn invalid_setting_names_key() {
    let cwd = tempfile::tempdir().expect("temp dir");

    let output = server_command(cwd.path(), &[("SHAREPAY_DATABASE_POOL_SIZE", "0")])
        .output()
        .expect("run");

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("database_pool_size"), "{stderr}");
    assert!(stderr.contains("SHAREPAY_DATABASE_POOL_SIZE"), "{stderr}");
    assert!(
        !cwd.path().join("sharepay-data").exists(),
        "nothing may be created"
    );
}

#[test]
fn config_file_sets_values() {
    let cwd = tempfile::tempdir().expect("temp dir");
    let config = cwd.path().join("server.toml");
    std::fs::write(
        &config,
        "data_dir = \"from-file\"\nlisten = \"127.0.0.1:0\"\n",
    )
    .expect("write config");
    let config_text = config.display().to_string();

    let child = spawn_server(cwd.path(), &[("SHAREPAY_CONFIG", &config_text)]);
    let lines = start_lines(child);

    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(cwd.path().join("from-file").join("keyring.json").exists());
    assert!(!cwd.path().join("sharepay-data").exists());
}

#[test]
fn audit_verify_needs_existing_data() {
    let cwd = tempfile::tempdir().expect("temp dir");

    let output = server_command(cwd.path(), &[])
        .args(["audit", "verify"])
        .output()
        .expect("run");

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        !cwd.path().join("sharepay-data").exists(),
        "verify must create nothing"
    );
}

#[test]
fn deleted_database_is_not_recreated() {
    let cwd = tempfile::tempdir().expect("temp dir");
    let first = spawn_server(cwd.path(), &[("SHAREPAY_LISTEN", "127.0.0.1:0")]);
    assert_eq!(start_lines(first).len(), 4);
    let data = cwd.path().join("sharepay-data");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(data.join(format!("sharepay.db{suffix}")));
    }

    let second = server_command(cwd.path(), &[("SHAREPAY_LISTEN", "127.0.0.1:0")])
        .output()
        .expect("run");

    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        !second.status.success(),
        "the server started without its database"
    );
    assert!(stderr.contains("is missing, but its keyring"), "{stderr}");
    assert!(
        !data.join("sharepay.db").exists(),
        "a new database was created"
    );
}

#[test]
fn emptied_database_is_not_replaced() {
    let cwd = tempfile::tempdir().expect("temp dir");
    let first = spawn_server(cwd.path(), &[("SHAREPAY_LISTEN", "127.0.0.1:0")]);
    assert_eq!(start_lines(first).len(), 4);
    let data = cwd.path().join("sharepay-data");
    std::fs::write(data.join("sharepay.db"), b"").expect("empty the database");
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(data.join(format!("sharepay.db{suffix}")));
    }

    let second = server_command(cwd.path(), &[("SHAREPAY_LISTEN", "127.0.0.1:0")])
        .output()
        .expect("run");

    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        !second.status.success(),
        "the server started on an empty database"
    );
    assert!(stderr.contains("is empty, but its keyring"), "{stderr}");
}

#[test]
fn restart_keeps_serving_same_data() {
    let cwd = tempfile::tempdir().expect("temp dir");
    let first = spawn_server(cwd.path(), &[("SHAREPAY_LISTEN", "127.0.0.1:0")]);
    assert_eq!(start_lines(first).len(), 4);

    let second = spawn_server(cwd.path(), &[("SHAREPAY_LISTEN", "127.0.0.1:0")]);
    assert_eq!(
        start_lines(second).len(),
        4,
        "a killed server must start again"
    );
}

#[test]
fn interrupt_during_start_stops_server() {
    let cwd = tempfile::tempdir().expect("temp dir");
    let mut child = spawn_server(cwd.path(), &[("SHAREPAY_LISTEN", "127.0.0.1:0")]);
    std::thread::sleep(std::time::Duration::from_millis(50));

    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if child.try_wait().expect("poll the server").is_some() {
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server kept running after SIGINT during start-up");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn port_in_use_names_the_fix() {
    let cwd = tempfile::tempdir().expect("temp dir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let address = taken.local_addr().expect("address").to_string();

    let output = server_command(cwd.path(), &[("SHAREPAY_LISTEN", &address)])
        .output()
        .expect("run");

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("cannot listen on {address}")),
        "{stderr}"
    );
    assert!(
        stderr.contains("choose another address with --listen"),
        "{stderr}"
    );
}

#[test]
fn second_server_on_same_data_directory_is_refused() {
    let cwd = tempfile::tempdir().expect("temp dir");
    let mut first = spawn_server(cwd.path(), &[("SHAREPAY_LISTEN", "127.0.0.1:0")]);
    let stdout = first.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    for _ in 0..4 {
        lines.next().expect("a start line").expect("read a line");
    }

    let output = server_command(cwd.path(), &[("SHAREPAY_LISTEN", "127.0.0.1:0")])
        .output()
        .expect("run a second server");
    first.kill().expect("stop the first server");
    first.wait().expect("wait for the first server");

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the second server started");
    assert!(
        stderr.contains("another sharepay-server is already using the data directory"),
        "{stderr}"
    );
}

#[test]
fn data_directory_and_database_are_private() {
    use std::os::unix::fs::PermissionsExt;

    let cwd = tempfile::tempdir().expect("temp dir");
    let child = spawn_server(cwd.path(), &[("SHAREPAY_LISTEN", "127.0.0.1:0")]);
    assert_eq!(start_lines(child).len(), 4);

    let data_dir = std::fs::read_dir(cwd.path())
        .expect("list the working directory")
        .map(|entry| entry.expect("an entry").path())
        .find(|path| path.join("sharepay.db").exists())
        .expect("a data directory with a database");
    let mode = |path: &Path| {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&data_dir), 0o700, "{}", data_dir.display());
    assert_eq!(mode(&data_dir.join("sharepay.db")), 0o600);
}
