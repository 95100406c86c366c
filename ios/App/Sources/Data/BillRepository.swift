import Foundation

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

/// One participant's share in a split proposal.
struct SplitShare: Hashable, Sendable {
    let memberName: String
    let amountDisplay: String
}

/// The core's proposed split of a bill: the method, each share, and the
/// core's plain-language explanation of how it got there, rounding included.
struct SplitProposal: Sendable {
    let billID: String
    let method: String
    let shares: [SplitShare]
    let explanation: String
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
        // TODO: call the core's listBills(householdId).
        throw CoreCallUnavailable(coreFunction: "listBills")
    }

    func splitProposal(billID: String) async throws -> SplitProposal {
        // TODO: call the core's proposeSplit(billId).
        throw CoreCallUnavailable(coreFunction: "proposeSplit")
    }

    func approveSplit(billID: String) async throws {
        // TODO: call the core's approveSplit(billId).
        throw CoreCallUnavailable(coreFunction: "approveSplit")
    }
}
