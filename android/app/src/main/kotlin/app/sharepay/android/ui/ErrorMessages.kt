package app.sharepay.android.ui

import app.sharepay.sdk.SharePayError

/** Returns the text shown for a failure. The core's reasons are safe to show and name the fix. */
fun errorMessage(error: Throwable): String = when (error) {
    is SharePayError.PinMismatch ->
        "The server's certificate did not match. Nothing was sent. Check your network and try again."
    is SharePayError.Network -> "Could not reach SharePay: ${error.reason}"
    is SharePayError.Server -> "SharePay returned an error (${error.status}): ${error.reason}"
    is SharePayError.KeyUnavailable, is SharePayError.WrongDeviceKey ->
        "This phone's key for the local data is unavailable: ${error.reason}"
    is SharePayError.PasskeyCancelled -> "The passkey sheet was closed. Try again or choose another method."
    is SharePayError -> error.reason
    else -> error.message ?: error.javaClass.simpleName
}
