import Foundation
import os
import SharePayFFI

/// Hands each event to every current subscriber's `AsyncStream`. A stream
/// keeps the newest 16 events when its reader falls behind.
final class EventFanOut<Event>: @unchecked Sendable {
    // @unchecked: every access to the continuations goes through the lock.
    private let subscribers = OSAllocatedUnfairLock(initialState: [UUID: AsyncStream<Event>.Continuation]())

    /// Returns a new stream for one subscriber, removed when it terminates.
    func stream() -> AsyncStream<Event> {
        let id = UUID()
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(16))
        continuation.onTermination = { [subscribers] _ in
            subscribers.withLock { _ = $0.removeValue(forKey: id) }
        }
        subscribers.withLock { $0[id] = continuation }
        return stream
    }

    func publish(_ event: Event) {
        let continuations = subscribers.withLock { Array($0.values) }
        for continuation in continuations {
            continuation.yield(event)
        }
    }
}

/// The core's sync listener: forwards outbox progress to the sync streams
/// and a revoked session to the session streams. It runs on the core's
/// thread, so it only hands events over.
final class SyncEventForwarder: SyncEventListener {
    private let syncEvents: EventFanOut<SyncEvent>
    private let sessionEvents: EventFanOut<SessionEvent>

    init(syncEvents: EventFanOut<SyncEvent>, sessionEvents: EventFanOut<SessionEvent>) {
        self.syncEvents = syncEvents
        self.sessionEvents = sessionEvents
    }

    func onEvent(event: SyncEvent) -> Bool {
        syncEvents.publish(event)
        if case let .sessionRevoked(reason) = event {
            sessionEvents.publish(.sessionRevoked(reason: reason))
        }
        return true
    }
}
