//! The money commands of `sharepay` as a user runs them: the real binary
//! against a real server with its embedded vault, started in this test
//! process. A primary payer adds a bill, shows and approves its split, and
//! a participant pays their charge after a decline.
//!
//! Saving a card needs a recent MFA check. `card add` asks for one, and
//! here the participant answers with nothing, so the terminal saves no card;
//! `mfa_commands.rs` tests the interactive check itself. The participant's
//! cards are saved through the phone core on a second device that passes an
//! emailed code. The terminal then lists and uses them, because saved cards
//! belong to the user, not the device.

mod common;

use std::path::Path;
use std::sync::Arc;

use secrecy::SecretString;
use sharepay_client::{ClientConfig, EndpointConfig, NewCard, SharePayClient};
use sharepay_e2e::XorKeyWrapper;
use sharepay_e2e::phone::{TestDevice, mailbox_codes, wait_for_code};
use sharepay_server::RunningServer;

use common::{PASSWORD, User, connection_args, start_server, word_after};

const APPROVED_VISA: &str = "4242424242424242";
const DECLINED_INSUFFICIENT_FUNDS: &str = "4000000000009995";

/// Returns the connection options of the API and the embedded vault; the
/// vault's CA is written to `vault_ca_path` first.
fn connection_with_vault(server: &RunningServer, vault_ca_path: &Path) -> Vec<String> {
    let vault = server
        .vault_phone_endpoint
        .as_ref()
        .expect("the server embeds the vault");
    std::fs::write(vault_ca_path, &vault.ca_certificate_pem).expect("write the vault CA");
    let mut args = connection_args(server);
    args.push("--vault".to_owned());
    args.push(vault.url.clone());
    args.push("--vault-ca".to_owned());
    args.push(vault_ca_path.display().to_string());
    for pin in &vault.spki_pins {
        args.push("--vault-pin".to_owned());
        args.push(pin.clone());
    }
    args
}

/// Signs `email` in on a second device through the phone core, passing
/// MFA with the emailed code, so the session may save cards. Returns the
/// ids of the declined and the approved card.
async fn save_cards_on_second_device(
    server: &RunningServer,
    server_dir: &Path,
    phone_dir: &Path,
    email: &str,
) -> (String, String) {
    let vault = server.vault_phone_endpoint.clone().expect("embedded vault");
    let mut config = ClientConfig::new(
        server.url.clone(),
        server.ca_certificate_pem.clone(),
        server.spki_pins.clone(),
        phone_dir,
    );
    config.vault = Some(EndpointConfig {
        base_url: vault.url,
        ca_certificate_pem: vault.ca_certificate_pem,
        spki_pins: vault.spki_pins,
    });
    let phone = SharePayClient::new(config, Arc::new(XorKeyWrapper(0x6c))).expect("open the phone");
    phone.set_device_info_provider(Arc::new(TestDevice));

    let error = phone
        .login(email, SecretString::from(PASSWORD))
        .await
        .expect_err("a new device needs a second check");
    assert!(
        matches!(error, sharepay_client::ClientError::MfaRequired { .. }),
        "{error:?}"
    );
    let mailbox = server_dir.join("mailbox");
    let before = mailbox_codes(&mailbox, email).len();
    phone
        .send_mfa_code("email_code")
        .await
        .expect("send the code");
    let code = wait_for_code(&mailbox, email, before + 1).await;
    phone
        .complete_mfa("email_code", SecretString::from(code))
        .await
        .expect("pass MFA");
    // Stored times have one-second precision, so wait out the one-second
    // new-device window with a second to spare.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;

    let mut ids = Vec::new();
    for number in [DECLINED_INSUFFICIENT_FUNDS, APPROVED_VISA] {
        let method = phone
            .save_card(NewCard {
                number: SecretString::from(number.to_owned()),
                expiry_month: 12,
                expiry_year: 2030,
                cvc: SecretString::from("123".to_owned()),
                cardholder_name: "Bea Example".to_owned(),
            })
            .await
            .expect("save a card");
        ids.push(method.payment_method_id);
    }
    (ids[0].clone(), ids[1].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bill_split_and_pay_commands() {
    let root = tempfile::tempdir().expect("temp dir");
    let server_dir = root.path().join("server");
    // The cards are saved on the participant's second device, which may
    // change cards only once its first sign-in is older than this window.
    let server = start_server(&server_dir, |config| {
        config.security.new_device_payment_window_secs = 1;
    })
    .await;
    let connection = connection_with_vault(&server, &root.path().join("vault-ca.pem"));
    let payer = User {
        data_dir: &root.path().join("payer"),
        connection: connection.clone(),
    };
    let participant = User {
        data_dir: &root.path().join("participant"),
        connection,
    };
    payer.login("cli.payer@example.org").await;
    participant.login("cli.bea@example.org").await;

    // The payer creates the household and invites the participant.
    let output = payer.ok(&["household", "create", "Quay House"]).await;
    let household_id = word_after(&output, "created household ");
    let output = payer
        .ok(&[
            "household",
            "invite",
            &household_id,
            "--role",
            "participant",
        ])
        .await;
    let code = word_after(&output, "invitation code ");
    participant.ok(&["household", "accept", &code]).await;
    let members = payer.ok(&["household", "members", &household_id]).await;
    let member_id = |role: &str| {
        let line = members
            .lines()
            .find(|line| line.contains(role))
            .unwrap_or_else(|| panic!("no {role} in {members}"));
        line.trim().split(':').next().expect("user id").to_owned()
    };
    let payer_id = member_id("primary_payer");
    let participant_id = member_id("participant");

    // The payer adds a bill split equally, shows it and approves it.
    let payer_member = format!("--member={payer_id}");
    let participant_member = format!("--member={participant_id}");
    let output = payer
        .ok(&[
            "bill",
            "add",
            &household_id,
            "--amount",
            "80.01",
            "--period-start",
            "2026-10-01",
            "--period-end",
            "2026-10-31",
            "--provider",
            "Harbour Gas",
            &payer_member,
            &participant_member,
        ])
        .await;
    let bill_id = word_after(&output, "added bill ");
    assert!(output.contains("80.01 EUR"), "{output}");
    assert!(output.contains("split (proposed)"), "{output}");
    let shown = payer.ok(&["bill", "show", &bill_id]).await;
    let participant_line = shown
        .lines()
        .find(|line| line.trim_start().starts_with(&participant_id))
        .unwrap_or_else(|| panic!("no split line of the participant in {shown}"));
    assert!(participant_line.contains(" EUR ("), "{participant_line}");
    let listed = payer.ok(&["bill", "list", &household_id]).await;
    assert!(listed.starts_with("1 bill\n"), "{listed}");
    let approved = payer.ok(&["split", "approve", &bill_id]).await;
    assert!(approved.contains("approved bill"), "{approved}");

    let charges = participant.ok(&["charges"]).await;
    assert!(charges.starts_with("1 charge\n"), "{charges}");
    let charge_id = word_after(&charges, "\n  ");
    let household_charges = payer.ok(&["charges", "--household", &household_id]).await;
    assert!(
        household_charges.contains(&charge_id),
        "{household_charges}"
    );

    // Card numbers come from standard input; a typo is caught locally.
    let card_args = [
        "card",
        "add",
        "--expiry-month",
        "12",
        "--expiry-year",
        "2030",
        "--name",
        "Bea Example",
    ];
    let stderr = participant
        .fails(&card_args, "4242424242424241\n123\n")
        .await;
    assert!(stderr.contains("card_number: "), "{stderr}");
    assert!(!stderr.contains("4242424242424241"), "{stderr}");
    // A valid card, but this session has no MFA check: the terminal sends
    // a step-up code by email, and no code follows on standard input.
    let mailbox = server_dir.join("mailbox");
    let codes_before = mailbox_codes(&mailbox, "cli.bea@example.org").len();
    let stderr = participant
        .fails(&card_args, &format!("{APPROVED_VISA}\n123\n"))
        .await;
    assert!(stderr.contains("needs a recent second check"), "{stderr}");
    assert!(stderr.contains("saving the card failed"), "{stderr}");
    // The unused step-up code arrives before the second device asks for
    // its own, so the two are never confused.
    wait_for_code(&mailbox, "cli.bea@example.org", codes_before + 1).await;

    let (declined, approved_card) = save_cards_on_second_device(
        &server,
        &server_dir,
        &root.path().join("second-phone"),
        "cli.bea@example.org",
    )
    .await;
    let cards = participant.ok(&["card", "list"]).await;
    assert!(cards.starts_with("2 saved cards"), "{cards}");

    // A decline, then the other card pays.
    let stderr = participant
        .fails(&["pay", &charge_id, "--card", &declined], "")
        .await;
    assert!(stderr.contains("declined"), "{stderr}");
    assert!(stderr.contains("insufficient_funds"), "{stderr}");
    let paid = participant
        .ok(&["pay", &charge_id, "--card", &approved_card])
        .await;
    assert!(paid.contains("Succeeded"), "{paid}");

    let statements = participant
        .ok(&[
            "statements",
            &household_id,
            "--from",
            "2026-01-01",
            "--to",
            "2030-12-31",
        ])
        .await;
    assert!(statements.contains(", settled"), "{statements}");
    assert!(statements.contains(" payment: "), "{statements}");

    server.shutdown().await;
}
