package app.sharepay.android.data

import app.sharepay.sdk.SharePay
import app.sharepay.sdk.SharePayError

/** A second factor that the server can request after a correct password, by its wire name. */
enum class MfaMethod(val wireName: String) {
    Totp("totp"),
    Email("email_code"),
    Sms("sms_code"),
    Passkey("webauthn"),
    RecoveryCode("recovery_code"),
    ;

    companion object {
        /** Returns the method the core names [wireName], or null for one this app does not offer. */
        fun fromWireName(wireName: String): MfaMethod? = entries.find { it.wireName == wireName }
    }
}

/** The result of a password login. */
sealed interface LoginOutcome {
    data object SignedIn : LoginOutcome

    /** The password was correct and the server requests one of [methods]. */
    data class MfaRequired(val methods: List<MfaMethod>) : LoginOutcome
}

/**
 * A new TOTP secret, not yet enabled. [qrPngBase64] is the server's QR code of [otpauthUri] as a
 * base64 PNG, and [secret] is the base32 key for typing into an authenticator app by hand.
 */
class TotpEnrollment(val otpauthUri: String, val secret: String, val qrPngBase64: String) {
    // The generated toString of a data class would print the secret into any log of this value.
    override fun toString() = "TotpEnrollment"
}

/** Sign-up, login, the second factor and the account's own factors. */
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

    /** Creates a TOTP secret for the signed-in account. It takes effect once confirmed. */
    suspend fun startTotpEnrollment(): TotpEnrollment

    /** Enables TOTP with a first code and returns the recovery codes, which are shown only once. */
    suspend fun confirmTotpEnrollment(code: String): List<String>
}

class CoreAuthRepository(private val sharePay: suspend () -> SharePay) : AuthRepository {

    override suspend fun register(email: String, password: String) {
        sharePay().register(email, password)
    }

    override suspend fun login(email: String, password: String): LoginOutcome = try {
        sharePay().login(email, password)
        LoginOutcome.SignedIn
    } catch (challenge: SharePayError.MfaRequired) {
        // Methods this build has no screen for are left out. When none is left, the user sees
        // the core's reason, which names the methods the server offered.
        val methods = challenge.methods.mapNotNull(MfaMethod::fromWireName)
        if (methods.isEmpty()) throw challenge
        LoginOutcome.MfaRequired(methods)
    }

    override suspend fun sendMfaCode(method: MfaMethod) {
        sharePay().sendMfaCode(method.wireName)
    }

    override suspend fun verifyMfaCode(method: MfaMethod, code: String) {
        sharePay().completeMfa(method.wireName, code)
    }

    // TODO: call the core's passkey login once the bindings export the PasskeyProvider trait.
    override suspend fun passkeyLoginRequest(): String = throw CoreCallUnavailable("beginPasskeyLogin")

    // TODO: call the core's passkey login once the bindings export the PasskeyProvider trait.
    override suspend fun finishPasskeyLogin(responseJson: String) =
        throw CoreCallUnavailable("finishPasskeyLogin")

    // TODO: call the core's passkey registration once the bindings export it.
    override suspend fun passkeyRegistrationRequest(): String =
        throw CoreCallUnavailable("beginPasskeyRegistration")

    // TODO: call the core's passkey registration once the bindings export it.
    override suspend fun finishPasskeyRegistration(responseJson: String) =
        throw CoreCallUnavailable("finishPasskeyRegistration")

    // TODO: call the core's TOTP enrollment once the bindings export it.
    override suspend fun startTotpEnrollment(): TotpEnrollment = throw CoreCallUnavailable("startTotpEnrollment")

    // TODO: call the core's TOTP confirmation once the bindings export it.
    override suspend fun confirmTotpEnrollment(code: String): List<String> =
        throw CoreCallUnavailable("confirmTotpEnrollment")
}
