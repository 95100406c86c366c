package app.sharepay.android.ui.auth

import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.SegmentedButton
import androidx.compose.material3.SegmentedButtonDefaults
import androidx.compose.material3.SingleChoiceSegmentedButtonRow
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.input.KeyboardType
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.sharepay.android.data.MfaMethod
import app.sharepay.android.ui.ErrorText
import app.sharepay.android.ui.SharePayScreen

@Composable
fun MfaScreen(viewModel: MfaViewModel, onVerified: () -> Unit) {
    val state by viewModel.state.collectAsStateWithLifecycle()

    LaunchedEffect(state.verified) {
        if (state.verified) onVerified()
    }

    SharePayScreen(title = "Confirm it's you") {
        SingleChoiceSegmentedButtonRow(Modifier.fillMaxWidth()) {
            state.methods.forEachIndexed { index, method ->
                SegmentedButton(
                    selected = method == state.selected,
                    onClick = { viewModel.onMethodSelected(method) },
                    shape = SegmentedButtonDefaults.itemShape(index, state.methods.size),
                ) { Text(method.label) }
            }
        }

        when (state.selected) {
            MfaMethod.Passkey -> {
                Button(
                    onClick = viewModel::usePasskey,
                    enabled = !state.busy,
                    modifier = Modifier.fillMaxWidth(),
                ) { Text("Use a passkey") }
            }
            MfaMethod.Email, MfaMethod.Sms -> {
                OutlinedButton(onClick = viewModel::sendCode, enabled = !state.busy) {
                    Text(if (state.codeSent) "Send a new code" else "Send a code")
                }
                CodeField(state, viewModel)
            }
            MfaMethod.Totp, MfaMethod.RecoveryCode -> CodeField(state, viewModel)
        }

        state.error?.let { ErrorText(it) }
    }
}

@Composable
private fun CodeField(state: MfaUiState, viewModel: MfaViewModel) {
    val numeric = state.selected != MfaMethod.RecoveryCode
    OutlinedTextField(
        value = state.code,
        onValueChange = viewModel::onCodeChange,
        label = { Text(if (numeric) "Code" else "Recovery code") },
        keyboardOptions = KeyboardOptions(keyboardType = if (numeric) KeyboardType.NumberPassword else KeyboardType.Ascii),
        singleLine = true,
        modifier = Modifier.fillMaxWidth(),
    )
    Button(onClick = viewModel::verifyCode, enabled = !state.busy, modifier = Modifier.fillMaxWidth()) {
        Text("Verify")
    }
}

private val MfaMethod.label: String
    get() = when (this) {
        MfaMethod.Totp -> "App"
        MfaMethod.Email -> "Email"
        MfaMethod.Sms -> "SMS"
        MfaMethod.Passkey -> "Passkey"
        MfaMethod.RecoveryCode -> "Recovery"
    }
