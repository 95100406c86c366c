package app.sharepay.android.ui.security

import android.content.ActivityNotFoundException
import android.content.Intent
import android.graphics.BitmapFactory
import android.net.Uri
import android.util.Base64
import androidx.compose.foundation.Image
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.text.selection.SelectionContainer
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.remember
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.ImageBitmap
import androidx.compose.ui.graphics.asImageBitmap
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.sharepay.android.data.MfaMethod
import app.sharepay.android.platform.SecureWindow
import app.sharepay.android.ui.ErrorText
import app.sharepay.android.ui.LabeledField
import app.sharepay.android.ui.LoadState
import app.sharepay.android.ui.LoadStateContent
import app.sharepay.android.ui.SharePayScreen
import app.sharepay.android.ui.StepUpPrompt
import app.sharepay.ffi.TotpEnrollment

/**
 * Shows the new TOTP secret as the server's QR code, as a link that opens an installed
 * authenticator app, and as the key to type by hand, then confirms the first code and shows
 * the recovery codes once. `FLAG_SECURE` keeps the secret and the codes out of screenshots.
 */
@Composable
fun TotpEnrollmentScreen(
    viewModel: TotpEnrollmentViewModel,
    onDone: () -> Unit,
    onStepUp: (List<MfaMethod>) -> Unit,
) {
    val state by viewModel.state.collectAsStateWithLifecycle()
    SecureWindow()

    SharePayScreen(title = "Authenticator app") {
        val recoveryCodes = state.recoveryCodes
        if (recoveryCodes != null) {
            RecoveryCodes(recoveryCodes, onDone)
        } else {
            // Creating a secret needs a recent step-up check. After it, the user starts again here.
            val failure = (state.enrollment as? LoadState.Failed)?.error
            StepUpPrompt(failure, onStepUp)
            if (failure != null) {
                OutlinedButton(onClick = viewModel::start, modifier = Modifier.fillMaxWidth()) { Text("Try again") }
            }
            LoadStateContent(state.enrollment) { enrollment ->
                SecretDisplay(enrollment)
                LabeledField(state.code, viewModel::onCodeChange, "Code from the app", KeyboardType.NumberPassword)
                Button(onClick = viewModel::confirm, enabled = !state.confirming, modifier = Modifier.fillMaxWidth()) {
                    Text("Turn on")
                }
                state.confirmError?.let { ErrorText(it) }
            }
        }
    }
}

@Composable
private fun SecretDisplay(enrollment: TotpEnrollment) {
    val context = LocalContext.current
    val qrCode = remember(enrollment) { enrollment.qrPngBase64?.let(::decodePng) }

    Text("Scan this code with your authenticator app, or open it on this phone.")
    if (qrCode != null) {
        Image(bitmap = qrCode, contentDescription = "QR code of the authenticator key", modifier = Modifier.size(220.dp))
    }
    OutlinedButton(
        onClick = {
            try {
                context.startActivity(Intent(Intent.ACTION_VIEW, Uri.parse(enrollment.otpauthUri)))
            } catch (_: ActivityNotFoundException) {
                // No installed app handles otpauth links, so the user types the key below.
            }
        },
        modifier = Modifier.fillMaxWidth(),
    ) { Text("Open in authenticator app") }
    Text("Or type this key:", style = MaterialTheme.typography.titleSmall)
    SelectionContainer { Text(enrollment.secret, fontFamily = FontFamily.Monospace) }
}

@Composable
private fun RecoveryCodes(codes: List<String>, onDone: () -> Unit) {
    Text("The authenticator app is on.", style = MaterialTheme.typography.titleMedium)
    Text(
        "Keep these recovery codes somewhere safe. Each one signs you in once if you lose this " +
            "phone. They are shown only now.",
    )
    SelectionContainer {
        Text(codes.joinToString("\n"), fontFamily = FontFamily.Monospace)
    }
    Button(onClick = onDone, modifier = Modifier.fillMaxWidth()) { Text("I have saved them") }
}

// Returns null when the server's QR code is not a valid base64 PNG, so the link and the key remain.
private fun decodePng(base64: String): ImageBitmap? = try {
    val bytes = Base64.decode(base64, Base64.DEFAULT)
    BitmapFactory.decodeByteArray(bytes, 0, bytes.size)?.asImageBitmap()
} catch (_: IllegalArgumentException) {
    null
}
