package app.sharepay.android

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.enableEdgeToEdge
import app.sharepay.android.ui.SharePayNavHost
import app.sharepay.android.ui.theme.SharePayTheme

/** The single activity. Every screen is a Compose destination in [SharePayNavHost]. */
class MainActivity : ComponentActivity() {

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        enableEdgeToEdge()
        val container = (application as SharePayApplication).container
        setContent {
            SharePayTheme {
                SharePayNavHost(container)
            }
        }
    }
}
