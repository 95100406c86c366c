import Foundation

/// A meter assigned to the signed-in meter reader.
struct Meter: Identifiable, Hashable, Sendable {
    let id: String
    let label: String
    let unit: String
    let householdName: String
}

/// A reading waiting in the core's offline outbox.
struct OutboxItem: Identifiable, Hashable, Sendable {
    let id: String
    let meterLabel: String
    let valueDisplay: String
    let takenAt: String
    let lastError: String?
}

/// The outbox sync as the core reports it.
enum SyncState: Equatable, Sendable {
    case idle
    case syncing(sent: Int, total: Int)
    case failed(reason: String)
}

/// Meter readings for the meter reader. Submitting stores the reading in the
/// core's encrypted outbox first, so it works offline, and the core sends it
/// when the server is reachable.
protocol ReadingRepository: Sendable {
    func assignedMeters() async throws -> [Meter]
    /// Queues a reading. `value` is sent as typed, and the core validates and parses it.
    func submitReading(meterID: String, value: String) async throws
    func outboxItems() async throws -> [OutboxItem]
    func syncNow() async throws
    func syncStates() -> AsyncThrowingStream<SyncState, Error>
}

struct CoreReadingRepository: ReadingRepository {
    let provider: SharePayProvider

    func assignedMeters() async throws -> [Meter] {
        // TODO: call the core's assignedMeters().
        throw CoreCallUnavailable(coreFunction: "assignedMeters")
    }

    func submitReading(meterID: String, value: String) async throws {
        // TODO: call the core's submitReading(meterId, value, takenAt).
        throw CoreCallUnavailable(coreFunction: "submitReading")
    }

    func outboxItems() async throws -> [OutboxItem] {
        // TODO: call the core's outboxItems().
        throw CoreCallUnavailable(coreFunction: "outboxItems")
    }

    func syncNow() async throws {
        // TODO: call the core's syncNow().
        throw CoreCallUnavailable(coreFunction: "syncNow")
    }

    func syncStates() -> AsyncThrowingStream<SyncState, Error> {
        // TODO: map SharePay's sync events, fed by the core's SyncEventListener trait.
        AsyncThrowingStream { $0.finish(throwing: CoreCallUnavailable(coreFunction: "SyncEventListener")) }
    }
}
