package app.sharepay.android

import android.content.Context
import app.sharepay.android.data.CoreAuthRepository
import app.sharepay.android.data.CoreBillRepository
import app.sharepay.android.data.CoreHouseholdRepository
import app.sharepay.android.data.CorePaymentRepository
import app.sharepay.android.data.CoreReadingRepository
import app.sharepay.android.data.CoreSessionRepository
import app.sharepay.android.platform.AndroidDeviceInfoProvider
import app.sharepay.android.platform.AndroidKeystoreKeyWrapper
import app.sharepay.android.platform.CredentialManagerPasskeyProvider
import app.sharepay.android.platform.ForegroundActivity
import app.sharepay.ffi.VaultEndpoint
import app.sharepay.sdk.SessionEvent
import app.sharepay.sdk.SharePay
import app.sharepay.sdk.SharePayConfig
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.emitAll
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock

/**
 * The app's objects, created once per process. The SharePay client opens on first use, off the
 * main thread, because opening reads the encrypted store and calls the Keystore.
 */
class AppContainer(context: Context) {

    private val config = SharePayConfig(
        baseUrl = BuildConfig.SHAREPAY_BASE_URL,
        caCertificatePem = BuildConfig.SHAREPAY_CA_PEM,
        spkiPins = pinList(BuildConfig.SHAREPAY_SPKI_PINS),
        dataDir = context.noBackupFilesDir.resolve("sharepay").absolutePath,
        // A build without a vault address can do everything except save a card.
        vault = BuildConfig.SHAREPAY_VAULT_URL.takeIf { it.isNotEmpty() }?.let { url ->
            VaultEndpoint(url, BuildConfig.SHAREPAY_VAULT_CA_PEM, pinList(BuildConfig.SHAREPAY_VAULT_SPKI_PINS))
        },
    )
    private val keyWrapper = AndroidKeystoreKeyWrapper()
    private val openLock = Mutex()
    private var client: SharePay? = null

    val deviceInfoProvider = AndroidDeviceInfoProvider(context)

    /** The resumed activity, over which the passkey sheet opens. The application registers it. */
    val foregroundActivity = ForegroundActivity()
    val passkeyProvider = CredentialManagerPasskeyProvider(foregroundActivity)

    suspend fun sharePay(): SharePay = openLock.withLock {
        client ?: SharePay.open(config, keyWrapper, deviceInfoProvider).also { client = it }
    }

    val sessionEvents: Flow<SessionEvent> = flow { emitAll(sharePay().sessionEvents) }

    val authRepository = CoreAuthRepository(::sharePay, passkeyProvider)
    val householdRepository = CoreHouseholdRepository(::sharePay)
    val billRepository = CoreBillRepository(::sharePay)
    val paymentRepository = CorePaymentRepository(::sharePay)
    val readingRepository = CoreReadingRepository(::sharePay)
    val sessionRepository = CoreSessionRepository(::sharePay, deviceInfoProvider)
}

private fun pinList(commaSeparated: String): List<String> =
    commaSeparated.split(',').map { it.trim() }.filter { it.isNotEmpty() }
