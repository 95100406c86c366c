package app.sharepay.android.ui.households

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedCard
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.sharepay.android.data.Household
import app.sharepay.android.data.HouseholdRole
import app.sharepay.android.data.Invitation
import app.sharepay.android.ui.ErrorText
import app.sharepay.android.ui.LoadStateContent
import app.sharepay.android.ui.SharePayScreen

@Composable
fun HouseholdsScreen(viewModel: HouseholdsViewModel, onOpenBills: (Household) -> Unit) {
    val state by viewModel.state.collectAsStateWithLifecycle()

    SharePayScreen(title = "Households") {
        Text("Invitations", style = MaterialTheme.typography.titleMedium)
        LoadStateContent(state.invitations) { invitations ->
            if (invitations.isEmpty()) Text("No open invitations.")
            invitations.forEach { InvitationCard(it, viewModel) }
        }

        Text("Your households", style = MaterialTheme.typography.titleMedium)
        LoadStateContent(state.households) { households ->
            if (households.isEmpty()) Text("You are not a member of a household yet.")
            households.forEach { HouseholdCard(it, state, viewModel, onOpenBills) }
        }

        OutlinedTextField(
            value = state.newHouseholdName,
            onValueChange = viewModel::onNewHouseholdNameChange,
            label = { Text("New household name") },
            singleLine = true,
            modifier = Modifier.fillMaxWidth(),
        )
        Button(onClick = viewModel::createHousehold) { Text("Create household") }
        state.actionError?.let { ErrorText(it) }
    }
}

@Composable
private fun InvitationCard(invitation: Invitation, viewModel: HouseholdsViewModel) {
    OutlinedCard(Modifier.fillMaxWidth()) {
        ListItem(
            headlineContent = { Text(invitation.householdName) },
            supportingContent = { Text("${invitation.role.label} · invited by ${invitation.invitedBy}") },
        )
        Row(Modifier.padding(8.dp)) {
            TextButton(onClick = { viewModel.accept(invitation) }) { Text("Accept") }
            TextButton(onClick = { viewModel.decline(invitation) }) { Text("Decline") }
        }
    }
}

@Composable
private fun HouseholdCard(
    household: Household,
    state: HouseholdsUiState,
    viewModel: HouseholdsViewModel,
    onOpenBills: (Household) -> Unit,
) {
    val primaryPayer = HouseholdRole.PrimaryPayer in household.roles
    OutlinedCard(Modifier.fillMaxWidth()) {
        ListItem(
            headlineContent = { Text(household.name) },
            supportingContent = { Text(household.roles.joinToString { it.label }) },
        )
        if (!primaryPayer) return@OutlinedCard
        Row(Modifier.padding(8.dp)) {
            TextButton(onClick = { onOpenBills(household) }) { Text("Bills") }
            TextButton(onClick = { viewModel.onInviteOpen(household.id) }) { Text("Invite") }
        }
        if (state.inviteHouseholdId == household.id) InviteForm(state, viewModel)
    }
}

@Composable
private fun InviteForm(state: HouseholdsUiState, viewModel: HouseholdsViewModel) {
    Column(Modifier.padding(8.dp)) {
        OutlinedTextField(
            value = state.inviteEmail,
            onValueChange = viewModel::onInviteEmailChange,
            label = { Text("Email") },
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Email),
            singleLine = true,
            modifier = Modifier.fillMaxWidth(),
        )
        Row {
            HouseholdRole.entries.forEach { role ->
                FilterChip(
                    selected = role == state.inviteRole,
                    onClick = { viewModel.onInviteRoleChange(role) },
                    label = { Text(role.label) },
                    modifier = Modifier.padding(end = 4.dp),
                )
            }
        }
        Row {
            Button(onClick = viewModel::sendInvite) { Text("Send invitation") }
            TextButton(onClick = { viewModel.onInviteOpen(null) }) { Text("Cancel") }
        }
    }
}

val HouseholdRole.label: String
    get() = when (this) {
        HouseholdRole.PrimaryPayer -> "Primary payer"
        HouseholdRole.Participant -> "Participant"
        HouseholdRole.MeterReader -> "Meter reader"
    }
