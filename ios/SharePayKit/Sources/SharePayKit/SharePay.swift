import Foundation
import SharePayFFI

/// The server the client connects to and the folder of its encrypted store.
///
/// `spkiPins` are base64 SHA-256 hashes of the server's SubjectPublicKeyInfo,
/// the current key first and a backup key second, so the server can rotate
/// keys without an app update. `vault` is the card vault's own endpoint with
/// its own pins; without it saving a card fails and every other call works.
public struct SharePayConfig: Sendable {
    public var baseURL: String
    public var caCertificatePEM: String
    public var spkiPins: [String]
    public var dataDirectory: URL
    public var vault: VaultEndpoint?

    public init(
        baseURL: String,
        caCertificatePEM: String,
        spkiPins: [String],
        dataDirectory: URL,
        vault: VaultEndpoint? = nil
    ) {
        self.baseURL = baseURL
        self.caCertificatePEM = caCertificatePEM
        self.spkiPins = spkiPins
        self.dataDirectory = dataDirectory
        self.vault = vault
    }
}

/// Something that happened to the signed-in session outside of the call the
/// app made.
public enum SessionEvent: Sendable, Equatable {
    /// A call that needs a session was rejected as unauthorized, because the
    /// session expired or was revoked. The app should show the login screen.
    case sessionEnded(reason: String)
    /// The server ended this device's session (a logout elsewhere, a forced
    /// logout, or a reused refresh token), and the core wiped the session
    /// data. Queued readings stay.
    case sessionRevoked(reason: String)
}

/// The app's entry point to the SharePay core: `async` methods over the
/// generated client that throw `SharePay.Error` instead of the generated
/// `SharePayError`.
///
/// This class converts and forwards. Every rule (password policy, money,
/// splits, pinning, storage) stays in the Rust core.
public final class SharePay: Sendable {
    let client: SharePayClient
    private let sessionFanOut = EventFanOut<SessionEvent>()
    private let syncFanOut = EventFanOut<SyncEvent>()

    /// Opens the encrypted store and prepares the pinned TLS connection. It
    /// runs off the caller's actor because opening reads the disk and calls the
    /// key wrapper, which may block in the Keychain.
    ///
    /// `deviceInfoProvider` supplies the attributes of the device fingerprint
    /// sent with each login. Without it logins carry no fingerprint, and once
    /// the account has a known device the server treats this one as new and
    /// requests a second check every time.
    public static func open(
        config: SharePayConfig,
        keyWrapper: KeyWrapper,
        deviceInfoProvider: DeviceInfoProvider? = nil
    ) async throws -> SharePay {
        try await Task.detached(priority: .userInitiated) {
            let client = try Self.mapErrors {
                try SharePayClient(
                    baseUrl: config.baseURL,
                    caCertificatePem: config.caCertificatePEM,
                    spkiPins: config.spkiPins,
                    dataDir: config.dataDirectory.path,
                    keyWrapper: keyWrapper,
                    vault: config.vault
                )
            }
            if let deviceInfoProvider {
                client.setDeviceInfoProvider(provider: deviceInfoProvider)
            }
            return SharePay(client: client)
        }.value
    }

    private init(client: SharePayClient) {
        self.client = client
        client.setSyncEventListener(listener: SyncEventForwarder(syncEvents: syncFanOut, sessionEvents: sessionFanOut))
    }

    /// Creates an account and returns its user id. Does not sign in.
    public func register(email: String, password: String) async throws -> String {
        try await call { try await client.register(email: email, password: password) }
    }

    /// Signs in. A wrong email or password throws `SharePay.Error.unauthorized`,
    /// and a sign-in that needs a second check throws
    /// `SharePay.Error.mfaRequired`, which `completeMfa` passes.
    public func login(email: String, password: String) async throws {
        try await call { try await client.login(email: email, password: password) }
    }

    /// Asks the server to send a code (`email_code` or `sms_code`) for the
    /// sign-in waiting for its second check.
    public func sendMfaCode(method: String) async throws {
        try await call { try await client.sendMfaCode(method: method) }
    }

    /// Passes the waiting sign-in's second check with `code` for `method`
    /// (`totp`, `email_code`, `sms_code` or `recovery_code`).
    public func completeMfa(method: String, code: String) async throws {
        try await call { try await client.completeMfa(method: method, code: code) }
    }

    /// Reads the signed-in user's profile.
    public func me() async throws -> UserProfile {
        try await callWithSession { try await client.me() }
    }

    /// Returns whether a session is stored on this device.
    public func hasSession() throws -> Bool {
        try Self.mapErrors { try client.hasSession() }
    }

    /// Returns this installation's device fingerprint, or nil when no device
    /// info provider is set.
    public func deviceFingerprint() throws -> String? {
        try Self.mapErrors { try client.deviceFingerprint() }
    }

    /// Lists the signed-in user's sessions on every device, oldest first.
    public func sessions() async throws -> [LoginSession] {
        try await callWithSession { try await client.sessions() }
    }

    /// Ends one session of the signed-in user.
    public func endSession(id: String) async throws {
        try await callWithSession { try await client.endSession(sessionId: id) }
    }

    /// Ends every other session of the signed-in user and returns how many ended.
    public func endOtherSessions() async throws -> UInt64 {
        try await callWithSession { try await client.endOtherSessions() }
    }

    /// Ends this device's session on the server and wipes it locally. Returns
    /// whether the server confirmed. The local wipe happens even when the
    /// server could not be reached.
    @discardableResult
    public func logout() async throws -> Bool {
        try await call { try await client.logout() }
    }

    /// Returns a new stream of session events for one subscriber.
    public func sessionEvents() -> AsyncStream<SessionEvent> {
        sessionFanOut.stream()
    }

    /// Returns a new stream of outbox progress for one subscriber, as the
    /// core reports it, including `SyncEvent.SessionRevoked`.
    public func syncEvents() -> AsyncStream<SyncEvent> {
        syncFanOut.stream()
    }

    func call<T>(_ operation: () async throws -> T) async throws -> T {
        do {
            return try await operation()
        } catch let error as SharePayError {
            throw Error(error)
        }
    }

    // Unauthorized on a call that needs a session means the session ended. On
    // login it only means wrong credentials, so `call` does not publish it.
    func callWithSession<T>(_ operation: () async throws -> T) async throws -> T {
        do {
            return try await call(operation)
        } catch Error.unauthorized(let reason) {
            sessionFanOut.publish(.sessionEnded(reason: reason))
            throw Error.unauthorized(reason: reason)
        }
    }

    static func mapErrors<T>(_ operation: () throws -> T) throws -> T {
        do {
            return try operation()
        } catch let error as SharePayError {
            throw Error(error)
        }
    }
}
