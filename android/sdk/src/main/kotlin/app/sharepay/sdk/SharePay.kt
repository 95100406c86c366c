package app.sharepay.sdk

import app.sharepay.ffi.DeviceInfoProvider
import app.sharepay.ffi.Household
import app.sharepay.ffi.Invitation
import app.sharepay.ffi.KeyWrapper
import app.sharepay.ffi.LoginSession
import app.sharepay.ffi.Member
import app.sharepay.ffi.Meter
import app.sharepay.ffi.NewMeter
import app.sharepay.ffi.NewReading
import app.sharepay.ffi.OutboxItem
import app.sharepay.ffi.SharePayClient
import app.sharepay.ffi.SharePayException
import app.sharepay.ffi.SyncEvent
import app.sharepay.ffi.SyncEventListener
import app.sharepay.ffi.SyncState
import app.sharepay.ffi.SyncSummary
import app.sharepay.ffi.UserProfile
import app.sharepay.ffi.UserRole
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
 * storage, token refresh) stays in the Rust core, so nothing here validates or computes.
 */
class SharePay private constructor(internal val client: SharePayClient) : AutoCloseable {

    // Replay 0: an event is for whoever listens now. DROP_OLDEST keeps tryEmit from failing
    // when a slow collector falls behind.
    private val sessionEventFlow = MutableSharedFlow<SessionEvent>(
        extraBufferCapacity = EVENT_BUFFER,
        onBufferOverflow = BufferOverflow.DROP_OLDEST,
    )
    private val syncEventFlow = MutableSharedFlow<SyncEvent>(
        extraBufferCapacity = EVENT_BUFFER,
        onBufferOverflow = BufferOverflow.DROP_OLDEST,
    )

    /**
     * Session events: [SessionEvent.SessionRevoked] when the core learns that the server ended
     * this device's session, and [SessionEvent.SessionEnded] when a call that needs a session
     * fails as unauthorized.
     */
    val sessionEvents: Flow<SessionEvent> = sessionEventFlow.asSharedFlow()

    /** Outbox progress as the core reports it, including `SyncEvent.SessionRevoked`. */
    val syncEvents: Flow<SyncEvent> = syncEventFlow.asSharedFlow()

    init {
        client.setSyncEventListener(EventForwarder())
    }

    /** Creates an account and returns its user id. Does not sign in. */
    suspend fun register(email: String, password: String): String =
        call { client.register(email, password) }

    /**
     * Signs in. A wrong email or password fails with [SharePayError.Unauthorized]. A sign-in that
     * needs a second check fails with [SharePayError.MfaRequired], which [completeMfa] passes.
     */
    suspend fun login(email: String, password: String): Unit =
        call { client.login(email, password) }

    /** Asks the server to send a code (`email_code` or `sms_code`) for the waiting sign-in. */
    suspend fun sendMfaCode(method: String): Unit = call { client.sendMfaCode(method) }

    /**
     * Passes the waiting sign-in's second check with [code] for [method] (`totp`, `email_code`,
     * `sms_code` or `recovery_code`), and keeps the session like [login].
     */
    suspend fun completeMfa(method: String, code: String): Unit =
        call { client.completeMfa(method, code) }

    /**
     * Ends this device's session on the server and wipes it locally. Returns whether the
     * server confirmed. The local wipe happens even when the server could not be reached.
     */
    suspend fun logout(): Boolean = call { client.logout() }

    /** Returns whether a session is stored on this device. */
    suspend fun hasSession(): Boolean = call { client.hasSession() }

    /** Returns this installation's device fingerprint, or null when no device info provider is set. */
    suspend fun deviceFingerprint(): String? = withContext(Dispatchers.IO) { call { client.deviceFingerprint() } }

    /** Reads the signed-in user's profile. */
    suspend fun me(): UserProfile = callWithSession { client.me() }

    /** Lists the signed-in user's sessions on every device, oldest first. */
    suspend fun sessions(): List<LoginSession> = callWithSession { client.sessions() }

    /** Ends one session of the signed-in user. */
    suspend fun endSession(sessionId: String): Unit = callWithSession { client.endSession(sessionId) }

    /** Ends every other session of the signed-in user and returns how many ended. */
    suspend fun endOtherSessions(): Long = callWithSession { client.endOtherSessions().toLong() }

    /** Creates a household with the signed-in user as its primary payer. */
    suspend fun createHousehold(name: String): Household =
        callWithSession { client.createHousehold(name) }

    /** Lists the signed-in user's households. */
    suspend fun households(): List<Household> = callWithSession { client.households() }

    /** Reads one household of the signed-in user. */
    suspend fun household(householdId: String): Household =
        callWithSession { client.household(householdId) }

    /** Creates an invitation code for [role], valid for [expiresInHours] or the server default when null. */
    suspend fun createInvitation(householdId: String, role: UserRole, expiresInHours: Int? = null): Invitation =
        callWithSession { client.createInvitation(householdId, role, expiresInHours?.toUInt()) }

    /** Joins a household with an invitation code. */
    suspend fun acceptInvitation(code: String): Member = callWithSession { client.acceptInvitation(code) }

    /** Lists the members of a household, oldest first. */
    suspend fun members(householdId: String): List<Member> = callWithSession { client.members(householdId) }

    /** Gives a member another role. */
    suspend fun changeMemberRole(householdId: String, userId: String, role: UserRole): Member =
        callWithSession { client.changeMemberRole(householdId, userId, role) }

    /** Removes a member from a household. */
    suspend fun removeMember(householdId: String, userId: String): Unit =
        callWithSession { client.removeMember(householdId, userId) }

    /** Lists the meters of a household that the signed-in user may see. */
    suspend fun meters(householdId: String): List<Meter> = callWithSession { client.meters(householdId) }

    /** Adds a meter to a household. */
    suspend fun addMeter(householdId: String, meter: NewMeter): Meter =
        callWithSession { client.addMeter(householdId, meter) }

    /** Lets a member with the meter reader role read a meter. */
    suspend fun assignMeterReader(meterId: String, userId: String): Unit =
        callWithSession { client.assignMeterReader(meterId, userId) }

    /** Queues a reading in the offline outbox, which [syncNow] sends. */
    suspend fun submitReading(reading: NewReading): OutboxItem =
        withContext(Dispatchers.IO) { call { client.submitReading(reading) } }

    /** Sends the queued readings now. */
    suspend fun syncNow(): SyncSummary = call { client.syncNow() }

    /** Lists the outbox, oldest first, with each item's outcome. */
    suspend fun outboxItems(): List<OutboxItem> = withContext(Dispatchers.IO) { call { client.outboxItems() } }

    /** Counts the outbox items in each delivery state. */
    suspend fun syncState(): SyncState = withContext(Dispatchers.IO) { call { client.syncState() } }

    override fun close() = client.close()

    internal suspend fun <T> call(block: suspend () -> T): T = try {
        block()
    } catch (exception: SharePayException) {
        throw SharePayError.from(exception)
    }

    // Unauthorized on a call that needs a session means the session ended, which the app
    // handles in one place by collecting sessionEvents. On login it only means wrong
    // credentials, so `call` does not emit. A revoked session arrives through the listener.
    internal suspend fun <T> callWithSession(block: suspend () -> T): T = try {
        call(block)
    } catch (error: SharePayError.Unauthorized) {
        sessionEventFlow.tryEmit(SessionEvent.SessionEnded(error.reason))
        throw error
    }

    // Runs on the core's thread, so it only hands events over to the flows.
    private inner class EventForwarder : SyncEventListener {
        override fun onEvent(event: SyncEvent): Boolean {
            syncEventFlow.tryEmit(event)
            if (event is SyncEvent.SessionRevoked) {
                sessionEventFlow.tryEmit(SessionEvent.SessionRevoked(event.reason))
            }
            return true
        }
    }

    companion object {
        private const val EVENT_BUFFER = 64

        /**
         * Opens the encrypted store in [SharePayConfig.dataDir] and prepares the pinned TLS
         * connection. Runs on [Dispatchers.IO] because opening the store reads the disk and
         * calls [keyWrapper], which may block in the platform keystore.
         *
         * [deviceInfoProvider] supplies the attributes of the device fingerprint sent with each
         * login. Without it logins carry no fingerprint, and once the account has a known device
         * the server treats this one as new and requests a second check every time.
         */
        suspend fun open(
            config: SharePayConfig,
            keyWrapper: KeyWrapper,
            deviceInfoProvider: DeviceInfoProvider? = null,
        ): SharePay = withContext(Dispatchers.IO) {
            val client = try {
                SharePayClient(
                    config.baseUrl,
                    config.caCertificatePem,
                    config.spkiPins,
                    config.dataDir,
                    keyWrapper,
                    config.vault,
                )
            } catch (exception: SharePayException) {
                throw SharePayError.from(exception)
            }
            deviceInfoProvider?.let { client.setDeviceInfoProvider(it) }
            SharePay(client)
        }
    }
}
