package app.sharepay.android.platform

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import app.sharepay.ffi.KeyWrapper
import app.sharepay.ffi.SharePayException
import java.io.IOException
import java.security.GeneralSecurityException
import java.security.KeyStore
import java.security.ProviderException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * A [KeyWrapper] that encrypts the core's store key with a non-exportable AES-256-GCM key in
 * the Android Keystore.
 *
 * The Keystore key is created on the first [wrapKey], in StrongBox where the device has one and
 * in the TEE otherwise. [unwrapKey] never creates a key. A wrapped key is the 12-byte IV chosen
 * by the Keystore followed by the ciphertext and its 16-byte tag.
 *
 * User authentication is not required (`setUserAuthenticationRequired(false)`): the store must
 * open when the app starts and when the offline outbox syncs in the background, without a
 * biometric prompt each time. The key still never leaves secure hardware, and the store it
 * protects is useless on another device.
 */
class AndroidKeystoreKeyWrapper(private val alias: String = DEFAULT_ALIAS) : KeyWrapper {

    override fun wrapKey(key: ByteArray): ByteArray = keystoreCall("wrapping") {
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.ENCRYPT_MODE, loadOrCreateKey())
        cipher.updateAAD(ASSOCIATED_DATA)
        cipher.iv + cipher.doFinal(key)
    }

    override fun unwrapKey(wrapped: ByteArray): ByteArray {
        if (wrapped.size < IV_BYTES + TAG_BYTES) {
            throw SharePayException.KeyWrapping(
                "wrapped key is ${wrapped.size} bytes, expected at least ${IV_BYTES + TAG_BYTES}",
            )
        }
        val key = keystoreCall("reading the key") { loadKey() }
            ?: throw SharePayException.KeyWrapping("Keystore key '$alias' not found, so the store cannot be opened. Clear the app's data and sign in again")

        return keystoreCall("unwrapping") {
            val cipher = Cipher.getInstance(TRANSFORMATION)
            val iv = wrapped.copyOfRange(0, IV_BYTES)
            cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(TAG_BYTES * 8, iv))
            cipher.updateAAD(ASSOCIATED_DATA)
            cipher.doFinal(wrapped, IV_BYTES, wrapped.size - IV_BYTES)
        }
    }

    private fun loadKey(): SecretKey? {
        val keyStore = KeyStore.getInstance(KEYSTORE).apply { load(null) }
        return keyStore.getKey(alias, null) as SecretKey?
    }

    // Synchronized because two concurrent first calls would each generate a key under the same
    // alias, and the second would replace the key that wrapped the first call's blob.
    @Synchronized
    private fun loadOrCreateKey(): SecretKey = loadKey() ?: try {
        generateKey(strongBox = true)
    } catch (e: StrongBoxUnavailableException) {
        generateKey(strongBox = false)
    }

    private fun generateKey(strongBox: Boolean): SecretKey {
        val purposes = KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT
        val spec = KeyGenParameterSpec.Builder(alias, purposes)
            .setKeySize(256)
            .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
            .setUserAuthenticationRequired(false)
            .setIsStrongBoxBacked(strongBox)
            .build()
        val generator = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, KEYSTORE)
        generator.init(spec)
        return generator.generateKey()
    }

    // Every Keystore failure reaches the core as the typed KeyWrapping error. ProviderException
    // is what the Keystore throws when the secure hardware itself fails.
    private inline fun <T> keystoreCall(operation: String, block: () -> T): T = try {
        block()
    } catch (e: GeneralSecurityException) {
        throw keystoreError(operation, e)
    } catch (e: IOException) {
        throw keystoreError(operation, e)
    } catch (e: ProviderException) {
        throw keystoreError(operation, e)
    }

    private fun keystoreError(operation: String, cause: Exception) =
        SharePayException.KeyWrapping("Android Keystore failed $operation: ${cause.javaClass.simpleName}")

    companion object {
        const val DEFAULT_ALIAS = "app.sharepay.store-key"
        private const val KEYSTORE = "AndroidKeyStore"
        private const val TRANSFORMATION = "AES/GCM/NoPadding"
        private const val IV_BYTES = 12
        private const val TAG_BYTES = 16

        // The same purpose label as JvmAesGcmKeyWrapper and the iOS KeychainKeyWrapper.
        private val ASSOCIATED_DATA = "sharepay store key v1".toByteArray(Charsets.US_ASCII)
    }
}
