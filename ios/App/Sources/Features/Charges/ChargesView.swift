import Observation
import SwiftUI

/// The participant's charges across households.
@MainActor
@Observable
final class ChargesModel {
    var charges: LoadState<[Charge]> = .loading

    private let repository: PaymentRepository

    init(repository: PaymentRepository) {
        self.repository = repository
    }

    func load() async {
        charges = await LoadState.from { try await self.repository.myCharges() }
    }
}

struct ChargesView: View {
    @State private var model: ChargesModel

    init(model: ChargesModel) {
        _model = State(initialValue: model)
    }

    var body: some View {
        List {
            LoadStateView(state: model.charges) { charges in
                if charges.isEmpty { Text("You owe nothing right now.") }
                ForEach(charges) { charge in
                    NavigationLink(value: Route.pay(chargeID: charge.id)) {
                        LabeledContent {
                            Text(charge.amountDisplay)
                        } label: {
                            Text(charge.billTitle)
                            Text(charge.paid ? "Paid" : "Open since \(charge.createdAt)")
                        }
                    }
                    .disabled(charge.paid)
                }
            }
        }
        .navigationTitle("My charges")
        .task { await model.load() }
        .refreshable { await model.load() }
    }
}
