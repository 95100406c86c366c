package app.sharepay.android.ui.households

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.sharepay.android.data.Household
import app.sharepay.android.data.HouseholdRepository
import app.sharepay.android.data.HouseholdRole
import app.sharepay.android.data.InvitationCode
import app.sharepay.android.ui.LoadState
import app.sharepay.android.ui.load
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

data class HouseholdsUiState(
    val households: LoadState<List<Household>> = LoadState.Loading,
    val newHouseholdName: String = "",
    val invitationCodeInput: String = "",
    val inviteHouseholdId: String? = null,
    val inviteRole: HouseholdRole = HouseholdRole.Participant,
    /** The code created last, shown once to the primary payer who created it. */
    val createdInvitation: InvitationCode? = null,
    val actionError: Throwable? = null,
)

class HouseholdsViewModel(private val repository: HouseholdRepository) : ViewModel() {
    private val mutableState = MutableStateFlow(HouseholdsUiState())
    val state: StateFlow<HouseholdsUiState> = mutableState.asStateFlow()

    init {
        refresh()
    }

    fun refresh() {
        viewModelScope.launch {
            val households = load { repository.households() }
            mutableState.update { it.copy(households = households) }
        }
    }

    fun onNewHouseholdNameChange(name: String) = mutableState.update { it.copy(newHouseholdName = name) }

    fun createHousehold() = act {
        repository.createHousehold(state.value.newHouseholdName)
        mutableState.update { it.copy(newHouseholdName = "") }
    }

    fun onInvitationCodeChange(code: String) = mutableState.update { it.copy(invitationCodeInput = code) }

    fun acceptInvitation() = act {
        repository.acceptInvitation(state.value.invitationCodeInput)
        mutableState.update { it.copy(invitationCodeInput = "") }
    }

    fun onInviteOpen(householdId: String?) =
        mutableState.update { it.copy(inviteHouseholdId = householdId, createdInvitation = null) }

    fun onInviteRoleChange(role: HouseholdRole) = mutableState.update { it.copy(inviteRole = role) }

    fun createInvitation() = act {
        val current = state.value
        val householdId = current.inviteHouseholdId ?: return@act
        val invitation = repository.createInvitation(householdId, current.inviteRole)
        mutableState.update { it.copy(createdInvitation = invitation) }
    }

    // Runs a change, then reloads so the list shows what the server now has.
    private fun act(block: suspend () -> Unit) {
        mutableState.update { it.copy(actionError = null) }
        viewModelScope.launch {
            when (val result = load { block() }) {
                is LoadState.Failed -> mutableState.update { it.copy(actionError = result.error) }
                else -> refresh()
            }
        }
    }
}
