package app.sharepay.android.data

import app.sharepay.ffi.PasskeyProvider
import app.sharepay.ffi.TotpEnrollment
import app.sharepay.sdk.SharePay
import app.sharepay.sdk.SharePayError
import app.sharepay.sdk.completeMfaWithPasskey
import app.sharepay.sdk.confirmTotpEnrollment
import app.sharepay.sdk.registerPasskey
import app.sharepay.sdk.sendStepUpCode
import app.sharepay.sdk.startTotpEnrollment
import app.sharepay.sdk.stepUp
import app.sharepay.sdk.stepUpWithPasskey

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

        /** Maps the core's method names, leaving out those this build has no screen for. */
        fun fromWireNames(wireNames: List<String>): List<MfaMethod> = wireNames.mapNotNull(::fromWireName)
    }
}

/** The result of a password login. */
sealed interface LoginOutcome {
    data object SignedIn : LoginOutcome

    /** The password was correct and the server requests one of [methods]. */
    data class MfaRequired(val methods: List<MfaMethod>) : LoginOutcome
}

/**
 * Sign-up, login, the second factor, step-up checks and the account's own factors. Passkey calls
 * open the platform sheet through the app's [PasskeyProvider], which the core calls.
 */
interface AuthRepository {
    suspend fun register(email: String, password: String)
    suspend fun login(email: String, password: String): LoginOutcome
    suspend fun sendMfaCode(method: MfaMethod)
    suspend fun verifyMfaCode(method: MfaMethod, code: String)
    suspend fun completeMfaWithPasskey()

    /** Sends a code for a step-up check of this session by email or SMS. */
    suspend fun sendStepUpCode(method: MfaMethod)

    /** Passes a step-up check, after which changes such as saving a card succeed for a while. */
    suspend fun stepUp(method: MfaMethod, code: String)
    suspend fun stepUpWithPasskey()

    /** Adds a passkey to the signed-in account under [name]. Needs a recent step-up check. */
    suspend fun registerPasskey(name: String)

    /** Creates a TOTP secret for the signed-in account. It takes effect once confirmed. */
    suspend fun startTotpEnrollment(): TotpEnrollment

    /** Enables TOTP with a first code and returns the recovery codes, which are shown only once. */
    suspend fun confirmTotpEnrollment(code: String): List<String>
}

class CoreAuthRepository(
    private val sharePay: suspend () -> SharePay,
    private val passkeyProvider: PasskeyProvider,
) : AuthRepository {

    override suspend fun register(email: String, password: String) {
        sharePay().register(email, password)
    }

    override suspend fun login(email: String, password: String): LoginOutcome = try {
        sharePay().login(email, password)
        LoginOutcome.SignedIn
    } catch (challenge: SharePayError.MfaRequired) {
        // When no offered method has a screen in this build, the user sees the core's reason,
        // which names the methods the server offered.
        val methods = MfaMethod.fromWireNames(challenge.methods)
        if (methods.isEmpty()) throw challenge
        LoginOutcome.MfaRequired(methods)
    }

    override suspend fun sendMfaCode(method: MfaMethod) {
        sharePay().sendMfaCode(method.wireName)
    }

    override suspend fun verifyMfaCode(method: MfaMethod, code: String) {
        sharePay().completeMfa(method.wireName, code)
    }

    override suspend fun completeMfaWithPasskey() {
        sharePay().completeMfaWithPasskey(passkeyProvider)
    }

    override suspend fun sendStepUpCode(method: MfaMethod) {
        sharePay().sendStepUpCode(method.wireName)
    }

    override suspend fun stepUp(method: MfaMethod, code: String) {
        sharePay().stepUp(method.wireName, code)
    }

    override suspend fun stepUpWithPasskey() {
        sharePay().stepUpWithPasskey(passkeyProvider)
    }

    override suspend fun registerPasskey(name: String) {
        sharePay().registerPasskey(passkeyProvider, name)
    }

    override suspend fun startTotpEnrollment(): TotpEnrollment = sharePay().startTotpEnrollment()

    override suspend fun confirmTotpEnrollment(code: String): List<String> = sharePay().confirmTotpEnrollment(code)
}
