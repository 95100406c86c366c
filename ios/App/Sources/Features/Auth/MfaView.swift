import Observation
import SharePayKit
import SwiftUI

/// The purpose of a second check: finishing a login, or a step-up check of the
/// current session.
enum MfaPurpose: Sendable {
    case signIn, stepUp
}

/// A second check with a TOTP, email, SMS or recovery code, or a passkey: the
/// second step of a login, or a step-up check that a change such as saving a
/// card needs.
@MainActor
@Observable
final class MfaModel {
    let methods: [MfaMethod]
    let purpose: MfaPurpose
    var selected: MfaMethod {
        didSet {
            code = ""
            codeSent = false
            error = nil
        }
    }
    var code = ""
    /// True once an email or SMS code has been sent for `selected`.
    var codeSent = false
    var busy = false
    var error: Error?
    var verified = false

    private let auth: AuthRepository

    init(auth: AuthRepository, methods: [MfaMethod], purpose: MfaPurpose = .signIn) {
        self.auth = auth
        self.methods = methods
        self.purpose = purpose
        selected = methods.first ?? .totp
    }

    func sendCode() async {
        await run {
            switch self.purpose {
            case .signIn: try await self.auth.sendMfaCode(method: self.selected)
            case .stepUp: try await self.auth.sendStepUpCode(method: self.selected)
            }
            self.codeSent = true
        }
    }

    func verifyCode() async {
        await run {
            switch self.purpose {
            case .signIn: try await self.auth.verifyMfaCode(method: self.selected, code: self.code)
            case .stepUp: try await self.auth.stepUp(method: self.selected, code: self.code)
            }
            self.code = ""
            self.verified = true
        }
    }

    // The core opens the passkey sheet through the app's provider and sends
    // the result itself.
    func usePasskey() async {
        await run {
            switch self.purpose {
            case .signIn: try await self.auth.completeMfaWithPasskey()
            case .stepUp: try await self.auth.stepUpWithPasskey()
            }
            self.verified = true
        }
    }

    private func run(_ operation: () async throws -> Void) async {
        busy = true
        error = nil
        defer { busy = false }
        do {
            try await operation()
        } catch is CancellationError {
            return
        } catch {
            self.error = error
        }
    }
}

struct MfaView: View {
    @Environment(AppModel.self) private var app
    @State private var model: MfaModel

    init(model: MfaModel) {
        _model = State(initialValue: model)
    }

    var body: some View {
        Form {
            Picker("Method", selection: $model.selected) {
                ForEach(model.methods) { Text($0.label).tag($0) }
            }
            .pickerStyle(.segmented)

            switch model.selected {
            case .passkey:
                Button("Use a passkey") { Task { await model.usePasskey() } }
                    .disabled(model.busy)
            case .email, .sms:
                Button(model.codeSent ? "Send a new code" : "Send a code") { Task { await model.sendCode() } }
                    .disabled(model.busy)
                codeEntry
            case .totp, .recoveryCode:
                codeEntry
            }

            if let error = model.error {
                ErrorText(error: error)
            }
        }
        .navigationTitle("Confirm it's you")
        .onChange(of: model.verified) { _, verified in
            guard verified else { return }
            switch model.purpose {
            case .signIn: app.didSignIn()
            // A step-up check returns to the screen whose call needed it.
            case .stepUp: app.path.removeLast()
            }
        }
    }

    @ViewBuilder
    private var codeEntry: some View {
        TextField(model.selected == .recoveryCode ? "Recovery code" : "Code", text: $model.code)
            .textContentType(.oneTimeCode)
            .keyboardType(model.selected == .recoveryCode ? .asciiCapable : .numberPad)
            .textInputAutocapitalization(.never)
            .autocorrectionDisabled()
        Button("Verify") { Task { await model.verifyCode() } }
            .disabled(model.busy)
    }
}

private extension MfaMethod {
    var label: String {
        switch self {
        case .totp: return "App"
        case .email: return "Email"
        case .sms: return "SMS"
        case .passkey: return "Passkey"
        case .recoveryCode: return "Recovery"
        }
    }
}
