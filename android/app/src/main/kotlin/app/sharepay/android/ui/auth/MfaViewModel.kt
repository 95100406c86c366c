package app.sharepay.android.ui.auth

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.sharepay.android.data.AuthRepository
import app.sharepay.android.data.MfaMethod
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/** The purpose of a second check: finishing a login, or a step-up check of the current session. */
enum class MfaPurpose { SignIn, StepUp }

data class MfaUiState(
    val methods: List<MfaMethod>,
    val selected: MfaMethod,
    val code: String = "",
    /** True once an email or SMS code has been sent for [selected]. */
    val codeSent: Boolean = false,
    val busy: Boolean = false,
    val error: Throwable? = null,
    val verified: Boolean = false,
)

/**
 * A second check with a TOTP, email, SMS or recovery code, or a passkey: the second step of a
 * login, or a step-up check that a change such as saving a card needs.
 */
class MfaViewModel(
    private val auth: AuthRepository,
    methods: List<MfaMethod>,
    private val purpose: MfaPurpose,
) : ViewModel() {
    private val mutableState = MutableStateFlow(MfaUiState(methods, methods.firstOrNull() ?: MfaMethod.Totp))
    val state: StateFlow<MfaUiState> = mutableState.asStateFlow()

    fun onMethodSelected(method: MfaMethod) =
        mutableState.update { it.copy(selected = method, code = "", codeSent = false, error = null) }

    fun onCodeChange(code: String) = mutableState.update { it.copy(code = code, error = null) }

    fun sendCode() = launchCall {
        val method = state.value.selected
        when (purpose) {
            MfaPurpose.SignIn -> auth.sendMfaCode(method)
            MfaPurpose.StepUp -> auth.sendStepUpCode(method)
        }
        mutableState.update { it.copy(codeSent = true) }
    }

    fun verifyCode() = launchCall {
        val current = state.value
        when (purpose) {
            MfaPurpose.SignIn -> auth.verifyMfaCode(current.selected, current.code)
            MfaPurpose.StepUp -> auth.stepUp(current.selected, current.code)
        }
        mutableState.update { it.copy(verified = true, code = "") }
    }

    // The core opens the passkey sheet through the app's provider and sends the result itself.
    fun usePasskey() = launchCall {
        when (purpose) {
            MfaPurpose.SignIn -> auth.completeMfaWithPasskey()
            MfaPurpose.StepUp -> auth.stepUpWithPasskey()
        }
        mutableState.update { it.copy(verified = true) }
    }

    private fun launchCall(block: suspend () -> Unit) {
        mutableState.update { it.copy(busy = true, error = null) }
        viewModelScope.launch {
            try {
                block()
                mutableState.update { it.copy(busy = false) }
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                mutableState.update { it.copy(busy = false, error = e) }
            }
        }
    }
}
