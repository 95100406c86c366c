package app.sharepay.sdk

import app.sharepay.ffi.BillMember
import app.sharepay.ffi.BillStatus
import app.sharepay.ffi.ChargeStatus
import app.sharepay.ffi.MeterUnit
import app.sharepay.ffi.Money
import app.sharepay.ffi.NewBill
import app.sharepay.ffi.NewCard
import app.sharepay.ffi.NewMeter
import app.sharepay.ffi.NewReading
import app.sharepay.ffi.OutboxState
import app.sharepay.ffi.PaymentStatus
import app.sharepay.ffi.ReadingKind
import app.sharepay.ffi.SplitMode
import app.sharepay.ffi.UserRole
import java.io.File
import java.net.ServerSocket
import java.time.Instant
import java.time.LocalDate
import java.time.ZoneOffset
import kotlin.test.assertFailsWith
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder

/**
 * The story of `sharepay demo`, played through the Kotlin SDK against the live server and its
 * embedded card vault. A primary payer enrolls TOTP and signs in again with it. A meter reader
 * queues a reading offline and syncs it. The payer adds and approves a bill. A participant saves
 * two cards at the vault, gets a decline with one and pays with the other.
 */
class DemoStoryTest {

    @get:Rule
    val temporaryFolder = TemporaryFolder()

    @Test
    fun demoStoryEndToEnd(): Unit = runBlocking {
        val payerEmail = LiveServer.randomEmail()
        val payerDir = temporaryFolder.newFolder()
        val payerWrapper = JvmAesGcmKeyWrapper()
        lateinit var totp: EnrolledTotp
        val payerId = openPhone(payerDir, payerWrapper, "payer phone").use { payer ->
            val userId = payer.register(payerEmail, LiveServer.PASSWORD)
            payer.login(payerEmail, LiveServer.PASSWORD)
            totp = enrollTotp(payer, payerEmail)
            assertTrue(payer.logout())
            userId
        }

        openPhone(payerDir, payerWrapper, "payer phone").use { payer ->
            // The account now has TOTP, so even its known phone needs a second check.
            val challenge = assertFailsWith<SharePayError.MfaRequired> { payer.login(payerEmail, LiveServer.PASSWORD) }
            assertTrue("methods: ${challenge.methods}", "totp" in challenge.methods)
            // The server accepts each time step once, so the login uses the step after the
            // enrollment's, which its one-step skew accepts.
            payer.completeMfa("totp", totp.generator.code(totp.usedStep + 1))
            assertTrue(payer.mfaFactors().totpEnabled)

            val household = payer.createHousehold("Demo House")
            val meter = payer.addMeter(household.householdId, NewMeter("DEMO-1", MeterUnit.KILOWATT_HOUR, 6.toUByte(), null))
            val readerCode = payer.createInvitation(household.householdId, UserRole.METER_READER, null).code
            val participantCode = payer.createInvitation(household.householdId, UserRole.PARTICIPANT, null).code

            val readerId = readingQueuedOfflineThenSynced(readerCode, meter.meterId) { userId ->
                payer.assignMeterReader(meter.meterId, userId)
            }
            assertTrue(readerId.isNotEmpty())

            val participantEmail = LiveServer.randomEmail()
            openPhone(temporaryFolder.newFolder(), JvmAesGcmKeyWrapper(), "participant phone").use { participant ->
                val participantId = participant.register(participantEmail, LiveServer.PASSWORD)
                participant.login(participantEmail, LiveServer.PASSWORD)
                participant.acceptInvitation(participantCode)

                val billId = addAndApproveBill(payer, household.householdId, listOf(payerId, participantId))
                payWithDeclineThenRetry(participant, participantEmail, billId)

                val today = LocalDate.now(ZoneOffset.UTC)
                val statements = participant.statements(
                    household.householdId,
                    null,
                    today.minusDays(1).toString(),
                    today.plusDays(1).toString(),
                )
                assertEquals(1, statements.size)
                assertTrue("closing balance ${statements[0].closingBalance}", statements[0].settled)
            }
        }
    }

    // Passes a step-up check with an emailed code, then enrolls TOTP with a code from the test's
    // own generator.
    private suspend fun enrollTotp(payer: SharePay, email: String): EnrolledTotp {
        val stepUpNeeded = assertFailsWith<SharePayError.StepUpRequired> { payer.startTotpEnrollment() }
        assertTrue("methods: ${stepUpNeeded.methods}", "email_code" in stepUpNeeded.methods)
        stepUpByEmail(payer, email)

        val enrollment = payer.startTotpEnrollment()
        assertTrue(enrollment.otpauthUri.startsWith("otpauth://totp/"))
        val generator = TotpGenerator(enrollment.secret)
        val step = generator.step()
        val recoveryCodes = payer.confirmTotpEnrollment(generator.code(step))
        assertEquals(10, recoveryCodes.size)
        return EnrolledTotp(generator, step)
    }

    // The reader logs in online, then a client on the same store but an unreachable address queues
    // a reading and fails to sync, and the online client sends it on the next sync.
    private suspend fun readingQueuedOfflineThenSynced(
        invitationCode: String,
        meterId: String,
        assignMeter: suspend (String) -> Unit,
    ): String {
        val readerDir = temporaryFolder.newFolder()
        val wrapper = JvmAesGcmKeyWrapper()
        val readerEmail = LiveServer.randomEmail()
        val readerId = openPhone(readerDir, wrapper, "reader phone").use { reader ->
            val userId = reader.register(readerEmail, LiveServer.PASSWORD)
            reader.login(readerEmail, LiveServer.PASSWORD)
            reader.acceptInvitation(invitationCode)
            userId
        }
        assignMeter(readerId)

        val offline = LiveServer.config(readerDir).copy(baseUrl = "https://127.0.0.1:${closedPort()}")
        SharePay.open(offline, wrapper, FixedDeviceInfo("reader phone")).use { reader ->
            val reading = NewReading(meterId, "1234.5", Instant.now().toString(), ReadingKind.ACTUAL, null, null, null)
            assertEquals(OutboxState.Queued, reader.submitReading(reading).state)
            assertFailsWith<SharePayError.Network> { reader.syncNow() }
            assertEquals(1UL, reader.syncState().pending)
        }

        openPhone(readerDir, wrapper, "reader phone").use { reader ->
            val summary = reader.syncNow()
            assertEquals("accepted or flagged", 1UL, summary.accepted + summary.flagged)
            assertEquals(0UL, summary.pending)
            assertNotNull(reader.outboxItems().single().readingId)
        }
        return readerId
    }

    private suspend fun addAndApproveBill(payer: SharePay, householdId: String, memberIds: List<String>): String {
        val today = LocalDate.now(ZoneOffset.UTC)
        val bill = payer.addBill(
            householdId,
            NewBill(
                amount = Money(BILL_MINOR, "EUR"),
                periodStart = today.withDayOfMonth(1).toString(),
                periodEnd = today.toString(),
                provider = "City Power",
                standingCharge = null,
                meterIds = emptyList(),
                splitMode = SplitMode.EQUAL,
                members = memberIds.map { BillMember(it, null, null, null, null, null) },
            ),
        )
        assertEquals(BillStatus.PROPOSED, bill.status)

        val proposal = payer.billSplit(bill.billId)
        assertEquals(2, proposal.lines.size)
        assertEquals(BILL_MINOR, proposal.lines.sumOf { it.amount.minor })
        assertTrue("every line explains itself", proposal.lines.all { it.explanation.isNotBlank() })
        assertEquals("€60.00", proposal.lines[0].amount.display())

        val approved = payer.approveBill(bill.billId)
        assertEquals(BillStatus.APPROVED, approved.status)
        assertTrue(approved.frozen)
        return bill.billId
    }

    private suspend fun payWithDeclineThenRetry(participant: SharePay, email: String, billId: String) {
        val charge = participant.myCharges().single { it.billId == billId }
        assertEquals(ChargeStatus.OPEN, charge.status)
        assertEquals(BILL_MINOR / 2, charge.amount.minor)

        // Saving a card needs a recent second check in this session.
        val stepUpNeeded = assertFailsWith<SharePayError.StepUpRequired> { participant.saveCard(card(DECLINED_CARD)) }
        assertTrue("methods: ${stepUpNeeded.methods}", stepUpNeeded.methods.isNotEmpty())
        stepUpByEmail(participant, email)
        val invalid = assertFailsWith<SharePayError.InvalidInput> { participant.saveCard(card("4242424242424241")) }
        assertTrue("reason: ${invalid.reason}", invalid.reason.contains("card_number"))
        val declinedCard = participant.saveCard(card(DECLINED_CARD))
        val goodCard = participant.saveCard(card(APPROVED_CARD))
        assertEquals("4242", goodCard.last4)
        assertEquals(2, participant.paymentMethods().size)

        val decline = assertFailsWith<SharePayError.PaymentDeclined> {
            participant.payCharge(charge.chargeId, declinedCard.paymentMethodId)
        }
        assertTrue("reason: ${decline.reason}", decline.reason.contains("insufficient_funds"))
        assertEquals(ChargeStatus.OPEN, participant.myCharges().single { it.billId == billId }.status)

        val payment = participant.payCharge(charge.chargeId, goodCard.paymentMethodId)
        assertEquals(PaymentStatus.SUCCEEDED, payment.status)
        assertEquals(ChargeStatus.PAID, participant.myCharges().single { it.billId == billId }.status)
    }

    private suspend fun stepUpByEmail(client: SharePay, email: String) {
        val seen = LiveServer.emailedCodes(email).size
        client.sendStepUpCode("email_code")
        val grant = client.stepUp("email_code", LiveServer.awaitEmailedCode(email, seen))
        assertFalse(grant.validUntil.isEmpty())
    }

    private suspend fun openPhone(dataDir: File, wrapper: JvmAesGcmKeyWrapper, model: String): SharePay =
        SharePay.open(LiveServer.config(dataDir), wrapper, FixedDeviceInfo(model))

    // A port that was free a moment ago, so connecting to it is stepUpNeeded like an absent network.
    private fun closedPort(): Int = ServerSocket(0).use { it.localPort }

    private fun card(number: String) = NewCard(number, 12.toUByte(), (LocalDate.now().year + 3).toUShort(), "123", "Demo Participant")

    private companion object {
        const val BILL_MINOR = 12_000L

        // Sandbox test numbers of the vault: approved, and declined for insufficient funds.
        const val APPROVED_CARD = "4242424242424242"
        const val DECLINED_CARD = "4000000000009995"
    }
}

/** The payer's authenticator after enrollment, and the time step whose code the server accepted. */
private class EnrolledTotp(val generator: TotpGenerator, val usedStep: Long)
