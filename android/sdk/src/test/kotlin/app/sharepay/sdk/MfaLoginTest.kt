package app.sharepay.sdk

import app.sharepay.ffi.SharePayClient
import app.sharepay.ffi.SharePayException
import kotlin.test.assertFailsWith
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder

/**
 * A sign-in that needs a second check, through the Kotlin bindings against the live server. The
 * server requests one when an account that already has a known device logs in from another, and
 * offers an emailed code, which the tests read from the server's development mailbox.
 */
class MfaLoginTest {

    @get:Rule
    val temporaryFolder = TemporaryFolder()

    @Test
    fun newDeviceNeedsEmailedCode(): Unit = runBlocking {
        val email = signUpOnFirstPhone()

        openClient("second phone").use { second ->
            val error = assertFailsWith<SharePayError.MfaRequired> { second.login(email, LiveServer.PASSWORD) }
            assertTrue("methods: ${error.methods}", "email_code" in error.methods)
            assertTrue("reason: ${error.reason}", error.reason.contains("email_code"))
            assertFalse(second.hasSession())

            val seen = LiveServer.emailedCodes(email).size
            second.sendMfaCode("email_code")
            val code = LiveServer.awaitEmailedCode(email, seen)
            second.completeMfa("email_code", code)

            assertTrue(second.hasSession())
            assertEquals(email, second.me().email)
        }
    }

    @Test
    fun wrongCodeIsInvalidInput(): Unit = runBlocking {
        val email = signUpOnFirstPhone()

        openClient("second phone").use { second ->
            assertFailsWith<SharePayError.MfaRequired> { second.login(email, LiveServer.PASSWORD) }
            val seen = LiveServer.emailedCodes(email).size
            second.sendMfaCode("email_code")
            val code = LiveServer.awaitEmailedCode(email, seen)
            val wrongCode = if (code == "000000") "111111" else "000000"

            assertFailsWith<SharePayError.InvalidInput> { second.completeMfa("email_code", wrongCode) }
            assertFalse(second.hasSession())

            // A wrong code counts as a failure, but the challenge stays usable with the right one.
            second.completeMfa("email_code", code)
            assertTrue(second.hasSession())
        }
    }

    @Test
    fun completeWithoutLoginIsInvalidInput(): Unit = runBlocking {
        openClient("idle phone").use { client ->
            val error = assertFailsWith<SharePayError.InvalidInput> { client.completeMfa("totp", "123456") }
            assertTrue("reason: ${error.reason}", error.reason.contains("log in first"))
        }
    }

    @Test
    fun generatedExceptionCarriesMethods(): Unit = runBlocking {
        val email = signUpOnFirstPhone()

        val config = LiveServer.config(temporaryFolder.newFolder())
        SharePayClient(
            config.baseUrl,
            config.caCertificatePem,
            config.spkiPins,
            config.dataDir,
            JvmAesGcmKeyWrapper(),
        ).use { client ->
            client.setDeviceInfoProvider(FixedDeviceInfo("raw phone"))

            val exception = assertFailsWith<SharePayException.MfaRequired> {
                client.login(email, LiveServer.PASSWORD)
            }
            assertTrue("methods: ${exception.methods}", "email_code" in exception.methods)
            assertTrue(SharePayError.from(exception) is SharePayError.MfaRequired)
        }
    }

    // The first login of an account makes its device a known one, so that a login from any
    // other device needs a second check.
    private suspend fun signUpOnFirstPhone(): String {
        val email = LiveServer.randomEmail()
        openClient("first phone").use { first ->
            first.register(email, LiveServer.PASSWORD)
            first.login(email, LiveServer.PASSWORD)
        }
        return email
    }

    private suspend fun openClient(model: String): SharePay = SharePay.open(
        LiveServer.config(temporaryFolder.newFolder()),
        JvmAesGcmKeyWrapper(),
        FixedDeviceInfo(model),
    )
}
