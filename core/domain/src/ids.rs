//! Typed identifiers, so a member id cannot be passed where a user id is due.
//!
//! Identifiers are opaque UUIDs. Their ordering is the stable member order
//! that split tie-breaks use, so it must never depend on input position.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub const fn from_u128(value: u128) -> Self {
                $name(Uuid::from_u128(value))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A member of a household, as a split line names them.
    MemberId
);
uuid_id!(
    /// A user account.
    UserId
);
uuid_id!(
    /// A household that shares bills.
    HouseholdId
);
uuid_id!(
    /// Any stored resource: a meter, bill, charge, session and so on.
    ResourceId
);
