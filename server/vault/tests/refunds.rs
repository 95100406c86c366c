//! Refunds of charges through `POST /v1/charges/{charge_id}/refunds` over
//! mTLS and through the in-process handle: the captured-amount limit,
//! idempotency, the sandbox card whose refunds fail, and rejected charges.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{phone_client, start_remote_vault, tokenize, user};
use sharepay_domain::ids::UserId;
use sharepay_domain::wire::money::MoneyBody;
use sharepay_vault::processor::test_cards;
use sharepay_vault::{
    ChargeRefundRequest, ChargeRefundStatus, ChargeRequest, ChargeStatus, RefundFailureReason,
    RunningVault, SandboxProcessor, ServiceError, VaultClient,
};

fn eur(minor: i64) -> MoneyBody {
    MoneyBody {
        minor,
        currency: "EUR".to_owned(),
    }
}

fn refund(key: &str, minor: i64) -> ChargeRefundRequest {
    ChargeRefundRequest {
        amount: eur(minor),
        idempotency_key: key.to_owned(),
    }
}

/// A remote vault with a sandbox and both API clients.
struct Setup {
    _dir: tempfile::TempDir,
    sandbox: Arc<SandboxProcessor>,
    vault: RunningVault,
    phone: reqwest::Client,
    remote: VaultClient,
}

impl Setup {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let sandbox = Arc::new(SandboxProcessor::default());
        let (vault, remote) =
            start_remote_vault(dir.path(), sandbox.clone(), Duration::from_secs(5)).await;
        let phone = phone_client(&vault);
        Self {
            _dir: dir,
            sandbox,
            vault,
            phone,
            remote,
        }
    }

    /// Returns the remote (HTTP) client first, then the in-process one.
    fn clients(&self) -> [(&'static str, VaultClient); 2] {
        [
            ("remote", self.remote.clone()),
            ("in-process", self.vault.in_process_client()),
        ]
    }

    /// Saves `number` for a new user and charges it `minor` EUR cents.
    /// Returns the vault's charge id and the charge status.
    async fn charge(
        &self,
        client: &VaultClient,
        number: &str,
        key: &str,
        minor: i64,
    ) -> (String, ChargeStatus) {
        let owner: UserId = user();
        let token = tokenize(&self.vault, &self.phone, owner, number, "123").await;
        let charged = client
            .charge(&ChargeRequest {
                user_id: owner,
                token,
                amount: eur(minor),
                idempotency_key: key.to_owned(),
                description: "Water, November".to_owned(),
            })
            .await
            .expect("charge");
        (charged.charge_id, charged.status)
    }
}

fn invalid_field(error: &ServiceError) -> Option<&str> {
    match error {
        ServiceError::InvalidInput { errors, .. } => errors.first().map(|e| e.field.as_str()),
        _ => None,
    }
}

#[tokio::test]
async fn refunds_stay_within_captured_amount() {
    let setup = Setup::new().await;

    for (name, client) in setup.clients() {
        let refunds_before = setup.sandbox.refund_count();
        let (charge_id, _) = setup
            .charge(
                &client,
                test_cards::VISA_APPROVED,
                &format!("{name}-charge-1"),
                1_000,
            )
            .await;

        let first = client
            .refund(&charge_id, &refund(&format!("{name}-refund-1"), 600))
            .await
            .expect("first refund");
        let too_much = client
            .refund(&charge_id, &refund(&format!("{name}-refund-2"), 500))
            .await
            .expect_err("600 + 500 exceeds 1000");
        let rest = client
            .refund(&charge_id, &refund(&format!("{name}-refund-3"), 400))
            .await
            .expect("refund of the rest");
        let nothing_left = client
            .refund(&charge_id, &refund(&format!("{name}-refund-4"), 1))
            .await
            .expect_err("the charge is fully refunded");

        assert_eq!(first.status, ChargeRefundStatus::Succeeded, "{name}");
        assert_eq!(first.charge_id, charge_id, "{name}");
        assert!(first.refund_id.starts_with("re_"), "{name}");
        assert_eq!(rest.status, ChargeRefundStatus::Succeeded, "{name}");
        assert_ne!(first.refund_id, rest.refund_id, "{name}");
        assert_eq!(invalid_field(&too_much), Some("amount.minor"), "{name}");
        assert!(
            too_much.to_string().contains("at most 400 minor units"),
            "{name}: {too_much}"
        );
        assert_eq!(invalid_field(&nothing_left), Some("amount.minor"), "{name}");
        assert_eq!(setup.sandbox.refund_count() - refunds_before, 2, "{name}");
    }
    setup.vault.shutdown().await;
}

#[tokio::test]
async fn refund_key_replays_once() {
    let setup = Setup::new().await;

    for (name, client) in setup.clients() {
        let (charge_id, _) = setup
            .charge(
                &client,
                test_cards::VISA_APPROVED,
                &format!("{name}-charge-2"),
                900,
            )
            .await;
        let refunds_before = setup.sandbox.refund_count();
        let key = format!("{name}-refund-replay");

        let first = client
            .refund(&charge_id, &refund(&key, 300))
            .await
            .expect("first refund");
        let replay = client
            .refund(&charge_id, &refund(&key, 300))
            .await
            .expect("replay");
        let other_body = client
            .refund(&charge_id, &refund(&key, 200))
            .await
            .expect_err("same key, other amount");

        assert_eq!(replay, first, "{name}");
        assert!(
            matches!(other_body, ServiceError::IdempotencyKeyReused),
            "{name}: {other_body:?}"
        );
        assert_eq!(setup.sandbox.refund_count() - refunds_before, 1, "{name}");
    }
    setup.vault.shutdown().await;
}

#[tokio::test]
async fn refund_failing_card_moves_nothing() {
    let setup = Setup::new().await;

    for (name, client) in setup.clients() {
        let (charge_id, status) = setup
            .charge(
                &client,
                test_cards::REFUND_FAILS,
                &format!("{name}-charge-3"),
                500,
            )
            .await;
        let refunds_before = setup.sandbox.refund_count();

        let failed = client
            .refund(&charge_id, &refund(&format!("{name}-refund-fail-1"), 500))
            .await
            .expect("a failed refund is an answer");
        // A failed refund frees its amount, so the full amount may be tried again.
        let again = client
            .refund(&charge_id, &refund(&format!("{name}-refund-fail-2"), 500))
            .await
            .expect("second attempt");

        assert_eq!(status, ChargeStatus::Approved, "{name}");
        assert_eq!(failed.status, ChargeRefundStatus::Failed, "{name}");
        assert_eq!(
            failed.reason,
            Some(RefundFailureReason::ExpiredOrCanceledCard),
            "{name}"
        );
        assert_eq!(again.status, ChargeRefundStatus::Failed, "{name}");
        assert_eq!(setup.sandbox.refund_count(), refunds_before, "{name}");
    }
    setup.vault.shutdown().await;
}

#[tokio::test]
async fn unrefundable_charges_are_rejected() {
    let setup = Setup::new().await;

    for (name, client) in setup.clients() {
        let (declined_id, status) = setup
            .charge(
                &client,
                test_cards::DECLINED_INSUFFICIENT_FUNDS,
                &format!("{name}-charge-4"),
                700,
            )
            .await;
        let (approved_id, _) = setup
            .charge(
                &client,
                test_cards::VISA_APPROVED,
                &format!("{name}-charge-5"),
                700,
            )
            .await;

        let declined = client
            .refund(&declined_id, &refund(&format!("{name}-refund-5"), 100))
            .await
            .expect_err("a declined charge has nothing to refund");
        let unknown = client
            .refund(
                "ch_00000000000000000000000000000000",
                &refund(&format!("{name}-refund-6"), 100),
            )
            .await
            .expect_err("no such charge");
        let malformed = client
            .refund("ch_../../cards", &refund(&format!("{name}-refund-7"), 100))
            .await
            .expect_err("not a charge id");
        let other_currency = client
            .refund(
                &approved_id,
                &ChargeRefundRequest {
                    amount: MoneyBody {
                        minor: 100,
                        currency: "USD".to_owned(),
                    },
                    idempotency_key: format!("{name}-refund-8"),
                },
            )
            .await
            .expect_err("the charge is in EUR");
        let zero = client
            .refund(&approved_id, &refund(&format!("{name}-refund-9"), 0))
            .await
            .expect_err("zero amount");

        assert_eq!(status, ChargeStatus::Declined, "{name}");
        assert_eq!(invalid_field(&declined), Some("charge_id"), "{name}");
        assert!(
            matches!(unknown, ServiceError::NotFound),
            "{name}: {unknown:?}"
        );
        assert_eq!(invalid_field(&malformed), Some("charge_id"), "{name}");
        assert_eq!(
            invalid_field(&other_currency),
            Some("amount.currency"),
            "{name}"
        );
        assert_eq!(invalid_field(&zero), Some("amount.minor"), "{name}");
    }
    assert_eq!(setup.sandbox.refund_count(), 0);
    setup.vault.shutdown().await;
}
