package app.sharepay.android.ui.households

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.text.selection.SelectionContainer
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedCard
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.sharepay.android.data.Household
import app.sharepay.android.data.HouseholdRole
import app.sharepay.android.ui.ErrorText
import app.sharepay.android.ui.LabeledField
import app.sharepay.android.ui.LoadStateContent
import app.sharepay.android.ui.SharePayScreen

@Composable
fun HouseholdsScreen(viewModel: HouseholdsViewModel, onOpenBills: (Household) -> Unit) {
    val state by viewModel.state.collectAsStateWithLifecycle()

    SharePayScreen(title = "Households") {
        Text("Your households", style = MaterialTheme.typography.titleMedium)
        LoadStateContent(state.households) { households ->
            if (households.isEmpty()) Text("You are not a member of a household yet.")
            households.forEach { HouseholdCard(it, state, viewModel, onOpenBills) }
        }

        Text("Join a household", style = MaterialTheme.typography.titleMedium)
        LabeledField(state.invitationCodeInput, viewModel::onInvitationCodeChange, "Invitation code", KeyboardType.Ascii)
        Button(onClick = viewModel::acceptInvitation) { Text("Join") }

        Text("New household", style = MaterialTheme.typography.titleMedium)
        LabeledField(state.newHouseholdName, viewModel::onNewHouseholdNameChange, "Household name")
        Button(onClick = viewModel::createHousehold) { Text("Create household") }
        state.actionError?.let { ErrorText(it) }
    }
}

@Composable
private fun HouseholdCard(
    household: Household,
    state: HouseholdsUiState,
    viewModel: HouseholdsViewModel,
    onOpenBills: (Household) -> Unit,
) {
    OutlinedCard(Modifier.fillMaxWidth()) {
        ListItem(
            headlineContent = { Text(household.name) },
            supportingContent = { Text(household.role.label) },
        )
        if (household.role != HouseholdRole.PrimaryPayer) return@OutlinedCard
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
        state.createdInvitation?.let { invitation ->
            Text("Give this code to the new ${invitation.role.label.lowercase()}. It is shown only now.")
            SelectionContainer {
                Text(invitation.code, style = MaterialTheme.typography.headlineSmall, fontFamily = FontFamily.Monospace)
            }
            Text("Valid until ${invitation.expiresAt}")
        }
        Row {
            Button(onClick = viewModel::createInvitation) { Text("Create code") }
            TextButton(onClick = { viewModel.onInviteOpen(null) }) { Text("Close") }
        }
    }
}

val HouseholdRole.label: String
    get() = when (this) {
        HouseholdRole.PrimaryPayer -> "Primary payer"
        HouseholdRole.Participant -> "Participant"
        HouseholdRole.MeterReader -> "Meter reader"
    }
