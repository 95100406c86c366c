package app.sharepay.android.ui.households

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.sharepay.android.data.Household
import app.sharepay.android.data.HouseholdRepository
import app.sharepay.android.data.HouseholdRole
import app.sharepay.android.data.Invitation
import app.sharepay.android.ui.LoadState
import app.sharepay.android.ui.load
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

data class HouseholdsUiState(
    val households: LoadState<List<Household>> = LoadState.Loading,
    val invitations: LoadState<List<Invitation>> = LoadState.Loading,
    val newHouseholdName: String = "",
    val inviteHouseholdId: String? = null,
    val inviteEmail: String = "",
    val inviteRole: HouseholdRole = HouseholdRole.Participant,
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
            val invitations = load { repository.invitations() }
            mutableState.update { it.copy(households = households, invitations = invitations) }
        }
    }

    fun onNewHouseholdNameChange(name: String) = mutableState.update { it.copy(newHouseholdName = name) }

    fun createHousehold() = act {
        repository.createHousehold(state.value.newHouseholdName)
        mutableState.update { it.copy(newHouseholdName = "") }
    }

    fun onInviteOpen(householdId: String?) =
        mutableState.update { it.copy(inviteHouseholdId = householdId, inviteEmail = "") }

    fun onInviteEmailChange(email: String) = mutableState.update { it.copy(inviteEmail = email) }

    fun onInviteRoleChange(role: HouseholdRole) = mutableState.update { it.copy(inviteRole = role) }

    fun sendInvite() = act {
        val current = state.value
        val householdId = current.inviteHouseholdId ?: return@act
        repository.invite(householdId, current.inviteEmail, current.inviteRole)
        mutableState.update { it.copy(inviteHouseholdId = null, inviteEmail = "") }
    }

    fun accept(invitation: Invitation) = act { repository.acceptInvitation(invitation.id) }

    fun decline(invitation: Invitation) = act { repository.declineInvitation(invitation.id) }

    // Runs a change, then reloads so the lists show what the server now has.
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
