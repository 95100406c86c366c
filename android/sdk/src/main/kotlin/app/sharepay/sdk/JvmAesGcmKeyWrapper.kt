package app.sharepay.sdk

import app.sharepay.ffi.KeyWrapper
import app.sharepay.ffi.SharePayException
import java.security.GeneralSecurityException
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * A [KeyWrapper] that encrypts the store key with AES-256-GCM under a key held in JVM memory.
 *
 * It is meant for JVM tests and desktop tools. The wrapping key exists only as long as this
 * object, and the JVM heap offers no hardware protection, so it is not a substitute for the
 * Android Keystore on a phone.
 *
 * A wrapped key is the 12-byte random IV followed by the GCM ciphertext and its 16-byte tag.
 * Every failure is thrown as [SharePayException.KeyWrapping], so the Rust core receives the
 * typed error rather than an unexpected callback exception.
 */
class JvmAesGcmKeyWrapper(private val wrappingKey: SecretKey = generateWrappingKey()) : KeyWrapper {

    init {
        require(wrappingKey.algorithm == "AES") {
            "wrapping key algorithm is ${wrappingKey.algorithm}, expected AES"
        }
    }

    override fun wrapKey(key: ByteArray): ByteArray {
        val iv = ByteArray(IV_BYTES).also { random.nextBytes(it) }
        val ciphertext = try {
            val cipher = newCipher(Cipher.ENCRYPT_MODE, iv)
            cipher.doFinal(key)
        } catch (e: GeneralSecurityException) {
            throw SharePayException.KeyWrapping("AES-GCM wrapping failed: ${e.message}")
        }
        return iv + ciphertext
    }

    override fun unwrapKey(wrapped: ByteArray): ByteArray {
        if (wrapped.size < IV_BYTES + TAG_BYTES) {
            throw SharePayException.KeyWrapping(
                "wrapped key is ${wrapped.size} bytes, expected at least ${IV_BYTES + TAG_BYTES}",
            )
        }

        val iv = wrapped.copyOfRange(0, IV_BYTES)
        val ciphertext = wrapped.copyOfRange(IV_BYTES, wrapped.size)
        return try {
            val cipher = newCipher(Cipher.DECRYPT_MODE, iv)
            cipher.doFinal(ciphertext)
        } catch (e: GeneralSecurityException) {
            // A wrong wrapping key and a modified blob both end here as a failed tag check.
            throw SharePayException.KeyWrapping("AES-GCM unwrapping failed: ${e.message}")
        }
    }

    // Cipher objects are not thread-safe, and the Rust core may call from any thread,
    // so each call builds its own.
    private fun newCipher(mode: Int, iv: ByteArray): Cipher {
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(mode, wrappingKey, GCMParameterSpec(TAG_BYTES * 8, iv))
        cipher.updateAAD(ASSOCIATED_DATA)
        return cipher
    }

    companion object {
        private const val TRANSFORMATION = "AES/GCM/NoPadding"
        private const val IV_BYTES = 12
        private const val TAG_BYTES = 16

        // Binds each blob to its purpose, so a blob made by this class for anything else
        // cannot be passed off as a wrapped store key.
        private val ASSOCIATED_DATA = "sharepay store key v1".toByteArray(Charsets.US_ASCII)

        private val random = SecureRandom()

        /** Generates a fresh in-memory AES-256 key. */
        fun generateWrappingKey(): SecretKey =
            KeyGenerator.getInstance("AES").apply { init(256, random) }.generateKey()
    }
}
