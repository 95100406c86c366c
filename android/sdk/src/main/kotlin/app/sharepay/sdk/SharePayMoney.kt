package app.sharepay.sdk

import app.sharepay.ffi.Bill
import app.sharepay.ffi.BillSplit
import app.sharepay.ffi.Charge
import app.sharepay.ffi.Money
import app.sharepay.ffi.NewBill
import app.sharepay.ffi.NewCard
import app.sharepay.ffi.Payment
import app.sharepay.ffi.PaymentMethod
import app.sharepay.ffi.SharePayException
import app.sharepay.ffi.Statement
import app.sharepay.ffi.formatMoney

// Bills, splits, charges, cards, payments and statements. The core validates every input and
// computes every amount, so these functions only forward.

/** Adds a bill to a household; the server computes its split proposal. */
suspend fun SharePay.addBill(householdId: String, bill: NewBill): Bill = callWithSession { client.addBill(householdId, bill) }

/** Lists the bills of a household at their latest version. */
suspend fun SharePay.bills(householdId: String): List<Bill> = callWithSession { client.bills(householdId) }

/** Reads one bill at its latest version. */
suspend fun SharePay.bill(billId: String): Bill = callWithSession { client.bill(billId) }

/** Reads a bill's split, each line with the core's explanation of how it was computed. */
suspend fun SharePay.billSplit(billId: String): BillSplit = callWithSession { client.billSplit(billId) }

/** Approves a bill's split, which creates one charge per member share. */
suspend fun SharePay.approveBill(billId: String): BillSplit = callWithSession { client.approveBill(billId) }

/** Lists the signed-in user's charges in every household. */
suspend fun SharePay.myCharges(): List<Charge> = callWithSession { client.myCharges() }

/** Lists every charge of a household, for its primary payer. */
suspend fun SharePay.householdCharges(householdId: String): List<Charge> =
    callWithSession { client.householdCharges(householdId) }

/**
 * Checks [card] in the core, saves it at the vault and returns the saved card's display data.
 * Needs a recent step-up check. An invalid field fails with [SharePayError.InvalidInput] naming it.
 */
suspend fun SharePay.saveCard(card: NewCard): PaymentMethod = callWithSession { client.saveCard(card) }

/** Lists the signed-in user's saved cards. */
suspend fun SharePay.paymentMethods(): List<PaymentMethod> = callWithSession { client.paymentMethods() }

/** Removes a saved card. */
suspend fun SharePay.removeCard(paymentMethodId: String): Unit = callWithSession { client.removeCard(paymentMethodId) }

/**
 * Pays a charge's open amount with a saved card. A decline fails with
 * [SharePayError.PaymentDeclined]. After a network failure, calling again with the same card is
 * safe: the core resends the attempt's idempotency key, so the card is charged at most once.
 */
suspend fun SharePay.payCharge(chargeId: String, paymentMethodId: String): Payment =
    callWithSession { client.payCharge(chargeId, paymentMethodId) }

/**
 * Reads the statements of a household member, the signed-in user when [member] is null, for the
 * days [from] to [to] (`YYYY-MM-DD`, included), one per currency.
 */
suspend fun SharePay.statements(householdId: String, member: String?, from: String, to: String): List<Statement> =
    callWithSession { client.statements(householdId, member, from, to) }

/** Formats the amount with its currency's symbol, digits and grouping, as the core does. */
fun Money.display(): String = try {
    formatMoney(this)
} catch (exception: SharePayException) {
    throw SharePayError.from(exception)
}
