package app.sharepay.android.ui.readings

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.sharepay.android.data.Meter
import app.sharepay.android.data.OutboxItem
import app.sharepay.android.data.ReadingRepository
import app.sharepay.android.data.SyncState
import app.sharepay.android.ui.LoadState
import app.sharepay.android.ui.errorMessage
import app.sharepay.android.ui.load
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.catch
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

data class ReadingsUiState(
    val meters: LoadState<List<Meter>> = LoadState.Loading,
    val selectedMeterId: String? = null,
    val value: String = "",
    /** Readings stored on the phone and not yet accepted by the server. */
    val outbox: LoadState<List<OutboxItem>> = LoadState.Loading,
    val sync: SyncState = SyncState.Idle,
    val error: Throwable? = null,
)

/**
 * Captures meter readings. Submitting only queues the reading in the core's encrypted outbox,
 * so it succeeds without a signal. The core sends the queue when the server is reachable, and
 * the screen shows the queue and the sync progress.
 */
class ReadingsViewModel(private val repository: ReadingRepository) : ViewModel() {
    private val mutableState = MutableStateFlow(ReadingsUiState())
    val state: StateFlow<ReadingsUiState> = mutableState.asStateFlow()

    init {
        viewModelScope.launch {
            val meters = load { repository.assignedMeters() }
            val firstMeter = (meters as? LoadState.Loaded)?.value?.firstOrNull()?.id
            mutableState.update { it.copy(meters = meters, selectedMeterId = firstMeter) }
        }
        viewModelScope.launch {
            repository.syncStates()
                .catch { error -> mutableState.update { it.copy(sync = SyncState.Failed(errorMessage(error))) } }
                .collect { sync ->
                    mutableState.update { it.copy(sync = sync) }
                    if (sync == SyncState.Idle) refreshOutbox()
                }
        }
        refreshOutbox()
    }

    fun onMeterSelected(meterId: String) = mutableState.update { it.copy(selectedMeterId = meterId) }

    fun onValueChange(value: String) = mutableState.update { it.copy(value = value, error = null) }

    fun submit() {
        val meterId = state.value.selectedMeterId ?: return
        val value = state.value.value
        viewModelScope.launch {
            try {
                repository.submitReading(meterId, value)
                mutableState.update { it.copy(value = "") }
                refreshOutbox()
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                mutableState.update { it.copy(error = e) }
            }
        }
    }

    fun syncNow() {
        viewModelScope.launch {
            val result = load { repository.syncNow() }
            if (result is LoadState.Failed) mutableState.update { it.copy(error = result.error) }
        }
    }

    private fun refreshOutbox() {
        viewModelScope.launch {
            val outbox = load { repository.outboxItems() }
            mutableState.update { it.copy(outbox = outbox) }
        }
    }
}
