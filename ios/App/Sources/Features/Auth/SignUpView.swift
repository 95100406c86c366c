import Observation
import SwiftUI

/// Creates the account, then signs in with the same credentials. The password
/// policy is checked by the core and the server, and their reasons are shown
/// as they come.
@MainActor
@Observable
final class SignUpModel {
    var email = ""
    var password = ""
    var busy = false
    var error: Error?
    var outcome: LoginOutcome?

    private let auth: AuthRepository

    init(auth: AuthRepository) {
        self.auth = auth
    }

    func signUp() async {
        busy = true
        error = nil
        defer { busy = false }
        do {
            try await auth.register(email: email, password: password)
            outcome = try await auth.login(email: email, password: password)
            password = ""
        } catch {
            self.error = error
        }
    }
}

struct SignUpView: View {
    @Environment(AppModel.self) private var app
    @State private var model: SignUpModel

    init(model: SignUpModel) {
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
                    .textContentType(.newPassword)
            }
            if let error = model.error {
                ErrorText(error: error)
            }
            Button("Create account") { Task { await model.signUp() } }
                .disabled(model.busy)
        }
        .navigationTitle("Create an account")
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
