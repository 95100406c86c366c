package app.sharepay.android.ui.charges

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.sharepay.android.data.CardInput
import app.sharepay.android.data.PaymentRepository
import app.sharepay.android.ui.LoadState
import app.sharepay.android.ui.load
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/** The card fields. Kept in this ViewModel only, never in saved state, a file or a log. */
data class CardEntryUiState(
    val number: String = "",
    val expiryMonth: String = "",
    val expiryYear: String = "",
    val cvc: String = "",
    val cardholderName: String = "",
    val busy: Boolean = false,
    val error: Throwable? = null,
    val saved: Boolean = false,
) {
    // The generated toString would print the card number into any log of this state.
    override fun toString() = "CardEntryUiState(busy=$busy, saved=$saved)"
}

/**
 * Sends a new card straight to the core's tokenization call, which checks it and hands it to
 * the vault. The app keeps only the returned token's display data and clears the fields.
 */
class CardEntryViewModel(private val repository: PaymentRepository) : ViewModel() {
    private val mutableState = MutableStateFlow(CardEntryUiState())
    val state: StateFlow<CardEntryUiState> = mutableState.asStateFlow()

    fun onNumberChange(value: String) = mutableState.update { it.copy(number = value, error = null) }
    fun onExpiryMonthChange(value: String) = mutableState.update { it.copy(expiryMonth = value, error = null) }
    fun onExpiryYearChange(value: String) = mutableState.update { it.copy(expiryYear = value, error = null) }
    fun onCvcChange(value: String) = mutableState.update { it.copy(cvc = value, error = null) }
    fun onCardholderNameChange(value: String) = mutableState.update { it.copy(cardholderName = value, error = null) }

    fun save() {
        val current = state.value
        val card = CardInput(current.number, current.expiryMonth, current.expiryYear, current.cvc, current.cardholderName)
        mutableState.update { it.copy(busy = true, error = null) }
        viewModelScope.launch {
            when (val result = load { repository.addCard(card) }) {
                is LoadState.Failed -> mutableState.update { it.copy(busy = false, cvc = "", error = result.error) }
                else -> mutableState.value = CardEntryUiState(saved = true)
            }
        }
    }

    override fun onCleared() {
        mutableState.value = CardEntryUiState()
    }
}
