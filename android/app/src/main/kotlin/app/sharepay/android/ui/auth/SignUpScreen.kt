package app.sharepay.android.ui.auth

import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.sharepay.android.data.LoginOutcome
import app.sharepay.android.ui.ErrorText
import app.sharepay.android.ui.SharePayScreen

@Composable
fun SignUpScreen(
    viewModel: SignUpViewModel,
    onSignedIn: () -> Unit,
    onMfaRequired: (LoginOutcome.MfaRequired) -> Unit,
    onLogin: () -> Unit,
) {
    val state by viewModel.state.collectAsStateWithLifecycle()

    LaunchedEffect(state.outcome) {
        when (val outcome = state.outcome) {
            LoginOutcome.SignedIn -> onSignedIn()
            is LoginOutcome.MfaRequired -> onMfaRequired(outcome)
            null -> return@LaunchedEffect
        }
        viewModel.onOutcomeHandled()
    }

    SharePayScreen(title = "Create an account") {
        OutlinedTextField(
            value = state.email,
            onValueChange = viewModel::onEmailChange,
            label = { Text("Email") },
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Email),
            singleLine = true,
            modifier = Modifier.fillMaxWidth(),
        )
        OutlinedTextField(
            value = state.password,
            onValueChange = viewModel::onPasswordChange,
            label = { Text("Password") },
            visualTransformation = PasswordVisualTransformation(),
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Password),
            singleLine = true,
            modifier = Modifier.fillMaxWidth(),
        )
        state.error?.let { ErrorText(it) }
        Button(onClick = viewModel::signUp, enabled = !state.busy, modifier = Modifier.fillMaxWidth()) {
            Text("Create account")
        }
        TextButton(onClick = onLogin) { Text("I already have an account") }
    }
}
