import Foundation
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
    let deviceInfoProvider = AppleDeviceInfoProvider()

    @MainActor func thisDevice() -> DeviceInfo {
        deviceInfoProvider.deviceInfo()
    }

    func deviceFingerprint() async throws -> String {
        // TODO: call the core's deviceFingerprint().
        throw CoreCallUnavailable(coreFunction: "deviceFingerprint")
    }

    func sessions() async throws -> [SessionInfo] {
        // TODO: call the core's listSessions().
        throw CoreCallUnavailable(coreFunction: "listSessions")
    }

    func revokeSession(id: String) async throws {
        // TODO: call the core's revokeSession(sessionId).
        throw CoreCallUnavailable(coreFunction: "revokeSession")
    }

    func signOut() async throws {
        // TODO: call the core's wipeSession().
        throw CoreCallUnavailable(coreFunction: "wipeSession")
    }
}
