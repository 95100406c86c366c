import Foundation
import SharePayFFI
import SharePayKit

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

    // The server lists only the meters the signed-in user may read, so the
    // meters of every household are the assigned ones.
    func assignedMeters() async throws -> [Meter] {
        let sharePay = try await provider.sharePay()
        var meters: [Meter] = []
        for household in try await sharePay.households() {
            for meter in try await sharePay.meters(householdID: household.householdId) {
                meters.append(Meter(
                    id: meter.meterId,
                    label: [meter.serial, meter.dwellingUnit].compactMap { $0 }.joined(separator: " · "),
                    unit: Self.symbol(meter.unit),
                    householdName: household.name
                ))
            }
        }
        return meters
    }

    func submitReading(meterID: String, value: String) async throws {
        let reading = NewReading(
            meterId: meterID,
            value: value,
            // ISO 8601 in UTC, such as 2026-12-04T09:30:00Z, which is RFC 3339.
            readingTime: ISO8601DateFormatter().string(from: Date()),
            kind: .actual,
            photoSha256: nil,
            latitude: nil,
            longitude: nil
        )
        _ = try await provider.sharePay().submitReading(reading)
    }

    // Accepted and flagged readings are on the server, so only queued,
    // sending and rejected ones are listed, a rejected one with the server's
    // reasons.
    func outboxItems() async throws -> [OutboxItem] {
        try await provider.sharePay().outboxItems().compactMap { item in
            let lastError: String?
            switch item.state {
            case .accepted, .flagged: return nil
            case let .rejected(reasons): lastError = "Rejected: " + reasons.joined(separator: "; ")
            case .queued, .sending: lastError = item.lastError
            }
            return OutboxItem(
                id: item.idempotencyKey,
                meterLabel: item.meterId,
                valueDisplay: item.value,
                takenAt: item.readingTime,
                lastError: lastError
            )
        }
    }

    func syncNow() async throws {
        _ = try await provider.sharePay().syncNow()
    }

    private static func symbol(_ unit: MeterUnit) -> String {
        switch unit {
        case .kilowattHour: return "kWh"
        case .cubicMetre: return "m³"
        case .litre: return "L"
        case .cubicFoot: return "ft³"
        case .megajoule: return "MJ"
        }
    }

    func syncStates() -> AsyncThrowingStream<SyncState, Error> {
        let provider = self.provider
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let sharePay = try await provider.sharePay()
                    // Readings the server accepted, flagged or rejected since the outbox was last idle.
                    var settled = 0
                    for await event in sharePay.syncEvents() {
                        switch event {
                        case .sending:
                            let pending = Int((try? sharePay.syncState().pending) ?? 0)
                            continuation.yield(.syncing(sent: settled, total: settled + pending))
                        case .accepted, .flagged, .rejected:
                            settled += 1
                        case let .retryScheduled(_, _, _, delayMs, reason):
                            continuation.yield(.failed(reason: "\(reason); retrying in \(delayMs / 1000) s"))
                        case let .retriesExhausted(_, _, _, reason):
                            continuation.yield(.failed(reason: reason))
                        case .authenticationRequired:
                            continuation.yield(.failed(reason: "sign in again to send the queued readings"))
                        case let .sessionRevoked(reason):
                            continuation.yield(.failed(reason: reason))
                        case .idle:
                            settled = 0
                            continuation.yield(.idle)
                        case .queued:
                            break
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
