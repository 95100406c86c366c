import Foundation
import SharePayFFI

// Bills, splits, charges, cards, payments and statements. The core
// validates every input and computes every amount, so these methods only
// forward.
extension SharePay {
    /// Adds a bill to a household; the server computes its split proposal.
    public func addBill(householdID: String, bill: NewBill) async throws -> Bill {
        try await callWithSession { try await client.addBill(householdId: householdID, bill: bill) }
    }

    /// Lists the bills of a household at their latest version.
    public func bills(householdID: String) async throws -> [Bill] {
        try await callWithSession { try await client.bills(householdId: householdID) }
    }

    /// Reads a bill's split, each line with the core's explanation.
    public func billSplit(billID: String) async throws -> BillSplit {
        try await callWithSession { try await client.billSplit(billId: billID) }
    }

    /// Approves a bill's split, which creates one charge per member share.
    @discardableResult
    public func approveBill(billID: String) async throws -> BillSplit {
        try await callWithSession { try await client.approveBill(billId: billID) }
    }

    /// Lists the signed-in user's charges in every household.
    public func myCharges() async throws -> [Charge] {
        try await callWithSession { try await client.myCharges() }
    }

    /// Checks `card` in the core, saves it at the vault and returns the saved
    /// card's display data. Needs a recent step-up check.
    public func saveCard(_ card: NewCard) async throws -> PaymentMethod {
        try await callWithSession { try await client.saveCard(card: card) }
    }

    /// Lists the signed-in user's saved cards.
    public func paymentMethods() async throws -> [PaymentMethod] {
        try await callWithSession { try await client.paymentMethods() }
    }

    /// Pays a charge's open amount with a saved card. A decline throws
    /// `SharePay.Error.paymentDeclined`. Calling again after a network
    /// failure is safe: the core resends the attempt's idempotency key.
    public func payCharge(chargeID: String, paymentMethodID: String) async throws -> Payment {
        try await callWithSession { try await client.payCharge(chargeId: chargeID, paymentMethodId: paymentMethodID) }
    }

    /// Reads the statements of a household member, the signed-in user when
    /// `member` is nil, for the days `from` to `to` (`YYYY-MM-DD`, included).
    public func statements(householdID: String, member: String? = nil, from: String, to: String) async throws -> [Statement] {
        try await callWithSession {
            try await client.statements(householdId: householdID, member: member, from: from, to: to)
        }
    }
}

extension Money {
    /// The amount with its currency's symbol, digits and grouping, as the
    /// core formats it, or the minor units and code for a currency the core
    /// does not know.
    public var display: String {
        (try? formatMoney(money: self)) ?? "\(minor) \(currency)"
    }
}
