import Observation
import SharePayFFI
import SharePayKit
import SwiftUI
import UIKit

/// The user's sessions on every device, revoking them, adding a passkey, and
/// signing out here.
@MainActor
@Observable
final class SessionsModel {
    let thisDevice: DeviceInfo
    var fingerprint: LoadState<String> = .loading
    var sessions: LoadState<[SessionInfo]> = .loading
    var actionError: Error?
    var signedOut = false
    var passkeyAdded = false

    private let repository: SessionRepository
    private let auth: AuthRepository

    init(repository: SessionRepository, auth: AuthRepository) {
        self.repository = repository
        self.auth = auth
        thisDevice = repository.thisDevice()
    }

    func load() async {
        fingerprint = await LoadState.from { try await self.repository.deviceFingerprint() }
        sessions = await LoadState.from { try await self.repository.sessions() }
    }

    func revoke(_ session: SessionInfo) async {
        do {
            try await repository.revokeSession(id: session.id)
            await load()
        } catch {
            actionError = error
        }
    }

    // The core opens the passkey sheet through the app's provider and
    // registers the result under this device's model name.
    func addPasskey() async {
        actionError = nil
        do {
            try await auth.registerPasskey(name: UIDevice.current.model)
            passkeyAdded = true
        } catch {
            actionError = error
        }
    }

    func signOut() async {
        do {
            try await repository.signOut()
            signedOut = true
        } catch {
            actionError = error
        }
    }
}

struct SessionsView: View {
    @Environment(AppModel.self) private var app
    @State private var model: SessionsModel

    init(model: SessionsModel) {
        _model = State(initialValue: model)
    }

    var body: some View {
        List {
            Section("This device") {
                LabeledContent("Model", value: model.thisDevice.model)
                LabeledContent("System", value: "\(model.thisDevice.platform) \(model.thisDevice.osVersion)")
                LabeledContent("App", value: model.thisDevice.appVersion)
                LabeledContent("Locale", value: "\(model.thisDevice.locale) · \(model.thisDevice.timeZone)")
                LoadStateView(state: model.fingerprint) { LabeledContent("Fingerprint", value: $0) }
            }
            Section("Signed-in sessions") {
                LoadStateView(state: model.sessions) { sessions in
                    ForEach(sessions) { session in
                        LabeledContent {
                            if !session.current {
                                Button("Sign out") { Task { await model.revoke(session) } }
                                    .buttonStyle(.borderless)
                            }
                        } label: {
                            Text(session.current ? "\(session.deviceName) (this device)" : session.deviceName)
                            Text("Last active \(session.lastSeen)")
                        }
                    }
                }
            }
            Section {
                if let error = model.actionError {
                    ErrorText(error: error)
                    StepUpPrompt(error: error)
                }
                Button(model.passkeyAdded ? "Passkey added" : "Add a passkey") { Task { await model.addPasskey() } }
                Button("Sign out of this device", role: .destructive) { Task { await model.signOut() } }
            }
        }
        .navigationTitle("Sessions and devices")
        .task { await model.load() }
        .onChange(of: model.signedOut) { _, signedOut in
            if signedOut { app.didSignOut() }
        }
    }
}
