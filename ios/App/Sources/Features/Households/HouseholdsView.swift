import Observation
import SwiftUI

@MainActor
@Observable
final class HouseholdsModel {
    var households: LoadState<[Household]> = .loading
    var invitations: LoadState<[Invitation]> = .loading
    var newHouseholdName = ""
    var inviteHouseholdID: String?
    var inviteEmail = ""
    var inviteRole: HouseholdRole = .participant
    var actionError: Error?

    private let repository: HouseholdRepository

    init(repository: HouseholdRepository) {
        self.repository = repository
    }

    func load() async {
        households = await LoadState.from { try await self.repository.households() }
        invitations = await LoadState.from { try await self.repository.invitations() }
    }

    func createHousehold() async {
        await act {
            _ = try await self.repository.createHousehold(name: self.newHouseholdName)
            self.newHouseholdName = ""
        }
    }

    func sendInvite() async {
        guard let householdID = inviteHouseholdID else { return }
        await act {
            try await self.repository.invite(householdID: householdID, email: self.inviteEmail, role: self.inviteRole)
            self.inviteHouseholdID = nil
            self.inviteEmail = ""
        }
    }

    func accept(_ invitation: Invitation) async {
        await act { try await self.repository.acceptInvitation(id: invitation.id) }
    }

    func decline(_ invitation: Invitation) async {
        await act { try await self.repository.declineInvitation(id: invitation.id) }
    }

    // Runs a change, then reloads so the lists show what the server now has.
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
            Section("Invitations") {
                LoadStateView(state: model.invitations) { invitations in
                    if invitations.isEmpty { Text("No open invitations.") }
                    ForEach(invitations) { invitation in
                        VStack(alignment: .leading) {
                            Text(invitation.householdName)
                            Text("\(invitation.role.label) · invited by \(invitation.invitedBy)")
                                .font(.caption).foregroundStyle(.secondary)
                            HStack {
                                Button("Accept") { Task { await model.accept(invitation) } }
                                Button("Decline", role: .destructive) { Task { await model.decline(invitation) } }
                            }
                            .buttonStyle(.borderless)
                        }
                    }
                }
            }
            Section("Your households") {
                LoadStateView(state: model.households) { households in
                    if households.isEmpty { Text("You are not a member of a household yet.") }
                    ForEach(households) { household in
                        householdRow(household)
                    }
                }
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
            Text(household.roles.map(\.label).sorted().joined(separator: ", "))
                .font(.caption).foregroundStyle(.secondary)
            if household.roles.contains(.primaryPayer) {
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
        TextField("Email", text: $model.inviteEmail)
            .keyboardType(.emailAddress)
            .textInputAutocapitalization(.never)
            .autocorrectionDisabled()
        Picker("Role", selection: $model.inviteRole) {
            ForEach(HouseholdRole.allCases) { Text($0.label).tag($0) }
        }
        HStack {
            Button("Send invitation") { Task { await model.sendInvite() } }
            Button("Cancel") { model.inviteHouseholdID = nil }
        }
        .buttonStyle(.borderless)
    }
}
