package app.sharepay.android.data

import app.sharepay.sdk.SharePay

/** A second factor that the server can request after a correct password. */
enum class MfaMethod { Totp, Email, Sms, Passkey, RecoveryCode }

/** The result of a password login. */
sealed interface LoginOutcome {
    data object SignedIn : LoginOutcome

    /** The password was correct and the server requests one of [methods]. */
    data class MfaRequired(val methods: List<MfaMethod>) : LoginOutcome
}

/** Sign-up, login and the second factor. */
interface AuthRepository {
    suspend fun register(email: String, password: String)
    suspend fun login(email: String, password: String): LoginOutcome
    suspend fun sendMfaCode(method: MfaMethod)
    suspend fun verifyMfaCode(method: MfaMethod, code: String)

    /** Returns the WebAuthn request JSON for signing in with a passkey. */
    suspend fun passkeyLoginRequest(): String
    suspend fun finishPasskeyLogin(responseJson: String)

    /** Returns the WebAuthn creation JSON for adding a passkey to the signed-in account. */
    suspend fun passkeyRegistrationRequest(): String
    suspend fun finishPasskeyRegistration(responseJson: String)
}

class CoreAuthRepository(private val sharePay: suspend () -> SharePay) : AuthRepository {

    override suspend fun register(email: String, password: String) {
        sharePay().register(email, password)
    }

    override suspend fun login(email: String, password: String): LoginOutcome {
        // TODO: map the MFA challenge once the core's login returns one instead of Unit.
        sharePay().login(email, password)
        return LoginOutcome.SignedIn
    }

    // TODO: call the core's sendMfaCode(method).
    override suspend fun sendMfaCode(method: MfaMethod) = throw CoreCallUnavailable("sendMfaCode")

    // TODO: call the core's verifyMfaCode(method, code).
    override suspend fun verifyMfaCode(method: MfaMethod, code: String) =
        throw CoreCallUnavailable("verifyMfaCode")

    // TODO: call the core's beginPasskeyLogin().
    override suspend fun passkeyLoginRequest(): String = throw CoreCallUnavailable("beginPasskeyLogin")

    // TODO: call the core's finishPasskeyLogin(responseJson).
    override suspend fun finishPasskeyLogin(responseJson: String) =
        throw CoreCallUnavailable("finishPasskeyLogin")

    // TODO: call the core's beginPasskeyRegistration().
    override suspend fun passkeyRegistrationRequest(): String =
        throw CoreCallUnavailable("beginPasskeyRegistration")

    // TODO: call the core's finishPasskeyRegistration(responseJson).
    override suspend fun finishPasskeyRegistration(responseJson: String) =
        throw CoreCallUnavailable("finishPasskeyRegistration")
}
