//! After intake and charges, neither the vault's database files nor its
//! log output contain a card number or CVC. This file is its own test
//! binary because it installs the process-wide tracing subscriber.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{card_body, phone_client, start_vault, submit_card, tokenize};
use sharepay_domain::wire::money::MoneyBody;
use sharepay_vault::processor::test_cards;
use sharepay_vault::{ChargeRequest, SandboxProcessor};

/// A `tracing` writer that appends every line to a shared buffer.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// Reports whether `number` occurs in `text` with no digit right before or
/// after it, so a port such as 58317 does not count as the CVC 8317.
fn contains_number(text: &str, number: &str) -> bool {
    text.match_indices(number).any(|(start, _)| {
        let before = text[..start].chars().next_back();
        let after = text[start + number.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

#[tokio::test]
async fn database_and_logs_hold_no_card_data() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .without_time()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let dir = tempfile::tempdir().expect("temp dir");
    let vault = start_vault(
        dir.path(),
        Arc::new(SandboxProcessor::new(Duration::from_secs(2))),
        Duration::from_millis(200),
        None,
    )
    .await;
    let client = phone_client(&vault);
    // A fixed owner id, so no random id in the logs can contain a CVC.
    let owner = sharepay_domain::ids::UserId::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
    // Four-digit CVCs are distinctive enough to search for in bytes.
    let cards = [
        (test_cards::VISA_APPROVED, "123"),
        (test_cards::AMEX_APPROVED, "8317"),
        (test_cards::MASTERCARD_APPROVED, "123"),
        (test_cards::TIMEOUT_AFTER_CHARGE, "123"),
    ];
    let mut tokens = Vec::new();
    for (number, cvc) in cards {
        tokens.push(tokenize(&vault, &client, owner, number, cvc).await);
    }
    let (status, _) = submit_card(
        &vault,
        &client,
        owner,
        &card_body("4242424242424241", 12, 2030, "9184"),
    )
    .await;
    assert_eq!(status, 400, "an invalid card is rejected");
    for (index, token) in tokens.iter().enumerate() {
        let request = ChargeRequest {
            user_id: owner,
            token: token.clone(),
            amount: MoneyBody {
                minor: 700,
                currency: "EUR".to_owned(),
            },
            idempotency_key: format!("leak-check-{index}"),
            description: "Shared bill".to_owned(),
        };
        vault
            .in_process_client()
            .charge(&request)
            .await
            .expect("charge");
    }
    vault.shutdown().await;

    let mut raw = std::fs::read(dir.path().join(sharepay_vault::DATABASE_FILE)).expect("db file");
    if let Ok(wal) = std::fs::read(dir.path().join("vault.db-wal")) {
        raw.extend(wal);
    }
    let logs = logs.0.lock().expect("log buffer").clone();
    assert!(!logs.is_empty(), "the subscriber captured the vault's logs");
    assert!(contains(&logs, "tokenized a card"), "intake was logged");
    for (number, _) in cards {
        let last4 = &number[number.len() - 4..];
        assert!(
            !contains(&raw, number),
            "database holds card ending {last4}"
        );
        assert!(!contains(&logs, number), "logs hold card ending {last4}");
        assert!(
            !contains(&logs, &number[..12]),
            "logs hold most of card ending {last4}"
        );
    }
    for cvc in ["8317", "9184"] {
        assert!(!contains(&raw, cvc), "database holds a CVC");
        let log_text = String::from_utf8_lossy(&logs);
        let line = log_text.lines().find(|line| contains_number(line, cvc));
        assert_eq!(line, None, "a log line contains a test CVC");
    }
    assert!(
        !contains(&logs, "4242424242424241"),
        "logs hold the rejected number"
    );
    assert!(
        !contains(&raw, "SQLite format 3"),
        "the database has a plaintext header"
    );
}
