import Foundation

enum HouseholdRole: String, CaseIterable, Identifiable, Sendable {
    case primaryPayer, participant, meterReader

    var id: String { rawValue }

    var label: String {
        switch self {
        case .primaryPayer: return "Primary payer"
        case .participant: return "Participant"
        case .meterReader: return "Meter reader"
        }
    }
}

/// A household the signed-in user belongs to, with the roles they hold in it.
struct Household: Identifiable, Hashable, Sendable {
    let id: String
    let name: String
    let roles: Set<HouseholdRole>
}

/// An invitation to join a household, sent to the signed-in user.
struct Invitation: Identifiable, Hashable, Sendable {
    let id: String
    let householdName: String
    let role: HouseholdRole
    let invitedBy: String
}

/// Households, membership and invitations.
protocol HouseholdRepository: Sendable {
    func households() async throws -> [Household]
    func createHousehold(name: String) async throws -> Household
    func invitations() async throws -> [Invitation]
    func acceptInvitation(id: String) async throws
    func declineInvitation(id: String) async throws
    func invite(householdID: String, email: String, role: HouseholdRole) async throws
}

struct CoreHouseholdRepository: HouseholdRepository {
    let provider: SharePayProvider

    func households() async throws -> [Household] {
        // TODO: call the core's listHouseholds().
        throw CoreCallUnavailable(coreFunction: "listHouseholds")
    }

    func createHousehold(name: String) async throws -> Household {
        // TODO: call the core's createHousehold(name).
        throw CoreCallUnavailable(coreFunction: "createHousehold")
    }

    func invitations() async throws -> [Invitation] {
        // TODO: call the core's listInvitations().
        throw CoreCallUnavailable(coreFunction: "listInvitations")
    }

    func acceptInvitation(id: String) async throws {
        // TODO: call the core's acceptInvitation(invitationId).
        throw CoreCallUnavailable(coreFunction: "acceptInvitation")
    }

    func declineInvitation(id: String) async throws {
        // TODO: call the core's declineInvitation(invitationId).
        throw CoreCallUnavailable(coreFunction: "declineInvitation")
    }

    func invite(householdID: String, email: String, role: HouseholdRole) async throws {
        // TODO: call the core's inviteMember(householdId, email, role).
        throw CoreCallUnavailable(coreFunction: "inviteMember")
    }
}
