import Observation
import SwiftUI

/// Captures meter readings. Submitting only queues the reading in the core's
/// encrypted outbox, so it succeeds without a signal. The core sends the queue
/// when the server is reachable, and the screen shows the queue and the sync
/// progress.
@MainActor
@Observable
final class ReadingsModel {
    var meters: LoadState<[Meter]> = .loading
    var selectedMeterID: String?
    var value = ""
    /// Readings stored on the device and not yet accepted by the server.
    var outbox: LoadState<[OutboxItem]> = .loading
    var sync: SyncState = .idle
    var error: Error?

    private let repository: ReadingRepository

    init(repository: ReadingRepository) {
        self.repository = repository
    }

    func load() async {
        meters = await LoadState.from { try await self.repository.assignedMeters() }
        if selectedMeterID == nil {
            selectedMeterID = meters.value?.first?.id
        }
        await refreshOutbox()
    }

    /// Follows the core's sync progress for as long as the calling task runs.
    func followSync() async {
        do {
            for try await state in repository.syncStates() {
                sync = state
                if state == .idle { await refreshOutbox() }
            }
        } catch {
            sync = .failed(reason: errorMessage(error))
        }
    }

    func submit() async {
        guard let meterID = selectedMeterID else { return }
        error = nil
        do {
            try await repository.submitReading(meterID: meterID, value: value)
            value = ""
            await refreshOutbox()
        } catch {
            self.error = error
        }
    }

    func syncNow() async {
        do {
            try await repository.syncNow()
        } catch {
            self.error = error
        }
    }

    private func refreshOutbox() async {
        outbox = await LoadState.from { try await self.repository.outboxItems() }
    }
}

struct ReadingsView: View {
    @State private var model: ReadingsModel

    init(model: ReadingsModel) {
        _model = State(initialValue: model)
    }

    var body: some View {
        Form {
            Section("Meter") {
                LoadStateView(state: model.meters) { meters in
                    if meters.isEmpty { Text("No meters are assigned to you.") }
                    Picker("Meter", selection: $model.selectedMeterID) {
                        ForEach(meters) { meter in
                            Text("\(meter.label) (\(meter.unit)) · \(meter.householdName)").tag(Optional(meter.id))
                        }
                    }
                }
                TextField("Reading", text: $model.value)
                    .keyboardType(.decimalPad)
                Button("Save reading") { Task { await model.submit() } }
                    .disabled(model.selectedMeterID == nil)
                if let error = model.error {
                    ErrorText(error: error)
                }
            }
            Section("Sync") {
                syncStatus
                Button("Sync now") { Task { await model.syncNow() } }
                    .disabled(model.sync.isSyncing)
            }
            Section("Waiting to send") {
                LoadStateView(state: model.outbox) { items in
                    if items.isEmpty { Text("Every reading has been sent.") }
                    ForEach(items) { item in
                        VStack(alignment: .leading) {
                            Text("\(item.meterLabel): \(item.valueDisplay)")
                            Text(item.lastError ?? "Taken \(item.takenAt)")
                                .font(.caption).foregroundStyle(.secondary)
                        }
                    }
                }
            }
        }
        .navigationTitle("Meter readings")
        .task { await model.load() }
        .task { await model.followSync() }
    }

    @ViewBuilder
    private var syncStatus: some View {
        switch model.sync {
        case .idle:
            Text("Up to date with the server when online.")
        case let .syncing(sent, total):
            ProgressView(value: Double(sent), total: Double(max(total, 1))) {
                Text("Sending \(sent) of \(total)…")
            }
        case let .failed(reason):
            Text("Sync failed: \(reason)").foregroundStyle(.red)
        }
    }
}

private extension SyncState {
    var isSyncing: Bool {
        if case .syncing = self { return true }
        return false
    }
}
