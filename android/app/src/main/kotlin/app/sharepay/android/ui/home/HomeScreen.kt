package app.sharepay.android.ui.home

import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.material3.ListItem
import androidx.compose.material3.OutlinedCard
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import app.sharepay.android.ui.SharePayScreen

/** A section of the app on the home screen. */
data class HomeEntry(val title: String, val description: String, val onOpen: () -> Unit)

/**
 * Lists the sections of the app. Each screen loads only what the user's roles allow, because the
 * server decides every access, so the home screen does not filter by role itself.
 */
@Composable
fun HomeScreen(entries: List<HomeEntry>) {
    SharePayScreen(title = "SharePay") {
        entries.forEach { entry ->
            OutlinedCard(onClick = entry.onOpen, modifier = Modifier.fillMaxWidth()) {
                ListItem(
                    headlineContent = { Text(entry.title) },
                    supportingContent = { Text(entry.description) },
                )
            }
        }
    }
}
