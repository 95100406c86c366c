import Foundation
import SharePayFFI
import SharePayKit

/// A bill as the core returns it. Amounts arrive formatted by the core
/// (`amountDisplay`), because minor units, currency digits and rounding are
/// core rules that the app must not repeat.
struct Bill: Identifiable, Hashable, Sendable {
    let id: String
    let householdID: String
    let title: String
    let period: String
    let amountDisplay: String
    let status: String
}

/// One member's share in a split, with the core's explanation of how it was
/// computed.
///
/// NOTE: members appear by user id, because the server's member list carries
/// no display names.
struct SplitShare: Hashable, Sendable {
    let memberID: String
    let amountDisplay: String
    let explanation: String
}

/// The core's split of a bill: the method (equal, shares, percent, exact,
/// consumption) and each share.
struct SplitProposal: Sendable {
    let billID: String
    let method: String
    let totalDisplay: String
    let shares: [SplitShare]
    let approved: Bool
}

/// Bills and their splits, for the primary payer.
protocol BillRepository: Sendable {
    func bills(householdID: String) async throws -> [Bill]
    func splitProposal(billID: String) async throws -> SplitProposal
    func approveSplit(billID: String) async throws
}

struct CoreBillRepository: BillRepository {
    let provider: SharePayProvider

    func bills(householdID: String) async throws -> [Bill] {
        try await provider.sharePay().bills(householdID: householdID).map { bill in
            Bill(
                id: bill.billId,
                householdID: bill.householdId,
                title: bill.provider,
                period: "\(bill.periodStart) to \(bill.periodEnd)",
                amountDisplay: bill.amount.display,
                status: bill.status == .approved ? "approved" : "proposed"
            )
        }
    }

    func splitProposal(billID: String) async throws -> SplitProposal {
        let split = try await provider.sharePay().billSplit(billID: billID)
        return SplitProposal(
            billID: split.billId,
            method: "\(split.mode)",
            totalDisplay: split.total.display,
            shares: split.lines.map {
                SplitShare(memberID: $0.memberId, amountDisplay: $0.amount.display, explanation: $0.explanation)
            },
            approved: split.status == .approved
        )
    }

    func approveSplit(billID: String) async throws {
        try await provider.sharePay().approveBill(billID: billID)
    }
}
