package app.sharepay.sdk

import app.sharepay.ffi.NewReading
import app.sharepay.ffi.OutboxState
import app.sharepay.ffi.ReadingKind
import app.sharepay.ffi.SharePayClient
import app.sharepay.ffi.SyncEvent
import app.sharepay.ffi.SyncEventListener
import java.io.File
import java.util.Base64
import java.util.Collections
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder

/**
 * The offline outbox, the device fingerprint and the session wipe through the Kotlin
 * bindings. No request is sent: the client gets the test server's CA file
 * (SHAREPAY_TEST_CA_FILE), two unused pins and a loopback URL it never calls.
 */
class OutboxTest {

    @get:Rule
    val temporaryFolder = TemporaryFolder()

    @Test
    fun submittedReadingIsListedAndReported() {
        val events = Collections.synchronizedList(mutableListOf<SyncEvent>())
        newClient().use { client ->
            client.setSyncEventListener(RecordingListener(events))

            val item = client.submitReading(reading("meter-1", "12.345"))

            val listed = client.outboxItems()
            assertEquals(1, listed.size)
            assertEquals(item.idempotencyKey, listed[0].idempotencyKey)
            assertEquals("12.345", listed[0].value)
            assertEquals(OutboxState.Queued, listed[0].state)
            assertEquals(listOf<SyncEvent>(SyncEvent.Queued(item.seq, item.idempotencyKey, "meter-1")), events.toList())
        }
    }

    @Test
    fun syncWithoutSessionKeepsReadings(): Unit = runBlocking {
        newClient().use { client ->
            client.submitReading(reading("meter-1", "1"))

            val summary = client.syncNow()

            assertTrue("sync must ask for a login", summary.authenticationRequired)
            assertEquals(1UL, summary.pending)
            assertEquals(OutboxState.Queued, client.outboxItems()[0].state)
        }
    }

    @Test
    fun fingerprintSurvivesWipeSession() {
        val dataDir = temporaryFolder.newFolder()
        val wrapper = JvmAesGcmKeyWrapper()
        val first = newClient(dataDir, wrapper).use { client ->
            client.setDeviceInfoProvider(FixedDeviceInfo("Pixel 9"))
            client.submitReading(reading("meter-1", "1"))
            val fingerprint = client.deviceFingerprint()
            assertNotNull(fingerprint)

            client.wipeSession()

            assertEquals(fingerprint, client.deviceFingerprint())
            assertEquals("the outbox survives a session wipe", 1, client.outboxItems().size)
            fingerprint
        }
        newClient(dataDir, wrapper).use { client ->
            client.setDeviceInfoProvider(FixedDeviceInfo("Pixel 9"))
            assertEquals("stable across restarts", first, client.deviceFingerprint())
            client.setDeviceInfoProvider(FixedDeviceInfo("Pixel 8"))
            assertNotEquals(first, client.deviceFingerprint())
        }
    }

    private class RecordingListener(private val events: MutableList<SyncEvent>) : SyncEventListener {
        override fun onEvent(event: SyncEvent): Boolean {
            events.add(event)
            return true
        }
    }

    private fun reading(meterId: String, value: String) = NewReading(
        meterId = meterId,
        value = value,
        readingTime = "2026-12-04T09:30:00Z",
        kind = ReadingKind.ACTUAL,
        photoSha256 = null,
        latitude = null,
        longitude = null,
    )

    private fun newClient(
        dataDir: File = temporaryFolder.newFolder(),
        keyWrapper: JvmAesGcmKeyWrapper = JvmAesGcmKeyWrapper(),
    ): SharePayClient {
        val caFile = System.getenv("SHAREPAY_TEST_CA_FILE")?.let(::File)
            ?: error("SHAREPAY_TEST_CA_FILE is not set; run tests/run")
        return SharePayClient(
            "https://127.0.0.1:9",
            caFile.readText(),
            listOf(pin(1), pin(2)),
            dataDir.absolutePath,
            keyWrapper,
        )
    }

    private fun pin(fill: Int): String = Base64.getEncoder().encodeToString(ByteArray(32) { fill.toByte() })
}
