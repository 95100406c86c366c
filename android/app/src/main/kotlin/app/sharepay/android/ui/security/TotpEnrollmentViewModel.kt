package app.sharepay.android.ui.security

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.sharepay.android.data.AuthRepository
import app.sharepay.android.ui.LoadState
import app.sharepay.android.ui.load
import app.sharepay.ffi.TotpEnrollment
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/** The enrollment screen's state. It contains the TOTP secret, so it is never logged or saved. */
data class TotpEnrollmentUiState(
    val enrollment: LoadState<TotpEnrollment> = LoadState.Loading,
    val code: String = "",
    val confirming: Boolean = false,
    val confirmError: Throwable? = null,
    /** The recovery codes returned by the confirmation and shown this once, or null before it. */
    val recoveryCodes: List<String>? = null,
) {
    // The generated toString would print the recovery codes into any log of this state.
    override fun toString() = "TotpEnrollmentUiState(confirming=$confirming)"
}

/**
 * Enrolls an authenticator app: the core creates the secret, the user adds it to the app and
 * types the first code, and the core confirms it and returns the recovery codes. The code's
 * format is checked by the core and the server, not here.
 */
class TotpEnrollmentViewModel(private val auth: AuthRepository) : ViewModel() {
    private val mutableState = MutableStateFlow(TotpEnrollmentUiState())
    val state: StateFlow<TotpEnrollmentUiState> = mutableState.asStateFlow()

    init {
        start()
    }

    /** Creates the secret; called again after a step-up check when the first try needed one. */
    fun start() {
        mutableState.update { it.copy(enrollment = LoadState.Loading) }
        viewModelScope.launch {
            val enrollment = load { auth.startTotpEnrollment() }
            mutableState.update { it.copy(enrollment = enrollment) }
        }
    }

    fun onCodeChange(code: String) = mutableState.update { it.copy(code = code, confirmError = null) }

    fun confirm() {
        val code = state.value.code
        mutableState.update { it.copy(confirming = true, confirmError = null) }
        viewModelScope.launch {
            when (val result = load { auth.confirmTotpEnrollment(code) }) {
                is LoadState.Loaded -> mutableState.update {
                    it.copy(confirming = false, code = "", recoveryCodes = result.value)
                }
                is LoadState.Failed -> mutableState.update { it.copy(confirming = false, confirmError = result.error) }
                LoadState.Loading -> Unit
            }
        }
    }

    override fun onCleared() {
        mutableState.value = TotpEnrollmentUiState()
    }
}
