import Foundation
import SharePayFFI
import SharePayKit

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

    var userRole: UserRole {
        switch self {
        case .primaryPayer: return .primaryPayer
        case .participant: return .participant
        case .meterReader: return .meterReader
        }
    }
}

/// A household the signed-in user belongs to, with the role they hold in it.
struct Household: Identifiable, Hashable, Sendable {
    let id: String
    let name: String
    let role: HouseholdRole
}

/// A new invitation. The server keeps only a hash of `code`, so the app shows
/// it this once for the primary payer to pass on, and the invitee joins by
/// typing it.
struct InvitationCode: Hashable, Sendable {
    let code: String
    let role: HouseholdRole
    let expiresAt: String
}

/// Households, membership and invitation codes.
protocol HouseholdRepository: Sendable {
    func households() async throws -> [Household]
    func createHousehold(name: String) async throws
    func createInvitation(householdID: String, role: HouseholdRole) async throws -> InvitationCode
    /// Joins the household of an invitation code.
    func acceptInvitation(code: String) async throws
}

struct CoreHouseholdRepository: HouseholdRepository {
    let provider: SharePayProvider

    func households() async throws -> [Household] {
        try await provider.sharePay().households().compactMap(Self.household)
    }

    func createHousehold(name: String) async throws {
        _ = try await provider.sharePay().createHousehold(name: name)
    }

    // A nil expiry lets the server apply its default lifetime.
    func createInvitation(householdID: String, role: HouseholdRole) async throws -> InvitationCode {
        let invitation = try await provider.sharePay().createInvitation(householdID: householdID, role: role.userRole)
        return InvitationCode(code: invitation.code, role: role, expiresAt: invitation.expiresAt)
    }

    func acceptInvitation(code: String) async throws {
        _ = try await provider.sharePay().acceptInvitation(code: code)
    }

    // The system administrator role is global, so a household never lists it.
    private static func household(_ household: SharePayFFI.Household) -> Household? {
        let role: HouseholdRole
        switch household.role {
        case .primaryPayer: role = .primaryPayer
        case .participant: role = .participant
        case .meterReader: role = .meterReader
        case .systemAdministrator: return nil
        }
        return Household(id: household.householdId, name: household.name, role: role)
    }
}
