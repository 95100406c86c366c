package app.sharepay.android.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.ColumnScope
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import app.sharepay.android.data.MfaMethod
import app.sharepay.sdk.SharePayError

/** Draws a screen with a title bar and a scrolling column of content. */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun SharePayScreen(title: String, content: @Composable ColumnScope.() -> Unit) {
    Scaffold(topBar = { TopAppBar(title = { Text(title) }) }) { padding ->
        Column(
            modifier = Modifier
                .padding(padding)
                .padding(16.dp)
                .verticalScroll(rememberScrollState()),
            verticalArrangement = Arrangement.spacedBy(12.dp),
            content = content,
        )
    }
}

/** Shows a spinner, the failure, or [content] for a [LoadState]. */
@Composable
fun <T> LoadStateContent(state: LoadState<T>, content: @Composable (T) -> Unit) {
    when (state) {
        LoadState.Loading -> Box(Modifier.fillMaxSize(), contentAlignment = Alignment.Center) {
            CircularProgressIndicator()
        }
        is LoadState.Failed -> ErrorText(state.error)
        is LoadState.Loaded -> content(state.value)
    }
}

/** Draws a full-width, single-line text field with a label and the keyboard for [keyboardType]. */
@Composable
fun LabeledField(
    value: String,
    onValueChange: (String) -> Unit,
    label: String,
    keyboardType: KeyboardType = KeyboardType.Text,
) {
    OutlinedTextField(
        value = value,
        onValueChange = onValueChange,
        label = { Text(label) },
        keyboardOptions = KeyboardOptions(keyboardType = keyboardType),
        singleLine = true,
        modifier = Modifier.fillMaxWidth(),
    )
}

@Composable
fun ErrorText(error: Throwable) {
    Text(errorMessage(error), color = MaterialTheme.colorScheme.error)
}

/**
 * Offers the step-up check when [error] is the core's StepUpRequired, so the user can pass it
 * and try again. Draws nothing for other errors.
 */
@Composable
fun StepUpPrompt(error: Throwable?, onStepUp: (List<MfaMethod>) -> Unit) {
    if (error !is SharePayError.StepUpRequired) return
    OutlinedButton(
        onClick = { onStepUp(MfaMethod.fromWireNames(error.methods)) },
        modifier = Modifier.fillMaxWidth(),
    ) { Text("Confirm it's you") }
}
