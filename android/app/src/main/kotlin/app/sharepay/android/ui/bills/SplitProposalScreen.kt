package app.sharepay.android.ui.bills

import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.material3.Button
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.sharepay.android.ui.ErrorText
import app.sharepay.android.ui.LoadStateContent
import app.sharepay.android.ui.SharePayScreen

@Composable
fun SplitProposalScreen(viewModel: SplitProposalViewModel) {
    val state by viewModel.state.collectAsStateWithLifecycle()

    SharePayScreen(title = "Split proposal") {
        LoadStateContent(state.proposal) { proposal ->
            Text("${proposal.totalDisplay}, split by ${proposal.method}", style = MaterialTheme.typography.titleMedium)
            proposal.shares.forEach { share ->
                ListItem(
                    headlineContent = { Text(share.memberId) },
                    // The core's explanation of how this share was computed, rounding included.
                    supportingContent = { Text(share.explanation) },
                    trailingContent = { Text(share.amountDisplay) },
                )
                HorizontalDivider()
            }

            if (proposal.approved) {
                Text("Approved. Each participant has been charged their share.")
            } else {
                Button(
                    onClick = viewModel::approve,
                    enabled = !state.approving,
                    modifier = Modifier.fillMaxWidth(),
                ) { Text("Approve split") }
            }
            state.approveError?.let { ErrorText(it) }
        }
    }
}
