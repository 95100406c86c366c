//! Storage of bills, charges, payment methods, payments, refunds, ledger
//! transactions and monitoring cases, behind [`MoneyStore`].
//!
//! Every change that moves money writes its rows, its ledger transactions
//! and the response under its idempotency key in one transaction, so a
//! crash leaves all of them or none. Amounts are `i64` minor units with an
//! ISO 4217 code; nothing here is ever hard-deleted, except that a deleted
//! payment method loses its vault token.

use std::fmt;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;
use super::readings::{KeyRef, StoredResponse};

/// One version of a bill. A bill's versions share its id; the highest
/// version is the current one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillRow {
    pub id: Uuid,
    pub version: u32,
    pub household_id: Uuid,
    /// `proposed` or `approved`.
    pub status: String,
    pub amount_minor: i64,
    pub currency: String,
    pub standing_charge_minor: i64,
    /// First and last day of the period, both included, as days since
    /// 1970-01-01.
    pub period_start_day: i64,
    pub period_end_day: i64,
    pub provider: String,
    /// The bill request as JSON: meters, split mode and members.
    pub request_json: String,
    /// The frozen split as JSON, set on approval.
    pub split_json: Option<String>,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
    pub approved_by: Option<Uuid>,
    pub approved_at: Option<OffsetDateTime>,
}

/// The approval of one bill version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillApproval {
    pub bill_id: Uuid,
    pub version: u32,
    pub approved_by: Uuid,
    pub approved_at: OffsetDateTime,
    pub split_json: String,
}

/// A user-level grant to approve one bill.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DelegationRow {
    pub bill_id: Uuid,
    pub household_id: Uuid,
    pub user_id: Uuid,
    pub granted_by: Uuid,
    pub granted_at: OffsetDateTime,
}

/// One member's share of an approved bill version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChargeRow {
    pub id: Uuid,
    pub bill_id: Uuid,
    pub bill_version: u32,
    pub household_id: Uuid,
    /// The member who owes it.
    pub user_id: Uuid,
    /// The primary payer who is settled when it is paid.
    pub payee_id: Uuid,
    pub amount_minor: i64,
    pub currency: String,
    /// `open`, `paid` or `cancelled`.
    pub status: String,
    pub created_at: OffsetDateTime,
}

/// The filter of a charge listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChargeScope {
    User(Uuid),
    Household(Uuid),
    Bill(Uuid),
    All,
}

/// A saved card: the vault's token and display data, never the number.
#[derive(Clone, PartialEq, Eq)]
pub struct PaymentMethodRow {
    pub id: Uuid,
    pub user_id: Uuid,
    /// The vault's `tok_` token; empty once the method is deleted.
    pub vault_token: String,
    pub brand: String,
    pub last4: String,
    pub expiry_month: u8,
    pub expiry_year: u16,
    pub created_at: OffsetDateTime,
    pub deleted_at: Option<OffsetDateTime>,
}

impl fmt::Debug for PaymentMethodRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaymentMethodRow")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("vault_token", &"[redacted]")
            .field("brand", &self.brand)
            .field("deleted_at", &self.deleted_at)
            .finish_non_exhaustive()
    }
}

/// A payment of one charge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentRow {
    pub id: Uuid,
    pub charge_id: Uuid,
    pub household_id: Uuid,
    /// The member who pays.
    pub user_id: Uuid,
    pub payment_method_id: Uuid,
    pub amount_minor: i64,
    pub currency: String,
    /// `pending`, `succeeded`, `declined` or `requires_authentication`.
    pub status: String,
    pub decline_reason: Option<String>,
    pub processor_reference: Option<String>,
    /// Scope and key of the request's `Idempotency-Key`, so a retry after a
    /// crash resumes this payment instead of starting another.
    pub idempotency_scope: String,
    pub idempotency_key: String,
    /// Fingerprint of the device of the paying session, for monitoring.
    pub device_fingerprint: Option<String>,
    pub created_at: OffsetDateTime,
    pub completed_at: Option<OffsetDateTime>,
    /// The vault's `ch_` id of the charge, set once the vault decides.
    pub vault_charge_id: Option<String>,
}

/// The filter of a payment listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentScope {
    User(Uuid),
    Household(Uuid),
    Charge(Uuid),
}

/// Outcome of [`MoneyStore::begin_payment`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentStart {
    /// The new pending payment was stored.
    Started,
    /// A pending payment under the same idempotency key exists (its request
    /// was interrupted); continue it.
    Resume(Box<PaymentRow>),
    /// The charge is paid or cancelled.
    ChargeNotOpen,
    /// Another payment of the charge is pending under a different key.
    OtherPaymentPending,
}

/// The vault's decision on a pending payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentOutcome {
    pub payment_id: Uuid,
    /// `succeeded`, `declined` or `requires_authentication`.
    pub status: String,
    pub decline_reason: Option<String>,
    pub processor_reference: Option<String>,
    pub completed_at: OffsetDateTime,
    pub vault_charge_id: Option<String>,
}

/// A refund of part or all of a payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundRow {
    pub id: Uuid,
    pub payment_id: Uuid,
    pub charge_id: Uuid,
    pub household_id: Uuid,
    /// The member who paid and gets the money back.
    pub user_id: Uuid,
    pub amount_minor: i64,
    pub currency: String,
    pub reason: String,
    pub created_by: Uuid,
    pub created_at: OffsetDateTime,
}

/// Outcome of [`MoneyStore::insert_refund`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundInsert {
    Stored,
    /// The refund is larger than what is left of the payment.
    ExceedsPayment {
        refundable_minor: i64,
    },
}

/// One balanced ledger transaction with its entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerTransactionRow {
    pub id: Uuid,
    pub household_id: Uuid,
    /// `charge`, `charge_cancelled`, `payment` or `refund`.
    pub kind: String,
    /// The charge, payment or refund that caused it.
    pub reference_id: Uuid,
    /// The charge it belongs to, for reconciliation.
    pub charge_id: Uuid,
    pub posted_at: OffsetDateTime,
    pub entries: Vec<LedgerEntryRow>,
}

/// One side of a ledger transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerEntryRow {
    /// The account's stable code, as the domain ledger writes it.
    pub account: String,
    /// `debit` or `credit`.
    pub side: String,
    /// Greater than zero.
    pub amount_minor: i64,
    pub currency: String,
}

/// A payment that matched a transaction monitoring rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitoringCaseRow {
    pub id: Uuid,
    pub rule: String,
    pub severity: String,
    pub reason: String,
    pub user_id: Uuid,
    pub payment_id: Uuid,
    pub household_id: Uuid,
    /// `open` or `closed`.
    pub status: String,
    pub opened_at: OffsetDateTime,
    pub closed_by: Option<Uuid>,
    pub closed_at: Option<OffsetDateTime>,
    pub resolution: Option<String>,
}

#[async_trait]
pub trait MoneyStore: Send + Sync {
    /// Inserts a bill version; fails with [`StoreError::Duplicate`] when
    /// that version exists (a concurrent change came first).
    async fn insert_bill_version(&self, bill: BillRow) -> Result<(), StoreError>;
    /// Returns the latest version of a bill.
    async fn find_bill(&self, id: Uuid) -> Result<Option<BillRow>, StoreError>;
    /// Lists the latest version of each bill of a household, oldest first.
    async fn list_bills(&self, household_id: Uuid) -> Result<Vec<BillRow>, StoreError>;
    /// Approves `approval.version` in one transaction: marks it approved
    /// unless it already is, cancels the open charges of earlier versions,
    /// and stores `charges` and `ledger`. Returns `false`, changing
    /// nothing, when that version is not the latest one or is approved.
    async fn approve_bill(
        &self,
        approval: BillApproval,
        charges: Vec<ChargeRow>,
        ledger: Vec<LedgerTransactionRow>,
    ) -> Result<bool, StoreError>;

    /// Stores a delegation; granting it again changes nothing.
    async fn insert_delegation(&self, delegation: DelegationRow) -> Result<(), StoreError>;
    async fn delegations_of(&self, user_id: Uuid) -> Result<Vec<DelegationRow>, StoreError>;

    async fn find_charge(&self, id: Uuid) -> Result<Option<ChargeRow>, StoreError>;
    /// Lists charges oldest first.
    async fn list_charges(&self, scope: ChargeScope) -> Result<Vec<ChargeRow>, StoreError>;

    /// Stores a payment method; `Duplicate("vault token")` when the user
    /// has a live one with the same vault token.
    async fn insert_payment_method(&self, method: PaymentMethodRow) -> Result<(), StoreError>;
    /// Sets the brand, last four digits and expiry of a live payment
    /// method to those of `method`.
    async fn update_payment_method_display(
        &self,
        method: PaymentMethodRow,
    ) -> Result<(), StoreError>;
    async fn find_payment_method(&self, id: Uuid) -> Result<Option<PaymentMethodRow>, StoreError>;
    /// Lists a user's payment methods that are not deleted, oldest first.
    async fn list_payment_methods(
        &self,
        user_id: Uuid,
    ) -> Result<Vec<PaymentMethodRow>, StoreError>;
    /// Marks a payment method deleted and clears its vault token. Returns
    /// `false` when it was already deleted.
    async fn delete_payment_method(&self, id: Uuid, at: OffsetDateTime)
    -> Result<bool, StoreError>;

    /// Stores a pending payment, in one transaction with the checks that
    /// its charge is open and has no other pending payment.
    async fn begin_payment(&self, payment: PaymentRow) -> Result<PaymentStart, StoreError>;
    /// Records the vault's decision on a pending payment in one transaction
    /// with the charge's new status (paid on success), `ledger`, and the
    /// response under `key`.
    async fn finish_payment(
        &self,
        outcome: PaymentOutcome,
        ledger: Vec<LedgerTransactionRow>,
        key: &KeyRef,
        response: StoredResponse,
    ) -> Result<(), StoreError>;
    async fn find_payment(&self, id: Uuid) -> Result<Option<PaymentRow>, StoreError>;
    /// Lists payments oldest first.
    async fn list_payments(&self, scope: PaymentScope) -> Result<Vec<PaymentRow>, StoreError>;
    /// Forgets a claimed key that has no response yet, so a retry of a
    /// request whose outcome is unknown can claim it again.
    async fn release_key(&self, key: &KeyRef) -> Result<(), StoreError>;

    /// Stores a refund with its ledger and the key's response in one
    /// transaction, unless earlier refunds plus this one would exceed the
    /// payment.
    async fn insert_refund(
        &self,
        refund: RefundRow,
        ledger: Vec<LedgerTransactionRow>,
        key: &KeyRef,
        response: StoredResponse,
    ) -> Result<RefundInsert, StoreError>;
    /// Lists the refunds of a household, oldest first.
    async fn list_refunds(&self, household_id: Uuid) -> Result<Vec<RefundRow>, StoreError>;

    /// Lists ledger transactions with their entries in posting order, of
    /// one household or of all.
    async fn list_ledger(
        &self,
        household_id: Option<Uuid>,
    ) -> Result<Vec<LedgerTransactionRow>, StoreError>;

    async fn insert_monitoring_case(&self, case: MonitoringCaseRow) -> Result<(), StoreError>;
    /// Lists cases newest first, only open ones when `open_only`.
    async fn list_monitoring_cases(
        &self,
        open_only: bool,
    ) -> Result<Vec<MonitoringCaseRow>, StoreError>;
    async fn find_monitoring_case(&self, id: Uuid)
    -> Result<Option<MonitoringCaseRow>, StoreError>;
    /// Closes an open case. Returns `false` when it was closed already.
    async fn close_monitoring_case(
        &self,
        id: Uuid,
        closed_by: Uuid,
        closed_at: OffsetDateTime,
        resolution: String,
    ) -> Result<bool, StoreError>;
}

/// Converts a stored count or version, rejecting values out of range.
pub(crate) fn small_from_db<T: TryFrom<i64>>(
    row: &str,
    field: &'static str,
    value: i64,
) -> Result<T, StoreError> {
    T::try_from(value).map_err(|_| StoreError::InvalidRow {
        row: row.to_owned(),
        field,
        detail: format!("{value} is out of range"),
    })
}

/// Puts each entry into its transaction; both lists are in posting order.
pub(crate) fn attach_entries(
    transactions: &mut [LedgerTransactionRow],
    entries: Vec<(Uuid, LedgerEntryRow)>,
) {
    let mut index = 0;
    for (transaction_id, entry) in entries {
        while index < transactions.len() && transactions[index].id != transaction_id {
            index += 1;
        }
        if let Some(transaction) = transactions.get_mut(index) {
            transaction.entries.push(entry);
        }
    }
}
