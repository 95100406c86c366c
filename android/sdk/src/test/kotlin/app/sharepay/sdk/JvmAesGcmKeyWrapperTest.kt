package app.sharepay.sdk

import app.sharepay.ffi.SharePayException
import kotlin.test.assertFailsWith
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Test

/** Tests of the in-memory AES-GCM key wrapper on its own, without a server. */
class JvmAesGcmKeyWrapperTest {

    private val storeKey = ByteArray(32) { it.toByte() }

    @Test
    fun unwrapReturnsWrappedKey() {
        val wrapper = JvmAesGcmKeyWrapper()

        val wrapped = wrapper.wrapKey(storeKey)

        assertArrayEquals(storeKey, wrapper.unwrapKey(wrapped))
    }

    @Test
    fun wrappedKeyIsIvCiphertextAndTag() {
        val wrapped = JvmAesGcmKeyWrapper().wrapKey(storeKey)

        assertEquals(12 + storeKey.size + 16, wrapped.size)
    }

    @Test
    fun wrappingTwiceUsesFreshIv() {
        val wrapper = JvmAesGcmKeyWrapper()

        val first = wrapper.wrapKey(storeKey)
        val second = wrapper.wrapKey(storeKey)

        assertFalse(first.copyOfRange(0, 12).contentEquals(second.copyOfRange(0, 12)))
        assertFalse(first.contentEquals(second))
    }

    @Test
    fun otherWrappingKeyFailsAsKeyWrapping() {
        val wrapped = JvmAesGcmKeyWrapper().wrapKey(storeKey)

        assertFailsWith<SharePayException.KeyWrapping> {
            JvmAesGcmKeyWrapper().unwrapKey(wrapped)
        }
    }

    @Test
    fun modifiedBlobFailsAsKeyWrapping() {
        val wrapper = JvmAesGcmKeyWrapper()
        val wrapped = wrapper.wrapKey(storeKey)
        wrapped[wrapped.size - 1] = (wrapped[wrapped.size - 1].toInt() xor 1).toByte()

        assertFailsWith<SharePayException.KeyWrapping> {
            wrapper.unwrapKey(wrapped)
        }
    }

    @Test
    fun truncatedBlobFailsAsKeyWrapping() {
        val wrapper = JvmAesGcmKeyWrapper()

        assertFailsWith<SharePayException.KeyWrapping> {
            wrapper.unwrapKey(ByteArray(27))
        }
    }
}
