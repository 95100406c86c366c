import Foundation
import SharePayFFI

extension SharePay {
    /// A failure of a SharePay call, one case per kind of failure the app
    /// handles differently. Each `reason` comes from the Rust core, is safe to
    /// show and never contains a secret.
    public enum Error: Swift.Error, Equatable, LocalizedError {
        /// The core rejected an input value, and `reason` names the field and the rule.
        case invalidInput(reason: String)
        /// Wrong credentials or an ended session, so the user must sign in again.
        case unauthorized(reason: String)
        /// The password was right, but this sign-in needs a second check with
        /// one of `methods` (`totp`, `email_code`, `sms_code`,
        /// `recovery_code`, `webauthn`). Send a code with `sendMfaCode` when
        /// the method needs one, then call `completeMfa`.
        case mfaRequired(methods: [String], reason: String)
        /// The change needs a recent second check in this session with one of
        /// `methods`: pass one with `stepUp` (after `sendStepUpCode` for an
        /// emailed or SMS code) or `stepUpWithPasskey`, then try again.
        case stepUpRequired(methods: [String], reason: String)
        /// The card issuer declined the payment, so the charge stays open. Pay with another card.
        case paymentDeclined(reason: String)
        /// The user closed the passkey sheet. The app usually shows nothing.
        case passkeyCancelled(reason: String)
        /// This device has no passkey support, so the app offers another method.
        case passkeyNotSupported(reason: String)
        /// The platform's passkey call failed for another reason, named in `reason`.
        case passkeyFailed(reason: String)
        /// The server ended this device's session and the core wiped it, so the user signs in again.
        case sessionRevoked(reason: String)
        /// The signed-in user may not do this, such as a participant adding a meter.
        case forbidden(reason: String)
        /// The household, member, meter or session does not exist or is not visible to the user.
        case notFound(reason: String)
        /// The request conflicts with the current state, such as a duplicate meter serial.
        case conflict(reason: String)
        /// The server's key matches none of the SPKI pins, so nothing was sent.
        case pinMismatch(reason: String)
        /// The server could not be reached or the connection failed.
        case network(reason: String)
        /// The server returned an error with HTTP status code `status`.
        case server(status: Int, reason: String)
        /// The Keychain could not wrap or unwrap the store key.
        case keyUnavailable(reason: String)
        /// The Keychain returned a store key that does not open the local store.
        case wrongDeviceKey(reason: String)
        /// The local store file is damaged or is not a SharePay store. Nothing was deleted.
        case storeCorrupted(reason: String)
        /// A platform callback (device information, sync events) failed.
        case platform(reason: String)
        /// The encrypted local store failed to read or write.
        case storage(reason: String)

        /// Maps each case of the generated error to its typed case.
        public init(_ error: SharePayError) {
            switch error {
            case let .InvalidInput(reason): self = .invalidInput(reason: reason)
            case let .Unauthorized(reason): self = .unauthorized(reason: reason)
            case let .MfaRequired(methods, reason): self = .mfaRequired(methods: methods, reason: reason)
            case let .SessionRevoked(reason): self = .sessionRevoked(reason: reason)
            case let .StepUpRequired(methods, reason): self = .stepUpRequired(methods: methods, reason: reason)
            case let .PaymentDeclined(reason): self = .paymentDeclined(reason: reason)
            case let .Passkey(failure, reason):
                switch failure {
                case .cancelled: self = .passkeyCancelled(reason: reason)
                case .notSupported: self = .passkeyNotSupported(reason: reason)
                case .failed: self = .passkeyFailed(reason: reason)
                }
            case let .Forbidden(reason): self = .forbidden(reason: reason)
            case let .NotFound(reason): self = .notFound(reason: reason)
            case let .Conflict(reason): self = .conflict(reason: reason)
            case let .PinMismatch(reason): self = .pinMismatch(reason: reason)
            case let .Network(reason): self = .network(reason: reason)
            case let .Server(status, reason): self = .server(status: Int(status), reason: reason)
            case let .KeyWrapping(reason): self = .keyUnavailable(reason: reason)
            case let .WrongKey(reason): self = .wrongDeviceKey(reason: reason)
            case let .StoreCorrupted(reason): self = .storeCorrupted(reason: reason)
            case let .Platform(reason): self = .platform(reason: reason)
            case let .Storage(reason): self = .storage(reason: reason)
            }
        }

        public var reason: String {
            switch self {
            case let .invalidInput(reason), let .unauthorized(reason), let .sessionRevoked(reason),
                 let .forbidden(reason), let .notFound(reason), let .conflict(reason),
                 let .pinMismatch(reason), let .mfaRequired(_, reason), let .stepUpRequired(_, reason),
                 let .paymentDeclined(reason), let .passkeyCancelled(reason), let .passkeyNotSupported(reason),
                 let .passkeyFailed(reason),
                 let .network(reason), let .server(_, reason), let .keyUnavailable(reason),
                 let .wrongDeviceKey(reason), let .storeCorrupted(reason), let .platform(reason),
                 let .storage(reason):
                return reason
            }
        }

        public var errorDescription: String? { reason }
    }
}
