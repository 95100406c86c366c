import AuthenticationServices
import Foundation

/// Creates and uses passkeys through AuthenticationServices.
///
/// The request JSON comes from the core: WebAuthn
/// `PublicKeyCredentialCreationOptionsJSON` or
/// `PublicKeyCredentialRequestOptionsJSON`, the same documents Android's
/// Credential Manager takes. iOS has no JSON entry point, so this class reads
/// the few fields the platform API needs and writes the platform's result back
/// as WebAuthn `RegistrationResponseJSON` or `AuthenticationResponseJSON`. The
/// core and the server verify the response. This class checks nothing.
@MainActor
public final class PasskeyAuthorizer: NSObject {
    private let anchor: ASPresentationAnchor
    private var continuation: CheckedContinuation<ASAuthorization, Swift.Error>?

    public init(anchor: ASPresentationAnchor) {
        self.anchor = anchor
    }

    /// Shows the system sheet that creates a passkey and returns the
    /// registration response JSON.
    public func register(requestJSON: String) async throws -> String {
        let options = try WebAuthnJSON.decode(CreationOptions.self, from: requestJSON)
        let provider = ASAuthorizationPlatformPublicKeyCredentialProvider(relyingPartyIdentifier: options.rp.id)
        let request = provider.createCredentialRegistrationRequest(
            challenge: try WebAuthnJSON.bytes(options.challenge, field: "challenge"),
            name: options.user.name,
            userID: try WebAuthnJSON.bytes(options.user.id, field: "user.id")
        )
        if let preference = options.authenticatorSelection?.userVerification {
            request.userVerificationPreference = .init(rawValue: preference)
        }

        let authorization = try await perform(request)
        guard let credential = authorization.credential as? ASAuthorizationPlatformPublicKeyCredentialRegistration,
              let attestationObject = credential.rawAttestationObject
        else {
            throw PasskeyRequestError.unexpectedCredential
        }
        let response = RegistrationResponse(
            credentialID: credential.credentialID,
            clientDataJSON: credential.rawClientDataJSON,
            attestationObject: attestationObject
        )
        return try WebAuthnJSON.encode(response)
    }

    /// Shows the system sheet that signs in with a passkey and returns the
    /// authentication response JSON.
    public func authenticate(requestJSON: String) async throws -> String {
        let options = try WebAuthnJSON.decode(RequestOptions.self, from: requestJSON)
        let provider = ASAuthorizationPlatformPublicKeyCredentialProvider(relyingPartyIdentifier: options.rpId)
        let request = provider.createCredentialAssertionRequest(
            challenge: try WebAuthnJSON.bytes(options.challenge, field: "challenge")
        )
        request.allowedCredentials = try (options.allowCredentials ?? []).map {
            ASAuthorizationPlatformPublicKeyCredentialDescriptor(
                credentialID: try WebAuthnJSON.bytes($0.id, field: "allowCredentials.id")
            )
        }
        if let preference = options.userVerification {
            request.userVerificationPreference = .init(rawValue: preference)
        }

        let authorization = try await perform(request)
        guard let credential = authorization.credential as? ASAuthorizationPlatformPublicKeyCredentialAssertion else {
            throw PasskeyRequestError.unexpectedCredential
        }
        let response = AuthenticationResponse(
            credentialID: credential.credentialID,
            clientDataJSON: credential.rawClientDataJSON,
            authenticatorData: credential.rawAuthenticatorData,
            signature: credential.signature,
            userHandle: credential.userID
        )
        return try WebAuthnJSON.encode(response)
    }

    private func perform(_ request: ASAuthorizationRequest) async throws -> ASAuthorization {
        let controller = ASAuthorizationController(authorizationRequests: [request])
        controller.delegate = self
        controller.presentationContextProvider = self
        return try await withCheckedThrowingContinuation { continuation in
            self.continuation = continuation
            controller.performRequests()
        }
    }
}

extension PasskeyAuthorizer: ASAuthorizationControllerDelegate, ASAuthorizationControllerPresentationContextProviding {
    public func authorizationController(controller: ASAuthorizationController, didCompleteWithAuthorization authorization: ASAuthorization) {
        continuation?.resume(returning: authorization)
        continuation = nil
    }

    public func authorizationController(controller: ASAuthorizationController, didCompleteWithError error: Swift.Error) {
        // A dismissed sheet is the user's choice, not a failure to show.
        if let authorizationError = error as? ASAuthorizationError, authorizationError.code == .canceled {
            continuation?.resume(throwing: CancellationError())
        } else {
            continuation?.resume(throwing: error)
        }
        continuation = nil
    }

    public func presentationAnchor(for controller: ASAuthorizationController) -> ASPresentationAnchor {
        anchor
    }
}

/// A passkey request or response that this device cannot handle.
public enum PasskeyRequestError: Swift.Error, LocalizedError {
    case invalidRequest(field: String)
    case unexpectedCredential

    public var errorDescription: String? {
        switch self {
        case let .invalidRequest(field):
            return "The passkey request from the server has an invalid or missing \(field). Try again later."
        case .unexpectedCredential:
            return "The system returned a credential that is not a passkey. Try again."
        }
    }
}
