import Observation
import SwiftUI

/// The bills of one household, for its primary payer.
@MainActor
@Observable
final class BillsModel {
    var bills: LoadState<[Bill]> = .loading

    private let repository: BillRepository
    private let householdID: String

    init(repository: BillRepository, householdID: String) {
        self.repository = repository
        self.householdID = householdID
    }

    func load() async {
        bills = await LoadState.from { try await self.repository.bills(householdID: self.householdID) }
    }
}

struct BillsView: View {
    @State private var model: BillsModel

    init(model: BillsModel) {
        _model = State(initialValue: model)
    }

    var body: some View {
        List {
            LoadStateView(state: model.bills) { bills in
                if bills.isEmpty { Text("No bills in this household yet.") }
                ForEach(bills) { bill in
                    NavigationLink(value: Route.split(billID: bill.id)) {
                        LabeledContent {
                            Text(bill.amountDisplay)
                        } label: {
                            Text(bill.title)
                            Text("\(bill.period) · \(bill.status)")
                        }
                    }
                }
            }
        }
        .navigationTitle("Bills")
        .task { await model.load() }
        .refreshable { await model.load() }
    }
}
