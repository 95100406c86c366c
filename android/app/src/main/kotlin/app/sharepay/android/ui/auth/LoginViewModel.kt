package app.sharepay.android.ui.auth

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.sharepay.android.data.AuthRepository
import app.sharepay.android.data.LoginOutcome
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

data class LoginUiState(
    val email: String = "",
    val password: String = "",
    val busy: Boolean = false,
    val error: Throwable? = null,
    /** The login result, set when the core returns. The screen navigates on it. */
    val outcome: LoginOutcome? = null,
)

class LoginViewModel(private val auth: AuthRepository) : ViewModel() {
    private val mutableState = MutableStateFlow(LoginUiState())
    val state: StateFlow<LoginUiState> = mutableState.asStateFlow()

    fun onEmailChange(email: String) = mutableState.update { it.copy(email = email, error = null) }

    fun onPasswordChange(password: String) = mutableState.update { it.copy(password = password, error = null) }

    fun login() = launchCall {
        val current = state.value
        auth.login(current.email, current.password)
    }

    fun onOutcomeHandled() = mutableState.update { it.copy(outcome = null, password = "") }

    private fun launchCall(block: suspend () -> LoginOutcome) {
        mutableState.update { it.copy(busy = true, error = null) }
        viewModelScope.launch {
            try {
                val outcome = block()
                mutableState.update { it.copy(busy = false, outcome = outcome) }
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                mutableState.update { it.copy(busy = false, error = e) }
            }
        }
    }
}
