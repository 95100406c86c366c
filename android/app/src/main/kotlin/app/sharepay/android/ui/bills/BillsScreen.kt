package app.sharepay.android.ui.bills

import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.material3.ListItem
import androidx.compose.material3.OutlinedCard
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.sharepay.android.data.Bill
import app.sharepay.android.ui.LoadStateContent
import app.sharepay.android.ui.SharePayScreen

@Composable
fun BillsScreen(viewModel: BillsViewModel, onOpenBill: (Bill) -> Unit) {
    val state by viewModel.state.collectAsStateWithLifecycle()

    SharePayScreen(title = "Bills") {
        LoadStateContent(state) { bills ->
            if (bills.isEmpty()) Text("No bills in this household yet.")
            bills.forEach { bill ->
                OutlinedCard(onClick = { onOpenBill(bill) }, modifier = Modifier.fillMaxWidth()) {
                    ListItem(
                        headlineContent = { Text(bill.title) },
                        supportingContent = { Text("${bill.period} · ${bill.status}") },
                        trailingContent = { Text(bill.amountDisplay) },
                    )
                }
            }
        }
    }
}
