package app.sharepay.android.ui.auth

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.sharepay.android.data.AuthRepository
import app.sharepay.android.data.MfaMethod
import app.sharepay.android.platform.Passkeys
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

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

/** The second step of login: a TOTP, email, SMS or recovery code, or a passkey. */
class MfaViewModel(private val auth: AuthRepository, methods: List<MfaMethod>) : ViewModel() {
    private val mutableState = MutableStateFlow(MfaUiState(methods, methods.firstOrNull() ?: MfaMethod.Totp))
    val state: StateFlow<MfaUiState> = mutableState.asStateFlow()

    fun onMethodSelected(method: MfaMethod) =
        mutableState.update { it.copy(selected = method, code = "", codeSent = false, error = null) }

    fun onCodeChange(code: String) = mutableState.update { it.copy(code = code, error = null) }

    fun sendCode() = launchCall {
        auth.sendMfaCode(state.value.selected)
        mutableState.update { it.copy(codeSent = true) }
    }

    fun verifyCode() = launchCall {
        val current = state.value
        auth.verifyMfaCode(current.selected, current.code)
        mutableState.update { it.copy(verified = true, code = "") }
    }

    fun usePasskey(passkeys: Passkeys) = launchCall {
        auth.finishPasskeyLogin(passkeys.get(auth.passkeyLoginRequest()))
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
