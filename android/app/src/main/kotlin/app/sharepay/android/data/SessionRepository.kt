package app.sharepay.android.data

import app.sharepay.android.platform.AndroidDeviceInfoProvider
import app.sharepay.ffi.DeviceInfo
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

    // The app always opens the client with its device info provider, so the core has one.
    override suspend fun deviceFingerprint(): String =
        sharePay().deviceFingerprint() ?: error("the SharePay client was opened without device information")

    override suspend fun sessions(): List<SessionInfo> = sharePay().sessions().map { session ->
        SessionInfo(
            id = session.id,
            deviceName = session.userAgent ?: session.ipAddress ?: "Unknown device",
            lastSeen = session.lastSeenAt,
            current = session.current,
        )
    }

    override suspend fun revokeSession(sessionId: String) {
        sharePay().endSession(sessionId)
    }

    // The core wipes the local session even when the server cannot be reached, so the result,
    // whether the server confirmed, does not change what the user sees.
    override suspend fun signOut() {
        sharePay().logout()
    }
}
