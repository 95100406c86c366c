package app.sharepay.sdk

import app.sharepay.ffi.KeyWrapper
import app.sharepay.ffi.SharePayClient
import app.sharepay.ffi.SharePayException
import app.sharepay.ffi.UserProfile
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.asSharedFlow
import kotlinx.coroutines.withContext

/**
 * The app's entry point to the SharePay core: `suspend` functions over the generated client
 * that throw [SharePayError] instead of the generated [SharePayException].
 *
 * This class converts and forwards. Every rule (password policy, money, splits, pinning,
 * storage) stays in the Rust core, so nothing here validates or computes.
 */
class SharePay private constructor(private val client: SharePayClient) : AutoCloseable {

    // Replay 0: an event is for whoever listens now. DROP_OLDEST keeps tryEmit from failing
    // when a slow collector falls behind.
    private val sessionEventFlow = MutableSharedFlow<SessionEvent>(
        extraBufferCapacity = EVENT_BUFFER,
        onBufferOverflow = BufferOverflow.DROP_OLDEST,
    )

    /**
     * Session events. Today it emits [SessionEvent.SessionEnded] when a call that needs a
     * session fails as unauthorized.
     *
     * TODO: feed this flow (and a sync-progress flow) from a SyncEventListener implementation
     * registered with the core, once the bindings export that foreign trait.
     */
    val sessionEvents: Flow<SessionEvent> = sessionEventFlow.asSharedFlow()

    /** Creates an account and returns its user id. Does not sign in. */
    suspend fun register(email: String, password: String): String =
        call { client.register(email, password) }

    /** Signs in. A wrong email or password fails with [SharePayError.Unauthorized]. */
    suspend fun login(email: String, password: String): Unit =
        call { client.login(email, password) }

    /** Reads the signed-in user's profile. */
    suspend fun me(): UserProfile = callWithSession { client.me() }

    override fun close() = client.close()

    private suspend fun <T> call(block: suspend () -> T): T = try {
        block()
    } catch (exception: SharePayException) {
        throw SharePayError.from(exception)
    }

    // Unauthorized on a call that needs a session means the session ended, which the app
    // handles in one place by collecting sessionEvents. On login it only means wrong
    // credentials, so `call` does not emit.
    private suspend fun <T> callWithSession(block: suspend () -> T): T = try {
        call(block)
    } catch (error: SharePayError.Unauthorized) {
        sessionEventFlow.tryEmit(SessionEvent.SessionEnded(error.reason))
        throw error
    }

    companion object {
        private const val EVENT_BUFFER = 16

        /**
         * Opens the encrypted store in [SharePayConfig.dataDir] and prepares the pinned TLS
         * connection. Runs on [Dispatchers.IO] because opening the store reads the disk and
         * calls [keyWrapper], which may block in the platform keystore.
         */
        suspend fun open(config: SharePayConfig, keyWrapper: KeyWrapper): SharePay =
            withContext(Dispatchers.IO) {
                val client = try {
                    SharePayClient(
                        config.baseUrl,
                        config.caCertificatePem,
                        config.spkiPins,
                        config.dataDir,
                        keyWrapper,
                    )
                } catch (exception: SharePayException) {
                    throw SharePayError.from(exception)
                }
                SharePay(client)
            }
    }
}
