import Observation
import SwiftUI

/// Pays one charge with a saved card.
@MainActor
@Observable
final class PayModel {
    var charge: LoadState<Charge> = .loading
    var methods: LoadState<[PaymentMethod]> = .loading
    var selectedMethodID: String?
    var paying = false
    var payError: Error?
    /// Set once the core returns a payment that was not declined.
    var outcome: PaymentOutcome?

    private let repository: PaymentRepository
    private let chargeID: String

    init(repository: PaymentRepository, chargeID: String) {
        self.repository = repository
        self.chargeID = chargeID
    }

    /// Loads the charge and the saved cards. The view calls it each time it
    /// appears, so that a card added on the card screen shows up on return.
    func load() async {
        charge = await LoadState.from { try await self.repository.charge(id: self.chargeID) }
        methods = await LoadState.from { try await self.repository.paymentMethods() }
        if selectedMethodID == nil {
            selectedMethodID = methods.value?.first?.id
        }
    }

    func pay() async {
        guard let methodID = selectedMethodID else { return }
        paying = true
        payError = nil
        defer { paying = false }
        do {
            outcome = try await repository.pay(chargeID: chargeID, paymentMethodID: methodID)
        } catch {
            payError = error
        }
    }
}

struct PayView: View {
    @Environment(\.dismiss) private var dismiss
    @State private var model: PayModel

    init(model: PayModel) {
        _model = State(initialValue: model)
    }

    var body: some View {
        List {
            Section {
                LoadStateView(state: model.charge) { charge in
                    LabeledContent(charge.billTitle, value: charge.amountDisplay)
                }
            }
            Section("Pay with") {
                LoadStateView(state: model.methods) { methods in
                    Picker("Card", selection: $model.selectedMethodID) {
                        ForEach(methods) { method in
                            Text("\(method.brand) ending \(method.last4), expires \(method.expiry)")
                                .tag(Optional(method.id))
                        }
                    }
                    .pickerStyle(.inline)
                    .labelsHidden()
                }
                NavigationLink("Add a card", value: Route.addCard)
            }
            Section {
                if let error = model.payError {
                    ErrorText(error: error)
                }
                if model.outcome == .paid {
                    Text("Paid. Thank you.")
                    Button("Done") { dismiss() }
                } else {
                    if model.outcome == .pending {
                        Text("The payment is still being processed. Paying again with the same card is safe.")
                    } else if model.outcome == .needsBankAuthentication {
                        Text("Your bank asks you to confirm this payment first.")
                    }
                    Button("Pay now") { Task { await model.pay() } }
                        .disabled(model.paying || model.selectedMethodID == nil)
                }
            }
        }
        .navigationTitle("Pay")
        .privacyShield()
        .task { await model.load() }
    }
}
