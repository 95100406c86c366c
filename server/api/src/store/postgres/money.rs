//! [`MoneyStore`] on PostgreSQL. Timestamps are stored to the second, as
//! the SQLCipher backend stores them. A change that checks before it writes
//! locks the rows it checks (`FOR UPDATE`), so concurrent API instances
//! cannot both pass the check.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::readings::COMPLETE_KEY;
use super::{PostgresStore, pg_error, unique_constraint, whole_seconds};
use crate::store::StoreError;
use crate::store::money::{
    BillApproval, BillRow, ChargeRow, ChargeScope, DelegationRow, LedgerEntryRow,
    LedgerTransactionRow, MoneyStore, MonitoringCaseRow, PaymentMethodRow, PaymentOutcome,
    PaymentRow, PaymentScope, PaymentStart, RefundInsert, RefundRow, attach_entries, small_from_db,
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

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    index: usize,
) -> Result<T, StoreError> {
    row.try_get(index).map_err(pg_error)
}

fn bill_from_row(row: &Row) -> Result<BillRow, StoreError> {
    let version: i32 = get(row, 1)?;
    Ok(BillRow {
        id: get(row, 0)?,
        version: small_from_db("bill", "version", i64::from(version))?,
        household_id: get(row, 2)?,
        status: get(row, 3)?,
        amount_minor: get(row, 4)?,
        currency: get(row, 5)?,
        standing_charge_minor: get(row, 6)?,
        period_start_day: get(row, 7)?,
        period_end_day: get(row, 8)?,
        provider: get(row, 9)?,
        request_json: get(row, 10)?,
        split_json: get(row, 11)?,
        created_by: get(row, 12)?,
        created_at: get(row, 13)?,
        approved_by: get(row, 14)?,
        approved_at: get(row, 15)?,
    })
}

fn charge_from_row(row: &Row) -> Result<ChargeRow, StoreError> {
    let version: i32 = get(row, 2)?;
    Ok(ChargeRow {
        id: get(row, 0)?,
        bill_id: get(row, 1)?,
        bill_version: small_from_db("charge", "bill_version", i64::from(version))?,
        household_id: get(row, 3)?,
        user_id: get(row, 4)?,
        payee_id: get(row, 5)?,
        amount_minor: get(row, 6)?,
        currency: get(row, 7)?,
        status: get(row, 8)?,
        created_at: get(row, 9)?,
    })
}

fn method_from_row(row: &Row) -> Result<PaymentMethodRow, StoreError> {
    let month: i32 = get(row, 5)?;
    let year: i32 = get(row, 6)?;
    Ok(PaymentMethodRow {
        id: get(row, 0)?,
        user_id: get(row, 1)?,
        vault_token: get(row, 2)?,
        brand: get(row, 3)?,
        last4: get(row, 4)?,
        expiry_month: small_from_db("payment method", "expiry_month", i64::from(month))?,
        expiry_year: small_from_db("payment method", "expiry_year", i64::from(year))?,
        created_at: get(row, 7)?,
        deleted_at: get(row, 8)?,
    })
}

fn payment_from_row(row: &Row) -> Result<PaymentRow, StoreError> {
    Ok(PaymentRow {
        id: get(row, 0)?,
        charge_id: get(row, 1)?,
        household_id: get(row, 2)?,
        user_id: get(row, 3)?,
        payment_method_id: get(row, 4)?,
        amount_minor: get(row, 5)?,
        currency: get(row, 6)?,
        status: get(row, 7)?,
        decline_reason: get(row, 8)?,
        processor_reference: get(row, 9)?,
        idempotency_scope: get(row, 10)?,
        idempotency_key: get(row, 11)?,
        device_fingerprint: get(row, 12)?,
        created_at: get(row, 13)?,
        completed_at: get(row, 14)?,
        vault_charge_id: get(row, 15)?,
    })
}

fn refund_from_row(row: &Row) -> Result<RefundRow, StoreError> {
    Ok(RefundRow {
        id: get(row, 0)?,
        payment_id: get(row, 1)?,
        charge_id: get(row, 2)?,
        household_id: get(row, 3)?,
        user_id: get(row, 4)?,
        amount_minor: get(row, 5)?,
        currency: get(row, 6)?,
        reason: get(row, 7)?,
        created_by: get(row, 8)?,
        created_at: get(row, 9)?,
    })
}

fn case_from_row(row: &Row) -> Result<MonitoringCaseRow, StoreError> {
    Ok(MonitoringCaseRow {
        id: get(row, 0)?,
        rule: get(row, 1)?,
        severity: get(row, 2)?,
        reason: get(row, 3)?,
        user_id: get(row, 4)?,
        payment_id: get(row, 5)?,
        household_id: get(row, 6)?,
        status: get(row, 7)?,
        opened_at: get(row, 8)?,
        closed_by: get(row, 9)?,
        closed_at: get(row, 10)?,
        resolution: get(row, 11)?,
    })
}

fn to_i32(field: &'static str, value: u32) -> Result<i32, StoreError> {
    i32::try_from(value).map_err(|_| StoreError::InvalidRow {
        row: "money row".to_owned(),
        field,
        detail: format!("{value} is too large to store"),
    })
}

fn seconds(time: Option<OffsetDateTime>) -> Option<OffsetDateTime> {
    time.map(whole_seconds)
}

async fn query_all<T>(
    client: &impl GenericClient,
    sql: &str,
    parameters: &[&(dyn ToSql + Sync)],
    map: fn(&Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let rows = client.query(sql, parameters).await.map_err(pg_error)?;
    rows.iter().map(map).collect()
}

async fn query_optional<T>(
    client: &impl GenericClient,
    sql: &str,
    parameters: &[&(dyn ToSql + Sync)],
    map: fn(&Row) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let row = client.query_opt(sql, parameters).await.map_err(pg_error)?;
    row.as_ref().map(map).transpose()
}

async fn insert_ledger(
    client: &impl GenericClient,
    transactions: &[LedgerTransactionRow],
) -> Result<(), StoreError> {
    for transaction in transactions {
        client
            .execute(
                "INSERT INTO ledger_transactions \
                 (id, household_id, kind, reference_id, charge_id, posted_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &transaction.id,
                    &transaction.household_id,
                    &transaction.kind,
                    &transaction.reference_id,
                    &transaction.charge_id,
                    &whole_seconds(transaction.posted_at),
                ],
            )
            .await
            .map_err(pg_error)?;
        for (line, entry) in transaction.entries.iter().enumerate() {
            let line = to_i32("line", u32::try_from(line).unwrap_or(u32::MAX))?;
            client
                .execute(
                    "INSERT INTO ledger_entries \
                     (transaction_id, line, account, side, amount_minor, currency) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    &[
                        &transaction.id,
                        &line,
                        &entry.account,
                        &entry.side,
                        &entry.amount_minor,
                        &entry.currency,
                    ],
                )
                .await
                .map_err(pg_error)?;
        }
    }
    Ok(())
}

async fn complete_key(
    client: &impl GenericClient,
    key: &KeyRef,
    response: &StoredResponse,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    client
        .execute(
            COMPLETE_KEY,
            &[
                &key.scope,
                &key.key,
                &i32::from(response.status),
                &response.body,
                &whole_seconds(now),
            ],
        )
        .await
        .map_err(pg_error)?;
    Ok(())
}

#[async_trait]
impl MoneyStore for PostgresStore {
    async fn insert_bill_version(&self, bill: BillRow) -> Result<(), StoreError> {
        let client = self.client().await?;
        let result = client
            .execute(
                &format!(
                    "INSERT INTO bills ({BILL_COLUMNS}) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
                ),
                &[
                    &bill.id,
                    &to_i32("version", bill.version)?,
                    &bill.household_id,
                    &bill.status,
                    &bill.amount_minor,
                    &bill.currency,
                    &bill.standing_charge_minor,
                    &bill.period_start_day,
                    &bill.period_end_day,
                    &bill.provider,
                    &bill.request_json,
                    &bill.split_json,
                    &bill.created_by,
                    &whole_seconds(bill.created_at),
                    &bill.approved_by,
                    &seconds(bill.approved_at),
                ],
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if unique_constraint(&e).is_some() => Err(StoreError::Duplicate("bill version")),
            Err(e) => Err(pg_error(e)),
        }
    }

    async fn find_bill(&self, id: Uuid) -> Result<Option<BillRow>, StoreError> {
        let client = self.client().await?;
        query_optional(
            &client,
            &format!(
                "SELECT {BILL_COLUMNS} FROM bills WHERE id = $1 ORDER BY version DESC LIMIT 1"
            ),
            &[&id],
            bill_from_row,
        )
        .await
    }

    async fn list_bills(&self, household_id: Uuid) -> Result<Vec<BillRow>, StoreError> {
        let client = self.client().await?;
        query_all(
            &client,
            &format!(
                "SELECT {BILL_COLUMNS} FROM bills b WHERE household_id = $1 \
                 AND version = (SELECT MAX(version) FROM bills l WHERE l.id = b.id) ORDER BY id"
            ),
            &[&household_id],
            bill_from_row,
        )
        .await
    }

    async fn approve_bill(
        &self,
        approval: BillApproval,
        charges: Vec<ChargeRow>,
        ledger: Vec<LedgerTransactionRow>,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        let version = to_i32("version", approval.version)?;
        // Locking every version of the bill serializes approvals and
        // changes of one bill.
        let latest: Option<i32> = transaction
            .query_opt(
                "SELECT MAX(version) FROM (SELECT version FROM bills WHERE id = $1 FOR UPDATE) v",
                &[&approval.bill_id],
            )
            .await
            .map_err(pg_error)?
            .and_then(|row| row.get(0));
        if latest != Some(version) {
            return Ok(false);
        }
        let updated = transaction
            .execute(
                "UPDATE bills SET status = 'approved', approved_by = $3, approved_at = $4, \
                 split_json = $5 WHERE id = $1 AND version = $2 AND status = 'proposed'",
                &[
                    &approval.bill_id,
                    &version,
                    &approval.approved_by,
                    &whole_seconds(approval.approved_at),
                    &approval.split_json,
                ],
            )
            .await
            .map_err(pg_error)?;
        if updated != 1 {
            return Ok(false);
        }
        transaction
            .execute(
                "UPDATE charges SET status = 'cancelled' \
                 WHERE bill_id = $1 AND bill_version < $2 AND status = 'open'",
                &[&approval.bill_id, &version],
            )
            .await
            .map_err(pg_error)?;
        for charge in &charges {
            transaction
                .execute(
                    &format!(
                        "INSERT INTO charges ({CHARGE_COLUMNS}) VALUES \
                         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                    ),
                    &[
                        &charge.id,
                        &charge.bill_id,
                        &to_i32("bill_version", charge.bill_version)?,
                        &charge.household_id,
                        &charge.user_id,
                        &charge.payee_id,
                        &charge.amount_minor,
                        &charge.currency,
                        &charge.status,
                        &whole_seconds(charge.created_at),
                    ],
                )
                .await
                .map_err(pg_error)?;
        }
        insert_ledger(&transaction, &ledger).await?;
        transaction.commit().await.map_err(pg_error)?;
        Ok(true)
    }

    async fn insert_delegation(&self, delegation: DelegationRow) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO bill_delegations \
                 (bill_id, household_id, user_id, granted_by, granted_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (bill_id, user_id) DO NOTHING",
                &[
                    &delegation.bill_id,
                    &delegation.household_id,
                    &delegation.user_id,
                    &delegation.granted_by,
                    &whole_seconds(delegation.granted_at),
                ],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn delegations_of(&self, user_id: Uuid) -> Result<Vec<DelegationRow>, StoreError> {
        let client = self.client().await?;
        query_all(
            &client,
            "SELECT bill_id, household_id, user_id, granted_by, granted_at \
             FROM bill_delegations WHERE user_id = $1",
            &[&user_id],
            |row| {
                Ok(DelegationRow {
                    bill_id: get(row, 0)?,
                    household_id: get(row, 1)?,
                    user_id: get(row, 2)?,
                    granted_by: get(row, 3)?,
                    granted_at: get(row, 4)?,
                })
            },
        )
        .await
    }

    async fn find_charge(&self, id: Uuid) -> Result<Option<ChargeRow>, StoreError> {
        let client = self.client().await?;
        query_optional(
            &client,
            &format!("SELECT {CHARGE_COLUMNS} FROM charges WHERE id = $1"),
            &[&id],
            charge_from_row,
        )
        .await
    }

    async fn list_charges(&self, scope: ChargeScope) -> Result<Vec<ChargeRow>, StoreError> {
        let client = self.client().await?;
        let (filter, id) = match scope {
            ChargeScope::User(id) => ("user_id = $1", Some(id)),
            ChargeScope::Household(id) => ("household_id = $1", Some(id)),
            ChargeScope::Bill(id) => ("bill_id = $1", Some(id)),
            ChargeScope::All => ("$1::uuid IS NULL", None),
        };
        query_all(
            &client,
            &format!("SELECT {CHARGE_COLUMNS} FROM charges WHERE {filter} ORDER BY id"),
            &[&id],
            charge_from_row,
        )
        .await
    }

    async fn insert_payment_method(&self, method: PaymentMethodRow) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                &format!(
                    "INSERT INTO payment_methods ({METHOD_COLUMNS}) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                ),
                &[
                    &method.id,
                    &method.user_id,
                    &method.vault_token,
                    &method.brand,
                    &method.last4,
                    &i32::from(method.expiry_month),
                    &i32::from(method.expiry_year),
                    &whole_seconds(method.created_at),
                    &seconds(method.deleted_at),
                ],
            )
            .await
            .map_err(|e| {
                if unique_constraint(&e).as_deref() == Some("payment_methods_live_token") {
                    StoreError::Duplicate("vault token")
                } else {
                    pg_error(e)
                }
            })?;
        Ok(())
    }

    async fn update_payment_method_display(
        &self,
        method: PaymentMethodRow,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE payment_methods SET brand = $2, last4 = $3, expiry_month = $4, \
                 expiry_year = $5 WHERE id = $1 AND deleted_at IS NULL",
                &[
                    &method.id,
                    &method.brand,
                    &method.last4,
                    &i32::from(method.expiry_month),
                    &i32::from(method.expiry_year),
                ],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn find_payment_method(&self, id: Uuid) -> Result<Option<PaymentMethodRow>, StoreError> {
        let client = self.client().await?;
        query_optional(
            &client,
            &format!("SELECT {METHOD_COLUMNS} FROM payment_methods WHERE id = $1"),
            &[&id],
            method_from_row,
        )
        .await
    }

    async fn list_payment_methods(
        &self,
        user_id: Uuid,
    ) -> Result<Vec<PaymentMethodRow>, StoreError> {
        let client = self.client().await?;
        query_all(
            &client,
            &format!(
                "SELECT {METHOD_COLUMNS} FROM payment_methods \
                 WHERE user_id = $1 AND deleted_at IS NULL ORDER BY id"
            ),
            &[&user_id],
            method_from_row,
        )
        .await
    }

    async fn delete_payment_method(
        &self,
        id: Uuid,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let updated = client
            .execute(
                "UPDATE payment_methods SET deleted_at = $2, vault_token = '' \
                 WHERE id = $1 AND deleted_at IS NULL",
                &[&id, &whole_seconds(at)],
            )
            .await
            .map_err(pg_error)?;
        Ok(updated == 1)
    }

    async fn begin_payment(&self, payment: PaymentRow) -> Result<PaymentStart, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        // Locking the charge first serializes payments of one charge.
        let status: Option<String> = transaction
            .query_opt(
                "SELECT status FROM charges WHERE id = $1 FOR UPDATE",
                &[&payment.charge_id],
            )
            .await
            .map_err(pg_error)?
            .map(|row| row.get(0));
        let same_key = query_optional(
            &transaction,
            &format!(
                "SELECT {PAYMENT_COLUMNS} FROM payments \
                 WHERE idempotency_scope = $1 AND idempotency_key = $2"
            ),
            &[&payment.idempotency_scope, &payment.idempotency_key],
            payment_from_row,
        )
        .await?;
        if let Some(existing) = same_key {
            return Ok(PaymentStart::Resume(Box::new(existing)));
        }
        if status.as_deref() != Some("open") {
            return Ok(PaymentStart::ChargeNotOpen);
        }
        let pending: i64 = transaction
            .query_one(
                "SELECT COUNT(*) FROM payments WHERE charge_id = $1 AND status = 'pending'",
                &[&payment.charge_id],
            )
            .await
            .map_err(pg_error)?
            .get(0);
        if pending > 0 {
            return Ok(PaymentStart::OtherPaymentPending);
        }
        transaction
            .execute(
                &format!(
                    "INSERT INTO payments ({PAYMENT_COLUMNS}) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
                ),
                &[
                    &payment.id,
                    &payment.charge_id,
                    &payment.household_id,
                    &payment.user_id,
                    &payment.payment_method_id,
                    &payment.amount_minor,
                    &payment.currency,
                    &payment.status,
                    &payment.decline_reason,
                    &payment.processor_reference,
                    &payment.idempotency_scope,
                    &payment.idempotency_key,
                    &payment.device_fingerprint,
                    &whole_seconds(payment.created_at),
                    &seconds(payment.completed_at),
                    &payment.vault_charge_id,
                ],
            )
            .await
            .map_err(pg_error)?;
        transaction.commit().await.map_err(pg_error)?;
        Ok(PaymentStart::Started)
    }

    async fn finish_payment(
        &self,
        outcome: PaymentOutcome,
        ledger: Vec<LedgerTransactionRow>,
        key: &KeyRef,
        response: StoredResponse,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        let updated = transaction
            .execute(
                "UPDATE payments SET status = $2, decline_reason = $3, \
                 processor_reference = $4, completed_at = $5, vault_charge_id = $6 \
                 WHERE id = $1 AND status = 'pending'",
                &[
                    &outcome.payment_id,
                    &outcome.status,
                    &outcome.decline_reason,
                    &outcome.processor_reference,
                    &whole_seconds(outcome.completed_at),
                    &outcome.vault_charge_id,
                ],
            )
            .await
            .map_err(pg_error)?;
        if updated == 1 {
            if outcome.status == "succeeded" {
                transaction
                    .execute(
                        "UPDATE charges SET status = 'paid' WHERE id = \
                         (SELECT charge_id FROM payments WHERE id = $1)",
                        &[&outcome.payment_id],
                    )
                    .await
                    .map_err(pg_error)?;
            }
            insert_ledger(&transaction, &ledger).await?;
        }
        complete_key(&transaction, key, &response, outcome.completed_at).await?;
        transaction.commit().await.map_err(pg_error)
    }

    async fn find_payment(&self, id: Uuid) -> Result<Option<PaymentRow>, StoreError> {
        let client = self.client().await?;
        query_optional(
            &client,
            &format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = $1"),
            &[&id],
            payment_from_row,
        )
        .await
    }

    async fn list_payments(&self, scope: PaymentScope) -> Result<Vec<PaymentRow>, StoreError> {
        let client = self.client().await?;
        let (filter, id) = match scope {
            PaymentScope::User(id) => ("user_id", id),
            PaymentScope::Household(id) => ("household_id", id),
            PaymentScope::Charge(id) => ("charge_id", id),
        };
        query_all(
            &client,
            &format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE {filter} = $1 ORDER BY id"),
            &[&id],
            payment_from_row,
        )
        .await
    }

    async fn release_key(&self, key: &KeyRef) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2 \
                 AND response_status IS NULL",
                &[&key.scope, &key.key],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn insert_refund(
        &self,
        refund: RefundRow,
        ledger: Vec<LedgerTransactionRow>,
        key: &KeyRef,
        response: StoredResponse,
    ) -> Result<RefundInsert, StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        let paid: i64 = transaction
            .query_opt(
                "SELECT amount_minor FROM payments WHERE id = $1 AND status = 'succeeded' \
                 FOR UPDATE",
                &[&refund.payment_id],
            )
            .await
            .map_err(pg_error)?
            .map_or(0, |row| row.get(0));
        let refunded: i64 = transaction
            .query_one(
                "SELECT COALESCE(SUM(amount_minor), 0)::BIGINT FROM refunds WHERE payment_id = $1",
                &[&refund.payment_id],
            )
            .await
            .map_err(pg_error)?
            .get(0);
        let refundable_minor = paid - refunded;
        if refund.amount_minor > refundable_minor {
            return Ok(RefundInsert::ExceedsPayment { refundable_minor });
        }
        transaction
            .execute(
                &format!(
                    "INSERT INTO refunds ({REFUND_COLUMNS}) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                ),
                &[
                    &refund.id,
                    &refund.payment_id,
                    &refund.charge_id,
                    &refund.household_id,
                    &refund.user_id,
                    &refund.amount_minor,
                    &refund.currency,
                    &refund.reason,
                    &refund.created_by,
                    &whole_seconds(refund.created_at),
                ],
            )
            .await
            .map_err(pg_error)?;
        insert_ledger(&transaction, &ledger).await?;
        complete_key(&transaction, key, &response, refund.created_at).await?;
        transaction.commit().await.map_err(pg_error)?;
        Ok(RefundInsert::Stored)
    }

    async fn list_refunds(&self, household_id: Uuid) -> Result<Vec<RefundRow>, StoreError> {
        let client = self.client().await?;
        query_all(
            &client,
            &format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE household_id = $1 ORDER BY id"),
            &[&household_id],
            refund_from_row,
        )
        .await
    }

    async fn list_ledger(
        &self,
        household_id: Option<Uuid>,
    ) -> Result<Vec<LedgerTransactionRow>, StoreError> {
        let client = self.client().await?;
        let mut transactions = query_all(
            &client,
            "SELECT id, household_id, kind, reference_id, charge_id, posted_at \
             FROM ledger_transactions WHERE $1::uuid IS NULL OR household_id = $1 ORDER BY seq",
            &[&household_id],
            |row| {
                Ok(LedgerTransactionRow {
                    id: get(row, 0)?,
                    household_id: get(row, 1)?,
                    kind: get(row, 2)?,
                    reference_id: get(row, 3)?,
                    charge_id: get(row, 4)?,
                    posted_at: get(row, 5)?,
                    entries: Vec::new(),
                })
            },
        )
        .await?;
        let entries = query_all(
            &client,
            "SELECT e.transaction_id, e.account, e.side, e.amount_minor, e.currency \
             FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id \
             WHERE $1::uuid IS NULL OR t.household_id = $1 ORDER BY t.seq, e.line",
            &[&household_id],
            |row| {
                Ok((
                    get(row, 0)?,
                    LedgerEntryRow {
                        account: get(row, 1)?,
                        side: get(row, 2)?,
                        amount_minor: get(row, 3)?,
                        currency: get(row, 4)?,
                    },
                ))
            },
        )
        .await?;
        attach_entries(&mut transactions, entries);
        Ok(transactions)
    }

    async fn insert_monitoring_case(&self, case: MonitoringCaseRow) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                &format!(
                    "INSERT INTO monitoring_cases ({CASE_COLUMNS}) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                ),
                &[
                    &case.id,
                    &case.rule,
                    &case.severity,
                    &case.reason,
                    &case.user_id,
                    &case.payment_id,
                    &case.household_id,
                    &case.status,
                    &whole_seconds(case.opened_at),
                    &case.closed_by,
                    &seconds(case.closed_at),
                    &case.resolution,
                ],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    async fn list_monitoring_cases(
        &self,
        open_only: bool,
    ) -> Result<Vec<MonitoringCaseRow>, StoreError> {
        let client = self.client().await?;
        query_all(
            &client,
            &format!(
                "SELECT {CASE_COLUMNS} FROM monitoring_cases \
                 WHERE NOT $1 OR status = 'open' ORDER BY id DESC"
            ),
            &[&open_only],
            case_from_row,
        )
        .await
    }

    async fn find_monitoring_case(
        &self,
        id: Uuid,
    ) -> Result<Option<MonitoringCaseRow>, StoreError> {
        let client = self.client().await?;
        query_optional(
            &client,
            &format!("SELECT {CASE_COLUMNS} FROM monitoring_cases WHERE id = $1"),
            &[&id],
            case_from_row,
        )
        .await
    }

    async fn close_monitoring_case(
        &self,
        id: Uuid,
        closed_by: Uuid,
        closed_at: OffsetDateTime,
        resolution: String,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let updated = client
            .execute(
                "UPDATE monitoring_cases SET status = 'closed', closed_by = $2, \
                 closed_at = $3, resolution = $4 WHERE id = $1 AND status = 'open'",
                &[&id, &closed_by, &whole_seconds(closed_at), &resolution],
            )
            .await
            .map_err(pg_error)?;
        Ok(updated == 1)
    }
}
