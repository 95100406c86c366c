package app.sharepay.android.data

import app.sharepay.sdk.SharePay

enum class HouseholdRole { PrimaryPayer, Participant, MeterReader }

/** A household the signed-in user belongs to, with the roles they hold in it. */
data class Household(val id: String, val name: String, val roles: Set<HouseholdRole>)

/** An invitation to join a household, sent to the signed-in user. */
data class Invitation(val id: String, val householdName: String, val role: HouseholdRole, val invitedBy: String)

/** Households, membership and invitations. */
interface HouseholdRepository {
    suspend fun households(): List<Household>
    suspend fun createHousehold(name: String): Household
    suspend fun invitations(): List<Invitation>
    suspend fun acceptInvitation(invitationId: String)
    suspend fun declineInvitation(invitationId: String)
    suspend fun invite(householdId: String, email: String, role: HouseholdRole)
}

class CoreHouseholdRepository(private val sharePay: suspend () -> SharePay) : HouseholdRepository {

    // TODO: call the core's listHouseholds().
    override suspend fun households(): List<Household> = throw CoreCallUnavailable("listHouseholds")

    // TODO: call the core's createHousehold(name).
    override suspend fun createHousehold(name: String): Household =
        throw CoreCallUnavailable("createHousehold")

    // TODO: call the core's listInvitations().
    override suspend fun invitations(): List<Invitation> = throw CoreCallUnavailable("listInvitations")

    // TODO: call the core's acceptInvitation(invitationId).
    override suspend fun acceptInvitation(invitationId: String) =
        throw CoreCallUnavailable("acceptInvitation")

    // TODO: call the core's declineInvitation(invitationId).
    override suspend fun declineInvitation(invitationId: String) =
        throw CoreCallUnavailable("declineInvitation")

    // TODO: call the core's inviteMember(householdId, email, role).
    override suspend fun invite(householdId: String, email: String, role: HouseholdRole) =
        throw CoreCallUnavailable("inviteMember")
}
