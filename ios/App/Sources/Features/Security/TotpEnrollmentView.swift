import Observation
import SwiftUI
import UIKit

/// Enrolls an authenticator app: the core creates the secret, the user adds it
/// to the app and types the first code, and the core confirms it and returns
/// the recovery codes. The code's format is checked by the core and the
/// server, not here.
@MainActor
@Observable
final class TotpEnrollmentModel {
    var enrollment: LoadState<TotpEnrollment> = .loading
    var code = ""
    var confirming = false
    var confirmError: Error?
    /// The recovery codes returned by the confirmation, shown this once.
    var recoveryCodes: [String]?

    private let auth: AuthRepository

    init(auth: AuthRepository) {
        self.auth = auth
    }

    func start() async {
        enrollment = .loading
        enrollment = await LoadState.from { try await self.auth.startTotpEnrollment() }
    }

    func confirm() async {
        confirming = true
        confirmError = nil
        defer { confirming = false }
        do {
            recoveryCodes = try await auth.confirmTotpEnrollment(code: code)
            code = ""
        } catch {
            confirmError = error
        }
    }
}

/// Shows the new TOTP secret as the server's QR code, as a link that opens an
/// installed authenticator app, and as the key to type by hand, then confirms
/// the first code and shows the recovery codes once. The privacy shield hides
/// the secret and the codes from the app switcher and screen recording.
struct TotpEnrollmentView: View {
    @Environment(\.dismiss) private var dismiss
    @Environment(\.openURL) private var openURL
    @State private var model: TotpEnrollmentModel

    init(model: TotpEnrollmentModel) {
        _model = State(initialValue: model)
    }

    var body: some View {
        Form {
            if let codes = model.recoveryCodes {
                recoveryCodeList(codes)
            } else {
                // Creating a secret needs a recent step-up check. After it, the
                // user starts again here.
                if case let .failed(error) = model.enrollment {
                    StepUpPrompt(error: error)
                    Button("Try again") { Task { await model.start() } }
                }
                LoadStateView(state: model.enrollment) { enrollment in
                    secretDisplay(enrollment)
                    confirmation
                }
            }
        }
        .navigationTitle("Authenticator app")
        .privacyShield()
        .task { await model.start() }
    }

    @ViewBuilder
    private func secretDisplay(_ enrollment: TotpEnrollment) -> some View {
        Section("Add SharePay to your authenticator app") {
            if let base64 = enrollment.qrPNGBase64, let image = Self.qrImage(base64) {
                Image(uiImage: image)
                    .interpolation(.none)
                    .resizable()
                    .scaledToFit()
                    .frame(maxWidth: 220)
                    .accessibilityLabel("QR code of the authenticator key")
            }
            if let url = URL(string: enrollment.otpauthURI) {
                Button("Open in authenticator app") { openURL(url) }
            }
            LabeledContent("Key") {
                Text(enrollment.secret).font(.body.monospaced()).textSelection(.enabled)
            }
        }
    }

    @ViewBuilder
    private var confirmation: some View {
        Section("Code from the app") {
            TextField("Code", text: $model.code)
                .textContentType(.oneTimeCode)
                .keyboardType(.numberPad)
            Button("Turn on") { Task { await model.confirm() } }
                .disabled(model.confirming)
            if let error = model.confirmError {
                ErrorText(error: error)
            }
        }
    }

    @ViewBuilder
    private func recoveryCodeList(_ codes: [String]) -> some View {
        Section {
            Text("The authenticator app is on. Keep these recovery codes somewhere safe. "
                + "Each one signs you in once if you lose this phone. They are shown only now.")
            Text(codes.joined(separator: "\n")).font(.body.monospaced()).textSelection(.enabled)
            Button("I have saved them") { dismiss() }
        }
    }

    // Returns nil when the server's QR code is not a valid base64 PNG, so the
    // link and the key remain.
    private static func qrImage(_ base64: String) -> UIImage? {
        guard let data = Data(base64Encoded: base64) else { return nil }
        return UIImage(data: data)
    }
}
