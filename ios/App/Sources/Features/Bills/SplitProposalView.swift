import Observation
import SwiftUI

/// Shows the core's split proposal for one bill and approves it. The shares
/// and the explanation come from the core as they are. The app neither
/// recomputes nor adjusts them.
@MainActor
@Observable
final class SplitProposalModel {
    var proposal: LoadState<SplitProposal> = .loading
    var approving = false
    var approveError: Error?

    private let repository: BillRepository
    private let billID: String

    init(repository: BillRepository, billID: String) {
        self.repository = repository
        self.billID = billID
    }

    func load() async {
        proposal = await LoadState.from { try await self.repository.splitProposal(billID: self.billID) }
    }

    func approve() async {
        approving = true
        approveError = nil
        defer { approving = false }
        do {
            try await repository.approveSplit(billID: billID)
            await load()
        } catch {
            approveError = error
        }
    }
}

struct SplitProposalView: View {
    @State private var model: SplitProposalModel

    init(model: SplitProposalModel) {
        _model = State(initialValue: model)
    }

    var body: some View {
        List {
            LoadStateView(state: model.proposal) { proposal in
                Section("\(proposal.totalDisplay), split by \(proposal.method)") {
                    ForEach(proposal.shares, id: \.self) { share in
                        VStack(alignment: .leading) {
                            LabeledContent(share.memberID, value: share.amountDisplay)
                            // The core's explanation of this share, rounding included.
                            Text(share.explanation).font(.caption).foregroundStyle(.secondary)
                        }
                    }
                }
                Section {
                    if proposal.approved {
                        Text("Approved. Each participant has been charged their share.")
                    } else {
                        Button("Approve split") { Task { await model.approve() } }
                            .disabled(model.approving)
                    }
                    if let error = model.approveError {
                        ErrorText(error: error)
                    }
                }
            }
        }
        .navigationTitle("Split proposal")
        .task { await model.load() }
    }
}
