//! The server-facing commands of `sharepay` as a user runs them: the real
//! binary against a real server started in this test process, with a
//! primary payer and a meter reader in separate data directories.

mod common;

use common::{User, connection_args, start_server, word_after};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn household_meter_and_sync_commands() {
    let root = tempfile::tempdir().expect("temp dir");
    let server = start_server(&root.path().join("server"), |_| {}).await;
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

    // A reading for a meter the reader is not assigned to is rejected on
    // the first sync, and the list shows it with the server's reason.
    let output = payer
        .ok(&["meter", "add", &household_id, "--serial", "MH-2"])
        .await;
    let other_meter_id = word_after(&output, "added meter ");
    reader
        .ok(&[
            "reading",
            "submit",
            &other_meter_id,
            "2.5",
            "--time",
            "2011-11-26T08:00:00Z",
        ])
        .await;
    let output = reader.ok(&["sync"]).await;
    assert!(output.contains("rejected 1, still queued 0"), "{output}");
    let listed = reader.ok(&["reading", "list"]).await;
    assert!(
        listed.contains("rejected: register 2.5 at 2011-11-26T08:00:00Z: no such resource"),
        "{listed}"
    );

    let output = reader
        .run(&[
            "card",
            "add",
            "--expiry-month",
            "12",
            "--expiry-year",
            "2030",
            "--name",
            "R Reader",
        ])
        .await;
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("no card vault is configured"), "{message}");
    assert!(message.contains("--vault-ca"), "{message}");
    assert!(!message.contains("ClientConfig"), "{message}");

    let sessions = reader.ok(&["sessions", "list"]).await;
    assert!(sessions.starts_with("1 session\n"), "{sessions}");
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
