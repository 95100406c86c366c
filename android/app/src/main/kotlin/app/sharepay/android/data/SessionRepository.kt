package app.sharepay.android.data

import app.sharepay.android.platform.AndroidDeviceInfoProvider
import app.sharepay.android.platform.DeviceInfo
import app.sharepay.sdk.SharePay

/** A signed-in session of the user, on this or another device. */
data class SessionInfo(
    val id: String,
    val deviceName: String,
    val lastSeen: String,
    val current: Boolean,
)

/** The user's sessions and devices, and signing out. */
interface SessionRepository {
    /** This phone's attributes, as sent with each login. */
    fun thisDevice(): DeviceInfo
    suspend fun deviceFingerprint(): String
    suspend fun sessions(): List<SessionInfo>
    suspend fun revokeSession(sessionId: String)

    /** Signs out and deletes the session and cached data from the encrypted store. */
    suspend fun signOut()
}

class CoreSessionRepository(
    private val sharePay: suspend () -> SharePay,
    private val deviceInfoProvider: AndroidDeviceInfoProvider,
) : SessionRepository {

    override fun thisDevice(): DeviceInfo = deviceInfoProvider.deviceInfo()

    // TODO: call the core's deviceFingerprint().
    override suspend fun deviceFingerprint(): String = throw CoreCallUnavailable("deviceFingerprint")

    // TODO: call the core's listSessions().
    override suspend fun sessions(): List<SessionInfo> = throw CoreCallUnavailable("listSessions")

    // TODO: call the core's revokeSession(sessionId).
    override suspend fun revokeSession(sessionId: String) = throw CoreCallUnavailable("revokeSession")

    // TODO: call the core's wipeSession().
    override suspend fun signOut() = throw CoreCallUnavailable("wipeSession")
}
