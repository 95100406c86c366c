//! Authorization of household requests: loads the caller's grants, calls
//! the domain's [`authorize`], records every decision in the audit trail
//! (kind `authorization`, with its reason), and maps a denial to 404 when
//! the caller may not even see the resource, 403 otherwise.
//!
//! Handlers must call [`Access::require`] before they read or change
//! anything the request names. This module never grants on its own: the
//! permission matrix in `sharepay_domain::authz` decides.

use sharepay_domain::authz::{
    Action, Assignment, Delegation, Membership, Principal, Resource, ResourceKind, authorize,
};
use sharepay_domain::ids::{HouseholdId, ResourceId, UserId};
use uuid::Uuid;

use crate::AppState;
use crate::audit::{Actor, AuditEvent, AuditKind, Outcome};
use crate::auth::AuthenticatedUser;
use crate::error::ApiError;
use crate::store::identity::ROLE_ADMIN;

/// The caller of a household request with every grant they hold.
pub struct Access {
    pub principal: Principal,
    request_id: Option<String>,
}

impl Access {
    /// Loads the caller's memberships, meter assignments, bill approval
    /// delegations and whether they hold the system administrator role.
    pub async fn load(
        state: &AppState,
        caller: AuthenticatedUser,
        request_id: Option<String>,
    ) -> Result<Self, ApiError> {
        let memberships = state
            .store
            .memberships_of(caller.user_id)
            .await
            .map_err(|e| ApiError::internal("loading memberships", e))?;
        let assignments = state
            .store
            .assignments_of(caller.user_id)
            .await
            .map_err(|e| ApiError::internal("loading meter assignments", e))?;
        let mut principal = Principal::new(UserId(caller.user_id));
        principal.memberships = memberships
            .iter()
            .map(|member| Membership {
                household: HouseholdId(member.household_id),
                role: member.role,
            })
            .collect();
        principal.assignments = assignments
            .iter()
            .map(|assignment| Assignment {
                household: HouseholdId(assignment.household_id),
                resource: ResourceId(assignment.meter_id),
            })
            .collect();
        principal.delegations = state
            .store
            .delegations_of(caller.user_id)
            .await
            .map_err(|e| ApiError::internal("loading delegations", e))?
            .iter()
            .map(|delegation| Delegation {
                household: HouseholdId(delegation.household_id),
                resource: ResourceId(delegation.bill_id),
                action: Action::Approve,
            })
            .collect();
        principal.system_administrator = state
            .identity
            .system_roles(caller.user_id)
            .await
            .map_err(|e| ApiError::internal("loading system roles", e))?
            .iter()
            .any(|role| role == ROLE_ADMIN);
        Ok(Self {
            principal,
            request_id,
        })
    }

    pub fn user_id(&self) -> Uuid {
        self.principal.user.0
    }

    /// Decides `action` on `resource`, records the decision, and returns
    /// the error to respond with on a denial.
    pub async fn require(
        &self,
        state: &AppState,
        action: Action,
        resource: &Resource,
    ) -> Result<(), ApiError> {
        let decision = authorize(&self.principal, action, resource);
        let outcome = if decision.allowed {
            Outcome::Success
        } else {
            Outcome::Denied
        };
        let event = AuditEvent::new(
            AuditKind::Authorization,
            Actor::User(self.user_id()),
            &format!("{}.{}", resource.kind.name(), action.name()),
            &describe(resource),
            outcome,
        )
        .reason(&decision.to_string())
        .request_id(self.request_id.as_deref());
        state
            .audit
            .record(event)
            .await
            .map_err(|e| ApiError::internal("recording an authorization decision", e))?;

        if decision.allowed {
            Ok(())
        } else if decision.hide_existence {
            Err(ApiError::NotFound)
        } else {
            Err(ApiError::Forbidden {
                detail: format!(
                    "your role does not allow {} on this {}",
                    action.name(),
                    resource.kind.name()
                ),
            })
        }
    }

    /// Returns whether `action` on `resource` is allowed, without recording
    /// it; for filtering a list the caller was already allowed to read.
    pub fn allows(&self, action: Action, resource: &Resource) -> bool {
        authorize(&self.principal, action, resource).allowed
    }
}

/// Returns a resource of `kind` with `id` in `household`.
pub fn in_household(kind: ResourceKind, id: Option<Uuid>, household: Uuid) -> Resource {
    let mut resource = Resource::new(kind);
    resource.id = id.map(ResourceId);
    resource.household = Some(HouseholdId(household));
    resource
}

fn describe(resource: &Resource) -> String {
    match (&resource.id, &resource.household) {
        (Some(id), _) => format!("{}:{id}", resource.kind.name()),
        (None, Some(household)) => format!("{}:new in household:{household}", resource.kind.name()),
        (None, None) => format!("{}:new", resource.kind.name()),
    }
}
