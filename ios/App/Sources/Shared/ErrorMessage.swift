import Foundation
import SharePayKit

/// Returns the text shown for a failure. The core's reasons are safe to show
/// and name the fix.
func errorMessage(_ error: Error) -> String {
    switch error {
    case SharePay.Error.pinMismatch:
        return "The server's certificate did not match. Nothing was sent. Check your network and try again."
    case let SharePay.Error.network(reason):
        return "Could not reach SharePay: \(reason)"
    case let SharePay.Error.server(status, reason):
        return "SharePay returned an error (\(status)): \(reason)"
    case let SharePay.Error.keyUnavailable(reason), let SharePay.Error.wrongDeviceKey(reason):
        return "This device's key for the local data is unavailable: \(reason)"
    case SharePay.Error.passkeyCancelled:
        return "The passkey sheet was closed. Try again or choose another method."
    case let error as SharePay.Error:
        return error.reason
    default:
        return error.localizedDescription
    }
}
