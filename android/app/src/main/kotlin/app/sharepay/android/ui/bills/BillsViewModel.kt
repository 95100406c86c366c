package app.sharepay.android.ui.bills

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.sharepay.android.data.Bill
import app.sharepay.android.data.BillRepository
import app.sharepay.android.ui.LoadState
import app.sharepay.android.ui.load
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch

/** The bills of one household, for its primary payer. */
class BillsViewModel(private val repository: BillRepository, private val householdId: String) : ViewModel() {
    private val mutableState = MutableStateFlow<LoadState<List<Bill>>>(LoadState.Loading)
    val state: StateFlow<LoadState<List<Bill>>> = mutableState.asStateFlow()

    init {
        refresh()
    }

    fun refresh() {
        viewModelScope.launch {
            mutableState.value = load { repository.bills(householdId) }
        }
    }
}
