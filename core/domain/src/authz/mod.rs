//! Roles, permissions and the one function that decides every request.
//!
//! [`authorize`] reads the permission matrix in [`matrix`] and returns a
//! [`Decision`] with its reason. Anything the matrix or a user-level grant
//! does not allow is denied. This module must never grant access outside
//! the matrix, nor depend on anything but its arguments.

mod decide;
pub mod matrix;
mod render;

pub use decide::authorize;
pub use render::render_markdown;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{HouseholdId, ResourceId, UserId};

/// A role. The system administrator role is global; the others are held in
/// one household at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    SystemAdministrator,
    PrimaryPayer,
    Participant,
    MeterReader,
}

impl Role {
    pub const fn name(&self) -> &'static str {
        match self {
            Role::SystemAdministrator => "system_administrator",
            Role::PrimaryPayer => "primary_payer",
            Role::Participant => "participant",
            Role::MeterReader => "meter_reader",
        }
    }

    pub const fn is_household_role(&self) -> bool {
        !matches!(self, Role::SystemAdministrator)
    }

    /// Returns whether a member with this role may owe a share of a bill. Meter
    /// readers read meters for the household and pay nothing.
    pub const fn owes_bill_shares(&self) -> bool {
        matches!(self, Role::PrimaryPayer | Role::Participant)
    }
}

/// Whose permissions a matrix row lists: every signed-in user about their
/// own account, or the holders of one role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Holder {
    SignedInUser,
    Role(Role),
}

impl Holder {
    pub const ALL: [Holder; 5] = [
        Holder::SignedInUser,
        Holder::Role(Role::SystemAdministrator),
        Holder::Role(Role::PrimaryPayer),
        Holder::Role(Role::Participant),
        Holder::Role(Role::MeterReader),
    ];

    pub const fn name(&self) -> &'static str {
        match self {
            Holder::SignedInUser => "signed_in_user",
            Holder::Role(role) => role.name(),
        }
    }
}

/// Permission levels, from seeing a resource to administering it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Read,
    /// Create or change.
    Write,
    Delete,
    /// Approve a bill or split, or accept a reading flagged for review.
    Approve,
    /// Administer: roles and members, meter assignments, locking users,
    /// revoking sessions, rotating keys.
    Manage,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::Read,
        Action::Write,
        Action::Delete,
        Action::Approve,
        Action::Manage,
    ];

    /// Column of this action in a [`matrix::MatrixRow`].
    pub const fn index(&self) -> usize {
        match self {
            Action::Read => 0,
            Action::Write => 1,
            Action::Delete => 2,
            Action::Approve => 3,
            Action::Manage => 4,
        }
    }

    pub const fn name(&self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Write => "write",
            Action::Delete => "delete",
            Action::Approve => "approve",
            Action::Manage => "manage",
        }
    }
}

/// Kinds of resource that requests act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    Household,
    Member,
    Meter,
    Reading,
    Bill,
    Split,
    Charge,
    Payment,
    PaymentMethod,
    /// A refund of part or all of a payment.
    Refund,
    /// The double-entry ledger as a whole, for the reconciliation report.
    Ledger,
    /// A case opened by a transaction monitoring rule.
    MonitoringCase,
    User,
    Session,
    AuditLog,
    Key,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 16] = [
        ResourceKind::Household,
        ResourceKind::Member,
        ResourceKind::Meter,
        ResourceKind::Reading,
        ResourceKind::Bill,
        ResourceKind::Split,
        ResourceKind::Charge,
        ResourceKind::Payment,
        ResourceKind::PaymentMethod,
        ResourceKind::Refund,
        ResourceKind::Ledger,
        ResourceKind::MonitoringCase,
        ResourceKind::User,
        ResourceKind::Session,
        ResourceKind::AuditLog,
        ResourceKind::Key,
    ];

    pub const fn name(&self) -> &'static str {
        match self {
            ResourceKind::Household => "household",
            ResourceKind::Member => "member",
            ResourceKind::Meter => "meter",
            ResourceKind::Reading => "reading",
            ResourceKind::Bill => "bill",
            ResourceKind::Split => "split",
            ResourceKind::Charge => "charge",
            ResourceKind::Payment => "payment",
            ResourceKind::PaymentMethod => "payment_method",
            ResourceKind::Refund => "refund",
            ResourceKind::Ledger => "ledger",
            ResourceKind::MonitoringCase => "monitoring_case",
            ResourceKind::User => "user",
            ResourceKind::Session => "session",
            ResourceKind::AuditLog => "audit_log",
            ResourceKind::Key => "key",
        }
    }
}

/// Range of resources of one kind that a matrix cell allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// None.
    Denied,
    /// Those whose owner is the principal. For a household role, only
    /// those in the household where the principal has the role.
    Own,
    /// Any in the household where the principal has the role.
    Household,
    /// Those assigned to the principal by a resource-level grant (such as a
    /// meter and its readings), in the household where they hold the role.
    Assigned,
    /// Any, in every household.
    Global,
}

impl Scope {
    pub const fn description(&self) -> &'static str {
        match self {
            Scope::Denied => "-",
            Scope::Own => "own",
            Scope::Household => "household",
            Scope::Assigned => "assigned",
            Scope::Global => "all",
        }
    }
}

/// The resource a request acts on, with the facts a decision needs. The
/// caller loads these from the store before authorizing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    pub kind: ResourceKind,
    /// `None` when the request creates the resource.
    pub id: Option<ResourceId>,
    /// Household the resource belongs to; `None` for account-wide
    /// resources (user, session, payment method, key) and for the
    /// system-wide audit log.
    pub household: Option<HouseholdId>,
    /// The user the resource belongs to: the member who owes a charge, the
    /// member whose charge a payment or refund settles, the account of a session or
    /// payment method, the creator of a new household.
    ///
    /// NOTE: set `owner` on a household only when creating it. Any signed-in
    /// user may write a household they own, so an owner set on an existing
    /// household would keep write access after losing the primary payer role.
    pub owner: Option<UserId>,
    /// The resource this one belongs to: a reading's meter, a split's or a
    /// charge's bill, a payment's charge.
    pub parent: Option<ResourceId>,
}

impl Resource {
    /// Creates a resource of `kind` with no facts set, for the caller to fill in.
    pub const fn new(kind: ResourceKind) -> Self {
        Resource {
            kind,
            id: None,
            household: None,
            owner: None,
            parent: None,
        }
    }
}

/// A group-level grant: a role held in one household.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub household: HouseholdId,
    pub role: Role,
}

/// A resource-level grant: one resource, such as a meter, assigned to the
/// principal. It extends the scope `assigned` of their role to that
/// resource and its children.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub household: HouseholdId,
    pub resource: ResourceId,
}

/// A user-level grant: one action on one resource handed to this user, such
/// as approving one bill. Only the pairs in [`matrix::DELEGABLE`] count, and
/// only while the user is a member of the resource's household.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegation {
    pub household: HouseholdId,
    pub resource: ResourceId,
    pub action: Action,
}

/// The requesting user, with every grant they have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user: UserId,
    pub system_administrator: bool,
    pub memberships: Vec<Membership>,
    pub assignments: Vec<Assignment>,
    pub delegations: Vec<Delegation>,
}

impl Principal {
    /// Creates a signed-in user with no role and no grant.
    pub fn new(user: UserId) -> Self {
        Principal {
            user,
            system_administrator: false,
            memberships: Vec::new(),
            assignments: Vec::new(),
            delegations: Vec::new(),
        }
    }
}

/// Grounds of a decision, for the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// A matrix cell allows it.
    Matrix { holder: Holder, scope: Scope },
    /// A user-level grant allows it.
    Delegated,
    /// A matrix cell of one of the principal's roles covers this action,
    /// but not this resource (other household, other owner, not assigned).
    OutOfScope { holder: Holder, scope: Scope },
    /// No role or grant of the principal covers this action on this kind.
    NoGrant,
}

/// The outcome of [`authorize`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub reason: Reason,
    /// On a denial, whether the principal may not even read the resource.
    /// The server then responds with 404 rather than 403, so a denial does
    /// not reveal that the resource exists.
    pub hide_existence: bool,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.allowed { "allowed" } else { "denied" };
        match self.reason {
            Reason::Matrix { holder, scope } => {
                write!(
                    f,
                    "{verdict}: {} has scope {}",
                    holder.name(),
                    scope.description()
                )
            }
            Reason::Delegated => write!(f, "{verdict}: user-level grant on this resource"),
            Reason::OutOfScope { holder, scope } => write!(
                f,
                "{verdict}: {} has scope {}, which does not cover this resource",
                holder.name(),
                scope.description()
            ),
            Reason::NoGrant => write!(f, "{verdict}: no role or grant allows this action"),
        }
    }
}
