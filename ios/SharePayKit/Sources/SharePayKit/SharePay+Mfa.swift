import Foundation
import SharePayFFI

// The account's second factors, step-up checks and passkeys. Calls that
// change a factor need a recent step-up check and throw
// `SharePay.Error.stepUpRequired` without one.
extension SharePay {
    /// Passes the waiting sign-in's second check with a passkey from `provider`.
    public func completeMfaWithPasskey(provider: PasskeyProvider) async throws {
        try await call { try await client.completeMfaWithPasskey(provider: provider) }
    }

    /// Creates a TOTP secret, which `confirmTotpEnrollment` enables. The
    /// result contains the secret, so show it only to the user.
    public func startTotpEnrollment() async throws -> TotpEnrollment {
        try await callWithSession { try await client.startTotpEnrollment() }
    }

    /// Enables TOTP with a first `code` and returns the ten recovery codes,
    /// shown this once.
    public func confirmTotpEnrollment(code: String) async throws -> [String] {
        try await callWithSession { try await client.confirmTotpEnrollment(code: code) }
    }

    /// Disables TOTP.
    public func disableTotp() async throws {
        try await callWithSession { try await client.disableTotp() }
    }

    /// Replaces the recovery codes with ten new ones, shown this once.
    public func regenerateRecoveryCodes() async throws -> [String] {
        try await callWithSession { try await client.regenerateRecoveryCodes() }
    }

    /// Lists the signed-in user's factors, passkeys included.
    public func mfaFactors() async throws -> MfaFactors {
        try await callWithSession { try await client.mfaFactors() }
    }

    /// Sends a step-up code by `method`, `email_code` or `sms_code`.
    @discardableResult
    public func sendStepUpCode(method: String) async throws -> CodeSent {
        try await callWithSession { try await client.sendStepUpCode(method: method) }
    }

    /// Passes a step-up check for this session with `code` for `method`
    /// (`totp`, `email_code`, `sms_code` or `recovery_code`).
    @discardableResult
    public func stepUp(method: String, code: String) async throws -> StepUpGrant {
        try await callWithSession { try await client.stepUp(method: method, code: code) }
    }

    /// Passes a step-up check for this session with a passkey from `provider`.
    @discardableResult
    public func stepUpWithPasskey(provider: PasskeyProvider) async throws -> PasskeyAssertion {
        try await callWithSession { try await client.stepUpWithPasskey(provider: provider) }
    }

    /// Registers a passkey made by `provider` under `name`.
    @discardableResult
    public func registerPasskey(provider: PasskeyProvider, name: String) async throws -> PasskeyCredential {
        try await callWithSession { try await client.registerPasskey(provider: provider, name: name) }
    }

    /// Lists the signed-in user's passkeys and security keys, oldest first.
    public func passkeys() async throws -> [PasskeyCredential] {
        try await callWithSession { try await client.listPasskeys() }
    }

    /// Removes a passkey or security key by its id.
    public func removePasskey(id: String) async throws {
        try await callWithSession { try await client.removePasskey(credentialId: id) }
    }
}
