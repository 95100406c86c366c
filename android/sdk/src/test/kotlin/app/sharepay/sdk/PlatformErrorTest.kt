package app.sharepay.sdk

import app.sharepay.ffi.KeyWrapper
import app.sharepay.ffi.PasskeyException
import app.sharepay.ffi.PasskeyProvider
import app.sharepay.ffi.SharePayException
import kotlin.test.assertFailsWith
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder

/**
 * Failures of the app's own platform code (the key wrapper, the passkey provider) reach the app
 * again as typed [SharePayError]s after a round trip through the Rust core, against the live server.
 */
class PlatformErrorTest {

    @get:Rule
    val temporaryFolder = TemporaryFolder()

    @Test
    fun keyWrapperFailureIsKeyUnavailable(): Unit = runBlocking {
        val failingWrapper = object : KeyWrapper {
            override fun wrapKey(key: ByteArray): ByteArray =
                throw SharePayException.KeyWrapping("the keystore is locked")

            override fun unwrapKey(wrapped: ByteArray): ByteArray =
                throw SharePayException.KeyWrapping("the keystore is locked")
        }

        val error = assertFailsWith<SharePayError.KeyUnavailable> {
            SharePay.open(LiveServer.config(temporaryFolder.newFolder()), failingWrapper).close()
        }
        assertTrue("reason: ${error.reason}", error.reason.contains("the keystore is locked"))
    }

    @Test
    fun cancelledPasskeyIsPasskeyCancelled(): Unit = runBlocking {
        val provider = ThrowingPasskeyProvider { throw PasskeyException.Cancelled() }

        signedInWithStepUp().use { client ->
            assertFailsWith<SharePayError.PasskeyCancelled> { client.registerPasskey(provider, "Test phone") }
        }
        assertTrue("the provider was called", provider.calls > 0)
    }

    @Test
    fun unsupportedPasskeyIsPasskeyNotSupported(): Unit = runBlocking {
        val provider = ThrowingPasskeyProvider { throw PasskeyException.NotSupported() }

        signedInWithStepUp().use { client ->
            assertFailsWith<SharePayError.PasskeyNotSupported> { client.registerPasskey(provider, "Test phone") }
        }
    }

    @Test
    fun crashingPasskeyProviderIsPasskeyFailed(): Unit = runBlocking {
        val provider = ThrowingPasskeyProvider { throw IllegalStateException("the authenticator crashed") }

        signedInWithStepUp().use { client ->
            val error = assertFailsWith<SharePayError.PasskeyFailed> { client.registerPasskey(provider, "Test phone") }
            assertTrue("reason: ${error.reason}", error.reason.contains("the authenticator crashed"))
        }
    }

    // Registering a passkey needs a recent step-up check, which an emailed code passes.
    private suspend fun signedInWithStepUp(): SharePay {
        val email = LiveServer.randomEmail()
        val client = SharePay.open(
            LiveServer.config(temporaryFolder.newFolder()),
            JvmAesGcmKeyWrapper(),
            FixedDeviceInfo("passkey phone"),
        )
        client.register(email, LiveServer.PASSWORD)
        client.login(email, LiveServer.PASSWORD)
        val seen = LiveServer.emailedCodes(email).size
        client.sendStepUpCode("email_code")
        client.stepUp("email_code", LiveServer.awaitEmailedCode(email, seen))
        return client
    }

    /** A passkey provider whose every call runs [failure], as a platform without a passkey would. */
    private class ThrowingPasskeyProvider(private val failure: () -> Nothing) : PasskeyProvider {
        @Volatile
        var calls = 0
            private set

        override fun createCredential(requestJson: String): String {
            calls++
            failure()
        }

        override fun getAssertion(requestJson: String): String {
            calls++
            failure()
        }
    }
}
