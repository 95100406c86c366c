import Foundation
import SharePayFFI
import SharePayKit

/// A second factor that the server can request after a correct password. The
/// raw value is the method's name on the wire.
enum MfaMethod: String, CaseIterable, Identifiable, Sendable {
    case totp = "totp"
    case email = "email_code"
    case sms = "sms_code"
    case passkey = "webauthn"
    case recoveryCode = "recovery_code"

    var id: String { rawValue }

    /// Maps the core's method names, leaving out those this build has no screen for.
    static func known(_ wireNames: [String]) -> [MfaMethod] {
        wireNames.compactMap(MfaMethod.init(rawValue:))
    }
}

/// The result of a password login.
enum LoginOutcome: Equatable, Sendable {
    case signedIn
    /// The password was correct and the server requests one of these methods.
    case mfaRequired([MfaMethod])

    var mfaMethods: [MfaMethod]? {
        if case let .mfaRequired(methods) = self { return methods }
        return nil
    }
}

/// A new TOTP secret, not yet enabled. `qrPNGBase64` is the server's QR code
/// of `otpauthURI` as a base64 PNG, nil when the server drew none, and
/// `secret` is the base32 key for typing into an authenticator app by hand.
struct TotpEnrollment: Sendable, CustomStringConvertible {
    let otpauthURI: String
    let secret: String
    let qrPNGBase64: String?

    // The synthesized description would print the secret into any log of this value.
    var description: String { "TotpEnrollment" }
}

/// Sign-up, login, the second factor, step-up checks and the account's own
/// factors. Passkey calls open the system sheet through the app's
/// `PasskeyProvider`, which the core calls.
protocol AuthRepository: Sendable {
    func register(email: String, password: String) async throws
    func login(email: String, password: String) async throws -> LoginOutcome
    func sendMfaCode(method: MfaMethod) async throws
    func verifyMfaCode(method: MfaMethod, code: String) async throws
    func completeMfaWithPasskey() async throws
    /// Sends a code for a step-up check of this session by email or SMS.
    func sendStepUpCode(method: MfaMethod) async throws
    /// Passes a step-up check, after which changes such as saving a card succeed for a while.
    func stepUp(method: MfaMethod, code: String) async throws
    func stepUpWithPasskey() async throws
    /// Adds a passkey to the signed-in account under `name`. Needs a recent step-up check.
    func registerPasskey(name: String) async throws
    /// Creates a TOTP secret for the signed-in account. It takes effect once confirmed.
    func startTotpEnrollment() async throws -> TotpEnrollment
    /// Enables TOTP with a first code and returns the recovery codes, which are shown only once.
    func confirmTotpEnrollment(code: String) async throws -> [String]
}

struct CoreAuthRepository: AuthRepository {
    let provider: SharePayProvider
    let passkeyProvider: PasskeyProvider = PlatformPasskeyProvider(anchor: { keyWindow() })

    func register(email: String, password: String) async throws {
        _ = try await provider.sharePay().register(email: email, password: password)
    }

    func login(email: String, password: String) async throws -> LoginOutcome {
        do {
            try await provider.sharePay().login(email: email, password: password)
            return .signedIn
        } catch let SharePay.Error.mfaRequired(methods, reason) {
            // When no offered method has a screen in this build, the user
            // sees the core's reason, which names the methods the server offered.
            let known = MfaMethod.known(methods)
            if known.isEmpty {
                throw SharePay.Error.mfaRequired(methods: methods, reason: reason)
            }
            return .mfaRequired(known)
        }
    }

    func sendMfaCode(method: MfaMethod) async throws {
        try await provider.sharePay().sendMfaCode(method: method.rawValue)
    }

    func verifyMfaCode(method: MfaMethod, code: String) async throws {
        try await provider.sharePay().completeMfa(method: method.rawValue, code: code)
    }

    func completeMfaWithPasskey() async throws {
        try await provider.sharePay().completeMfaWithPasskey(provider: passkeyProvider)
    }

    func sendStepUpCode(method: MfaMethod) async throws {
        try await provider.sharePay().sendStepUpCode(method: method.rawValue)
    }

    func stepUp(method: MfaMethod, code: String) async throws {
        try await provider.sharePay().stepUp(method: method.rawValue, code: code)
    }

    func stepUpWithPasskey() async throws {
        try await provider.sharePay().stepUpWithPasskey(provider: passkeyProvider)
    }

    func registerPasskey(name: String) async throws {
        try await provider.sharePay().registerPasskey(provider: passkeyProvider, name: name)
    }

    func startTotpEnrollment() async throws -> TotpEnrollment {
        let enrollment = try await provider.sharePay().startTotpEnrollment()
        return TotpEnrollment(
            otpauthURI: enrollment.otpauthUri,
            secret: enrollment.secret,
            qrPNGBase64: enrollment.qrPngBase64
        )
    }

    func confirmTotpEnrollment(code: String) async throws -> [String] {
        try await provider.sharePay().confirmTotpEnrollment(code: code)
    }
}
