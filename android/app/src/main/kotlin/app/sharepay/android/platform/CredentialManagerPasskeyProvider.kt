package app.sharepay.android.platform

import androidx.credentials.exceptions.CreateCredentialCancellationException
import androidx.credentials.exceptions.CreateCredentialException
import androidx.credentials.exceptions.CreateCredentialProviderConfigurationException
import androidx.credentials.exceptions.CreateCredentialUnsupportedException
import androidx.credentials.exceptions.GetCredentialCancellationException
import androidx.credentials.exceptions.GetCredentialException
import androidx.credentials.exceptions.GetCredentialProviderConfigurationException
import androidx.credentials.exceptions.GetCredentialUnsupportedException
import androidx.credentials.exceptions.NoCredentialException
import app.sharepay.ffi.PasskeyException
import app.sharepay.ffi.PasskeyProvider
import kotlinx.coroutines.runBlocking

/**
 * The core's [PasskeyProvider] on Android: shows Credential Manager's passkey sheet over the
 * foreground activity and passes the WebAuthn JSON through unchanged in both directions. The core
 * and the server build the request and verify the response, so this class never parses either.
 *
 * The core calls it from a blocking worker thread (tokio's `spawn_blocking`), not the main
 * thread, so `runBlocking` waits for the sheet without freezing the UI. Each Credential Manager failure becomes the matching
 * [PasskeyException], so the core receives a typed error rather than an unexpected exception.
 */
class CredentialManagerPasskeyProvider(private val foreground: ForegroundActivity) : PasskeyProvider {

    override fun createCredential(requestJson: String): String = runBlocking {
        val passkeys = Passkeys(foreground.current() ?: throw noActivity())
        try {
            passkeys.create(requestJson)
        } catch (e: CreateCredentialCancellationException) {
            throw PasskeyException.Cancelled()
        } catch (e: CreateCredentialUnsupportedException) {
            throw PasskeyException.NotSupported()
        } catch (e: CreateCredentialProviderConfigurationException) {
            throw PasskeyException.NotSupported()
        } catch (e: CreateCredentialException) {
            throw PasskeyException.Failed("creating the passkey failed (${e.type}): ${e.errorMessage}")
        }
    }

    override fun getAssertion(requestJson: String): String = runBlocking {
        val passkeys = Passkeys(foreground.current() ?: throw noActivity())
        try {
            passkeys.get(requestJson)
        } catch (e: GetCredentialCancellationException) {
            throw PasskeyException.Cancelled()
        } catch (e: NoCredentialException) {
            throw PasskeyException.Failed("this phone has no passkey for SharePay; sign in with another method")
        } catch (e: GetCredentialUnsupportedException) {
            throw PasskeyException.NotSupported()
        } catch (e: GetCredentialProviderConfigurationException) {
            throw PasskeyException.NotSupported()
        } catch (e: GetCredentialException) {
            throw PasskeyException.Failed("signing with the passkey failed (${e.type}): ${e.errorMessage}")
        }
    }

    private fun noActivity() =
        PasskeyException.Failed("SharePay is not in the foreground, so the passkey sheet cannot open")
}
