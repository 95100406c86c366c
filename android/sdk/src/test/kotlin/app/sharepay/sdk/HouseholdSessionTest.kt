package app.sharepay.sdk

import app.sharepay.ffi.MeterUnit
import app.sharepay.ffi.NewMeter
import app.sharepay.ffi.UserRole
import java.io.File
import java.util.UUID
import kotlin.test.assertFailsWith
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder

/**
 * Households and sessions through the [SharePay] facade against a live server over TLS, with
 * the server's address, CA file and pins from SHAREPAY_TEST_URL, SHAREPAY_TEST_CA_FILE and
 * SHAREPAY_TEST_PINS (set by tests/run).
 */
class HouseholdSessionTest {

    @get:Rule
    val temporaryFolder = TemporaryFolder()

    @Test
    fun householdInvitationAndMeter(): Unit = runBlocking {
        openClient().use { payer ->
            openClient().use { reader ->
                signUp(payer, randomEmail())
                signUp(reader, randomEmail())

                val household = payer.createHousehold("Kotlin House")
                assertEquals(UserRole.PRIMARY_PAYER, payer.households().single().role)
                val invitation = payer.createInvitation(household.householdId, UserRole.METER_READER, 24)
                val membership = reader.acceptInvitation(invitation.code)
                assertEquals(UserRole.METER_READER, membership.role)
                assertEquals(2, payer.members(household.householdId).size)

                val meter = payer.addMeter(
                    household.householdId,
                    NewMeter("KT-1", MeterUnit.KILOWATT_HOUR, 6.toUByte(), null),
                )
                payer.assignMeterReader(meter.meterId, membership.userId)
                assertEquals(listOf(meter.meterId), reader.meters(household.householdId).map { it.meterId })
                assertEquals("Kotlin House", reader.household(household.householdId).name)

                assertFailsWith<SharePayError.Conflict> {
                    payer.addMeter(
                        household.householdId,
                        NewMeter("KT-1", MeterUnit.KILOWATT_HOUR, 6.toUByte(), null),
                    )
                }
                val participant = payer.changeMemberRole(household.householdId, membership.userId, UserRole.PARTICIPANT)
                assertEquals(UserRole.PARTICIPANT, participant.role)
                assertFailsWith<SharePayError.Forbidden> {
                    reader.addMeter(
                        household.householdId,
                        NewMeter("KT-2", MeterUnit.LITRE, 5.toUByte(), null),
                    )
                }
            }
        }
    }

    @Test
    fun strangerGetsNotFound(): Unit = runBlocking {
        openClient().use { payer ->
            openClient().use { stranger ->
                signUp(payer, randomEmail())
                signUp(stranger, randomEmail())
                val household = payer.createHousehold("Private House")

                assertFailsWith<SharePayError.NotFound> { stranger.household(household.householdId) }
            }
        }
    }

    @Test
    fun endedSessionIsRevokedAndWiped(): Unit = runBlocking {
        val email = randomEmail()
        openClient().use { first ->
            openClient().use { second ->
                signUp(first, email)
                second.login(email, PASSWORD)
                val sessions = second.sessions()
                assertEquals(2, sessions.size)
                val revoked = async(start = CoroutineStart.UNDISPATCHED) { first.sessionEvents.first() }

                second.endSession(sessions.single { !it.current }.id)

                assertFailsWith<SharePayError.SessionRevoked> { first.me() }
                val event = withTimeout(EVENT_TIMEOUT_MS) { revoked.await() }
                assertTrue("$event", event is SessionEvent.SessionRevoked)
                assertFalse(first.hasSession())
                assertTrue(second.hasSession())
            }
        }
    }

    @Test
    fun logoutAndEndOthers(): Unit = runBlocking {
        val email = randomEmail()
        openClient().use { first ->
            openClient().use { second ->
                openClient().use { third ->
                    signUp(first, email)
                    second.login(email, PASSWORD)
                    third.login(email, PASSWORD)

                    assertTrue(third.logout())
                    assertFalse(third.hasSession())
                    assertEquals(1L, first.endOtherSessions())
                    assertEquals(1, first.sessions().size)
                }
            }
        }
    }

    private suspend fun openClient(): SharePay {
        val caFile = File(variable("SHAREPAY_TEST_CA_FILE"))
        val config = SharePayConfig(
            baseUrl = variable("SHAREPAY_TEST_URL"),
            caCertificatePem = caFile.readText(),
            spkiPins = variable("SHAREPAY_TEST_PINS").split(',').map { it.trim() },
            dataDir = temporaryFolder.newFolder().absolutePath,
        )
        return SharePay.open(config, JvmAesGcmKeyWrapper())
    }

    private suspend fun signUp(client: SharePay, email: String) {
        client.register(email, PASSWORD)
        client.login(email, PASSWORD)
    }

    private fun variable(name: String): String =
        System.getenv(name)?.takeIf { it.isNotBlank() } ?: error("$name is not set; run tests/run")

    private fun randomEmail(): String = "kotlin-${UUID.randomUUID()}@example.test"

    private companion object {
        // Meets the server's password policy: 10+ characters, mixed case, digit, symbol.
        const val PASSWORD = "Tulip-Harbor-Quartz-482!"
        const val EVENT_TIMEOUT_MS = 5_000L
    }
}
