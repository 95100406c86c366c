import Foundation
import SharePayFFI

extension SharePay {
    /// Queues a reading in the offline outbox, which `syncNow` sends. The
    /// core validates the reading and writes it to the encrypted store, so
    /// this runs off the caller's actor.
    public func submitReading(_ reading: NewReading) async throws -> OutboxItem {
        let client = self.client
        return try await Task.detached {
            try Self.mapErrors { try client.submitReading(reading: reading) }
        }.value
    }

    /// Sends the queued readings now.
    public func syncNow() async throws -> SyncSummary {
        try await call { try await client.syncNow() }
    }

    /// Lists the outbox, oldest first, with each item's outcome.
    public func outboxItems() throws -> [OutboxItem] {
        try Self.mapErrors { try client.outboxItems() }
    }

    /// Counts the outbox items in each delivery state.
    public func syncState() throws -> SyncState {
        try Self.mapErrors { try client.syncState() }
    }
}
