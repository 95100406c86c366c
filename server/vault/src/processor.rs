//! The payment processor boundary: the [`ProcessorAdapter`] trait and the
//! deterministic [`SandboxProcessor`] that replaces a card network in tests
//! and demos.
//!
//! An adapter receives the card number only for the duration of one call
//! and must never log it or keep it. Charges carry the vault's idempotency
//! key, and an adapter must return the first result when it receives a key
//! again, so a retry after a timeout never charges twice. Refunds work the
//! same way, and name the charge by the processor's reference only.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sharepay_domain::card::{CardExpiry, Cvc, PrimaryAccountNumber};
use sharepay_domain::money::Money;

/// The reason a processor gave for declining a card.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineReason {
    InsufficientFunds,
    StolenCard,
    IncorrectCvc,
    ExpiredCard,
    GenericDecline,
}

/// Result of verifying a new card (an account check with the CVC).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyOutcome {
    Verified,
    Declined(DeclineReason),
}

/// Result of a charge on which the processor reached a decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcessorChargeOutcome {
    Approved {
        reference: String,
    },
    Declined {
        reason: DeclineReason,
        reference: String,
    },
    RequiresAuthentication {
        reference: String,
    },
}

/// A charge request as an adapter receives it.
pub struct ProcessorCharge<'a> {
    pub pan: &'a PrimaryAccountNumber,
    pub expiry: CardExpiry,
    pub amount: Money,
    pub idempotency_key: &'a str,
    pub description: &'a str,
}

/// A refund request as an adapter receives it. It needs no card number,
/// because the processor finds the card by the charge's reference.
pub struct ProcessorRefund<'a> {
    pub charge_reference: &'a str,
    pub amount: Money,
    pub idempotency_key: &'a str,
}

/// The reason a processor gave for failing a refund.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundFailureReason {
    /// The card was closed or expired since the charge, so the issuer
    /// cannot take the money back onto it.
    ExpiredOrCanceledCard,
    /// The processor has no charge with that reference.
    UnknownCharge,
}

/// Result of a refund on which the processor reached a decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcessorRefundOutcome {
    Succeeded {
        reference: String,
    },
    Failed {
        reason: RefundFailureReason,
        reference: String,
    },
}

/// A processor call that failed without a decision; the caller may retry
/// with the same idempotency key.
#[derive(Debug, thiserror::Error)]
pub enum ProcessorError {
    #[error("the processor reported a processing error: {0}")]
    Processing(String),
    #[error("the processor could not be reached: {0}")]
    Unreachable(String),
}

/// A payment processor: the only place a detokenized card number goes.
#[async_trait]
pub trait ProcessorAdapter: Send + Sync {
    /// Verifies a card at intake with its CVC, without charging it.
    async fn verify(
        &self,
        pan: &PrimaryAccountNumber,
        expiry: CardExpiry,
        cvc: &Cvc,
    ) -> Result<VerifyOutcome, ProcessorError>;

    /// Charges a card. Calls with an idempotency key seen before return the
    /// first call's outcome and move no money.
    async fn charge(
        &self,
        request: ProcessorCharge<'_>,
    ) -> Result<ProcessorChargeOutcome, ProcessorError>;

    /// Refunds part or all of an approved charge. Calls with an idempotency
    /// key seen before return the first call's outcome and move no money.
    /// The caller checks that the refunds stay within the captured amount.
    async fn refund(
        &self,
        request: ProcessorRefund<'_>,
    ) -> Result<ProcessorRefundOutcome, ProcessorError>;
}

/// Test card numbers of the sandbox and what each does. Any other valid
/// number is approved.
pub mod test_cards {
    /// Visa, approved.
    pub const VISA_APPROVED: &str = "4242424242424242";
    /// Mastercard, approved.
    pub const MASTERCARD_APPROVED: &str = "5555555555554444";
    /// American Express, approved.
    pub const AMEX_APPROVED: &str = "378282246310005";
    /// Declined for insufficient funds.
    pub const DECLINED_INSUFFICIENT_FUNDS: &str = "4000000000009995";
    /// Declined as a stolen card.
    pub const DECLINED_STOLEN: &str = "4000000000009979";
    /// Needs cardholder authentication (3-D Secure) before it can be charged.
    pub const REQUIRES_AUTHENTICATION: &str = "4000002500003155";
    /// A processing error that a retry may fix; no money moves.
    pub const PROCESSING_ERROR: &str = "4000000000000119";
    /// Charged, but the response comes only after the sandbox's timeout
    /// delay, so the vault's deadline passes first. A retry with the same
    /// idempotency key returns the recorded approval at once.
    pub const TIMEOUT_AFTER_CHARGE: &str = "4000000000000259";
    /// Fails verification at intake: the CVC does not match.
    pub const INCORRECT_CVC: &str = "4000000000000101";
    /// Charges are approved, but every refund of them fails with
    /// `expired_or_canceled_card`.
    pub const REFUND_FAILS: &str = "4000000000005126";
}

/// A processor that decides by test card number, like the test modes of
/// common processors, and remembers every charge by idempotency key.
pub struct SandboxProcessor {
    timeout_delay: Duration,
    charges: Mutex<HashMap<String, ProcessorChargeOutcome>>,
    money_movements: AtomicU64,
    refunds: Mutex<SandboxRefunds>,
    refund_movements: AtomicU64,
}

/// The sandbox's refund records: outcomes by idempotency key, and the
/// references of charges that were made, split by whether their card
/// refuses refunds.
#[derive(Default)]
struct SandboxRefunds {
    outcomes: HashMap<String, ProcessorRefundOutcome>,
    refundable_charges: HashSet<String>,
    failing_charges: HashSet<String>,
}

impl std::fmt::Debug for SandboxProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxProcessor")
            .field("timeout_delay", &self.timeout_delay)
            .field("charge_count", &self.charge_count())
            .field("refund_count", &self.refund_count())
            .finish()
    }
}

impl Default for SandboxProcessor {
    fn default() -> Self {
        Self::new(Duration::from_secs(60))
    }
}

impl SandboxProcessor {
    /// Creates a sandbox whose [`test_cards::TIMEOUT_AFTER_CHARGE`] card
    /// responds after `timeout_delay`. Set it above the vault's processor
    /// timeout to make the vault give up first.
    pub fn new(timeout_delay: Duration) -> Self {
        Self {
            timeout_delay,
            charges: Mutex::new(HashMap::new()),
            money_movements: AtomicU64::new(0),
            refunds: Mutex::new(SandboxRefunds::default()),
            refund_movements: AtomicU64::new(0),
        }
    }

    /// Number of refunds that moved money back to a card, counted once per
    /// idempotency key.
    pub fn refund_count(&self) -> u64 {
        self.refund_movements.load(Ordering::SeqCst)
    }

    /// Number of charges that moved money (approved charges, counted once
    /// per idempotency key).
    pub fn charge_count(&self) -> u64 {
        self.money_movements.load(Ordering::SeqCst)
    }

    fn reference(idempotency_key: &str) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, idempotency_key.as_bytes());
        let mut reference = String::from("sbx_");
        for byte in &digest.as_ref()[..12] {
            reference.push_str(&format!("{byte:02x}"));
        }
        reference
    }

    fn decide(digits: &str, reference: String) -> Result<ProcessorChargeOutcome, ProcessorError> {
        use test_cards as cards;
        let outcome = match digits {
            cards::DECLINED_INSUFFICIENT_FUNDS => ProcessorChargeOutcome::Declined {
                reason: DeclineReason::InsufficientFunds,
                reference,
            },
            cards::DECLINED_STOLEN => ProcessorChargeOutcome::Declined {
                reason: DeclineReason::StolenCard,
                reference,
            },
            cards::REQUIRES_AUTHENTICATION => {
                ProcessorChargeOutcome::RequiresAuthentication { reference }
            }
            cards::PROCESSING_ERROR => {
                return Err(ProcessorError::Processing(
                    "sandbox processing error; retry later".into(),
                ));
            }
            _ => ProcessorChargeOutcome::Approved { reference },
        };
        Ok(outcome)
    }

    fn lock_refunds(&self) -> Result<std::sync::MutexGuard<'_, SandboxRefunds>, ProcessorError> {
        self.refunds
            .lock()
            .map_err(|_| ProcessorError::Unreachable("the sandbox state lock is poisoned".into()))
    }

    fn lock_charges(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, HashMap<String, ProcessorChargeOutcome>>, ProcessorError>
    {
        self.charges
            .lock()
            .map_err(|_| ProcessorError::Unreachable("the sandbox state lock is poisoned".into()))
    }
}

#[async_trait]
impl ProcessorAdapter for SandboxProcessor {
    async fn verify(
        &self,
        pan: &PrimaryAccountNumber,
        _expiry: CardExpiry,
        _cvc: &Cvc,
    ) -> Result<VerifyOutcome, ProcessorError> {
        if pan.expose_digits() == test_cards::INCORRECT_CVC {
            return Ok(VerifyOutcome::Declined(DeclineReason::IncorrectCvc));
        }
        Ok(VerifyOutcome::Verified)
    }

    async fn charge(
        &self,
        request: ProcessorCharge<'_>,
    ) -> Result<ProcessorChargeOutcome, ProcessorError> {
        if let Some(first) = self.lock_charges()?.get(request.idempotency_key) {
            return Ok(first.clone());
        }

        let reference = Self::reference(request.idempotency_key);
        let outcome = Self::decide(request.pan.expose_digits(), reference)?;
        {
            let mut charges = self.lock_charges()?;
            // Two concurrent first calls with one key: the first record wins.
            if let Some(first) = charges.get(request.idempotency_key) {
                return Ok(first.clone());
            }
            charges.insert(request.idempotency_key.to_owned(), outcome.clone());
            if let ProcessorChargeOutcome::Approved { reference } = &outcome {
                self.money_movements.fetch_add(1, Ordering::SeqCst);
                let mut refunds = self.lock_refunds()?;
                if request.pan.expose_digits() == test_cards::REFUND_FAILS {
                    refunds.failing_charges.insert(reference.clone());
                } else {
                    refunds.refundable_charges.insert(reference.clone());
                }
            }
        }

        if request.pan.expose_digits() == test_cards::TIMEOUT_AFTER_CHARGE {
            tokio::time::sleep(self.timeout_delay).await;
        }
        Ok(outcome)
    }
    async fn refund(
        &self,
        request: ProcessorRefund<'_>,
    ) -> Result<ProcessorRefundOutcome, ProcessorError> {
        let mut refunds = self.lock_refunds()?;
        if let Some(first) = refunds.outcomes.get(request.idempotency_key) {
            return Ok(first.clone());
        }

        let reference = Self::reference(&format!("refund:{}", request.idempotency_key));
        let outcome = if refunds
            .refundable_charges
            .contains(request.charge_reference)
        {
            ProcessorRefundOutcome::Succeeded { reference }
        } else if refunds.failing_charges.contains(request.charge_reference) {
            ProcessorRefundOutcome::Failed {
                reason: RefundFailureReason::ExpiredOrCanceledCard,
                reference,
            }
        } else {
            ProcessorRefundOutcome::Failed {
                reason: RefundFailureReason::UnknownCharge,
                reference,
            }
        };
        refunds
            .outcomes
            .insert(request.idempotency_key.to_owned(), outcome.clone());
        if matches!(outcome, ProcessorRefundOutcome::Succeeded { .. }) {
            self.refund_movements.fetch_add(1, Ordering::SeqCst);
        }
        Ok(outcome)
    }
}
