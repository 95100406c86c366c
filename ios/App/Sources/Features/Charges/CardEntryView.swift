import Observation
import SwiftUI

/// Sends a new card straight to the core's tokenization call, which checks it
/// and hands it to the vault. The card fields live in this model only, never
/// in scene storage, a file or a log, and are cleared once the card is sent.
@MainActor
@Observable
final class CardEntryModel {
    var number = ""
    var expiryMonth = ""
    var expiryYear = ""
    var cvc = ""
    var cardholderName = ""
    var busy = false
    var error: Error?
    var saved = false

    private let repository: PaymentRepository

    init(repository: PaymentRepository) {
        self.repository = repository
    }

    func save() async {
        let card = CardInput(
            number: number,
            expiryMonth: expiryMonth,
            expiryYear: expiryYear,
            cvc: cvc,
            cardholderName: cardholderName
        )
        busy = true
        error = nil
        defer { busy = false }
        do {
            _ = try await repository.addCard(card)
            clear()
            saved = true
        } catch {
            cvc = ""
            self.error = error
        }
    }

    func clear() {
        number = ""
        expiryMonth = ""
        expiryYear = ""
        cvc = ""
        cardholderName = ""
    }
}

struct CardEntryView: View {
    @Environment(\.dismiss) private var dismiss
    @State private var model: CardEntryModel

    init(model: CardEntryModel) {
        _model = State(initialValue: model)
    }

    var body: some View {
        Form {
            Section {
                TextField("Card number", text: $model.number)
                    .textContentType(.creditCardNumber)
                    .keyboardType(.numberPad)
                HStack {
                    TextField("MM", text: $model.expiryMonth)
                        .textContentType(.creditCardExpirationMonth)
                    TextField("YYYY", text: $model.expiryYear)
                        .textContentType(.creditCardExpirationYear)
                    SecureField("CVC", text: $model.cvc)
                        .textContentType(.creditCardSecurityCode)
                }
                .keyboardType(.numberPad)
                TextField("Name on the card", text: $model.cardholderName)
                    .textContentType(.name)
            } footer: {
                Text("Your card goes straight to the SharePay card vault. This device does not store it.")
            }
            if let error = model.error {
                ErrorText(error: error)
                StepUpPrompt(error: error)
            }
            Button("Save card") { Task { await model.save() } }
                .disabled(model.busy)
        }
        .navigationTitle("Add a card")
        .privacyShield()
        .onChange(of: model.saved) { _, saved in
            if saved { dismiss() }
        }
        .onDisappear { model.clear() }
    }
}
