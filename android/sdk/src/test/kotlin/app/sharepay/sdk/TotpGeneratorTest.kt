package app.sharepay.sdk

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Test

/** The test's own TOTP generator against the published vectors, so the story tests can trust it. */
class TotpGeneratorTest {

    // RFC 6238 appendix B, SHA-1 key "12345678901234567890", whose 8-digit codes end in these six.
    @Test
    fun matchesRfc6238Vectors() {
        val generator = TotpGenerator("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
        val vectors = mapOf(
            59L to "287082",
            1111111109L to "081804",
            1111111111L to "050471",
            1234567890L to "005924",
            2000000000L to "279037",
        )
        for ((seconds, expected) in vectors) {
            assertEquals("T=$seconds", expected, generator.code(generator.step(seconds)))
        }
    }

    // RFC 4648 section 10.
    @Test
    fun decodesBase32Vectors() {
        assertArrayEquals("foobar".toByteArray(), TotpGenerator.decodeBase32("MZXW6YTBOI======"))
        assertArrayEquals("fo".toByteArray(), TotpGenerator.decodeBase32("mzxq===="))
    }
}
