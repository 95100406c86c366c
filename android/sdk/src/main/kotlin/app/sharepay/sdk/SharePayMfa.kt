package app.sharepay.sdk

import app.sharepay.ffi.CodeSent
import app.sharepay.ffi.MfaFactors
import app.sharepay.ffi.PasskeyAssertion
import app.sharepay.ffi.PasskeyCredential
import app.sharepay.ffi.PasskeyProvider
import app.sharepay.ffi.StepUpGrant
import app.sharepay.ffi.TotpEnrollment

// The account's second factors, step-up checks and passkeys. Calls that change a factor need a
// recent step-up check and fail with SharePayError.StepUpRequired without one.

/** Passes the waiting sign-in's second check with a passkey from [provider]. */
suspend fun SharePay.completeMfaWithPasskey(provider: PasskeyProvider): Unit =
    call { client.completeMfaWithPasskey(provider) }

/**
 * Creates a TOTP secret, which [confirmTotpEnrollment] enables. The result contains the secret, so
 * show it only to the user and never log it.
 */
suspend fun SharePay.startTotpEnrollment(): TotpEnrollment = callWithSession { client.startTotpEnrollment() }

/** Enables TOTP with a first [code] and returns the ten recovery codes, shown this once. */
suspend fun SharePay.confirmTotpEnrollment(code: String): List<String> =
    callWithSession { client.confirmTotpEnrollment(code) }

/** Disables TOTP. */
suspend fun SharePay.disableTotp(): Unit = callWithSession { client.disableTotp() }

/** Replaces the recovery codes with ten new ones, shown this once. */
suspend fun SharePay.regenerateRecoveryCodes(): List<String> = callWithSession { client.regenerateRecoveryCodes() }

/** Lists the signed-in user's factors, passkeys included. */
suspend fun SharePay.mfaFactors(): MfaFactors = callWithSession { client.mfaFactors() }

/** Sends a code to [email], which replaces the account's address once [verifyEmail] accepts it. */
suspend fun SharePay.changeEmail(email: String): CodeSent = callWithSession { client.changeEmail(email) }

/** Sends a new verification code to the account's unverified address. */
suspend fun SharePay.resendEmailVerification(): CodeSent = callWithSession { client.resendEmailVerification() }

/** Verifies the account's address, or a pending new one, with the emailed [code]. */
suspend fun SharePay.verifyEmail(code: String): Unit = callWithSession { client.verifyEmail(code) }

/** Sends an SMS code to [phone], in E.164 form such as `+4915112345678`. */
suspend fun SharePay.addPhone(phone: String): CodeSent = callWithSession { client.addPhone(phone) }

/** Verifies the phone number added last with the SMS [code]. */
suspend fun SharePay.verifyPhone(code: String): Unit = callWithSession { client.verifyPhone(code) }

/** Sends a step-up code by [method], `email_code` or `sms_code`. */
suspend fun SharePay.sendStepUpCode(method: String): CodeSent = callWithSession { client.sendStepUpCode(method) }

/**
 * Passes a step-up check for this session with [code] for [method] (`totp`, `email_code`,
 * `sms_code` or `recovery_code`), so calls that failed with [SharePayError.StepUpRequired] succeed
 * until the returned time.
 */
suspend fun SharePay.stepUp(method: String, code: String): StepUpGrant = callWithSession { client.stepUp(method, code) }

/** Passes a step-up check for this session with a passkey from [provider]. */
suspend fun SharePay.stepUpWithPasskey(provider: PasskeyProvider): PasskeyAssertion =
    callWithSession { client.stepUpWithPasskey(provider) }

/** Registers a passkey made by [provider] under [name]. */
suspend fun SharePay.registerPasskey(provider: PasskeyProvider, name: String): PasskeyCredential =
    callWithSession { client.registerPasskey(provider, name) }

/** Lists the signed-in user's passkeys and security keys, oldest first. */
suspend fun SharePay.passkeys(): List<PasskeyCredential> = callWithSession { client.listPasskeys() }

/** Removes a passkey or security key by its id. */
suspend fun SharePay.removePasskey(credentialId: String): Unit = callWithSession { client.removePasskey(credentialId) }
