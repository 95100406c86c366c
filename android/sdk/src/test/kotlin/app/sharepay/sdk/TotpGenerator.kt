package app.sharepay.sdk

import java.nio.ByteBuffer
import javax.crypto.Mac
import javax.crypto.spec.SecretKeySpec

/**
 * An authenticator app written independently of the server: RFC 6238 TOTP with HMAC-SHA1, six
 * digits and 30-second steps, the parameters of the otpauth URI the server issues.
 */
class TotpGenerator(base32Secret: String) {

    private val key = decodeBase32(base32Secret)

    /** Returns the time step that contains [epochSeconds]. */
    fun step(epochSeconds: Long = System.currentTimeMillis() / 1000): Long = epochSeconds / STEP_SECONDS

    /** Returns the six-digit code of time step [step]. */
    fun code(step: Long): String {
        val mac = Mac.getInstance("HmacSHA1")
        mac.init(SecretKeySpec(key, "HmacSHA1"))
        val hash = mac.doFinal(ByteBuffer.allocate(8).putLong(step).array())
        // RFC 4226 dynamic truncation: the low nibble of the last byte picks four bytes.
        val offset = hash.last().toInt() and 0x0f
        val binary = ((hash[offset].toInt() and 0x7f) shl 24) or
            ((hash[offset + 1].toInt() and 0xff) shl 16) or
            ((hash[offset + 2].toInt() and 0xff) shl 8) or
            (hash[offset + 3].toInt() and 0xff)
        return (binary % 1_000_000).toString().padStart(6, '0')
    }

    companion object {
        const val STEP_SECONDS = 30L
        private const val ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

        /** Decodes RFC 4648 base32, ignoring case, padding and spaces. */
        fun decodeBase32(text: String): ByteArray {
            val output = java.io.ByteArrayOutputStream()
            var buffer = 0
            var bits = 0
            for (char in text.uppercase()) {
                if (char == '=' || char == ' ') continue
                val value = ALPHABET.indexOf(char)
                require(value >= 0) { "invalid base32 character '$char' in the TOTP secret" }
                buffer = (buffer shl 5) or value
                bits += 5
                if (bits >= 8) {
                    bits -= 8
                    output.write((buffer shr bits) and 0xff)
                }
            }
            return output.toByteArray()
        }
    }
}
