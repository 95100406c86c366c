package app.sharepay.android.data

import app.sharepay.ffi.MeterUnit
import app.sharepay.ffi.NewReading
import app.sharepay.ffi.OutboxState
import app.sharepay.ffi.ReadingKind
import app.sharepay.ffi.SyncEvent
import app.sharepay.sdk.SharePay
import java.time.Instant
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

    // The server lists only the meters the signed-in user may read, so the meters of every
    // household are the assigned ones.
    override suspend fun assignedMeters(): List<Meter> {
        val client = sharePay()
        return client.households().flatMap { household ->
            client.meters(household.householdId).map { meter ->
                Meter(
                    id = meter.meterId,
                    label = listOfNotNull(meter.serial, meter.dwellingUnit).joinToString(" · "),
                    unit = meter.unit.symbol,
                    householdName = household.name,
                )
            }
        }
    }

    override suspend fun submitReading(meterId: String, value: String) {
        val reading = NewReading(
            meterId = meterId,
            value = value,
            // Instant prints ISO 8601 in UTC, such as 2026-12-04T09:30:00.123Z, which is RFC 3339.
            readingTime = Instant.now().toString(),
            kind = ReadingKind.ACTUAL,
            photoSha256 = null,
            latitude = null,
            longitude = null,
        )
        sharePay().submitReading(reading)
    }

    // Accepted and flagged readings are on the server, so only queued, sending and rejected
    // ones are listed, a rejected one with the server's reasons.
    override suspend fun outboxItems(): List<OutboxItem> = sharePay().outboxItems().mapNotNull { item ->
        val lastError = when (val state = item.state) {
            is OutboxState.Accepted, is OutboxState.Flagged -> return@mapNotNull null
            is OutboxState.Rejected -> "Rejected: ${state.reasons.joinToString("; ")}"
            OutboxState.Queued, OutboxState.Sending -> item.lastError
        }
        OutboxItem(
            id = item.idempotencyKey,
            meterLabel = item.meterId,
            valueDisplay = item.value,
            takenAt = item.readingTime,
            lastError = lastError,
        )
    }

    override suspend fun syncNow() {
        sharePay().syncNow()
    }

    override fun syncStates(): Flow<SyncState> = flow {
        val client = sharePay()
        // Readings the server accepted, flagged or rejected since the outbox was last idle.
        var settled = 0
        client.syncEvents.collect { event ->
            when (event) {
                is SyncEvent.Sending -> {
                    val pending = client.syncState().pending.toInt()
                    emit(SyncState.Syncing(sent = settled, total = settled + pending))
                }
                is SyncEvent.Accepted, is SyncEvent.Flagged, is SyncEvent.Rejected -> settled++
                is SyncEvent.RetryScheduled -> emit(SyncState.Failed("${event.reason}; retrying in ${event.delayMs / 1000} s"))
                is SyncEvent.RetriesExhausted -> emit(SyncState.Failed(event.reason))
                SyncEvent.AuthenticationRequired -> emit(SyncState.Failed("sign in again to send the queued readings"))
                is SyncEvent.SessionRevoked -> emit(SyncState.Failed(event.reason))
                is SyncEvent.Idle -> {
                    settled = 0
                    emit(SyncState.Idle)
                }
                is SyncEvent.Queued -> Unit
            }
        }
    }
}

private val MeterUnit.symbol: String
    get() = when (this) {
        MeterUnit.KILOWATT_HOUR -> "kWh"
        MeterUnit.CUBIC_METRE -> "m³"
        MeterUnit.LITRE -> "L"
        MeterUnit.CUBIC_FOOT -> "ft³"
        MeterUnit.MEGAJOULE -> "MJ"
    }
