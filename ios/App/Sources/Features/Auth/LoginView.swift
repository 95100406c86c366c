import Observation
import SharePayKit
import SwiftUI

@MainActor
@Observable
final class LoginModel {
    var email = ""
    var password = ""
    var busy = false
    var error: Error?
    /// The login result, set when the core returns. The view navigates on it.
    var outcome: LoginOutcome?

    private let auth: AuthRepository

    init(auth: AuthRepository) {
        self.auth = auth
    }

    func login() async {
        await run { try await self.auth.login(email: self.email, password: self.password) }
    }

    private func run(_ operation: () async throws -> LoginOutcome) async {
        busy = true
        error = nil
        defer { busy = false }
        do {
            outcome = try await operation()
            password = ""
        } catch is CancellationError {
            return
        } catch {
            self.error = error
        }
    }
}

struct LoginView: View {
    @Environment(AppModel.self) private var app
    @State private var model: LoginModel

    init(model: LoginModel) {
        _model = State(initialValue: model)
    }

    var body: some View {
        Form {
            Section {
                TextField("Email", text: $model.email)
                    .textContentType(.username)
                    .keyboardType(.emailAddress)
                    .textInputAutocapitalization(.never)
                    .autocorrectionDisabled()
                SecureField("Password", text: $model.password)
                    .textContentType(.password)
            }
            if let error = model.error {
                ErrorText(error: error)
            }
            Button("Sign in") { Task { await model.login() } }
                .disabled(model.busy)
            // A passkey is a second factor here: after the password, the MFA
            // screen offers it when the account has one.
            NavigationLink("Create an account") {
                SignUpView(model: SignUpModel(auth: app.auth))
            }
        }
        .navigationTitle("Sign in")
        .navigationDestination(item: mfaMethods) { methods in
            MfaView(model: MfaModel(auth: app.auth, methods: methods))
        }
        .onChange(of: model.outcome) { _, outcome in
            if outcome == .signedIn { app.didSignIn() }
        }
    }

    private var mfaMethods: Binding<[MfaMethod]?> {
        Binding(
            get: { model.outcome?.mfaMethods },
            set: { if $0 == nil { model.outcome = nil } }
        )
    }
}
