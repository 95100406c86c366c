package app.sharepay.android.ui.charges

import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.material3.ListItem
import androidx.compose.material3.OutlinedCard
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.sharepay.android.data.Charge
import app.sharepay.android.ui.LoadStateContent
import app.sharepay.android.ui.SharePayScreen

@Composable
fun ChargesScreen(viewModel: ChargesViewModel, onPay: (Charge) -> Unit) {
    val state by viewModel.state.collectAsStateWithLifecycle()

    SharePayScreen(title = "My charges") {
        LoadStateContent(state) { charges ->
            if (charges.isEmpty()) Text("You owe nothing right now.")
            charges.forEach { charge ->
                OutlinedCard(
                    onClick = { onPay(charge) },
                    enabled = !charge.paid,
                    modifier = Modifier.fillMaxWidth(),
                ) {
                    ListItem(
                        headlineContent = { Text(charge.billTitle) },
                        supportingContent = {
                            Text(if (charge.paid) "Paid" else "Open since ${charge.createdAt}")
                        },
                        trailingContent = { Text(charge.amountDisplay) },
                    )
                }
            }
        }
    }
}
