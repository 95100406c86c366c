package app.sharepay.android.ui.sessions

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.sharepay.android.data.AuthRepository
import app.sharepay.android.data.SessionInfo
import app.sharepay.android.data.SessionRepository
import app.sharepay.android.ui.LoadState
import app.sharepay.android.ui.load
import app.sharepay.ffi.DeviceInfo
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

data class SessionsUiState(
    val thisDevice: DeviceInfo,
    val fingerprint: LoadState<String> = LoadState.Loading,
    val sessions: LoadState<List<SessionInfo>> = LoadState.Loading,
    val actionError: Throwable? = null,
    val passkeyAdded: Boolean = false,
    val signedOut: Boolean = false,
)

/** The user's sessions on every device, revoking them, adding a passkey, and signing out here. */
class SessionsViewModel(
    private val repository: SessionRepository,
    private val auth: AuthRepository,
) : ViewModel() {
    private val mutableState = MutableStateFlow(SessionsUiState(thisDevice = repository.thisDevice()))
    val state: StateFlow<SessionsUiState> = mutableState.asStateFlow()

    init {
        refresh()
    }

    fun refresh() {
        viewModelScope.launch {
            val fingerprint = load { repository.deviceFingerprint() }
            val sessions = load { repository.sessions() }
            mutableState.update { it.copy(fingerprint = fingerprint, sessions = sessions) }
        }
    }

    fun revoke(session: SessionInfo) {
        viewModelScope.launch {
            when (val result = load { repository.revokeSession(session.id) }) {
                is LoadState.Failed -> mutableState.update { it.copy(actionError = result.error) }
                else -> refresh()
            }
        }
    }

    // The core opens the passkey sheet through the app's provider and registers the result.
    fun addPasskey() {
        viewModelScope.launch {
            val result = load { auth.registerPasskey(PASSKEY_NAME) }
            mutableState.update {
                it.copy(passkeyAdded = result is LoadState.Loaded, actionError = (result as? LoadState.Failed)?.error)
            }
        }
    }

    fun signOut() {
        viewModelScope.launch {
            val result = load { repository.signOut() }
            mutableState.update {
                it.copy(signedOut = result is LoadState.Loaded, actionError = (result as? LoadState.Failed)?.error)
            }
        }
    }
}

// The name the passkey list shows for a passkey added on this phone.
private val PASSKEY_NAME = "${android.os.Build.MANUFACTURER} ${android.os.Build.MODEL}"
