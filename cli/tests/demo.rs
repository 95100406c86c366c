//! `sharepay demo` as a user runs it: the built binary, with its temporary
//! files in a fresh folder of this test.

use std::process::Output;

/// Lines the demo must print, in this order, one per step or outcome.
const EXPECTED_LINES: [&str; 26] = [
    "==> Starting the SharePay server in this process",
    "==> Step 1: the primary payer signs up with TOTP MFA and creates the household",
    "TOTP enabled: the authenticator computed the first code from the secret",
    "second check passed with a TOTP code; signed in with MFA",
    "meter PAR-SUB-3-HEATING (Unit 3: water heater and air conditioner): 4 digits",
    "==> Step 1: the primary payer invites one participant per unit and a meter reader",
    "meter reader meter.reader@example.org assigned to all 4 meters",
    "==> Step 2: the meter reader, offline, queues the readings of the minutely file",
    "sync failed as expected: nothing sent, 69 readings still queued",
    "==> Step 2: the meter reader is back online and syncs",
    "sync finished: 67 accepted, 1 flagged for review, 1 rejected, 0 still queued",
    "rejected: PAR-SUB-1-KITCHEN at 2007-02-01T11:30:00Z, 413.170 kWh",
    "flagged: PAR-SUB-3-HEATING at",
    "==> Step 3: the primary payer enters the electricity bill, reads the split and approves it",
    "standing charge €1.20",
    "Unit 1: kitchen (1.17 kWh): €0.81. Standing charge €1.20 shared equally by 3 members",
    "Unit 3: water heater and air conditioner (13.301 kWh): €5.07.",
    "the primary payer approved the split: it is frozen",
    "==> Step 4: the participants save cards at the vault and pay their shares",
    "participant of unit 1 paid €0.81",
    "participant of unit 2 paid €0.54",
    "the payment was declined: the card was declined (insufficient_funds)",
    "participant of unit 3 paid €5.07",
    "==> Step 5: the statements show every participant's balance settled",
    "every participant's balance is settled, and their payments of €6.42 cover",
    "==> Demo finished: every step succeeded",
];

fn run_demo(temp_dir: &std::path::Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sharepay"))
        .arg("demo")
        .env("TMPDIR", temp_dir)
        .env_remove("SHAREPAY_PHONE_DIR")
        .output()
        .expect("run sharepay demo")
}

#[test]
fn demo_tells_story_and_cleans_up() {
    let temp_dir = tempfile::tempdir().expect("temporary folder");

    let output = run_demo(temp_dir.path());

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the demo failed with {}:\n{stdout}\n{stderr}",
        output.status
    );
    let mut rest = stdout.as_ref();
    for expected in EXPECTED_LINES {
        let Some(position) = rest.find(expected) else {
            panic!("missing {expected:?} after the earlier lines in:\n{stdout}");
        };
        rest = &rest[position + expected.len()..];
    }
    for unit in 1..=3 {
        let joined = format!("unit{unit}.participant@example.org accepted invitation");
        assert!(stdout.contains(&joined), "missing {joined:?} in:\n{stdout}");
    }
    assert!(
        stdout.contains("water heater and air conditioner): 17 readings"),
        "missing the water heater's reading count in:\n{stdout}"
    );
    assert!(
        stdout.contains("the 4-digit register rolls over between 99"),
        "missing the planned rollover in:\n{stdout}"
    );
    let left: Vec<_> = std::fs::read_dir(temp_dir.path())
        .expect("read the temporary folder")
        .collect();
    assert!(left.is_empty(), "the demo left {left:?} behind");
}
