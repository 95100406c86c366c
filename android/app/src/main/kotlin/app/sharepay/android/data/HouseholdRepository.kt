package app.sharepay.android.data

import app.sharepay.ffi.UserRole
import app.sharepay.sdk.SharePay

enum class HouseholdRole { PrimaryPayer, Participant, MeterReader }

/** A household the signed-in user belongs to, with the role they hold in it. */
data class Household(val id: String, val name: String, val role: HouseholdRole)

/**
 * A new invitation. The server keeps only a hash of [code], so the app shows it this once for the
 * primary payer to pass on, and the invitee joins by typing it.
 */
data class InvitationCode(val code: String, val role: HouseholdRole, val expiresAt: String)

/** Households, membership and invitation codes. */
interface HouseholdRepository {
    suspend fun households(): List<Household>
    suspend fun createHousehold(name: String): Household
    suspend fun createInvitation(householdId: String, role: HouseholdRole): InvitationCode

    /** Joins the household of an invitation code. */
    suspend fun acceptInvitation(code: String)
}

class CoreHouseholdRepository(private val sharePay: suspend () -> SharePay) : HouseholdRepository {

    override suspend fun households(): List<Household> = sharePay().households().mapNotNull { it.toHousehold() }

    override suspend fun createHousehold(name: String): Household =
        sharePay().createHousehold(name).toHousehold() ?: error("the server returned a household without a household role")

    // A null expiry lets the server apply its default lifetime.
    override suspend fun createInvitation(householdId: String, role: HouseholdRole): InvitationCode {
        val invitation = sharePay().createInvitation(householdId, role.toUserRole(), null)
        return InvitationCode(invitation.code, role, invitation.expiresAt)
    }

    override suspend fun acceptInvitation(code: String) {
        sharePay().acceptInvitation(code)
    }
}

// The system administrator role is global, so a household never lists it.
private fun app.sharepay.ffi.Household.toHousehold(): Household? {
    val role = when (role) {
        UserRole.PRIMARY_PAYER -> HouseholdRole.PrimaryPayer
        UserRole.PARTICIPANT -> HouseholdRole.Participant
        UserRole.METER_READER -> HouseholdRole.MeterReader
        UserRole.SYSTEM_ADMINISTRATOR -> return null
    }
    return Household(householdId, name, role)
}

private fun HouseholdRole.toUserRole(): UserRole = when (this) {
    HouseholdRole.PrimaryPayer -> UserRole.PRIMARY_PAYER
    HouseholdRole.Participant -> UserRole.PARTICIPANT
    HouseholdRole.MeterReader -> UserRole.METER_READER
}
