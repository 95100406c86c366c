package app.sharepay.android.data

import app.sharepay.sdk.SharePay

/**
 * A bill as the core returns it. Amounts arrive formatted by the core (`amountDisplay`), because
 * minor units, currency digits and rounding are core rules that the app must not repeat.
 */
data class Bill(
    val id: String,
    val householdId: String,
    val title: String,
    val period: String,
    val amountDisplay: String,
    val status: String,
)

/** One participant's share in a split proposal. */
data class SplitShare(val memberName: String, val amountDisplay: String)

/**
 * The core's proposed split of a bill: the method (equal, shares, percent, exact, metered),
 * each share, and the core's plain-language explanation of how it got there, rounding included.
 */
data class SplitProposal(
    val billId: String,
    val method: String,
    val shares: List<SplitShare>,
    val explanation: String,
    val approved: Boolean,
)

/** Bills and their splits, for the primary payer. */
interface BillRepository {
    suspend fun bills(householdId: String): List<Bill>
    suspend fun splitProposal(billId: String): SplitProposal
    suspend fun approveSplit(billId: String)
}

class CoreBillRepository(private val sharePay: suspend () -> SharePay) : BillRepository {

    // TODO: call the core's listBills(householdId).
    override suspend fun bills(householdId: String): List<Bill> = throw CoreCallUnavailable("listBills")

    // TODO: call the core's proposeSplit(billId).
    override suspend fun splitProposal(billId: String): SplitProposal =
        throw CoreCallUnavailable("proposeSplit")

    // TODO: call the core's approveSplit(billId).
    override suspend fun approveSplit(billId: String) = throw CoreCallUnavailable("approveSplit")
}
