package app.sharepay.android.ui

import app.sharepay.android.data.CoreCallUnavailable
import app.sharepay.sdk.SharePayError

/** Returns the text shown for a failure. The core's reasons are safe to show and name the fix. */
fun errorMessage(error: Throwable): String = when (error) {
    is SharePayError.PinMismatch ->
        "The server's certificate did not match. Nothing was sent. Check your network and try again."
    is SharePayError.Network -> "Could not reach SharePay: ${error.reason}"
    is SharePayError.Server -> "SharePay returned an error (${error.status}): ${error.reason}"
    is SharePayError.KeyUnavailable, is SharePayError.WrongDeviceKey ->
        "This phone's key for the local data is unavailable: ${error.reason}"
    is SharePayError -> error.reason
    is CoreCallUnavailable -> "Not available in this build yet (the core has no ${error.coreFunction})."
    else -> error.message ?: error.javaClass.simpleName
}
