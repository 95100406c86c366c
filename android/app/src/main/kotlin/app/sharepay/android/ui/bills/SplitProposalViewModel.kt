package app.sharepay.android.ui.bills

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.sharepay.android.data.BillRepository
import app.sharepay.android.data.SplitProposal
import app.sharepay.android.ui.LoadState
import app.sharepay.android.ui.load
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

data class SplitProposalUiState(
    val proposal: LoadState<SplitProposal> = LoadState.Loading,
    val approving: Boolean = false,
    val approveError: Throwable? = null,
)

/**
 * Shows the core's split proposal for one bill and approves it. The shares and the explanation
 * come from the core as they are. The app neither recomputes nor adjusts them.
 */
class SplitProposalViewModel(private val repository: BillRepository, private val billId: String) : ViewModel() {
    private val mutableState = MutableStateFlow(SplitProposalUiState())
    val state: StateFlow<SplitProposalUiState> = mutableState.asStateFlow()

    init {
        refresh()
    }

    fun refresh() {
        viewModelScope.launch {
            val proposal = load { repository.splitProposal(billId) }
            mutableState.update { it.copy(proposal = proposal) }
        }
    }

    fun approve() {
        mutableState.update { it.copy(approving = true, approveError = null) }
        viewModelScope.launch {
            val result = load { repository.approveSplit(billId) }
            mutableState.update { it.copy(approving = false, approveError = (result as? LoadState.Failed)?.error) }
            if (result is LoadState.Loaded) refresh()
        }
    }
}
