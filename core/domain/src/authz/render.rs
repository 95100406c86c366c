//! Rendering of the permission matrix as the Markdown page
//! `docs/authorization.md`.
//!
//! The page is generated and a test compares it with this output, so it
//! must never be edited by hand.

use std::fmt::Write;

use super::matrix::{DELEGABLE, MATRIX};
use super::{Action, Holder, ResourceKind};

/// Renders the whole matrix, with the meaning of each scope, as Markdown.
pub fn render_markdown() -> String {
    let mut page = String::new();
    page.push_str(HEADER);
    for holder in Holder::ALL {
        render_holder(&mut page, holder);
    }
    render_delegations(&mut page);
    page.push_str(FOOTER);
    page
}

const HEADER: &str = "\
<!-- Generated from sharepay-domain's authz::matrix::MATRIX; do not edit by hand.
     Regenerate: SHAREPAY_BLESS=1 cargo test -p sharepay-domain --test authorization_doc -->

# Authorization

Every request is decided by one function, `authorize(principal, action,
resource)` in `sharepay-domain`, which reads the table below. Anything the
table or a user-level grant does not allow is denied.

## Grants

- **Group level**: a role held in one household (`primary_payer`,
  `participant`, `meter_reader`). The `system_administrator` role is global.
- **Resource level**: one resource assigned to a member, such as a meter
  assigned to a meter reader. It covers the resource and its children (the
  meter's readings).
- **User level**: one action on one resource handed to one member, such as
  approving one bill. Only the pairs listed under *User-level grants* count,
  and only while the user is a member of that household.

Every signed-in user also has the rights in the `signed_in_user` table,
about their own account. Its household write with scope own is how a
household is created, so the server names a household's owner only on the
request that creates it.

## Scopes

| scope | the action is allowed on |
|---|---|
| - | nothing |
| own | resources whose owner is the principal; for a household role, only in the household where they hold it |
| household | every resource of the household where the principal holds the role |
| assigned | resources assigned to the principal by a resource-level grant, and their children, in that household |
| all | every resource, in every household |

A resource of another household is never covered by a household role.
";

const FOOTER: &str = "
## Denials

A denial is answered with 404 when the principal may not even read the
resource, so that the answer does not reveal that it exists, and with 403
otherwise. Every decision carries its reason for the audit log.
";

fn render_holder(page: &mut String, holder: Holder) {
    let _ = write!(page, "\n## `{}`\n\n| resource |", holder.name());
    for action in Action::ALL {
        let _ = write!(page, " {} |", action.name());
    }
    page.push_str("\n|---|");
    for _ in Action::ALL {
        page.push_str("---|");
    }
    page.push('\n');
    for resource in ResourceKind::ALL {
        let Some(row) = MATRIX
            .iter()
            .find(|row| row.holder == holder && row.resource == resource)
        else {
            continue;
        };
        let _ = write!(page, "| {} |", resource.name());
        for action in Action::ALL {
            let _ = write!(page, " {} |", row.scope(action).description());
        }
        page.push('\n');
    }
}

fn render_delegations(page: &mut String) {
    page.push_str("\n## User-level grants\n\n| action | resource |\n|---|---|\n");
    for (action, resource) in DELEGABLE {
        let _ = writeln!(page, "| {} | {} |", action.name(), resource.name());
    }
    page.push_str("\nA grant on a bill also covers the splits of that bill.\n");
}
