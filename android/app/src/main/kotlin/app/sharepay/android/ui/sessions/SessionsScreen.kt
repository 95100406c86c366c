package app.sharepay.android.ui.sessions

import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.material3.Button
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedCard
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.sharepay.android.data.MfaMethod
import app.sharepay.android.ui.ErrorText
import app.sharepay.android.ui.LoadStateContent
import app.sharepay.android.ui.SharePayScreen
import app.sharepay.android.ui.StepUpPrompt

@Composable
fun SessionsScreen(viewModel: SessionsViewModel, onSignedOut: () -> Unit, onStepUp: (List<MfaMethod>) -> Unit) {
    val state by viewModel.state.collectAsStateWithLifecycle()

    LaunchedEffect(state.signedOut) {
        if (state.signedOut) onSignedOut()
    }

    SharePayScreen(title = "Sessions and devices") {
        Text("This device", style = MaterialTheme.typography.titleMedium)
        with(state.thisDevice) {
            Text("$model · Android $osVersion")
            Text("SharePay $appVersion · $locale · $timeZone")
        }
        LoadStateContent(state.fingerprint) { Text("Device fingerprint: $it") }

        Text("Signed-in sessions", style = MaterialTheme.typography.titleMedium)
        LoadStateContent(state.sessions) { sessions ->
            sessions.forEach { session ->
                OutlinedCard(Modifier.fillMaxWidth()) {
                    ListItem(
                        headlineContent = { Text(session.deviceName + if (session.current) " (this device)" else "") },
                        supportingContent = { Text("Last active ${session.lastSeen}") },
                        trailingContent = {
                            if (!session.current) {
                                TextButton(onClick = { viewModel.revoke(session) }) { Text("Sign out") }
                            }
                        },
                    )
                }
            }
        }
        OutlinedButton(onClick = viewModel::addPasskey, modifier = Modifier.fillMaxWidth()) {
            Text(if (state.passkeyAdded) "Passkey added" else "Add a passkey")
        }
        state.actionError?.let { ErrorText(it) }
        StepUpPrompt(state.actionError, onStepUp)
        Button(onClick = viewModel::signOut, modifier = Modifier.fillMaxWidth()) {
            Text("Sign out of this device")
        }
    }
}
