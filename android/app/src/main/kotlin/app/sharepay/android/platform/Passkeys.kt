package app.sharepay.android.platform

import android.app.Activity
import androidx.credentials.CreatePublicKeyCredentialRequest
import androidx.credentials.CreatePublicKeyCredentialResponse
import androidx.credentials.CredentialManager
import androidx.credentials.GetCredentialRequest
import androidx.credentials.GetPublicKeyCredentialOption
import androidx.credentials.PublicKeyCredential

/**
 * Creates and uses passkeys through Credential Manager.
 *
 * The request JSON (WebAuthn `PublicKeyCredentialCreationOptions` or `...RequestOptions`,
 * with the server's challenge) comes from the core, and the response JSON goes back to it
 * unchanged: the core and the server verify it. This class never parses either.
 */
class Passkeys(private val activity: Activity) {

    private val credentialManager = CredentialManager.create(activity)

    /** Shows the system sheet that creates a passkey and returns the registration response JSON. */
    suspend fun create(requestJson: String): String {
        val request = CreatePublicKeyCredentialRequest(requestJson)
        val response = credentialManager.createCredential(activity, request)
        return (response as CreatePublicKeyCredentialResponse).registrationResponseJson
    }

    /** Shows the system sheet that signs in with a passkey and returns the assertion JSON. */
    suspend fun get(requestJson: String): String {
        val request = GetCredentialRequest(listOf(GetPublicKeyCredentialOption(requestJson)))
        val result = credentialManager.getCredential(activity, request)
        return (result.credential as PublicKeyCredential).authenticationResponseJson
    }
}
