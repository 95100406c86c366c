package app.sharepay.sdk

/** Something that happened to the signed-in session outside of the call the app made. */
sealed interface SessionEvent {

    /**
     * A call that needs a session was rejected as unauthorized, because the session expired or
     * was revoked by the user on another device or by an administrator. The app should show
     * the login screen. [reason] is safe to show.
     */
    data class SessionEnded(val reason: String) : SessionEvent

    /**
     * The server ended this device's session (a logout on another device, a forced logout, or
     * a reused refresh token), and the core wiped the session data. Queued readings stay and
     * are sent after the next login. [reason] is safe to show.
     */
    data class SessionRevoked(val reason: String) : SessionEvent
}
