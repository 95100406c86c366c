//! [`MoneyStore`] on the SQLCipher file. Timestamps are Unix seconds. Each
//! change that moves money runs in one IMMEDIATE transaction, which takes
//! the write lock first, so its checks and writes see no concurrent change.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::readings::complete_in;
use super::{
    SqlCipherStore, db_error, from_unix_seconds, is_primary_key_violation, is_unique_violation,
    uuid_from_row,
};
use crate::store::StoreError;
use crate::store::money::{
    BillApproval, BillRow, ChargeRow, ChargeScope, DelegationRow, LedgerEntryRow,
    LedgerTransactionRow, MoneyStore, MonitoringCaseRow, PaymentMethodRow, PaymentOutcome,
    PaymentRow, PaymentScope, PaymentStart, RefundInsert, RefundRow, attach_entries,
};
use crate::store::readings::{KeyRef, StoredResponse};

const BILL_COLUMNS: &str = "id, version, household_id, status, amount_minor, currency, \
     standing_charge_minor, period_start_day, period_end_day, provider, request_json, \
     split_json, created_by, created_at, approved_by, approved_at";
const CHARGE_COLUMNS: &str = "id, bill_id, bill_version, household_id, user_id, payee_id, \
     amount_minor, currency, status, created_at";
const METHOD_COLUMNS: &str = "id, user_id, vault_token, brand, last4, expiry_month, \
     expiry_year, created_at, deleted_at";
const PAYMENT_COLUMNS: &str = "id, charge_id, household_id, user_id, payment_method_id, \
     amount_minor, currency, status, decline_reason, processor_reference, idempotency_scope, \
     idempotency_key, device_fingerprint, created_at, completed_at, vault_charge_id";
const REFUND_COLUMNS: &str = "id, payment_id, charge_id, household_id, user_id, amount_minor, \
     currency, reason, created_by, created_at";
const CASE_COLUMNS: &str = "id, rule, severity, reason, user_id, payment_id, household_id, \
     status, opened_at, closed_by, closed_at, resolution";

fn blob(id: &Uuid) -> &[u8] {
    id.as_bytes().as_slice()
}

fn optional_uuid(column: usize, bytes: Option<Vec<u8>>) -> rusqlite::Result<Option<Uuid>> {
    bytes.map(|bytes| uuid_from_row(column, bytes)).transpose()
}

fn optional_time(column: usize, seconds: Option<i64>) -> rusqlite::Result<Option<OffsetDateTime>> {
    seconds
        .map(|seconds| from_unix_seconds(column, seconds))
        .transpose()
}

fn narrow<T: TryFrom<i64>>(column: usize, value: i64) -> rusqlite::Result<T> {
    T::try_from(value).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(column, value))
}

fn bill_from_row(row: &Row<'_>) -> rusqlite::Result<BillRow> {
    Ok(BillRow {
        id: uuid_from_row(0, row.get(0)?)?,
        version: narrow(1, row.get(1)?)?,
        household_id: uuid_from_row(2, row.get(2)?)?,
        status: row.get(3)?,
        amount_minor: row.get(4)?,
        currency: row.get(5)?,
        standing_charge_minor: row.get(6)?,
        period_start_day: row.get(7)?,
        period_end_day: row.get(8)?,
        provider: row.get(9)?,
        request_json: row.get(10)?,
        split_json: row.get(11)?,
        created_by: uuid_from_row(12, row.get(12)?)?,
        created_at: from_unix_seconds(13, row.get(13)?)?,
        approved_by: optional_uuid(14, row.get(14)?)?,
        approved_at: optional_time(15, row.get(15)?)?,
    })
}

fn charge_from_row(row: &Row<'_>) -> rusqlite::Result<ChargeRow> {
    Ok(ChargeRow {
        id: uuid_from_row(0, row.get(0)?)?,
        bill_id: uuid_from_row(1, row.get(1)?)?,
        bill_version: narrow(2, row.get(2)?)?,
        household_id: uuid_from_row(3, row.get(3)?)?,
        user_id: uuid_from_row(4, row.get(4)?)?,
        payee_id: uuid_from_row(5, row.get(5)?)?,
        amount_minor: row.get(6)?,
        currency: row.get(7)?,
        status: row.get(8)?,
        created_at: from_unix_seconds(9, row.get(9)?)?,
    })
}

fn method_from_row(row: &Row<'_>) -> rusqlite::Result<PaymentMethodRow> {
    Ok(PaymentMethodRow {
        id: uuid_from_row(0, row.get(0)?)?,
        user_id: uuid_from_row(1, row.get(1)?)?,
        vault_token: row.get(2)?,
        brand: row.get(3)?,
        last4: row.get(4)?,
        expiry_month: narrow(5, row.get(5)?)?,
        expiry_year: narrow(6, row.get(6)?)?,
        created_at: from_unix_seconds(7, row.get(7)?)?,
        deleted_at: optional_time(8, row.get(8)?)?,
    })
}

fn payment_from_row(row: &Row<'_>) -> rusqlite::Result<PaymentRow> {
    Ok(PaymentRow {
        id: uuid_from_row(0, row.get(0)?)?,
        charge_id: uuid_from_row(1, row.get(1)?)?,
        household_id: uuid_from_row(2, row.get(2)?)?,
        user_id: uuid_from_row(3, row.get(3)?)?,
        payment_method_id: uuid_from_row(4, row.get(4)?)?,
        amount_minor: row.get(5)?,
        currency: row.get(6)?,
        status: row.get(7)?,
        decline_reason: row.get(8)?,
        processor_reference: row.get(9)?,
        idempotency_scope: row.get(10)?,
        idempotency_key: row.get(11)?,
        device_fingerprint: row.get(12)?,
        created_at: from_unix_seconds(13, row.get(13)?)?,
        completed_at: optional_time(14, row.get(14)?)?,
        vault_charge_id: row.get(15)?,
    })
}

fn refund_from_row(row: &Row<'_>) -> rusqlite::Result<RefundRow> {
    Ok(RefundRow {
        id: uuid_from_row(0, row.get(0)?)?,
        payment_id: uuid_from_row(1, row.get(1)?)?,
        charge_id: uuid_from_row(2, row.get(2)?)?,
        household_id: uuid_from_row(3, row.get(3)?)?,
        user_id: uuid_from_row(4, row.get(4)?)?,
        amount_minor: row.get(5)?,
        currency: row.get(6)?,
        reason: row.get(7)?,
        created_by: uuid_from_row(8, row.get(8)?)?,
        created_at: from_unix_seconds(9, row.get(9)?)?,
    })
}

fn case_from_row(row: &Row<'_>) -> rusqlite::Result<MonitoringCaseRow> {
    Ok(MonitoringCaseRow {
        id: uuid_from_row(0, row.get(0)?)?,
        rule: row.get(1)?,
        severity: row.get(2)?,
        reason: row.get(3)?,
        user_id: uuid_from_row(4, row.get(4)?)?,
        payment_id: uuid_from_row(5, row.get(5)?)?,
        household_id: uuid_from_row(6, row.get(6)?)?,
        status: row.get(7)?,
        opened_at: from_unix_seconds(8, row.get(8)?)?,
        closed_by: optional_uuid(9, row.get(9)?)?,
        closed_at: optional_time(10, row.get(10)?)?,
        resolution: row.get(11)?,
    })
}

/// Runs a query with one id parameter and collects the mapped rows.
fn query_all<T>(
    connection: &Connection,
    sql: &str,
    parameters: impl rusqlite::Params,
    map: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = connection.prepare(sql).map_err(db_error)?;
    statement
        .query_map(parameters, map)
        .map_err(db_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db_error)
}

fn insert_charge(connection: &Connection, charge: &ChargeRow) -> Result<(), StoreError> {
    connection
        .execute(
            &format!(
                "INSERT INTO charges ({CHARGE_COLUMNS}) VALUES \
                 (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ),
            params![
                blob(&charge.id),
                blob(&charge.bill_id),
                charge.bill_version,
                blob(&charge.household_id),
                blob(&charge.user_id),
                blob(&charge.payee_id),
                charge.amount_minor,
                charge.currency,
                charge.status,
                charge.created_at.unix_timestamp()
            ],
        )
        .map_err(db_error)?;
    Ok(())
}

fn insert_ledger(
    connection: &Connection,
    transactions: &[LedgerTransactionRow],
) -> Result<(), StoreError> {
    for transaction in transactions {
        connection
            .execute(
                "INSERT INTO ledger_transactions \
                 (id, household_id, kind, reference_id, charge_id, posted_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    blob(&transaction.id),
                    blob(&transaction.household_id),
                    transaction.kind,
                    blob(&transaction.reference_id),
                    blob(&transaction.charge_id),
                    transaction.posted_at.unix_timestamp()
                ],
            )
            .map_err(db_error)?;
        for (line, entry) in transaction.entries.iter().enumerate() {
            connection
                .execute(
                    "INSERT INTO ledger_entries \
                     (transaction_id, line, account, side, amount_minor, currency) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        blob(&transaction.id),
                        line as i64,
                        entry.account,
                        entry.side,
                        entry.amount_minor,
                        entry.currency
                    ],
                )
                .map_err(db_error)?;
        }
    }
    Ok(())
}

#[async_trait]
impl MoneyStore for SqlCipherStore {
    async fn insert_bill_version(&self, bill: BillRow) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            let result = connection.execute(
                &format!(
                    "INSERT INTO bills ({BILL_COLUMNS}) VALUES \
                     (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
                ),
                params![
                    blob(&bill.id),
                    bill.version,
                    blob(&bill.household_id),
                    bill.status,
                    bill.amount_minor,
                    bill.currency,
                    bill.standing_charge_minor,
                    bill.period_start_day,
                    bill.period_end_day,
                    bill.provider,
                    bill.request_json,
                    bill.split_json,
                    blob(&bill.created_by),
                    bill.created_at.unix_timestamp(),
                    bill.approved_by.as_ref().map(blob),
                    bill.approved_at.map(OffsetDateTime::unix_timestamp)
                ],
            );
            match result {
                Ok(_) => Ok(()),
                Err(e) if is_primary_key_violation(&e) => {
                    Err(StoreError::Duplicate("bill version"))
                }
                Err(e) => Err(db_error(e)),
            }
        })
        .await
    }

    async fn find_bill(&self, id: Uuid) -> Result<Option<BillRow>, StoreError> {
        self.with_connection(move |connection| {
            connection
                .query_row(
                    &format!(
                        "SELECT {BILL_COLUMNS} FROM bills WHERE id = ?1 \
                         ORDER BY version DESC LIMIT 1"
                    ),
                    params![blob(&id)],
                    bill_from_row,
                )
                .optional()
                .map_err(db_error)
        })
        .await
    }

    async fn list_bills(&self, household_id: Uuid) -> Result<Vec<BillRow>, StoreError> {
        self.with_connection(move |connection| {
            query_all(
                connection,
                &format!(
                    "SELECT {BILL_COLUMNS} FROM bills b WHERE household_id = ?1 \
                     AND version = (SELECT MAX(version) FROM bills l WHERE l.id = b.id) \
                     ORDER BY id"
                ),
                params![blob(&household_id)],
                bill_from_row,
            )
        })
        .await
    }

    async fn approve_bill(
        &self,
        approval: BillApproval,
        charges: Vec<ChargeRow>,
        ledger: Vec<LedgerTransactionRow>,
    ) -> Result<bool, StoreError> {
        self.with_connection(move |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let updated = transaction
                .execute(
                    "UPDATE bills SET status = 'approved', approved_by = ?3, approved_at = ?4, \
                     split_json = ?5 WHERE id = ?1 AND version = ?2 AND status = 'proposed' \
                     AND version = (SELECT MAX(version) FROM bills WHERE id = ?1)",
                    params![
                        blob(&approval.bill_id),
                        approval.version,
                        blob(&approval.approved_by),
                        approval.approved_at.unix_timestamp(),
                        approval.split_json
                    ],
                )
                .map_err(db_error)?;
            if updated != 1 {
                return Ok(false);
            }

            transaction
                .execute(
                    "UPDATE charges SET status = 'cancelled' \
                     WHERE bill_id = ?1 AND bill_version < ?2 AND status = 'open'",
                    params![blob(&approval.bill_id), approval.version],
                )
                .map_err(db_error)?;
            for charge in &charges {
                insert_charge(&transaction, charge)?;
            }
            insert_ledger(&transaction, &ledger)?;
            transaction.commit().map_err(db_error)?;
            Ok(true)
        })
        .await
    }

    async fn insert_delegation(&self, delegation: DelegationRow) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "INSERT INTO bill_delegations \
                     (bill_id, household_id, user_id, granted_by, granted_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (bill_id, user_id) DO NOTHING",
                    params![
                        blob(&delegation.bill_id),
                        blob(&delegation.household_id),
                        blob(&delegation.user_id),
                        blob(&delegation.granted_by),
                        delegation.granted_at.unix_timestamp()
                    ],
                )
                .map_err(db_error)?;
            Ok(())
        })
        .await
    }

    async fn delegations_of(&self, user_id: Uuid) -> Result<Vec<DelegationRow>, StoreError> {
        self.with_connection(move |connection| {
            query_all(
                connection,
                "SELECT bill_id, household_id, user_id, granted_by, granted_at \
                 FROM bill_delegations WHERE user_id = ?1",
                params![blob(&user_id)],
                |row| {
                    Ok(DelegationRow {
                        bill_id: uuid_from_row(0, row.get(0)?)?,
                        household_id: uuid_from_row(1, row.get(1)?)?,
                        user_id: uuid_from_row(2, row.get(2)?)?,
                        granted_by: uuid_from_row(3, row.get(3)?)?,
                        granted_at: from_unix_seconds(4, row.get(4)?)?,
                    })
                },
            )
        })
        .await
    }

    async fn find_charge(&self, id: Uuid) -> Result<Option<ChargeRow>, StoreError> {
        self.with_connection(move |connection| {
            connection
                .query_row(
                    &format!("SELECT {CHARGE_COLUMNS} FROM charges WHERE id = ?1"),
                    params![blob(&id)],
                    charge_from_row,
                )
                .optional()
                .map_err(db_error)
        })
        .await
    }

    async fn list_charges(&self, scope: ChargeScope) -> Result<Vec<ChargeRow>, StoreError> {
        self.with_connection(move |connection| {
            let (filter, id) = match scope {
                ChargeScope::User(id) => ("user_id = ?1", Some(id)),
                ChargeScope::Household(id) => ("household_id = ?1", Some(id)),
                ChargeScope::Bill(id) => ("bill_id = ?1", Some(id)),
                ChargeScope::All => ("?1 IS NULL", None),
            };
            query_all(
                connection,
                &format!("SELECT {CHARGE_COLUMNS} FROM charges WHERE {filter} ORDER BY id"),
                params![id.as_ref().map(blob)],
                charge_from_row,
            )
        })
        .await
    }

    async fn insert_payment_method(&self, method: PaymentMethodRow) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    &format!(
                        "INSERT INTO payment_methods ({METHOD_COLUMNS}) VALUES \
                         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                    ),
                    params![
                        blob(&method.id),
                        blob(&method.user_id),
                        method.vault_token,
                        method.brand,
                        method.last4,
                        method.expiry_month,
                        method.expiry_year,
                        method.created_at.unix_timestamp(),
                        method.deleted_at.map(OffsetDateTime::unix_timestamp)
                    ],
                )
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Duplicate("vault token")
                    } else {
                        db_error(e)
                    }
                })?;
            Ok(())
        })
        .await
    }

    async fn update_payment_method_display(
        &self,
        method: PaymentMethodRow,
    ) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    "UPDATE payment_methods SET brand = ?2, last4 = ?3, expiry_month = ?4, \
                     expiry_year = ?5 WHERE id = ?1 AND deleted_at IS NULL",
                    params![
                        blob(&method.id),
                        method.brand,
                        method.last4,
                        method.expiry_month,
                        method.expiry_year
                    ],
                )
                .map_err(db_error)?;
            Ok(())
        })
        .await
    }

    async fn find_payment_method(&self, id: Uuid) -> Result<Option<PaymentMethodRow>, StoreError> {
        self.with_connection(move |connection| {
            connection
                .query_row(
                    &format!("SELECT {METHOD_COLUMNS} FROM payment_methods WHERE id = ?1"),
                    params![blob(&id)],
                    method_from_row,
                )
                .optional()
                .map_err(db_error)
        })
        .await
    }

    async fn list_payment_methods(
        &self,
        user_id: Uuid,
    ) -> Result<Vec<PaymentMethodRow>, StoreError> {
        self.with_connection(move |connection| {
            query_all(
                connection,
                &format!(
                    "SELECT {METHOD_COLUMNS} FROM payment_methods \
                     WHERE user_id = ?1 AND deleted_at IS NULL ORDER BY id"
                ),
                params![blob(&user_id)],
                method_from_row,
            )
        })
        .await
    }

    async fn delete_payment_method(
        &self,
        id: Uuid,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.with_connection(move |connection| {
            let updated = connection
                .execute(
                    "UPDATE payment_methods SET deleted_at = ?2, vault_token = '' \
                     WHERE id = ?1 AND deleted_at IS NULL",
                    params![blob(&id), at.unix_timestamp()],
                )
                .map_err(db_error)?;
            Ok(updated == 1)
        })
        .await
    }

    async fn begin_payment(&self, payment: PaymentRow) -> Result<PaymentStart, StoreError> {
        self.with_connection(move |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let same_key = transaction
                .query_row(
                    &format!(
                        "SELECT {PAYMENT_COLUMNS} FROM payments \
                         WHERE idempotency_scope = ?1 AND idempotency_key = ?2"
                    ),
                    params![payment.idempotency_scope, payment.idempotency_key],
                    payment_from_row,
                )
                .optional()
                .map_err(db_error)?;
            if let Some(existing) = same_key {
                return Ok(PaymentStart::Resume(Box::new(existing)));
            }

            let status: Option<String> = transaction
                .query_row(
                    "SELECT status FROM charges WHERE id = ?1",
                    params![blob(&payment.charge_id)],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db_error)?;
            if status.as_deref() != Some("open") {
                return Ok(PaymentStart::ChargeNotOpen);
            }
            let pending: i64 = transaction
                .query_row(
                    "SELECT COUNT(*) FROM payments WHERE charge_id = ?1 AND status = 'pending'",
                    params![blob(&payment.charge_id)],
                    |row| row.get(0),
                )
                .map_err(db_error)?;
            if pending > 0 {
                return Ok(PaymentStart::OtherPaymentPending);
            }

            transaction
                .execute(
                    &format!(
                        "INSERT INTO payments ({PAYMENT_COLUMNS}) VALUES \
                         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
                    ),
                    params![
                        blob(&payment.id),
                        blob(&payment.charge_id),
                        blob(&payment.household_id),
                        blob(&payment.user_id),
                        blob(&payment.payment_method_id),
                        payment.amount_minor,
                        payment.currency,
                        payment.status,
                        payment.decline_reason,
                        payment.processor_reference,
                        payment.idempotency_scope,
                        payment.idempotency_key,
                        payment.device_fingerprint,
                        payment.created_at.unix_timestamp(),
                        payment.completed_at.map(OffsetDateTime::unix_timestamp),
                        payment.vault_charge_id
                    ],
                )
                .map_err(db_error)?;
            transaction.commit().map_err(db_error)?;
            Ok(PaymentStart::Started)
        })
        .await
    }

    async fn finish_payment(
        &self,
        outcome: PaymentOutcome,
        ledger: Vec<LedgerTransactionRow>,
        key: &KeyRef,
        response: StoredResponse,
    ) -> Result<(), StoreError> {
        let key = key.clone();
        self.with_connection(move |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let updated = transaction
                .execute(
                    "UPDATE payments SET status = ?2, decline_reason = ?3, \
                     processor_reference = ?4, completed_at = ?5, vault_charge_id = ?6 \
                     WHERE id = ?1 AND status = 'pending'",
                    params![
                        blob(&outcome.payment_id),
                        outcome.status,
                        outcome.decline_reason,
                        outcome.processor_reference,
                        outcome.completed_at.unix_timestamp(),
                        outcome.vault_charge_id
                    ],
                )
                .map_err(db_error)?;
            if updated == 1 {
                if outcome.status == "succeeded" {
                    transaction
                        .execute(
                            "UPDATE charges SET status = 'paid' WHERE id = \
                             (SELECT charge_id FROM payments WHERE id = ?1)",
                            params![blob(&outcome.payment_id)],
                        )
                        .map_err(db_error)?;
                }
                insert_ledger(&transaction, &ledger)?;
            }
            complete_in(&transaction, &key, &response, outcome.completed_at)?;
            transaction.commit().map_err(db_error)
        })
        .await
    }

    async fn find_payment(&self, id: Uuid) -> Result<Option<PaymentRow>, StoreError> {
        self.with_connection(move |connection| {
            connection
                .query_row(
                    &format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = ?1"),
                    params![blob(&id)],
                    payment_from_row,
                )
                .optional()
                .map_err(db_error)
        })
        .await
    }

    async fn list_payments(&self, scope: PaymentScope) -> Result<Vec<PaymentRow>, StoreError> {
        self.with_connection(move |connection| {
            let (filter, id) = match scope {
                PaymentScope::User(id) => ("user_id", id),
                PaymentScope::Household(id) => ("household_id", id),
                PaymentScope::Charge(id) => ("charge_id", id),
            };
            query_all(
                connection,
                &format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE {filter} = ?1 ORDER BY id"),
                params![blob(&id)],
                payment_from_row,
            )
        })
        .await
    }

    async fn release_key(&self, key: &KeyRef) -> Result<(), StoreError> {
        let key = key.clone();
        self.with_connection(move |connection| {
            connection
                .execute(
                    "DELETE FROM idempotency_keys WHERE scope = ?1 AND idempotency_key = ?2 \
                     AND response_status IS NULL",
                    params![key.scope, key.key],
                )
                .map_err(db_error)?;
            Ok(())
        })
        .await
    }

    async fn insert_refund(
        &self,
        refund: RefundRow,
        ledger: Vec<LedgerTransactionRow>,
        key: &KeyRef,
        response: StoredResponse,
    ) -> Result<RefundInsert, StoreError> {
        let key = key.clone();
        self.with_connection(move |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_error)?;
            let (paid, refunded): (i64, i64) = transaction
                .query_row(
                    "SELECT p.amount_minor, COALESCE((SELECT SUM(r.amount_minor) FROM refunds r \
                     WHERE r.payment_id = p.id), 0) FROM payments p \
                     WHERE p.id = ?1 AND p.status = 'succeeded'",
                    params![blob(&refund.payment_id)],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(db_error)?
                .unwrap_or((0, 0));
            let refundable_minor = paid - refunded;
            if refund.amount_minor > refundable_minor {
                return Ok(RefundInsert::ExceedsPayment { refundable_minor });
            }
            transaction
                .execute(
                    &format!(
                        "INSERT INTO refunds ({REFUND_COLUMNS}) VALUES \
                         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                    ),
                    params![
                        blob(&refund.id),
                        blob(&refund.payment_id),
                        blob(&refund.charge_id),
                        blob(&refund.household_id),
                        blob(&refund.user_id),
                        refund.amount_minor,
                        refund.currency,
                        refund.reason,
                        blob(&refund.created_by),
                        refund.created_at.unix_timestamp()
                    ],
                )
                .map_err(db_error)?;
            insert_ledger(&transaction, &ledger)?;
            complete_in(&transaction, &key, &response, refund.created_at)?;
            transaction.commit().map_err(db_error)?;
            Ok(RefundInsert::Stored)
        })
        .await
    }

    async fn list_refunds(&self, household_id: Uuid) -> Result<Vec<RefundRow>, StoreError> {
        self.with_connection(move |connection| {
            query_all(
                connection,
                &format!(
                    "SELECT {REFUND_COLUMNS} FROM refunds WHERE household_id = ?1 ORDER BY id"
                ),
                params![blob(&household_id)],
                refund_from_row,
            )
        })
        .await
    }

    async fn list_ledger(
        &self,
        household_id: Option<Uuid>,
    ) -> Result<Vec<LedgerTransactionRow>, StoreError> {
        self.with_connection(move |connection| {
            let household = household_id.as_ref().map(blob);
            let mut transactions = query_all(
                connection,
                "SELECT id, household_id, kind, reference_id, charge_id, posted_at \
                 FROM ledger_transactions WHERE ?1 IS NULL OR household_id = ?1 ORDER BY seq",
                params![household],
                |row| {
                    Ok(LedgerTransactionRow {
                        id: uuid_from_row(0, row.get(0)?)?,
                        household_id: uuid_from_row(1, row.get(1)?)?,
                        kind: row.get(2)?,
                        reference_id: uuid_from_row(3, row.get(3)?)?,
                        charge_id: uuid_from_row(4, row.get(4)?)?,
                        posted_at: from_unix_seconds(5, row.get(5)?)?,
                        entries: Vec::new(),
                    })
                },
            )?;
            let entries = query_all(
                connection,
                "SELECT e.transaction_id, e.account, e.side, e.amount_minor, e.currency \
                 FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id \
                 WHERE ?1 IS NULL OR t.household_id = ?1 ORDER BY t.seq, e.line",
                params![household],
                |row| {
                    Ok((
                        uuid_from_row(0, row.get(0)?)?,
                        LedgerEntryRow {
                            account: row.get(1)?,
                            side: row.get(2)?,
                            amount_minor: row.get(3)?,
                            currency: row.get(4)?,
                        },
                    ))
                },
            )?;
            attach_entries(&mut transactions, entries);
            Ok(transactions)
        })
        .await
    }

    async fn insert_monitoring_case(&self, case: MonitoringCaseRow) -> Result<(), StoreError> {
        self.with_connection(move |connection| {
            connection
                .execute(
                    &format!(
                        "INSERT INTO monitoring_cases ({CASE_COLUMNS}) VALUES \
                         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
                    ),
                    params![
                        blob(&case.id),
                        case.rule,
                        case.severity,
                        case.reason,
                        blob(&case.user_id),
                        blob(&case.payment_id),
                        blob(&case.household_id),
                        case.status,
                        case.opened_at.unix_timestamp(),
                        case.closed_by.as_ref().map(blob),
                        case.closed_at.map(OffsetDateTime::unix_timestamp),
                        case.resolution
                    ],
                )
                .map_err(db_error)?;
            Ok(())
        })
        .await
    }

    async fn list_monitoring_cases(
        &self,
        open_only: bool,
    ) -> Result<Vec<MonitoringCaseRow>, StoreError> {
        self.with_connection(move |connection| {
            query_all(
                connection,
                &format!(
                    "SELECT {CASE_COLUMNS} FROM monitoring_cases \
                     WHERE ?1 = 0 OR status = 'open' ORDER BY id DESC"
                ),
                params![open_only],
                case_from_row,
            )
        })
        .await
    }

    async fn find_monitoring_case(
        &self,
        id: Uuid,
    ) -> Result<Option<MonitoringCaseRow>, StoreError> {
        self.with_connection(move |connection| {
            connection
                .query_row(
                    &format!("SELECT {CASE_COLUMNS} FROM monitoring_cases WHERE id = ?1"),
                    params![blob(&id)],
                    case_from_row,
                )
                .optional()
                .map_err(db_error)
        })
        .await
    }

    async fn close_monitoring_case(
        &self,
        id: Uuid,
        closed_by: Uuid,
        closed_at: OffsetDateTime,
        resolution: String,
    ) -> Result<bool, StoreError> {
        self.with_connection(move |connection| {
            let updated = connection
                .execute(
                    "UPDATE monitoring_cases SET status = 'closed', closed_by = ?2, \
                     closed_at = ?3, resolution = ?4 WHERE id = ?1 AND status = 'open'",
                    params![
                        blob(&id),
                        blob(&closed_by),
                        closed_at.unix_timestamp(),
                        resolution
                    ],
                )
                .map_err(db_error)?;
            Ok(updated == 1)
        })
        .await
    }
}
