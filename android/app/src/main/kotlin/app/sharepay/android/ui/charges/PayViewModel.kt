package app.sharepay.android.ui.charges

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.sharepay.android.data.Charge
import app.sharepay.android.data.PaymentMethod
import app.sharepay.android.data.PaymentOutcome
import app.sharepay.android.data.PaymentRepository
import app.sharepay.android.ui.LoadState
import app.sharepay.android.ui.load
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

data class PayUiState(
    val charge: LoadState<Charge> = LoadState.Loading,
    val methods: LoadState<List<PaymentMethod>> = LoadState.Loading,
    val selectedMethodId: String? = null,
    val paying: Boolean = false,
    val payError: Throwable? = null,
    /** Set once the core returns a payment that was not declined. */
    val outcome: PaymentOutcome? = null,
)

/** Pays one charge with a saved card. */
class PayViewModel(private val repository: PaymentRepository, private val chargeId: String) : ViewModel() {
    private val mutableState = MutableStateFlow(PayUiState())
    val state: StateFlow<PayUiState> = mutableState.asStateFlow()

    /**
     * Loads the charge and the saved cards. The screen calls it each time it starts, so that a
     * card added on the card screen shows up on return.
     */
    fun refresh() {
        viewModelScope.launch {
            val charge = load { repository.charge(chargeId) }
            val methods = load { repository.paymentMethods() }
            val firstMethod = (methods as? LoadState.Loaded)?.value?.firstOrNull()?.id
            mutableState.update {
                it.copy(charge = charge, methods = methods, selectedMethodId = it.selectedMethodId ?: firstMethod)
            }
        }
    }

    fun onMethodSelected(methodId: String) = mutableState.update { it.copy(selectedMethodId = methodId) }

    fun pay() {
        val methodId = state.value.selectedMethodId ?: return
        mutableState.update { it.copy(paying = true, payError = null) }
        viewModelScope.launch {
            val result = load { repository.pay(chargeId, methodId) }
            mutableState.update {
                it.copy(
                    paying = false,
                    outcome = (result as? LoadState.Loaded)?.value,
                    payError = (result as? LoadState.Failed)?.error,
                )
            }
        }
    }
}
