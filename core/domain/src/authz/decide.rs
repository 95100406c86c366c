//! Evaluation of one request against the matrix and the principal's grants.
//!
//! Default deny: a request is allowed only by a matrix cell whose scope
//! covers the resource, or by a user-level grant. It must never allow
//! anything else.

use super::matrix::{self, DELEGABLE};
use super::{Action, Decision, Holder, Membership, Principal, Reason, Resource, Role, Scope};

/// Decides whether `principal` may perform `action` on `resource`.
///
/// Holders are tried in a fixed order (signed-in user, system
/// administrator, then the household roles the principal holds), so the
/// reason is the same for the same input on every device.
pub fn authorize(principal: &Principal, action: Action, resource: &Resource) -> Decision {
    let (allowed, reason) = evaluate(principal, action, resource);
    let hide_existence = if allowed {
        false
    } else if action == Action::Read {
        true
    } else {
        !evaluate(principal, Action::Read, resource).0
    };
    Decision {
        allowed,
        reason,
        hide_existence,
    }
}

fn evaluate(principal: &Principal, action: Action, resource: &Resource) -> (bool, Reason) {
    let mut first_out_of_scope = None;
    for holder in holders_of(principal) {
        let Some(row) = matrix::row_for(holder, resource.kind) else {
            continue;
        };
        let scope = row.scope(action);
        if scope == Scope::Denied {
            continue;
        }
        if scope_covers(principal, holder, scope, resource) {
            return (true, Reason::Matrix { holder, scope });
        }
        first_out_of_scope.get_or_insert(Reason::OutOfScope { holder, scope });
    }

    if is_delegated(principal, action, resource) {
        return (true, Reason::Delegated);
    }
    (false, first_out_of_scope.unwrap_or(Reason::NoGrant))
}

/// Lists the holders whose matrix rows apply to `principal`, in a fixed order.
fn holders_of(principal: &Principal) -> Vec<Holder> {
    Holder::ALL
        .into_iter()
        .filter(|holder| match holder {
            Holder::SignedInUser => true,
            Holder::Role(Role::SystemAdministrator) => principal.system_administrator,
            Holder::Role(role) => principal
                .memberships
                .iter()
                .any(|membership| membership.role == *role),
        })
        .collect()
}

fn scope_covers(principal: &Principal, holder: Holder, scope: Scope, resource: &Resource) -> bool {
    let owned = resource.owner == Some(principal.user);
    match (holder, scope) {
        (_, Scope::Denied) => false,
        (Holder::Role(Role::SystemAdministrator), Scope::Global) => principal.system_administrator,
        (_, Scope::Global) => false,
        (Holder::SignedInUser, Scope::Own) => owned,
        (Holder::SignedInUser, _) => false,
        (Holder::Role(role), Scope::Own) => {
            holds_role_in_household(principal, role, resource) && owned
        }
        (Holder::Role(role), Scope::Household) => {
            holds_role_in_household(principal, role, resource)
        }
        (Holder::Role(role), Scope::Assigned) => {
            holds_role_in_household(principal, role, resource) && is_assigned(principal, resource)
        }
    }
}

fn holds_role_in_household(principal: &Principal, role: Role, resource: &Resource) -> bool {
    let Some(household) = resource.household else {
        return false;
    };
    principal
        .memberships
        .contains(&Membership { household, role })
}

/// Returns whether a resource-level grant covers the resource or its parent.
fn is_assigned(principal: &Principal, resource: &Resource) -> bool {
    principal.assignments.iter().any(|assignment| {
        resource.household == Some(assignment.household)
            && (resource.id == Some(assignment.resource)
                || resource.parent == Some(assignment.resource))
    })
}

/// Returns whether a user-level grant covers this action on the resource or
/// its parent. Only delegable pairs count, and only while the principal is
/// still a member of the resource's household.
fn is_delegated(principal: &Principal, action: Action, resource: &Resource) -> bool {
    if !DELEGABLE.contains(&(action, resource.kind)) {
        return false;
    }
    let Some(household) = resource.household else {
        return false;
    };
    let is_member = principal
        .memberships
        .iter()
        .any(|membership| membership.household == household);
    is_member
        && principal.delegations.iter().any(|delegation| {
            delegation.action == action
                && delegation.household == household
                && (resource.id == Some(delegation.resource)
                    || resource.parent == Some(delegation.resource))
        })
}
