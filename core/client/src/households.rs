//! Household use cases: households, invitations, members, meters and meter
//! reader assignments. Each call carries the access token (see
//! [`SharePayClient::send_authorized`]). The server decides who may do what,
//! and its rejections arrive as [`ClientError::Forbidden`] or
//! [`ClientError::NotFound`].

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use sharepay_domain::authz::Role;
use sharepay_domain::wire::households::{
    AcceptInvitationRequest, AssignMeterReaderRequest, ChangeRoleRequest, CreateHouseholdRequest,
    CreateInvitationRequest, CreateMeterRequest, HouseholdListResponse, HouseholdResponse,
    InvitationResponse, MemberListResponse, MemberResponse, MeterListResponse, MeterResponse,
};

use crate::SharePayClient;
use crate::api::decode_empty;
use crate::error::ClientError;
use crate::session::check_id;

impl SharePayClient {
    /// Creates a household with the signed-in user as its primary payer.
    pub async fn create_household(&self, name: &str) -> Result<HouseholdResponse, ClientError> {
        let request = CreateHouseholdRequest {
            name: name.to_owned(),
        };
        self.send_json_authorized(Method::POST, &["v1", "households"], &request)
            .await
    }

    /// Lists the households the signed-in user is a member of, with the
    /// user's role in each.
    pub async fn households(&self) -> Result<Vec<HouseholdResponse>, ClientError> {
        let list: HouseholdListResponse = self.get_authorized(&["v1", "households"]).await?;
        Ok(list.households)
    }

    /// Reads one household of the signed-in user.
    pub async fn household(&self, household_id: &str) -> Result<HouseholdResponse, ClientError> {
        check_id("household_id", household_id)?;
        self.get_authorized(&["v1", "households", household_id])
            .await
    }

    /// Creates an invitation to `household_id` with `role`. The returned
    /// code is shown once (the server keeps only its hash) and expires
    /// after `expires_in_hours` (the server's default when `None`).
    pub async fn create_invitation(
        &self,
        household_id: &str,
        role: Role,
        expires_in_hours: Option<u32>,
    ) -> Result<InvitationResponse, ClientError> {
        check_id("household_id", household_id)?;
        let request = CreateInvitationRequest {
            role,
            expires_in_hours,
        };
        self.send_json_authorized(
            Method::POST,
            &["v1", "households", household_id, "invitations"],
            &request,
        )
        .await
    }

    /// Joins a household with an invitation code.
    pub async fn accept_invitation(
        &self,
        code: &SecretString,
    ) -> Result<MemberResponse, ClientError> {
        let code = code.expose_secret().trim();
        if code.is_empty() {
            return Err(ClientError::InvalidInput(
                "code is empty; enter the invitation code you received".into(),
            ));
        }
        let request = AcceptInvitationRequest {
            code: code.to_owned(),
        };
        self.send_json_authorized(Method::POST, &["v1", "invitations", "accept"], &request)
            .await
    }

    /// Lists the current members of a household, oldest first.
    pub async fn members(&self, household_id: &str) -> Result<Vec<MemberResponse>, ClientError> {
        check_id("household_id", household_id)?;
        let list: MemberListResponse = self
            .get_authorized(&["v1", "households", household_id, "members"])
            .await?;
        Ok(list.members)
    }

    /// Gives a member another role. The server rejects a change that would leave a
    /// household without a primary payer ([`ClientError::Conflict`]).
    pub async fn change_member_role(
        &self,
        household_id: &str,
        user_id: &str,
        role: Role,
    ) -> Result<MemberResponse, ClientError> {
        check_id("household_id", household_id)?;
        check_id("user_id", user_id)?;
        self.send_json_authorized(
            Method::PUT,
            &["v1", "households", household_id, "members", user_id, "role"],
            &ChangeRoleRequest { role },
        )
        .await
    }

    /// Removes a member from a household.
    pub async fn remove_member(
        &self,
        household_id: &str,
        user_id: &str,
    ) -> Result<(), ClientError> {
        check_id("household_id", household_id)?;
        check_id("user_id", user_id)?;
        let response = self
            .send_authorized(
                Method::DELETE,
                &["v1", "households", household_id, "members", user_id],
                None,
            )
            .await?;
        decode_empty(response).await
    }

    /// Lists the meters of a household that the signed-in user may see: all
    /// of them, or for a meter reader the assigned ones.
    pub async fn meters(&self, household_id: &str) -> Result<Vec<MeterResponse>, ClientError> {
        check_id("household_id", household_id)?;
        let list: MeterListResponse = self
            .get_authorized(&["v1", "households", household_id, "meters"])
            .await?;
        Ok(list.meters)
    }

    /// Adds a meter to a household.
    pub async fn add_meter(
        &self,
        household_id: &str,
        meter: &CreateMeterRequest,
    ) -> Result<MeterResponse, ClientError> {
        check_id("household_id", household_id)?;
        self.send_json_authorized(
            Method::POST,
            &["v1", "households", household_id, "meters"],
            meter,
        )
        .await
    }

    /// Lets a member with the meter reader role read `meter_id` and submit
    /// its readings.
    pub async fn assign_meter_reader(
        &self,
        meter_id: &str,
        user_id: &str,
    ) -> Result<(), ClientError> {
        check_id("meter_id", meter_id)?;
        check_id("user_id", user_id)?;
        let json = serde_json::to_vec(&AssignMeterReaderRequest {
            user_id: user_id.to_owned(),
        })
        .map_err(|e| ClientError::InvalidInput(format!("cannot encode the request: {e}")))?;
        let response = self
            .send_authorized(
                Method::POST,
                &["v1", "meters", meter_id, "readers"],
                Some(&json),
            )
            .await?;
        decode_empty(response).await
    }
}
