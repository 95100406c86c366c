package app.sharepay.android.ui.charges

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.sharepay.android.data.Charge
import app.sharepay.android.data.PaymentRepository
import app.sharepay.android.ui.LoadState
import app.sharepay.android.ui.load
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch

/** The participant's charges across households. */
class ChargesViewModel(private val repository: PaymentRepository) : ViewModel() {
    private val mutableState = MutableStateFlow<LoadState<List<Charge>>>(LoadState.Loading)
    val state: StateFlow<LoadState<List<Charge>>> = mutableState.asStateFlow()

    init {
        refresh()
    }

    fun refresh() {
        viewModelScope.launch {
            mutableState.value = load { repository.myCharges() }
        }
    }
}
