package app.sharepay.android.ui.charges

import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.material3.Button
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.RadioButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.lifecycle.compose.LifecycleStartEffect
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.sharepay.android.data.PaymentOutcome
import app.sharepay.android.platform.SecureWindow
import app.sharepay.android.ui.ErrorText
import app.sharepay.android.ui.LoadStateContent
import app.sharepay.android.ui.SharePayScreen

@Composable
fun PayScreen(viewModel: PayViewModel, onAddCard: () -> Unit, onDone: () -> Unit) {
    SecureWindow()
    val state by viewModel.state.collectAsStateWithLifecycle()
    LifecycleStartEffect(viewModel) {
        viewModel.refresh()
        onStopOrDispose {}
    }

    SharePayScreen(title = "Pay") {
        LoadStateContent(state.charge) { charge ->
            Text(charge.billTitle, style = MaterialTheme.typography.titleMedium)
            Text(charge.amountDisplay, style = MaterialTheme.typography.headlineMedium)
        }
        Text("Pay with", style = MaterialTheme.typography.titleSmall)
        LoadStateContent(state.methods) { methods ->
            methods.forEach { method ->
                ListItem(
                    leadingContent = {
                        RadioButton(
                            selected = method.id == state.selectedMethodId,
                            onClick = { viewModel.onMethodSelected(method.id) },
                        )
                    },
                    headlineContent = { Text("${method.brand} ending ${method.last4}") },
                    supportingContent = { Text("Expires ${method.expiry}") },
                )
            }
        }
        OutlinedButton(onClick = onAddCard) { Text("Add a card") }
        state.payError?.let { ErrorText(it) }
        val outcome = state.outcome
        if (outcome == PaymentOutcome.Paid) {
            Text("Paid. Thank you.")
            Button(onClick = onDone, modifier = Modifier.fillMaxWidth()) { Text("Done") }
        } else {
            when (outcome) {
                PaymentOutcome.Pending -> Text("The payment is still being processed. Paying again with the same card is safe.")
                PaymentOutcome.NeedsBankAuthentication -> Text("Your bank asks you to confirm this payment first.")
                PaymentOutcome.Paid, null -> Unit
            }
            Button(
                onClick = viewModel::pay,
                enabled = !state.paying && state.selectedMethodId != null,
                modifier = Modifier.fillMaxWidth(),
            ) { Text("Pay now") }
        }
    }
}
