//! The authorization matrix test: every holder x action x resource kind, in
//! the principal's own household and in another household, checked against
//! the table in `authz::matrix`, plus hand-written checks of the rules that
//! matter most.

use sharepay_domain::authz::matrix::{MATRIX, row_for};
use sharepay_domain::authz::{
    Action, Assignment, Decision, Delegation, Holder, Membership, Principal, Reason, Resource,
    ResourceKind, Role, Scope, authorize,
};
use sharepay_domain::ids::{HouseholdId, ResourceId, UserId};

const ME: UserId = UserId::from_u128(1);
const SOMEONE_ELSE: UserId = UserId::from_u128(2);
const MY_HOUSEHOLD: HouseholdId = HouseholdId::from_u128(10);
const OTHER_HOUSEHOLD: HouseholdId = HouseholdId::from_u128(20);
const ASSIGNED_METER: ResourceId = ResourceId::from_u128(100);
const OTHER_METER: ResourceId = ResourceId::from_u128(101);
const BILL: ResourceId = ResourceId::from_u128(200);
const OTHER_BILL: ResourceId = ResourceId::from_u128(201);

/// Builds a principal with exactly `holder`'s rights (every principal is also a
/// signed-in user), with one assigned meter in their household.
fn principal_for(holder: Holder) -> Principal {
    let mut principal = Principal::new(ME);
    match holder {
        Holder::SignedInUser => {}
        Holder::Role(Role::SystemAdministrator) => principal.system_administrator = true,
        Holder::Role(role) => principal.memberships.push(Membership {
            household: MY_HOUSEHOLD,
            role,
        }),
    }
    principal.assignments.push(Assignment {
        household: MY_HOUSEHOLD,
        resource: ASSIGNED_METER,
    });
    principal
}

/// The situations a resource can be in relative to the principal.
#[derive(Clone, Copy, Debug)]
struct Situation {
    own_household: bool,
    owned: bool,
    assigned: bool,
}

fn resource(kind: ResourceKind, situation: Situation) -> Resource {
    let meter = if situation.assigned {
        ASSIGNED_METER
    } else {
        OTHER_METER
    };
    Resource {
        kind,
        id: Some(if kind == ResourceKind::Meter {
            meter
        } else {
            ResourceId::from_u128(300)
        }),
        household: Some(if situation.own_household {
            MY_HOUSEHOLD
        } else {
            OTHER_HOUSEHOLD
        }),
        owner: Some(if situation.owned { ME } else { SOMEONE_ELSE }),
        parent: (kind == ResourceKind::Reading).then_some(meter),
    }
}

/// Restates what a matrix scope allows, from its documentation.
fn scope_allows(holder: Holder, scope: Scope, situation: Situation) -> bool {
    match scope {
        Scope::Denied => false,
        Scope::Global => true,
        Scope::Household => situation.own_household,
        Scope::Own if holder == Holder::SignedInUser => situation.owned,
        Scope::Own => situation.own_household && situation.owned,
        Scope::Assigned => situation.own_household && situation.assigned,
    }
}

fn expected(holder: Holder, kind: ResourceKind, action: Action, situation: Situation) -> bool {
    [Holder::SignedInUser, holder].into_iter().any(|applies| {
        let row = row_for(applies, kind).expect("matrix row");
        scope_allows(applies, row.scope(action), situation)
    })
}

#[test]
fn matrix_covers_every_role_action_and_resource() {
    let own_household = [
        Situation {
            own_household: true,
            owned: true,
            assigned: true,
        },
        Situation {
            own_household: true,
            owned: false,
            assigned: true,
        },
        Situation {
            own_household: true,
            owned: true,
            assigned: false,
        },
        Situation {
            own_household: true,
            owned: false,
            assigned: false,
        },
    ];
    let other_household = [
        Situation {
            own_household: false,
            owned: false,
            assigned: false,
        },
        Situation {
            own_household: false,
            owned: false,
            assigned: true,
        },
    ];
    let mut checked = 0;
    for holder in Holder::ALL {
        let principal = principal_for(holder);
        for kind in ResourceKind::ALL {
            for action in Action::ALL {
                for situation in own_household.iter().chain(&other_household) {
                    let decision = authorize(&principal, action, &resource(kind, *situation));
                    assert_eq!(
                        decision.allowed,
                        expected(holder, kind, action, *situation),
                        "{} {} {} in {situation:?}: {decision}",
                        holder.name(),
                        action.name(),
                        kind.name(),
                    );
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 5 * ResourceKind::ALL.len() * 5 * 6);
}

#[test]
fn other_household_is_denied_for_household_roles() {
    let foreign = Situation {
        own_household: false,
        owned: false,
        assigned: false,
    };
    for role in [Role::PrimaryPayer, Role::Participant, Role::MeterReader] {
        let principal = principal_for(Holder::Role(role));
        for kind in ResourceKind::ALL {
            for action in Action::ALL {
                let decision = authorize(&principal, action, &resource(kind, foreign));
                assert!(
                    !decision.allowed,
                    "{} {} {}: {decision}",
                    role.name(),
                    action.name(),
                    kind.name()
                );
                assert!(
                    decision.hide_existence,
                    "another household's {} must look absent",
                    kind.name()
                );
            }
        }
    }
}

#[test]
fn allowed_decision_names_the_matrix_cell() {
    let principal = principal_for(Holder::Role(Role::PrimaryPayer));
    let bill = Resource {
        household: Some(MY_HOUSEHOLD),
        ..Resource::new(ResourceKind::Bill)
    };
    let decision = authorize(&principal, Action::Approve, &bill);
    assert_eq!(
        decision.reason,
        Reason::Matrix {
            holder: Holder::Role(Role::PrimaryPayer),
            scope: Scope::Household
        }
    );
    assert_eq!(
        decision.to_string(),
        "allowed: primary_payer has scope household"
    );
}

#[test]
fn principal_without_roles_is_denied_by_default() {
    let principal = Principal::new(ME);
    let bill = Resource {
        household: Some(MY_HOUSEHOLD),
        ..Resource::new(ResourceKind::Bill)
    };
    let decision = authorize(&principal, Action::Read, &bill);
    assert_eq!(
        decision,
        Decision {
            allowed: false,
            reason: Reason::NoGrant,
            hide_existence: true
        }
    );
}

#[test]
fn system_administrator_cannot_approve_splits_or_pay() {
    let admin = principal_for(Holder::Role(Role::SystemAdministrator));
    for (action, kind) in [
        (Action::Approve, ResourceKind::Split),
        (Action::Approve, ResourceKind::Bill),
        (Action::Write, ResourceKind::Payment),
        (Action::Read, ResourceKind::Bill),
        (Action::Read, ResourceKind::PaymentMethod),
        (Action::Read, ResourceKind::Refund),
        (Action::Write, ResourceKind::Refund),
    ] {
        let target = Resource {
            household: Some(OTHER_HOUSEHOLD),
            owner: Some(SOMEONE_ELSE),
            ..Resource::new(kind)
        };
        assert!(
            !authorize(&admin, action, &target).allowed,
            "{} {}",
            action.name(),
            kind.name()
        );
    }
}

#[test]
fn administrator_reviews_cases_and_reconciles() {
    let admin = principal_for(Holder::Role(Role::SystemAdministrator));
    let payer = principal_for(Holder::Role(Role::PrimaryPayer));
    for (action, kind) in [
        (Action::Read, ResourceKind::MonitoringCase),
        (Action::Manage, ResourceKind::MonitoringCase),
        (Action::Read, ResourceKind::Ledger),
    ] {
        let target = Resource::new(kind);
        assert!(
            authorize(&admin, action, &target).allowed,
            "{}",
            kind.name()
        );
        let denied = authorize(&payer, action, &target);
        assert!(!denied.allowed, "{}", kind.name());
        assert!(denied.hide_existence, "{}", kind.name());
    }
}

#[test]
fn only_primary_payer_refunds_in_household() {
    let refund = Resource {
        household: Some(MY_HOUSEHOLD),
        owner: Some(ME),
        ..Resource::new(ResourceKind::Refund)
    };
    let payer = principal_for(Holder::Role(Role::PrimaryPayer));
    let participant = principal_for(Holder::Role(Role::Participant));

    assert!(authorize(&payer, Action::Write, &refund).allowed);
    assert!(authorize(&participant, Action::Read, &refund).allowed);
    let denied = authorize(&participant, Action::Write, &refund);
    assert!(!denied.allowed);
    assert!(
        !denied.hide_existence,
        "the participant sees their own refund"
    );
}

#[test]
fn administrator_manages_accounts_and_keys() {
    let admin = principal_for(Holder::Role(Role::SystemAdministrator));
    for (action, kind) in [
        (Action::Manage, ResourceKind::User),
        (Action::Delete, ResourceKind::Session),
        (Action::Read, ResourceKind::AuditLog),
        (Action::Manage, ResourceKind::Key),
    ] {
        let target = Resource {
            owner: Some(SOMEONE_ELSE),
            ..Resource::new(kind)
        };
        assert!(
            authorize(&admin, action, &target).allowed,
            "{} {}",
            action.name(),
            kind.name()
        );
    }
    let audit = Resource::new(ResourceKind::AuditLog);
    assert!(
        !authorize(&admin, Action::Delete, &audit).allowed,
        "the audit log is append-only"
    );
}

#[test]
fn participant_reads_and_pays_only_own_charges() {
    let participant = principal_for(Holder::Role(Role::Participant));
    let charge = |owner| Resource {
        household: Some(MY_HOUSEHOLD),
        owner: Some(owner),
        ..Resource::new(ResourceKind::Charge)
    };
    let payment = |owner| Resource {
        household: Some(MY_HOUSEHOLD),
        owner: Some(owner),
        ..Resource::new(ResourceKind::Payment)
    };
    assert!(authorize(&participant, Action::Read, &charge(ME)).allowed);
    assert!(authorize(&participant, Action::Write, &payment(ME)).allowed);

    let others_charge = authorize(&participant, Action::Read, &charge(SOMEONE_ELSE));
    assert!(!others_charge.allowed);
    assert!(
        others_charge.hide_existence,
        "another member's charge must look absent"
    );
    assert!(!authorize(&participant, Action::Write, &payment(SOMEONE_ELSE)).allowed);
}

#[test]
fn denial_of_visible_resource_is_forbidden_not_hidden() {
    let participant = principal_for(Holder::Role(Role::Participant));
    let bill = Resource {
        household: Some(MY_HOUSEHOLD),
        ..Resource::new(ResourceKind::Bill)
    };
    let decision = authorize(&participant, Action::Write, &bill);
    assert!(!decision.allowed);
    assert!(
        !decision.hide_existence,
        "a participant can see the bill, so answer 403"
    );
}

#[test]
fn meter_reader_writes_readings_only_on_assigned_meters() {
    let reader = principal_for(Holder::Role(Role::MeterReader));
    let reading_on = |meter, household| Resource {
        household: Some(household),
        parent: Some(meter),
        ..Resource::new(ResourceKind::Reading)
    };
    assert!(
        authorize(
            &reader,
            Action::Write,
            &reading_on(ASSIGNED_METER, MY_HOUSEHOLD)
        )
        .allowed
    );

    let unassigned = authorize(
        &reader,
        Action::Write,
        &reading_on(OTHER_METER, MY_HOUSEHOLD),
    );
    assert!(!unassigned.allowed);
    assert_eq!(
        unassigned.reason,
        Reason::OutOfScope {
            holder: Holder::Role(Role::MeterReader),
            scope: Scope::Assigned
        }
    );
    assert!(
        !authorize(
            &reader,
            Action::Write,
            &reading_on(ASSIGNED_METER, OTHER_HOUSEHOLD)
        )
        .allowed
    );
    assert!(
        !authorize(
            &reader,
            Action::Delete,
            &reading_on(ASSIGNED_METER, MY_HOUSEHOLD)
        )
        .allowed
    );
}

#[test]
fn delegated_approval_covers_one_bill_and_its_splits() {
    let mut participant = principal_for(Holder::Role(Role::Participant));
    participant.delegations.push(Delegation {
        household: MY_HOUSEHOLD,
        resource: BILL,
        action: Action::Approve,
    });
    let split_of = |bill| Resource {
        id: Some(ResourceId::from_u128(400)),
        household: Some(MY_HOUSEHOLD),
        parent: Some(bill),
        ..Resource::new(ResourceKind::Split)
    };
    let bill = Resource {
        id: Some(BILL),
        household: Some(MY_HOUSEHOLD),
        ..Resource::new(ResourceKind::Bill)
    };

    let decision = authorize(&participant, Action::Approve, &split_of(BILL));
    assert!(decision.allowed);
    assert_eq!(decision.reason, Reason::Delegated);
    assert!(authorize(&participant, Action::Approve, &bill).allowed);
    assert!(!authorize(&participant, Action::Approve, &split_of(OTHER_BILL)).allowed);
    assert!(
        !authorize(&participant, Action::Delete, &bill).allowed,
        "only the delegated action"
    );
}

#[test]
fn delegation_lapses_when_membership_ends() {
    let mut former_member = Principal::new(ME);
    former_member.delegations.push(Delegation {
        household: MY_HOUSEHOLD,
        resource: BILL,
        action: Action::Approve,
    });
    let bill = Resource {
        id: Some(BILL),
        household: Some(MY_HOUSEHOLD),
        ..Resource::new(ResourceKind::Bill)
    };
    assert!(!authorize(&former_member, Action::Approve, &bill).allowed);
}

#[test]
fn non_delegable_action_is_not_granted_by_delegation() {
    let mut participant = principal_for(Holder::Role(Role::Participant));
    participant.delegations.push(Delegation {
        household: MY_HOUSEHOLD,
        resource: BILL,
        action: Action::Delete,
    });
    let bill = Resource {
        id: Some(BILL),
        household: Some(MY_HOUSEHOLD),
        ..Resource::new(ResourceKind::Bill)
    };
    assert!(!authorize(&participant, Action::Delete, &bill).allowed);
}

#[test]
fn role_in_one_household_gives_nothing_in_another() {
    let mut principal = Principal::new(ME);
    principal.memberships.push(Membership {
        household: MY_HOUSEHOLD,
        role: Role::PrimaryPayer,
    });
    principal.memberships.push(Membership {
        household: OTHER_HOUSEHOLD,
        role: Role::Participant,
    });
    let bill_in = |household| Resource {
        household: Some(household),
        ..Resource::new(ResourceKind::Bill)
    };
    assert!(authorize(&principal, Action::Approve, &bill_in(MY_HOUSEHOLD)).allowed);
    assert!(!authorize(&principal, Action::Approve, &bill_in(OTHER_HOUSEHOLD)).allowed);
    assert!(authorize(&principal, Action::Read, &bill_in(OTHER_HOUSEHOLD)).allowed);
}

#[test]
fn signed_in_user_manages_own_account_only() {
    let user = Principal::new(ME);
    for kind in [
        ResourceKind::User,
        ResourceKind::Session,
        ResourceKind::PaymentMethod,
    ] {
        let own = Resource {
            owner: Some(ME),
            ..Resource::new(kind)
        };
        let others = Resource {
            owner: Some(SOMEONE_ELSE),
            ..Resource::new(kind)
        };
        assert!(
            authorize(&user, Action::Read, &own).allowed,
            "{}",
            kind.name()
        );
        assert!(
            authorize(&user, Action::Delete, &own).allowed,
            "{}",
            kind.name()
        );
        assert!(
            !authorize(&user, Action::Read, &others).allowed,
            "{}",
            kind.name()
        );
    }
    let new_household = Resource {
        owner: Some(ME),
        ..Resource::new(ResourceKind::Household)
    };
    assert!(authorize(&user, Action::Write, &new_household).allowed);
}

#[test]
fn matrix_grants_global_scope_only_through_system_administrator() {
    for row in MATRIX {
        if row.scopes.contains(&Scope::Global) {
            assert_eq!(
                row.holder,
                Holder::Role(Role::SystemAdministrator),
                "{row:?}"
            );
        }
    }
}
