package app.sharepay.android.data

import app.sharepay.ffi.BillStatus
import app.sharepay.sdk.SharePay
import app.sharepay.sdk.approveBill
import app.sharepay.sdk.billSplit
import app.sharepay.sdk.bills
import app.sharepay.sdk.display

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

/**
 * One member's share in a split, with the core's explanation of how it was computed.
 *
 * NOTE: members appear by user id, because the server's member list carries no display names.
 */
data class SplitShare(val memberId: String, val amountDisplay: String, val explanation: String)

/** The core's split of a bill: the method (equal, shares, percent, exact, consumption) and each share. */
data class SplitProposal(
    val billId: String,
    val method: String,
    val totalDisplay: String,
    val shares: List<SplitShare>,
    val approved: Boolean,
)

/** Bills and their splits, for the primary payer. */
interface BillRepository {
    suspend fun bills(householdId: String): List<Bill>
    suspend fun splitProposal(billId: String): SplitProposal
    suspend fun approveSplit(billId: String)
}

class CoreBillRepository(private val sharePay: suspend () -> SharePay) : BillRepository {

    override suspend fun bills(householdId: String): List<Bill> = sharePay().bills(householdId).map { bill ->
        Bill(
            id = bill.billId,
            householdId = bill.householdId,
            title = bill.provider,
            period = "${bill.periodStart} to ${bill.periodEnd}",
            amountDisplay = bill.amount.display(),
            status = bill.status.name.lowercase(),
        )
    }

    override suspend fun splitProposal(billId: String): SplitProposal {
        val split = sharePay().billSplit(billId)
        return SplitProposal(
            billId = split.billId,
            method = split.mode.name.lowercase(),
            totalDisplay = split.total.display(),
            shares = split.lines.map { SplitShare(it.memberId, it.amount.display(), it.explanation) },
            approved = split.status == BillStatus.APPROVED,
        )
    }

    override suspend fun approveSplit(billId: String) {
        sharePay().approveBill(billId)
    }
}
