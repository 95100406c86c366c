package app.sharepay.android.data

import app.sharepay.sdk.SharePay

/** A participant's share of one bill, with the amount formatted by the core. */
data class Charge(
    val id: String,
    val billTitle: String,
    val householdName: String,
    val amountDisplay: String,
    val dueDate: String,
    val paid: Boolean,
)

/** A saved card as the server stores it: a vault token and display data, never the number. */
data class PaymentMethod(val id: String, val brand: String, val last4: String, val expiry: String)

/** The card details typed on the card screen, held in memory only and passed to the core unchanged. */
class CardInput(val number: String, val expiryMonth: String, val expiryYear: String, val cvc: String)

/** Charges, saved cards and payments, for the participant. */
interface PaymentRepository {
    suspend fun myCharges(): List<Charge>
    suspend fun charge(chargeId: String): Charge
    suspend fun paymentMethods(): List<PaymentMethod>

    /** Sends the card to the vault through the core and returns the saved method. */
    suspend fun addCard(card: CardInput): PaymentMethod
    suspend fun pay(chargeId: String, paymentMethodId: String)
}

class CorePaymentRepository(private val sharePay: suspend () -> SharePay) : PaymentRepository {

    // TODO: call the core's myCharges().
    override suspend fun myCharges(): List<Charge> = throw CoreCallUnavailable("myCharges")

    // TODO: call the core's getCharge(chargeId).
    override suspend fun charge(chargeId: String): Charge = throw CoreCallUnavailable("getCharge")

    // TODO: call the core's listPaymentMethods().
    override suspend fun paymentMethods(): List<PaymentMethod> =
        throw CoreCallUnavailable("listPaymentMethods")

    // TODO: call the core's tokenizeCard(number, expiryMonth, expiryYear, cvc), which validates
    // the card and sends it straight to the vault.
    override suspend fun addCard(card: CardInput): PaymentMethod = throw CoreCallUnavailable("tokenizeCard")

    // TODO: call the core's payCharge(chargeId, paymentMethodId); the core owns its idempotency key.
    override suspend fun pay(chargeId: String, paymentMethodId: String) =
        throw CoreCallUnavailable("payCharge")
}
