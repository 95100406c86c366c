import Foundation
import SharePayFFI
import SharePayKit

/// A signed-in session of the user, on this or another device.
struct SessionInfo: Identifiable, Hashable, Sendable {
    let id: String
    let deviceName: String
    let lastSeen: String
    let current: Bool
}

/// The user's sessions and devices, and signing out.
protocol SessionRepository: Sendable {
    /// This device's attributes, as sent with each login.
    @MainActor func thisDevice() -> DeviceInfo
    func deviceFingerprint() async throws -> String
    func sessions() async throws -> [SessionInfo]
    func revokeSession(id: String) async throws
    /// Signs out and deletes the session and cached data from the encrypted store.
    func signOut() async throws
}

struct CoreSessionRepository: SessionRepository {
    let provider: SharePayProvider

    @MainActor func thisDevice() -> DeviceInfo {
        AppleDeviceInfoProvider().deviceInfo()
    }

    func deviceFingerprint() async throws -> String {
        // The provider always opens the client with a device info provider, so
        // the core has one.
        guard let fingerprint = try await provider.sharePay().deviceFingerprint() else {
            throw SharePay.Error.platform(reason: "the SharePay client was opened without device information")
        }
        return fingerprint
    }

    func sessions() async throws -> [SessionInfo] {
        try await provider.sharePay().sessions().map { session in
            SessionInfo(
                id: session.id,
                deviceName: session.userAgent ?? session.ipAddress ?? "Unknown device",
                lastSeen: session.lastSeenAt,
                current: session.current
            )
        }
    }

    func revokeSession(id: String) async throws {
        try await provider.sharePay().endSession(id: id)
    }

    // The core wipes the local session even when the server cannot be reached,
    // so whether the server confirmed does not change what the user sees.
    func signOut() async throws {
        try await provider.sharePay().logout()
    }
}
