package app.sharepay.android.data

import app.sharepay.sdk.SharePay
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow

/** A meter assigned to the signed-in meter reader. */
data class Meter(val id: String, val label: String, val unit: String, val householdName: String)

/** A reading waiting in the core's offline outbox. */
data class OutboxItem(val id: String, val meterLabel: String, val valueDisplay: String, val takenAt: String, val lastError: String?)

/** The outbox sync as the core reports it. */
sealed interface SyncState {
    data object Idle : SyncState
    data class Syncing(val sent: Int, val total: Int) : SyncState
    data class Failed(val reason: String) : SyncState
}

/**
 * Meter readings for the meter reader. Submitting stores the reading in the core's encrypted
 * outbox first, so it works offline, and the core sends it when the server is reachable.
 */
interface ReadingRepository {
    suspend fun assignedMeters(): List<Meter>

    /** Queues a reading. [value] is sent as typed, and the core validates and parses it. */
    suspend fun submitReading(meterId: String, value: String)
    suspend fun outboxItems(): List<OutboxItem>
    suspend fun syncNow()
    fun syncStates(): Flow<SyncState>
}

class CoreReadingRepository(private val sharePay: suspend () -> SharePay) : ReadingRepository {

    // TODO: call the core's assignedMeters().
    override suspend fun assignedMeters(): List<Meter> = throw CoreCallUnavailable("assignedMeters")

    // TODO: call the core's submitReading(meterId, value, takenAt).
    override suspend fun submitReading(meterId: String, value: String) =
        throw CoreCallUnavailable("submitReading")

    // TODO: call the core's outboxItems().
    override suspend fun outboxItems(): List<OutboxItem> = throw CoreCallUnavailable("outboxItems")

    // TODO: call the core's syncNow().
    override suspend fun syncNow() = throw CoreCallUnavailable("syncNow")

    // TODO: map SharePay's sync events, fed by the core's SyncEventListener trait.
    override fun syncStates(): Flow<SyncState> = flow { throw CoreCallUnavailable("SyncEventListener") }
}
