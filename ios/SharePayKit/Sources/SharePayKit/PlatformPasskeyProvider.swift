import AuthenticationServices
import Foundation
import os
import SharePayFFI

/// The core's `PasskeyProvider` on Apple platforms: shows the system passkey
/// sheet through `PasskeyAuthorizer` and passes the WebAuthn JSON between the
/// core and AuthenticationServices. The core and the server build the request
/// and verify the response.
///
/// Each failure becomes the matching `PasskeyError`, so the core receives a
/// typed error: a dismissed sheet is `Cancelled`, anything else `Failed` with
/// the platform's description.
public final class PlatformPasskeyProvider: PasskeyProvider {
    private let anchor: @MainActor @Sendable () -> ASPresentationAnchor?

    /// `anchor` returns the window the sheet opens over, such as the key
    /// window, or nil while the app has none.
    public init(anchor: @escaping @MainActor @Sendable () -> ASPresentationAnchor?) {
        self.anchor = anchor
    }

    public func createCredential(requestJson: String) throws -> String {
        try waitForSheet { authorizer in try await authorizer.register(requestJSON: requestJson) }
    }

    public func getAssertion(requestJson: String) throws -> String {
        try waitForSheet { authorizer in try await authorizer.authenticate(requestJSON: requestJson) }
    }

    // The core calls the provider from a blocking worker thread (tokio's
    // `spawn_blocking`), not the main thread, so waiting here for the sheet on
    // the main actor does not deadlock or freeze the UI.
    private func waitForSheet(
        _ operation: @escaping @MainActor @Sendable (PasskeyAuthorizer) async throws -> String
    ) throws -> String {
        let outcome = OSAllocatedUnfairLock<Result<String, PasskeyError>?>(initialState: nil)
        let finished = DispatchSemaphore(value: 0)
        let anchor = self.anchor
        Task { @MainActor in
            defer { finished.signal() }
            let result = await Self.run(operation, anchor: anchor())
            outcome.withLock { $0 = result }
        }
        finished.wait()
        guard let result = outcome.withLock({ $0 }) else {
            throw PasskeyError.Failed(reason: "the passkey sheet ended without a result")
        }
        return try result.get()
    }

    @MainActor
    private static func run(
        _ operation: @MainActor (PasskeyAuthorizer) async throws -> String,
        anchor: ASPresentationAnchor?
    ) async -> Result<String, PasskeyError> {
        guard let anchor else {
            return .failure(.Failed(reason: "SharePay has no window in the foreground, so the passkey sheet cannot open"))
        }
        do {
            return .success(try await operation(PasskeyAuthorizer(anchor: anchor)))
        } catch is CancellationError {
            return .failure(.Cancelled)
        } catch {
            return .failure(.Failed(reason: error.localizedDescription))
        }
    }
}
