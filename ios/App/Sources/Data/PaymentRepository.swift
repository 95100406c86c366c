import Foundation
import SharePayFFI
import SharePayKit

/// A participant's share of one bill, with the amount formatted by the core.
struct Charge: Identifiable, Hashable, Sendable {
    let id: String
    let billTitle: String
    let amountDisplay: String
    /// RFC 3339 UTC time the bill's approval created the charge.
    let createdAt: String
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
/// to the core, which checks every field.
struct CardInput: Sendable, CustomStringConvertible {
    let number: String
    let expiryMonth: String
    let expiryYear: String
    let cvc: String
    let cardholderName: String

    var description: String { "CardInput(redacted)" }
}

/// The result of a payment that the issuer did not decline; a decline throws.
enum PaymentOutcome: Sendable {
    case paid
    /// The outcome is not known yet; paying again with the same card is safe.
    case pending
    /// The cardholder must first confirm the payment with their bank.
    case needsBankAuthentication
}

/// Charges, saved cards and payments, for the participant.
protocol PaymentRepository: Sendable {
    func myCharges() async throws -> [Charge]
    func charge(id: String) async throws -> Charge
    func paymentMethods() async throws -> [PaymentMethod]
    /// Sends the card to the vault through the core and returns the saved method.
    func addCard(_ card: CardInput) async throws -> PaymentMethod
    func pay(chargeID: String, paymentMethodID: String) async throws -> PaymentOutcome
}

struct CorePaymentRepository: PaymentRepository {
    let provider: SharePayProvider

    // Cancelled charges were replaced by a later version of their bill, so
    // they are not listed.
    func myCharges() async throws -> [Charge] {
        let sharePay = try await provider.sharePay()
        var charges: [Charge] = []
        for charge in try await sharePay.myCharges() where charge.status != .cancelled {
            charges.append(Charge(
                id: charge.chargeId,
                billTitle: try await sharePay.bill(billID: charge.billId).provider,
                amountDisplay: charge.amount.display,
                createdAt: charge.createdAt,
                paid: charge.status == .paid
            ))
        }
        return charges
    }

    func charge(id: String) async throws -> Charge {
        guard let charge = try await myCharges().first(where: { $0.id == id }) else {
            throw SharePay.Error.notFound(reason: "charge \(id) is not among your charges")
        }
        return charge
    }

    func paymentMethods() async throws -> [PaymentMethod] {
        try await provider.sharePay().paymentMethods().map(Self.paymentMethod)
    }

    // The text fields go to the core as typed. A month or year that is not a
    // number is passed as 0, which the core rejects with its own message
    // naming the field, so the app repeats no rule.
    func addCard(_ card: CardInput) async throws -> PaymentMethod {
        let newCard = NewCard(
            number: card.number,
            expiryMonth: UInt8(card.expiryMonth.trimmingCharacters(in: .whitespaces)) ?? 0,
            expiryYear: UInt16(card.expiryYear.trimmingCharacters(in: .whitespaces)) ?? 0,
            cvc: card.cvc,
            cardholderName: card.cardholderName
        )
        return Self.paymentMethod(try await provider.sharePay().saveCard(newCard))
    }

    // The core keeps the attempt's idempotency key, so paying again after a
    // lost response charges the card at most once. It throws a decline as
    // `SharePay.Error.paymentDeclined`, never returns it as a status.
    func pay(chargeID: String, paymentMethodID: String) async throws -> PaymentOutcome {
        let payment = try await provider.sharePay().payCharge(chargeID: chargeID, paymentMethodID: paymentMethodID)
        switch payment.status {
        case .succeeded: return .paid
        case .pending: return .pending
        case .requiresAuthentication: return .needsBankAuthentication
        case .declined: throw SharePay.Error.paymentDeclined(reason: payment.declineReason ?? "the card was declined")
        }
    }

    private static func paymentMethod(_ method: SharePayFFI.PaymentMethod) -> PaymentMethod {
        PaymentMethod(
            id: method.paymentMethodId,
            brand: method.brand,
            last4: method.last4,
            expiry: String(format: "%02d/%d", Int(method.expiryMonth), Int(method.expiryYear))
        )
    }
}
