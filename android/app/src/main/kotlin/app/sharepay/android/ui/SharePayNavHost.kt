package app.sharepay.android.ui

import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.lifecycle.viewmodel.compose.viewModel
import androidx.navigation.NavHostController
import androidx.navigation.compose.NavHost
import androidx.navigation.compose.composable
import androidx.navigation.compose.rememberNavController
import app.sharepay.android.AppContainer
import app.sharepay.android.data.LoginOutcome
import app.sharepay.android.data.MfaMethod
import app.sharepay.android.ui.auth.LoginScreen
import app.sharepay.android.ui.auth.LoginViewModel
import app.sharepay.android.ui.auth.MfaPurpose
import app.sharepay.android.ui.auth.MfaScreen
import app.sharepay.android.ui.auth.MfaViewModel
import app.sharepay.android.ui.auth.SignUpScreen
import app.sharepay.android.ui.auth.SignUpViewModel
import app.sharepay.android.ui.bills.BillsScreen
import app.sharepay.android.ui.bills.BillsViewModel
import app.sharepay.android.ui.bills.SplitProposalScreen
import app.sharepay.android.ui.bills.SplitProposalViewModel
import app.sharepay.android.ui.charges.CardEntryScreen
import app.sharepay.android.ui.charges.CardEntryViewModel
import app.sharepay.android.ui.charges.ChargesScreen
import app.sharepay.android.ui.charges.ChargesViewModel
import app.sharepay.android.ui.charges.PayScreen
import app.sharepay.android.ui.charges.PayViewModel
import app.sharepay.android.ui.home.HomeEntry
import app.sharepay.android.ui.home.HomeScreen
import app.sharepay.android.ui.households.HouseholdsScreen
import app.sharepay.android.ui.households.HouseholdsViewModel
import app.sharepay.android.ui.readings.ReadingsScreen
import app.sharepay.android.ui.readings.ReadingsViewModel
import app.sharepay.android.ui.security.TotpEnrollmentScreen
import app.sharepay.android.ui.security.TotpEnrollmentViewModel
import app.sharepay.android.ui.sessions.SessionsScreen
import app.sharepay.android.ui.sessions.SessionsViewModel
import app.sharepay.sdk.SessionEvent
import kotlinx.coroutines.flow.catch

/** Route names and their arguments. */
private object Routes {
    const val LOGIN = "login"
    const val SIGN_UP = "sign-up"
    const val MFA = "mfa/{methods}"
    const val STEP_UP = "step-up/{methods}"
    const val HOME = "home"
    const val HOUSEHOLDS = "households"
    const val BILLS = "households/{householdId}/bills"
    const val SPLIT = "bills/{billId}/split"
    const val CHARGES = "charges"
    const val PAY = "charges/{chargeId}/pay"
    const val CARD = "cards/new"
    const val READINGS = "readings"
    const val SESSIONS = "sessions"
    const val TOTP_ENROLLMENT = "security/totp"

    fun mfa(methods: List<MfaMethod>) = "mfa/${methods.joinToString(",") { it.name }}"
    fun stepUp(methods: List<MfaMethod>) = "step-up/${methods.joinToString(",") { it.name }}"
    fun bills(householdId: String) = "households/$householdId/bills"
    fun split(billId: String) = "bills/$billId/split"
    fun pay(chargeId: String) = "charges/$chargeId/pay"
}

@Composable
fun SharePayNavHost(container: AppContainer, navController: NavHostController = rememberNavController()) {
    // A revoked or expired session sends the user back to login from any screen.
    // If the client cannot open, every screen's own call reports why, so the failure is not
    // shown a second time here.
    LaunchedEffect(container) {
        container.sessionEvents
            .catch { }
            .collect { event ->
                if (event is SessionEvent.SessionEnded) navController.showLogin()
            }
    }

    NavHost(navController, startDestination = Routes.LOGIN) {
        composable(Routes.LOGIN) {
            LoginScreen(
                viewModel { LoginViewModel(container.authRepository) },
                onSignedIn = { navController.showHome() },
                onMfaRequired = { navController.showMfa(it) },
                onSignUp = { navController.navigate(Routes.SIGN_UP) },
            )
        }
        composable(Routes.SIGN_UP) {
            SignUpScreen(
                viewModel { SignUpViewModel(container.authRepository) },
                onSignedIn = { navController.showHome() },
                onMfaRequired = { navController.showMfa(it) },
                onLogin = { navController.popBackStack() },
            )
        }
        composable(Routes.MFA) { entry ->
            val methods = methodsArgument(entry.arguments?.getString("methods"))
            MfaScreen(
                viewModel { MfaViewModel(container.authRepository, methods, MfaPurpose.SignIn) },
                onVerified = { navController.showHome() },
            )
        }
        // A step-up check returns to the screen whose call needed it, where the user tries again.
        composable(Routes.STEP_UP) { entry ->
            val methods = methodsArgument(entry.arguments?.getString("methods"))
            MfaScreen(
                viewModel { MfaViewModel(container.authRepository, methods, MfaPurpose.StepUp) },
                onVerified = { navController.popBackStack() },
            )
        }
        composable(Routes.HOME) {
            HomeScreen(homeEntries(navController))
        }
        composable(Routes.HOUSEHOLDS) {
            HouseholdsScreen(
                viewModel { HouseholdsViewModel(container.householdRepository) },
                onOpenBills = { navController.navigate(Routes.bills(it.id)) },
            )
        }
        composable(Routes.BILLS) { entry ->
            val householdId = entry.arguments?.getString("householdId").orEmpty()
            BillsScreen(
                viewModel { BillsViewModel(container.billRepository, householdId) },
                onOpenBill = { navController.navigate(Routes.split(it.id)) },
            )
        }
        composable(Routes.SPLIT) { entry ->
            val billId = entry.arguments?.getString("billId").orEmpty()
            SplitProposalScreen(viewModel { SplitProposalViewModel(container.billRepository, billId) })
        }
        composable(Routes.CHARGES) {
            ChargesScreen(
                viewModel { ChargesViewModel(container.paymentRepository) },
                onPay = { navController.navigate(Routes.pay(it.id)) },
            )
        }
        composable(Routes.PAY) { entry ->
            val chargeId = entry.arguments?.getString("chargeId").orEmpty()
            PayScreen(
                viewModel { PayViewModel(container.paymentRepository, chargeId) },
                onAddCard = { navController.navigate(Routes.CARD) },
                onDone = { navController.popBackStack() },
            )
        }
        composable(Routes.CARD) {
            CardEntryScreen(
                viewModel { CardEntryViewModel(container.paymentRepository) },
                onSaved = { navController.popBackStack() },
                onStepUp = { navController.navigate(Routes.stepUp(it)) },
            )
        }
        composable(Routes.READINGS) {
            ReadingsScreen(viewModel { ReadingsViewModel(container.readingRepository) })
        }
        composable(Routes.SESSIONS) {
            SessionsScreen(
                viewModel { SessionsViewModel(container.sessionRepository, container.authRepository) },
                onSignedOut = { navController.showLogin() },
                onStepUp = { navController.navigate(Routes.stepUp(it)) },
            )
        }
        composable(Routes.TOTP_ENROLLMENT) {
            TotpEnrollmentScreen(
                viewModel { TotpEnrollmentViewModel(container.authRepository) },
                onDone = { navController.popBackStack() },
                onStepUp = { navController.navigate(Routes.stepUp(it)) },
            )
        }
    }
}

private fun homeEntries(navController: NavHostController) = listOf(
    HomeEntry("Households", "Your households, invitations and members") { navController.navigate(Routes.HOUSEHOLDS) },
    HomeEntry("My charges", "What you owe, and paying it") { navController.navigate(Routes.CHARGES) },
    HomeEntry("Meter readings", "Record readings, even offline") { navController.navigate(Routes.READINGS) },
    HomeEntry("Sessions and devices", "Where you are signed in") { navController.navigate(Routes.SESSIONS) },
    HomeEntry("Authenticator app", "Sign in with codes from an authenticator app") {
        navController.navigate(Routes.TOTP_ENROLLMENT)
    },
)

private fun NavHostController.showHome() = navigate(Routes.HOME) {
    popUpTo(graph.id) { inclusive = true }
}

private fun NavHostController.showLogin() = navigate(Routes.LOGIN) {
    popUpTo(graph.id) { inclusive = true }
}

private fun NavHostController.showMfa(outcome: LoginOutcome.MfaRequired) = navigate(Routes.mfa(outcome.methods))

private fun methodsArgument(argument: String?): List<MfaMethod> =
    argument.orEmpty().split(',').mapNotNull { name -> MfaMethod.entries.find { it.name == name } }
