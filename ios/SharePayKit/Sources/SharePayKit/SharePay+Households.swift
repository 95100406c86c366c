import Foundation
import SharePayFFI

extension SharePay {
    /// Creates a household with the signed-in user as its primary payer.
    public func createHousehold(name: String) async throws -> Household {
        try await callWithSession { try await client.createHousehold(name: name) }
    }

    /// Lists the signed-in user's households.
    public func households() async throws -> [Household] {
        try await callWithSession { try await client.households() }
    }

    /// Reads one household of the signed-in user.
    public func household(id: String) async throws -> Household {
        try await callWithSession { try await client.household(householdId: id) }
    }

    /// Creates an invitation code for `role`, valid for `expiresInHours` or
    /// the server's default when nil. The code is shown this once.
    public func createInvitation(householdID: String, role: UserRole, expiresInHours: UInt32? = nil) async throws -> Invitation {
        try await callWithSession {
            try await client.createInvitation(householdId: householdID, role: role, expiresInHours: expiresInHours)
        }
    }

    /// Joins a household with an invitation code.
    public func acceptInvitation(code: String) async throws -> Member {
        try await callWithSession { try await client.acceptInvitation(code: code) }
    }

    /// Lists the members of a household, oldest first.
    public func members(householdID: String) async throws -> [Member] {
        try await callWithSession { try await client.members(householdId: householdID) }
    }

    /// Lists the meters of a household that the signed-in user may see.
    public func meters(householdID: String) async throws -> [Meter] {
        try await callWithSession { try await client.meters(householdId: householdID) }
    }

    /// Adds a meter to a household.
    public func addMeter(householdID: String, meter: NewMeter) async throws -> Meter {
        try await callWithSession { try await client.addMeter(householdId: householdID, meter: meter) }
    }

    /// Lets a member with the meter reader role read a meter.
    public func assignMeterReader(meterID: String, userID: String) async throws {
        try await callWithSession { try await client.assignMeterReader(meterId: meterID, userId: userID) }
    }
}
