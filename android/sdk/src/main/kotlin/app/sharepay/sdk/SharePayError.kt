package app.sharepay.sdk

import app.sharepay.ffi.PasskeyFailure
import app.sharepay.ffi.SharePayException

/**
 * A failure of a SharePay call, one subclass per kind of failure the app handles differently.
 *
 * [reason] comes from the Rust core, is safe to show to the user and never contains a secret.
 * The original [SharePayException] is kept as the cause for logs.
 */
sealed class SharePayError(val reason: String, cause: SharePayException) : Exception(reason, cause) {

    /** The core rejected an input value, and [reason] names the field and the rule. */
    class InvalidInput(reason: String, cause: SharePayException) : SharePayError(reason, cause)

    /** Wrong credentials or an ended session, so the user must sign in again. */
    class Unauthorized(reason: String, cause: SharePayException) : SharePayError(reason, cause)

    /**
     * The password was right, but this sign-in needs a second check with one of [methods]
     * (`totp`, `email_code`, `sms_code`, `recovery_code`, `webauthn`). Send a code with
     * [SharePay.sendMfaCode] when the method needs one, then call [SharePay.completeMfa].
     */
    class MfaRequired(val methods: List<String>, reason: String, cause: SharePayException) :
        SharePayError(reason, cause)

    /**
     * The change needs a recent second check in this session with one of [methods]: pass one with
     * [stepUp] (after [sendStepUpCode] for an emailed or SMS code) or [stepUpWithPasskey], then
     * try again.
     */
    class StepUpRequired(val methods: List<String>, reason: String, cause: SharePayException) :
        SharePayError(reason, cause)

    /** The card issuer declined the payment, so the charge stays open. Pay with another card. */
    class PaymentDeclined(reason: String, cause: SharePayException) : SharePayError(reason, cause)

    /** The user closed the passkey sheet. The app usually shows nothing. */
    class PasskeyCancelled(reason: String, cause: SharePayException) : SharePayError(reason, cause)

    /** This device has no passkey support, so the app offers another method. */
    class PasskeyNotSupported(reason: String, cause: SharePayException) : SharePayError(reason, cause)

    /** The platform's passkey call failed for another reason, named in [reason]. */
    class PasskeyFailed(reason: String, cause: SharePayException) : SharePayError(reason, cause)

    /** The server ended this device's session and the core wiped it, so the user logs in again. */
    class SessionRevoked(reason: String, cause: SharePayException) : SharePayError(reason, cause)

    /** The signed-in user may not do this, such as a participant adding a meter. */
    class Forbidden(reason: String, cause: SharePayException) : SharePayError(reason, cause)

    /** The household, member, meter or session does not exist or is not visible to the user. */
    class NotFound(reason: String, cause: SharePayException) : SharePayError(reason, cause)

    /** The request conflicts with the current state, such as a duplicate meter serial. */
    class Conflict(reason: String, cause: SharePayException) : SharePayError(reason, cause)

    /** The server's key matches none of the configured SPKI pins, so nothing was sent. */
    class PinMismatch(reason: String, cause: SharePayException) : SharePayError(reason, cause)

    /** The server could not be reached or the connection failed. Retrying may help. */
    class Network(reason: String, cause: SharePayException) : SharePayError(reason, cause)

    /** The server returned an error with HTTP status code [status]. */
    class Server(val status: Int, reason: String, cause: SharePayException) : SharePayError(reason, cause)

    /** The platform keystore could not wrap or unwrap the store key. */
    class KeyUnavailable(reason: String, cause: SharePayException) : SharePayError(reason, cause)

    /** The platform returned a store key that does not open the local store. */
    class WrongDeviceKey(reason: String, cause: SharePayException) : SharePayError(reason, cause)

    /** The local store file is damaged or is not a SharePay store. Nothing was deleted. */
    class StoreCorrupted(reason: String, cause: SharePayException) : SharePayError(reason, cause)

    /** A platform callback (device information, sync events) failed. */
    class Platform(reason: String, cause: SharePayException) : SharePayError(reason, cause)

    /** The encrypted local store failed to read or write. */
    class Storage(reason: String, cause: SharePayException) : SharePayError(reason, cause)

    companion object {
        /** Maps each variant of the generated exception to its typed error. */
        fun from(exception: SharePayException): SharePayError = when (exception) {
            is SharePayException.InvalidInput -> InvalidInput(exception.reason, exception)
            is SharePayException.Unauthorized -> Unauthorized(exception.reason, exception)
            is SharePayException.MfaRequired -> MfaRequired(exception.methods, exception.reason, exception)
            is SharePayException.SessionRevoked -> SessionRevoked(exception.reason, exception)
            is SharePayException.StepUpRequired -> StepUpRequired(exception.methods, exception.reason, exception)
            is SharePayException.PaymentDeclined -> PaymentDeclined(exception.reason, exception)
            is SharePayException.Passkey -> when (exception.failure) {
                PasskeyFailure.CANCELLED -> PasskeyCancelled(exception.reason, exception)
                PasskeyFailure.NOT_SUPPORTED -> PasskeyNotSupported(exception.reason, exception)
                PasskeyFailure.FAILED -> PasskeyFailed(exception.reason, exception)
            }
            is SharePayException.Forbidden -> Forbidden(exception.reason, exception)
            is SharePayException.NotFound -> NotFound(exception.reason, exception)
            is SharePayException.Conflict -> Conflict(exception.reason, exception)
            is SharePayException.PinMismatch -> PinMismatch(exception.reason, exception)
            is SharePayException.Network -> Network(exception.reason, exception)
            is SharePayException.Server -> Server(exception.status.toInt(), exception.reason, exception)
            is SharePayException.KeyWrapping -> KeyUnavailable(exception.reason, exception)
            is SharePayException.WrongKey -> WrongDeviceKey(exception.reason, exception)
            is SharePayException.StoreCorrupted -> StoreCorrupted(exception.reason, exception)
            is SharePayException.Platform -> Platform(exception.reason, exception)
            is SharePayException.Storage -> Storage(exception.reason, exception)
        }
    }
}
