import Foundation

/// A participant's share of one bill, with the amount formatted by the core.
struct Charge: Identifiable, Hashable, Sendable {
    let id: String
    let billTitle: String
    let householdName: String
    let amountDisplay: String
    let dueDate: String
    let paid: Bool
}

/// A saved card as the server stores it: a vault token and display data,
/// never the number.
struct PaymentMethod: Identifiable, Hashable, Sendable {
    let id: String
    let brand: String
    let last4: String
    let expiry: String
}

/// The card details typed on the card screen, held in memory only and passed
/// to the core unchanged.
struct CardInput: Sendable, CustomStringConvertible {
    let number: String
    let expiryMonth: String
    let expiryYear: String
    let cvc: String

    // Keeps the number and CVC out of any log or debugger print of this value.
    var description: String { "CardInput(redacted)" }
}

/// Charges, saved cards and payments, for the participant.
protocol PaymentRepository: Sendable {
    func myCharges() async throws -> [Charge]
    func charge(id: String) async throws -> Charge
    func paymentMethods() async throws -> [PaymentMethod]
    /// Sends the card to the vault through the core and returns the saved method.
    func addCard(_ card: CardInput) async throws -> PaymentMethod
    func pay(chargeID: String, paymentMethodID: String) async throws
}

struct CorePaymentRepository: PaymentRepository {
    let provider: SharePayProvider

    func myCharges() async throws -> [Charge] {
        // TODO: call the core's myCharges().
        throw CoreCallUnavailable(coreFunction: "myCharges")
    }

    func charge(id: String) async throws -> Charge {
        // TODO: call the core's getCharge(chargeId).
        throw CoreCallUnavailable(coreFunction: "getCharge")
    }

    func paymentMethods() async throws -> [PaymentMethod] {
        // TODO: call the core's listPaymentMethods().
        throw CoreCallUnavailable(coreFunction: "listPaymentMethods")
    }

    func addCard(_ card: CardInput) async throws -> PaymentMethod {
        // TODO: call the core's tokenizeCard(number, expiryMonth, expiryYear, cvc), which
        // validates the card and sends it straight to the vault.
        throw CoreCallUnavailable(coreFunction: "tokenizeCard")
    }

    func pay(chargeID: String, paymentMethodID: String) async throws {
        // TODO: call the core's payCharge(chargeId, paymentMethodId); the core owns its idempotency key.
        throw CoreCallUnavailable(coreFunction: "payCharge")
    }
}
