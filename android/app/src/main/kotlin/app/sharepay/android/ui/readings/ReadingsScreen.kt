package app.sharepay.android.ui.readings

import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.input.KeyboardType
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.sharepay.android.data.SyncState
import app.sharepay.android.ui.ErrorText
import app.sharepay.android.ui.LoadStateContent
import app.sharepay.android.ui.SharePayScreen

@Composable
fun ReadingsScreen(viewModel: ReadingsViewModel) {
    val state by viewModel.state.collectAsStateWithLifecycle()

    SharePayScreen(title = "Meter readings") {
        LoadStateContent(state.meters) { meters ->
            if (meters.isEmpty()) Text("No meters are assigned to you.")
            meters.forEach { meter ->
                FilterChip(
                    selected = meter.id == state.selectedMeterId,
                    onClick = { viewModel.onMeterSelected(meter.id) },
                    label = { Text("${meter.label} (${meter.unit}) · ${meter.householdName}") },
                )
            }
        }
        OutlinedTextField(
            value = state.value,
            onValueChange = viewModel::onValueChange,
            label = { Text("Reading") },
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Decimal),
            singleLine = true,
            modifier = Modifier.fillMaxWidth(),
        )
        Button(
            onClick = viewModel::submit,
            enabled = state.selectedMeterId != null,
            modifier = Modifier.fillMaxWidth(),
        ) { Text("Save reading") }
        state.error?.let { ErrorText(it) }

        SyncStatus(state.sync, onSyncNow = viewModel::syncNow)

        Text("Waiting to send", style = MaterialTheme.typography.titleMedium)
        LoadStateContent(state.outbox) { items ->
            if (items.isEmpty()) Text("Every reading has been sent.")
            items.forEach { item ->
                ListItem(
                    headlineContent = { Text("${item.meterLabel}: ${item.valueDisplay}") },
                    supportingContent = { Text(item.lastError ?: "Taken ${item.takenAt}") },
                )
            }
        }
    }
}

@Composable
private fun SyncStatus(sync: SyncState, onSyncNow: () -> Unit) {
    when (sync) {
        SyncState.Idle -> Text("Up to date with the server when online.")
        is SyncState.Syncing -> {
            Text("Sending ${sync.sent} of ${sync.total}…")
            LinearProgressIndicator(
                progress = { if (sync.total == 0) 0f else sync.sent.toFloat() / sync.total },
                modifier = Modifier.fillMaxWidth(),
            )
        }
        is SyncState.Failed -> Text("Sync failed: ${sync.reason}", color = MaterialTheme.colorScheme.error)
    }
    OutlinedButton(onClick = onSyncNow, enabled = sync !is SyncState.Syncing) { Text("Sync now") }
}
