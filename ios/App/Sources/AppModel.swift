import Foundation
import Observation
import SharePayKit

/// The app's repositories and its signed-in state.
@MainActor
@Observable
final class AppModel {
    var signedIn = false
    var path: [Route] = []

    let auth: AuthRepository
    let households: HouseholdRepository
    let bills: BillRepository
    let payments: PaymentRepository
    let readings: ReadingRepository
    let sessions: SessionRepository
    @ObservationIgnored private let provider: SharePayProvider

    init(provider: SharePayProvider = SharePayProvider()) {
        self.provider = provider
        auth = CoreAuthRepository(provider: provider)
        households = CoreHouseholdRepository(provider: provider)
        bills = CoreBillRepository(provider: provider)
        payments = CorePaymentRepository(provider: provider)
        readings = CoreReadingRepository(provider: provider)
        sessions = CoreSessionRepository(provider: provider)
    }

    func didSignIn() {
        path = []
        signedIn = true
    }

    func didSignOut() {
        path = []
        signedIn = false
    }

    /// Sends the user back to login from any screen when the session is
    /// revoked or expires. Runs for as long as the calling task.
    func watchSessionEvents() async {
        guard let sharePay = try? await provider.sharePay() else { return }
        for await event in sharePay.sessionEvents() {
            switch event {
            case .sessionEnded, .sessionRevoked:
                didSignOut()
            }
        }
    }
}

/// Opens the SharePay client once, on first use, and hands it to every
/// repository. Opening runs off the main actor because it reads the encrypted
/// store and calls the Keychain.
actor SharePayProvider {
    private var opening: Task<SharePay, Error>?

    func sharePay() async throws -> SharePay {
        if let opening {
            return try await opening.value
        }
        let task = Task {
            try await SharePay.open(
                config: try ServerConfiguration.load(),
                keyWrapper: KeychainKeyWrapper(),
                deviceInfoProvider: await AppleDeviceInfoProvider()
            )
        }
        opening = task
        do {
            return try await task.value
        } catch {
            // A failed open, such as a missing configuration, is tried again on the next call.
            opening = nil
            throw error
        }
    }
}

/// The screens reachable from the home screen.
enum Route: Hashable {
    case households
    case bills(householdID: String)
    case split(billID: String)
    case charges
    case pay(chargeID: String)
    case addCard
    case readings
    case sessions
    case totpEnrollment
    /// A step-up check, after which the user returns and tries again.
    case stepUp(methods: [MfaMethod])
}
