package app.sharepay.sdk

import app.sharepay.ffi.DeviceInfo
import app.sharepay.ffi.DeviceInfoProvider
import app.sharepay.ffi.VaultEndpoint
import java.io.File
import java.util.UUID

/**
 * The server that tests/run started for this test run, read from the environment:
 * SHAREPAY_TEST_URL, SHAREPAY_TEST_CA_FILE, SHAREPAY_TEST_PINS (both pins, comma-separated), the
 * embedded card vault's SHAREPAY_TEST_VAULT_URL, SHAREPAY_TEST_VAULT_CA_FILE and
 * SHAREPAY_TEST_VAULT_PINS, and SHAREPAY_TEST_MAILBOX_DIR (the server's development mailbox,
 * where it writes emailed codes).
 */
object LiveServer {

    // Meets the server's password policy: 10+ characters, mixed case, digit, symbol.
    const val PASSWORD = "Tulip-Harbor-Quartz-482!"

    fun config(dataDir: File): SharePayConfig = SharePayConfig(
        baseUrl = variable("SHAREPAY_TEST_URL"),
        caCertificatePem = File(variable("SHAREPAY_TEST_CA_FILE")).readText(),
        spkiPins = pins("SHAREPAY_TEST_PINS"),
        dataDir = dataDir.absolutePath,
        vault = VaultEndpoint(
            variable("SHAREPAY_TEST_VAULT_URL"),
            File(variable("SHAREPAY_TEST_VAULT_CA_FILE")).readText(),
            pins("SHAREPAY_TEST_VAULT_PINS"),
        ),
    )

    fun mailboxDir(): File = File(variable("SHAREPAY_TEST_MAILBOX_DIR"))

    fun randomEmail(): String = "kotlin-${UUID.randomUUID()}@example.test"

    /**
     * Waits up to [timeoutMs] for the server to write a new security code for [recipient] and
     * returns it. [seen] is the number of codes for [recipient] already in the mailbox.
     */
    fun awaitEmailedCode(recipient: String, seen: Int, timeoutMs: Long = 5_000): String {
        val deadline = System.currentTimeMillis() + timeoutMs
        while (System.currentTimeMillis() < deadline) {
            val codes = emailedCodes(recipient)
            if (codes.size > seen) return codes.last()
            Thread.sleep(50)
        }
        error("no security code for $recipient in ${mailboxDir()} within $timeoutMs ms")
    }

    /**
     * Lists the six-digit security codes sent to [recipient], oldest first. The mailbox writes one
     * file per message, named by its UTC creation time, with headers, a blank line and the body.
     * A message still being written is a hidden `.partial` file, so only `.txt` files count.
     */
    fun emailedCodes(recipient: String): List<String> {
        val files = mailboxDir().listFiles { file -> file.name.endsWith(".txt") }
            ?.sortedBy { it.name } ?: return emptyList()
        return files
            .map { it.readText() }
            .filter { it.contains("To: $recipient") && it.contains("security code") }
            .mapNotNull { message ->
                val body = message.substringAfter("\n\n")
                Regex("""\b\d{6}\b""").find(body)?.value
            }
    }

    private fun pins(name: String): List<String> = variable(name).split(',').map { it.trim() }

    private fun variable(name: String): String =
        System.getenv(name)?.takeIf { it.isNotBlank() } ?: error("$name is not set; run tests/run")
}

/** Reports fixed attributes, so that each instance with another [model] is another device. */
class FixedDeviceInfo(private val model: String) : DeviceInfoProvider {
    override fun deviceInfo(): DeviceInfo = DeviceInfo(
        platform = "jvm-test",
        osVersion = "17",
        model = model,
        appVersion = "0.1.0",
        locale = "en-GB",
        timeZone = "Europe/London",
        extra = emptyMap(),
    )
}
