package app.sharepay.android.data

import app.sharepay.ffi.ChargeStatus
import app.sharepay.ffi.NewCard
import app.sharepay.ffi.PaymentStatus
import app.sharepay.sdk.SharePay
import app.sharepay.sdk.bill
import app.sharepay.sdk.display
import app.sharepay.sdk.myCharges
import app.sharepay.sdk.payCharge
import app.sharepay.sdk.paymentMethods
import app.sharepay.sdk.saveCard

/** A participant's share of one bill, with the amount formatted by the core. */
data class Charge(
    val id: String,
    val billTitle: String,
    val amountDisplay: String,
    /** RFC 3339 UTC time the bill's approval created the charge. */
    val createdAt: String,
    val paid: Boolean,
)

/** A saved card as the server stores it: a vault token and display data, never the number. */
data class PaymentMethod(val id: String, val brand: String, val last4: String, val expiry: String)

/**
 * The card details typed on the card screen, held in memory only and passed to the core, which
 * checks every field.
 */
class CardInput(
    val number: String,
    val expiryMonth: String,
    val expiryYear: String,
    val cvc: String,
    val cardholderName: String,
) {
    // The generated toString of a data class would print the number into any log of this value.
    override fun toString() = "CardInput"
}

/** The result of a payment that the issuer did not decline; a decline is an error. */
enum class PaymentOutcome {
    Paid,

    /** The outcome is not known yet; paying again with the same card is safe. */
    Pending,

    /** The cardholder must first confirm the payment with their bank. */
    NeedsBankAuthentication,
}

/** Charges, saved cards and payments, for the participant. */
interface PaymentRepository {
    suspend fun myCharges(): List<Charge>
    suspend fun charge(chargeId: String): Charge
    suspend fun paymentMethods(): List<PaymentMethod>

    /** Sends the card to the vault through the core and returns the saved method. */
    suspend fun addCard(card: CardInput): PaymentMethod
    suspend fun pay(chargeId: String, paymentMethodId: String): PaymentOutcome
}

class CorePaymentRepository(private val sharePay: suspend () -> SharePay) : PaymentRepository {

    // Cancelled charges were replaced by a later version of their bill, so they are not listed.
    override suspend fun myCharges(): List<Charge> {
        val client = sharePay()
        return client.myCharges()
            .filter { it.status != ChargeStatus.CANCELLED }
            .map { charge ->
                Charge(
                    id = charge.chargeId,
                    billTitle = client.bill(charge.billId).provider,
                    amountDisplay = charge.amount.display(),
                    createdAt = charge.createdAt,
                    paid = charge.status == ChargeStatus.PAID,
                )
            }
    }

    override suspend fun charge(chargeId: String): Charge =
        myCharges().find { it.id == chargeId } ?: error("charge $chargeId is not among your charges")

    override suspend fun paymentMethods(): List<PaymentMethod> = sharePay().paymentMethods().map { it.toPaymentMethod() }

    // The text fields go to the core as typed. A month or year that is not a number is passed as
    // 0, which the core rejects with its own message naming the field, so the app repeats no rule.
    override suspend fun addCard(card: CardInput): PaymentMethod {
        val newCard = NewCard(
            number = card.number,
            expiryMonth = card.expiryMonth.trim().toUByteOrNull() ?: 0u,
            expiryYear = card.expiryYear.trim().toUShortOrNull() ?: 0u,
            cvc = card.cvc,
            cardholderName = card.cardholderName,
        )
        return sharePay().saveCard(newCard).toPaymentMethod()
    }

    // The core keeps the attempt's idempotency key, so paying again after a lost response
    // charges the card at most once.
    override suspend fun pay(chargeId: String, paymentMethodId: String): PaymentOutcome =
        when (sharePay().payCharge(chargeId, paymentMethodId).status) {
            PaymentStatus.SUCCEEDED -> PaymentOutcome.Paid
            PaymentStatus.PENDING -> PaymentOutcome.Pending
            PaymentStatus.REQUIRES_AUTHENTICATION -> PaymentOutcome.NeedsBankAuthentication
            // The core reports a decline as SharePayError.PaymentDeclined, never as a status.
            PaymentStatus.DECLINED -> error("the core returned a declined payment instead of its error")
        }
}

private fun app.sharepay.ffi.PaymentMethod.toPaymentMethod() = PaymentMethod(
    id = paymentMethodId,
    brand = brand,
    last4 = last4,
    expiry = "%02d/%d".format(expiryMonth.toInt(), expiryYear.toInt()),
)
