package app.sharepay.android.ui.charges

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.sharepay.android.data.MfaMethod
import app.sharepay.android.platform.SecureWindow
import app.sharepay.android.ui.ErrorText
import app.sharepay.android.ui.LabeledField
import app.sharepay.android.ui.SharePayScreen
import app.sharepay.android.ui.StepUpPrompt

@Composable
fun CardEntryScreen(
    viewModel: CardEntryViewModel,
    onSaved: () -> Unit,
    onStepUp: (List<MfaMethod>) -> Unit,
) {
    SecureWindow()
    val state by viewModel.state.collectAsStateWithLifecycle()

    LaunchedEffect(state.saved) {
        if (state.saved) onSaved()
    }

    SharePayScreen(title = "Add a card") {
        OutlinedTextField(
            value = state.number,
            onValueChange = viewModel::onNumberChange,
            label = { Text("Card number") },
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Number, autoCorrectEnabled = false),
            singleLine = true,
            modifier = Modifier.fillMaxWidth(),
        )
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            OutlinedTextField(
                value = state.expiryMonth,
                onValueChange = viewModel::onExpiryMonthChange,
                label = { Text("MM") },
                keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Number),
                singleLine = true,
                modifier = Modifier.weight(1f),
            )
            OutlinedTextField(
                value = state.expiryYear,
                onValueChange = viewModel::onExpiryYearChange,
                label = { Text("YYYY") },
                keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Number),
                singleLine = true,
                modifier = Modifier.weight(1f),
            )
            OutlinedTextField(
                value = state.cvc,
                onValueChange = viewModel::onCvcChange,
                label = { Text("CVC") },
                visualTransformation = PasswordVisualTransformation(),
                keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.NumberPassword),
                singleLine = true,
                modifier = Modifier.weight(1f),
            )
        }
        LabeledField(state.cardholderName, viewModel::onCardholderNameChange, "Name on the card")
        Text("Your card goes straight to the SharePay card vault. This phone does not store it.")
        state.error?.let { ErrorText(it) }
        StepUpPrompt(state.error, onStepUp)
        Button(onClick = viewModel::save, enabled = !state.busy, modifier = Modifier.fillMaxWidth()) {
            Text("Save card")
        }
    }
}
