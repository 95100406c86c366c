import Foundation
import SharePayKit

/// A second factor that the server can request after a correct password.
enum MfaMethod: String, CaseIterable, Identifiable, Sendable {
    case totp, email, sms, passkey, recoveryCode

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

/// Sign-up, login and the second factor.
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
}

struct CoreAuthRepository: AuthRepository {
    let provider: SharePayProvider

    func register(email: String, password: String) async throws {
        _ = try await provider.sharePay().register(email: email, password: password)
    }

    func login(email: String, password: String) async throws -> LoginOutcome {
        // TODO: map the MFA challenge once the core's login returns one instead of nothing.
        try await provider.sharePay().login(email: email, password: password)
        return .signedIn
    }

    func sendMfaCode(method: MfaMethod) async throws {
        // TODO: call the core's sendMfaCode(method).
        throw CoreCallUnavailable(coreFunction: "sendMfaCode")
    }

    func verifyMfaCode(method: MfaMethod, code: String) async throws {
        // TODO: call the core's verifyMfaCode(method, code).
        throw CoreCallUnavailable(coreFunction: "verifyMfaCode")
    }

    func passkeyLoginRequest() async throws -> String {
        // TODO: call the core's beginPasskeyLogin().
        throw CoreCallUnavailable(coreFunction: "beginPasskeyLogin")
    }

    func finishPasskeyLogin(responseJSON: String) async throws {
        // TODO: call the core's finishPasskeyLogin(responseJSON).
        throw CoreCallUnavailable(coreFunction: "finishPasskeyLogin")
    }

    func passkeyRegistrationRequest() async throws -> String {
        // TODO: call the core's beginPasskeyRegistration().
        throw CoreCallUnavailable(coreFunction: "beginPasskeyRegistration")
    }

    func finishPasskeyRegistration(responseJSON: String) async throws {
        // TODO: call the core's finishPasskeyRegistration(responseJSON).
        throw CoreCallUnavailable(coreFunction: "finishPasskeyRegistration")
    }
}
