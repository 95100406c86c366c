//! The permission matrix: the one table that `authorize`, the tests and
//! `docs/authorization.md` all read.
//!
//! Every holder has exactly one row per resource kind, and a missing cell is
//! a compile error, so nothing is allowed by omission. Change a permission
//! here, never in `authorize` or in the document.

use super::{Action, Holder, ResourceKind, Role, Scope};

/// Permissions of one holder on one kind of resource, per action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatrixRow {
    pub holder: Holder,
    pub resource: ResourceKind,
    /// Indexed by [`Action::index`]: read, write, delete, approve, manage.
    pub scopes: [Scope; 5],
}

impl MatrixRow {
    pub fn scope(&self, action: Action) -> Scope {
        self.scopes[action.index()]
    }
}

/// Actions that a user-level grant may hand to one member for one resource,
/// with the kinds of resource they apply to. A grant on a bill also covers
/// the splits whose parent is that bill.
pub static DELEGABLE: &[(Action, ResourceKind)] = &[
    (Action::Approve, ResourceKind::Bill),
    (Action::Approve, ResourceKind::Split),
];

use ResourceKind as K;
use Scope::{Assigned as A, Denied as D, Global as G, Household as H, Own as O};

const fn row(holder: Holder, resource: ResourceKind, scopes: [Scope; 5]) -> MatrixRow {
    MatrixRow {
        holder,
        resource,
        scopes,
    }
}

const USER: Holder = Holder::SignedInUser;
const ADMIN: Holder = Holder::Role(Role::SystemAdministrator);
const PAYER: Holder = Holder::Role(Role::PrimaryPayer);
const PARTICIPANT: Holder = Holder::Role(Role::Participant);
const READER: Holder = Holder::Role(Role::MeterReader);

/// The matrix. Columns: read, write, delete, approve, manage.
#[rustfmt::skip]
pub static MATRIX: &[MatrixRow] = &[
    // Every signed-in user, about their own account. Household write with
    // scope own is creating a household, which the creator then owns.
    row(USER, K::Household,     [D, O, D, D, D]),
    row(USER, K::Member,        [D, D, D, D, D]),
    row(USER, K::Meter,         [D, D, D, D, D]),
    row(USER, K::Reading,       [D, D, D, D, D]),
    row(USER, K::Bill,          [D, D, D, D, D]),
    row(USER, K::Split,         [D, D, D, D, D]),
    row(USER, K::Charge,        [D, D, D, D, D]),
    row(USER, K::Payment,       [D, D, D, D, D]),
    row(USER, K::PaymentMethod, [O, O, O, D, D]),
    row(USER, K::Refund,        [D, D, D, D, D]),
    row(USER, K::Ledger,        [D, D, D, D, D]),
    row(USER, K::MonitoringCase, [D, D, D, D, D]),
    row(USER, K::User,          [O, O, O, D, D]),
    row(USER, K::Session,       [O, D, O, D, D]),
    row(USER, K::AuditLog,      [D, D, D, D, D]),
    row(USER, K::Key,           [D, D, D, D, D]),

    // The system administrator runs the service but cannot read any
    // household's money: no bills, splits, charges, payments, refunds or
    // payment methods. For compliance they read the ledger as a whole (the
    // reconciliation report) and review transaction monitoring cases.
    row(ADMIN, K::Household,     [D, D, D, D, D]),
    row(ADMIN, K::Member,        [D, D, D, D, D]),
    row(ADMIN, K::Meter,         [D, D, D, D, D]),
    row(ADMIN, K::Reading,       [D, D, D, D, D]),
    row(ADMIN, K::Bill,          [D, D, D, D, D]),
    row(ADMIN, K::Split,         [D, D, D, D, D]),
    row(ADMIN, K::Charge,        [D, D, D, D, D]),
    row(ADMIN, K::Payment,       [D, D, D, D, D]),
    row(ADMIN, K::PaymentMethod, [D, D, D, D, D]),
    row(ADMIN, K::Refund,        [D, D, D, D, D]),
    row(ADMIN, K::Ledger,        [G, D, D, D, D]),
    row(ADMIN, K::MonitoringCase, [G, D, D, D, G]),
    row(ADMIN, K::User,          [G, G, G, D, G]),
    row(ADMIN, K::Session,       [G, D, G, D, G]),
    row(ADMIN, K::AuditLog,      [G, D, D, D, G]),
    row(ADMIN, K::Key,           [G, D, D, D, G]),

    // The primary payer runs one household: members, meters, bills and
    // approvals. Bill manage is delegating a bill's approval to a member.
    // They pay only their own charges, and refund payments in the household.
    row(PAYER, K::Household,     [H, H, H, D, H]),
    row(PAYER, K::Member,        [H, H, H, D, H]),
    row(PAYER, K::Meter,         [H, H, H, D, H]),
    row(PAYER, K::Reading,       [H, H, H, H, D]),
    row(PAYER, K::Bill,          [H, H, H, H, H]),
    row(PAYER, K::Split,         [H, H, H, H, D]),
    row(PAYER, K::Charge,        [H, H, D, D, D]),
    row(PAYER, K::Payment,       [H, O, D, D, D]),
    row(PAYER, K::PaymentMethod, [D, D, D, D, D]),
    row(PAYER, K::Refund,        [H, H, D, D, D]),
    row(PAYER, K::Ledger,        [D, D, D, D, D]),
    row(PAYER, K::MonitoringCase, [D, D, D, D, D]),
    row(PAYER, K::User,          [H, D, D, D, D]),
    row(PAYER, K::Session,       [D, D, D, D, D]),
    row(PAYER, K::AuditLog,      [H, D, D, D, D]),
    row(PAYER, K::Key,           [D, D, D, D, D]),

    // A participant reads the household's bills and pays their own charges.
    row(PARTICIPANT, K::Household,     [H, D, D, D, D]),
    row(PARTICIPANT, K::Member,        [H, D, D, D, D]),
    row(PARTICIPANT, K::Meter,         [H, D, D, D, D]),
    row(PARTICIPANT, K::Reading,       [H, D, D, D, D]),
    row(PARTICIPANT, K::Bill,          [H, D, D, D, D]),
    row(PARTICIPANT, K::Split,         [H, D, D, D, D]),
    row(PARTICIPANT, K::Charge,        [O, D, D, D, D]),
    row(PARTICIPANT, K::Payment,       [O, O, D, D, D]),
    row(PARTICIPANT, K::PaymentMethod, [D, D, D, D, D]),
    row(PARTICIPANT, K::Refund,        [O, D, D, D, D]),
    row(PARTICIPANT, K::Ledger,        [D, D, D, D, D]),
    row(PARTICIPANT, K::MonitoringCase, [D, D, D, D, D]),
    row(PARTICIPANT, K::User,          [H, D, D, D, D]),
    row(PARTICIPANT, K::Session,       [D, D, D, D, D]),
    row(PARTICIPANT, K::AuditLog,      [D, D, D, D, D]),
    row(PARTICIPANT, K::Key,           [D, D, D, D, D]),

    // A meter reader reads and records only the meters assigned to them.
    row(READER, K::Household,     [H, D, D, D, D]),
    row(READER, K::Member,        [D, D, D, D, D]),
    row(READER, K::Meter,         [A, D, D, D, D]),
    row(READER, K::Reading,       [A, A, D, D, D]),
    row(READER, K::Bill,          [D, D, D, D, D]),
    row(READER, K::Split,         [D, D, D, D, D]),
    row(READER, K::Charge,        [D, D, D, D, D]),
    row(READER, K::Payment,       [D, D, D, D, D]),
    row(READER, K::PaymentMethod, [D, D, D, D, D]),
    row(READER, K::Refund,        [D, D, D, D, D]),
    row(READER, K::Ledger,        [D, D, D, D, D]),
    row(READER, K::MonitoringCase, [D, D, D, D, D]),
    row(READER, K::User,          [D, D, D, D, D]),
    row(READER, K::Session,       [D, D, D, D, D]),
    row(READER, K::AuditLog,      [D, D, D, D, D]),
    row(READER, K::Key,           [D, D, D, D, D]),
];

/// Returns the row for one holder and resource kind.
pub fn row_for(holder: Holder, resource: ResourceKind) -> Option<&'static MatrixRow> {
    MATRIX
        .iter()
        .find(|row| row.holder == holder && row.resource == resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_has_one_row_per_holder_and_resource() {
        for holder in Holder::ALL {
            for resource in ResourceKind::ALL {
                let count = MATRIX
                    .iter()
                    .filter(|row| row.holder == holder && row.resource == resource)
                    .count();
                assert_eq!(count, 1, "{holder:?} x {resource:?} has {count} rows");
            }
        }
        assert_eq!(MATRIX.len(), Holder::ALL.len() * ResourceKind::ALL.len());
    }

    #[test]
    fn global_scope_only_for_system_administrator() {
        for row in MATRIX {
            let has_global = row.scopes.contains(&Scope::Global);
            assert!(!has_global || row.holder == ADMIN, "{row:?}");
        }
    }

    #[test]
    fn household_scopes_only_for_household_roles() {
        for row in MATRIX {
            let household_scoped = row
                .scopes
                .iter()
                .any(|scope| matches!(scope, Scope::Household | Scope::Assigned));
            assert!(
                !household_scoped
                    || matches!(row.holder, Holder::Role(role) if role.is_household_role()),
                "{row:?}"
            );
        }
    }
}
