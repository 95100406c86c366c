import Observation
import SwiftUI

@MainActor
@Observable
final class HouseholdsModel {
    var households: LoadState<[Household]> = .loading
    var newHouseholdName = ""
    var invitationCodeInput = ""
    var inviteHouseholdID: String? {
        didSet { createdInvitation = nil }
    }
    var inviteRole: HouseholdRole = .participant
    /// The code created last, shown once to the primary payer who created it.
    var createdInvitation: InvitationCode?
    var actionError: Error?

    private let repository: HouseholdRepository

    init(repository: HouseholdRepository) {
        self.repository = repository
    }

    func load() async {
        households = await LoadState.from { try await self.repository.households() }
    }

    func createHousehold() async {
        await act {
            try await self.repository.createHousehold(name: self.newHouseholdName)
            self.newHouseholdName = ""
        }
    }

    func acceptInvitation() async {
        await act {
            try await self.repository.acceptInvitation(code: self.invitationCodeInput)
            self.invitationCodeInput = ""
        }
    }

    func createInvitation() async {
        guard let householdID = inviteHouseholdID else { return }
        await act {
            self.createdInvitation = try await self.repository.createInvitation(householdID: householdID, role: self.inviteRole)
        }
    }

    // Runs a change, then reloads so the list shows what the server now has.
    private func act(_ change: () async throws -> Void) async {
        actionError = nil
        do {
            try await change()
            await load()
        } catch {
            actionError = error
        }
    }
}

struct HouseholdsView: View {
    @State private var model: HouseholdsModel

    init(model: HouseholdsModel) {
        _model = State(initialValue: model)
    }

    var body: some View {
        List {
            Section("Your households") {
                LoadStateView(state: model.households) { households in
                    if households.isEmpty { Text("You are not a member of a household yet.") }
                    ForEach(households) { household in
                        householdRow(household)
                    }
                }
            }
            Section("Join a household") {
                TextField("Invitation code", text: $model.invitationCodeInput)
                    .textInputAutocapitalization(.never)
                    .autocorrectionDisabled()
                Button("Join") { Task { await model.acceptInvitation() } }
            }
            Section("New household") {
                TextField("Name", text: $model.newHouseholdName)
                Button("Create household") { Task { await model.createHousehold() } }
            }
            if let error = model.actionError {
                ErrorText(error: error)
            }
        }
        .navigationTitle("Households")
        .task { await model.load() }
        .refreshable { await model.load() }
    }

    @ViewBuilder
    private func householdRow(_ household: Household) -> some View {
        VStack(alignment: .leading) {
            Text(household.name)
            Text(household.role.label)
                .font(.caption).foregroundStyle(.secondary)
            if household.role == .primaryPayer {
                HStack {
                    NavigationLink("Bills", value: Route.bills(householdID: household.id))
                    Button("Invite") { model.inviteHouseholdID = household.id }
                        .buttonStyle(.borderless)
                }
                if model.inviteHouseholdID == household.id {
                    inviteForm
                }
            }
        }
    }

    @ViewBuilder
    private var inviteForm: some View {
        Picker("Role", selection: $model.inviteRole) {
            ForEach(HouseholdRole.allCases) { Text($0.label).tag($0) }
        }
        if let invitation = model.createdInvitation {
            Text("Give this code to the new \(invitation.role.label.lowercased()). It is shown only now.")
            Text(invitation.code).font(.title3.monospaced()).textSelection(.enabled)
            Text("Valid until \(invitation.expiresAt)").font(.caption)
        }
        HStack {
            Button("Create code") { Task { await model.createInvitation() } }
            Button("Close") { model.inviteHouseholdID = nil }
        }
        .buttonStyle(.borderless)
    }
}
