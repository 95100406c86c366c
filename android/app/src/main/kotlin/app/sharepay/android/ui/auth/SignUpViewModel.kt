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

data class SignUpUiState(
    val email: String = "",
    val password: String = "",
    val busy: Boolean = false,
    /** The core's reasons, such as which password rules failed. */
    val error: Throwable? = null,
    val outcome: LoginOutcome? = null,
)

/**
 * Creates the account, then signs in with the same credentials. The password policy is checked
 * by the core and the server, and their reasons are shown as they come.
 */
class SignUpViewModel(private val auth: AuthRepository) : ViewModel() {
    private val mutableState = MutableStateFlow(SignUpUiState())
    val state: StateFlow<SignUpUiState> = mutableState.asStateFlow()

    fun onEmailChange(email: String) = mutableState.update { it.copy(email = email, error = null) }

    fun onPasswordChange(password: String) = mutableState.update { it.copy(password = password, error = null) }

    fun signUp() {
        val current = state.value
        mutableState.update { it.copy(busy = true, error = null) }
        viewModelScope.launch {
            try {
                auth.register(current.email, current.password)
                val outcome = auth.login(current.email, current.password)
                mutableState.update { it.copy(busy = false, password = "", outcome = outcome) }
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                mutableState.update { it.copy(busy = false, error = e) }
            }
        }
    }

    fun onOutcomeHandled() = mutableState.update { it.copy(outcome = null) }
}
