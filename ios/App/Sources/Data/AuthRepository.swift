import Foundation
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
/// of `otpauthURI` as a base64 PNG, and `secret` is the base32 key for typing
/// into an authenticator app by hand.
struct TotpEnrollment: Sendable, CustomStringConvertible {
    let otpauthURI: String
    let secret: String
    let qrPNGBase64: String

    // The synthesized description would print the secret into any log of this value.
    var description: String { "TotpEnrollment" }
}

/// Sign-up, login, the second factor and the account's own factors.
protocol AuthRepository: Sendable {
    func register(email: String, password: String) async throws
    func login(email: String, password: String) async throws -> LoginOutcome
    func sendMfaCode(method: MfaMethod) async throws
    func verifyMfaCode(method: MfaMethod, code: String) async throws
    /// Returns the WebAuthn request JSON for signing in with a passkey.
    func passkeyLoginRequest() async throws -> String
    func finishPasskeyLogin(responseJSON: String) async throws
    /// Returns the WebAuthn creation JSON for adding a passkey to the account.
    func passkeyRegistrationRequest() async throws -> String
    func finishPasskeyRegistration(responseJSON: String) async throws
    /// Creates a TOTP secret for the signed-in account. It takes effect once confirmed.
    func startTotpEnrollment() async throws -> TotpEnrollment
    /// Enables TOTP with a first code and returns the recovery codes, which are shown only once.
    func confirmTotpEnrollment(code: String) async throws -> [String]
}

struct CoreAuthRepository: AuthRepository {
    let provider: SharePayProvider

    func register(email: String, password: String) async throws {
        _ = try await provider.sharePay().register(email: email, password: password)
    }

    func login(email: String, password: String) async throws -> LoginOutcome {
        do {
            try await provider.sharePay().login(email: email, password: password)
            return .signedIn
        } catch let SharePay.Error.mfaRequired(methods, reason) {
            // Methods this build has no screen for are left out. When none is
            // left, the user sees the core's reason, which names the methods
            // the server offered.
            let known = methods.compactMap(MfaMethod.init(rawValue:))
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

    func passkeyLoginRequest() async throws -> String {
        // TODO: call the core's passkey login once the bindings export the PasskeyProvider trait.
        throw CoreCallUnavailable(coreFunction: "beginPasskeyLogin")
    }

    func finishPasskeyLogin(responseJSON: String) async throws {
        // TODO: call the core's passkey login once the bindings export the PasskeyProvider trait.
        throw CoreCallUnavailable(coreFunction: "finishPasskeyLogin")
    }

    func passkeyRegistrationRequest() async throws -> String {
        // TODO: call the core's passkey registration once the bindings export it.
        throw CoreCallUnavailable(coreFunction: "beginPasskeyRegistration")
    }

    func finishPasskeyRegistration(responseJSON: String) async throws {
        // TODO: call the core's passkey registration once the bindings export it.
        throw CoreCallUnavailable(coreFunction: "finishPasskeyRegistration")
    }

    func startTotpEnrollment() async throws -> TotpEnrollment {
        // TODO: call the core's TOTP enrollment once the bindings export it.
        throw CoreCallUnavailable(coreFunction: "startTotpEnrollment")
    }

    func confirmTotpEnrollment(code: String) async throws -> [String] {
        // TODO: call the core's TOTP confirmation once the bindings export it.
        throw CoreCallUnavailable(coreFunction: "confirmTotpEnrollment")
    }
}
