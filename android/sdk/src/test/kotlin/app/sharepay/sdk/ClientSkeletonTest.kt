package app.sharepay.sdk

import app.sharepay.ffi.KeyWrapper
import app.sharepay.ffi.SharePayClient
import app.sharepay.ffi.SharePayException
import java.io.File
import java.util.Base64
import java.util.UUID
import kotlin.test.assertFailsWith
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder

/**
 * End-to-end tests of the Kotlin bindings against a live SharePay server over TLS.
 *
 * The server's address, CA certificate file and SPKI pins come from the environment
 * variables SHAREPAY_TEST_URL, SHAREPAY_TEST_CA_FILE and SHAREPAY_TEST_PINS, which
 * tests/run sets after starting the server.
 */
class ClientSkeletonTest {

    @get:Rule
    val temporaryFolder = TemporaryFolder()

    private val server = TestServer.fromEnvironment()

    @Test
    fun meReturnsRegisteredEmail(): Unit = runBlocking {
        val email = randomEmail()

        newClient().use { client ->
            val userId = client.register(email, PASSWORD)
            client.login(email, PASSWORD)
            val profile = client.me()

            assertEquals(email, profile.email)
            assertEquals(userId, profile.userId)
            assertTrue("created_at is empty", profile.createdAt.isNotEmpty())
        }
    }

    @Test
    fun wrongPasswordIsUnauthorized(): Unit = runBlocking {
        val email = randomEmail()

        newClient().use { client ->
            client.register(email, PASSWORD)

            assertFailsWith<SharePayException.Unauthorized> {
                client.login(email, "Wrong-Harbor-4821!")
            }
        }
    }

    @Test
    fun pinMismatchFailsEvenWithValidCa(): Unit = runBlocking {
        val unknownPins = listOf(
            Base64.getEncoder().encodeToString(ByteArray(32)),
            Base64.getEncoder().encodeToString(ByteArray(32) { 1 }),
        )

        newClient(spkiPins = unknownPins).use { client ->
            assertFailsWith<SharePayException.PinMismatch> {
                client.register(randomEmail(), PASSWORD)
            }
        }
    }

    @Test
    fun constructorRethrowsKeyWrappingFailure() {
        val failingWrapper = object : KeyWrapper {
            override fun wrapKey(key: ByteArray): ByteArray =
                throw SharePayException.KeyWrapping("platform key is unavailable")

            override fun unwrapKey(wrapped: ByteArray): ByteArray =
                throw SharePayException.KeyWrapping("platform key is unavailable")
        }

        val exception = assertFailsWith<SharePayException.KeyWrapping> {
            newClient(keyWrapper = failingWrapper).close()
        }
        val message = exception.message.orEmpty()
        assertTrue("platform reason missing from: $message", message.contains("platform key is unavailable"))
    }

    @Test
    fun unexpectedWrapperExceptionIsKeyWrapping() {
        val crashingWrapper = object : KeyWrapper {
            override fun wrapKey(key: ByteArray): ByteArray =
                throw IllegalStateException("keystore service crashed")

            override fun unwrapKey(wrapped: ByteArray): ByteArray =
                throw IllegalStateException("keystore service crashed")
        }

        assertFailsWith<SharePayException.KeyWrapping> {
            newClient(keyWrapper = crashingWrapper).close()
        }
    }

    @Test
    fun storeReopensWithSameWrapper() {
        val dataDir = temporaryFolder.newFolder()
        val wrapper = JvmAesGcmKeyWrapper()

        newClient(keyWrapper = wrapper, dataDir = dataDir).close()
        newClient(keyWrapper = wrapper, dataDir = dataDir).close()
    }

    @Test
    fun otherWrapperCannotOpenStore() {
        val dataDir = temporaryFolder.newFolder()
        newClient(keyWrapper = JvmAesGcmKeyWrapper(), dataDir = dataDir).close()

        assertFailsWith<SharePayException.KeyWrapping> {
            newClient(keyWrapper = JvmAesGcmKeyWrapper(), dataDir = dataDir).close()
        }
    }

    @Test
    fun unwrappedWrongKeyIsWrongKey() {
        val dataDir = temporaryFolder.newFolder()
        val realWrapper = JvmAesGcmKeyWrapper()
        newClient(keyWrapper = realWrapper, dataDir = dataDir).close()

        // Unwrapping "succeeds" but returns a different 32-byte key, as a platform
        // keystore that lost its key and silently made a new one might.
        val wrongKeyWrapper = object : KeyWrapper {
            override fun wrapKey(key: ByteArray): ByteArray = realWrapper.wrapKey(key)

            override fun unwrapKey(wrapped: ByteArray): ByteArray = ByteArray(32) { 7 }
        }

        assertFailsWith<SharePayException.WrongKey> {
            newClient(keyWrapper = wrongKeyWrapper, dataDir = dataDir).close()
        }
    }

    private fun newClient(
        spkiPins: List<String> = server.spkiPins,
        keyWrapper: KeyWrapper = JvmAesGcmKeyWrapper(),
        dataDir: File = temporaryFolder.newFolder(),
    ): SharePayClient = SharePayClient(
        server.url,
        server.caCertificatePem,
        spkiPins,
        dataDir.absolutePath,
        keyWrapper,
    )

    private fun randomEmail(): String = "kotlin-${UUID.randomUUID()}@example.test"

    private companion object {
        // Meets the server's password policy: 10+ characters, mixed case, digit, symbol.
        const val PASSWORD = "Tulip-Harbor-Quartz-482!"
    }
}

/** Connection details of the server that tests/run started for this test run. */
private class TestServer(val url: String, val caCertificatePem: String, val spkiPins: List<String>) {

    companion object {
        fun fromEnvironment(): TestServer {
            val url = requireVariable("SHAREPAY_TEST_URL")
            val caFile = File(requireVariable("SHAREPAY_TEST_CA_FILE"))
            // The current key's pin and the backup key's pin: the client requires two.
            val pins = requireVariable("SHAREPAY_TEST_PINS").split(',').map { it.trim() }
            check(pins.size >= 2) { "SHAREPAY_TEST_PINS must hold two comma-separated pins" }
            check(caFile.isFile) { "SHAREPAY_TEST_CA_FILE=$caFile: file not found" }
            return TestServer(url, caFile.readText(), pins)
        }

        private fun requireVariable(name: String): String =
            System.getenv(name)?.takeIf { it.isNotBlank() }
                ?: error(
                    "$name is not set. Start target/debug/sharepay-server and export " +
                        "SHAREPAY_TEST_URL, SHAREPAY_TEST_CA_FILE and SHAREPAY_TEST_PINS " +
                        "(both spki-pin-sha256 lines, comma-separated) from its output, " +
                        "or run tests/run.",
                )
    }
}
