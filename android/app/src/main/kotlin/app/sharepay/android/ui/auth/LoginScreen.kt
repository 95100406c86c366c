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
fun LoginScreen(
    viewModel: LoginViewModel,
    onSignedIn: () -> Unit,
    onMfaRequired: (LoginOutcome.MfaRequired) -> Unit,
    onSignUp: () -> Unit,
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

    SharePayScreen(title = "Sign in") {
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
        Button(onClick = viewModel::login, enabled = !state.busy, modifier = Modifier.fillMaxWidth()) {
            Text("Sign in")
        }
        // A passkey is a second factor here: after the password, the MFA screen offers it when
        // the account has one.
        TextButton(onClick = onSignUp) { Text("Create an account") }
    }
}
