//! The password history port, implemented by the server.
//!
//! The domain crate never hashes and never stores: this trait is the only
//! way it learns whether a candidate was used before.

use super::NormalizedPassword;

/// Access to the hashes of a user's previous passwords.
///
/// The server implements this with its stored hashes and password hasher.
/// Checking means hashing the candidate with each stored salt, which is
/// slow on purpose, so an async server should call
/// [`super::PasswordPolicy::check_with_history`] from a blocking task.
pub trait PasswordHistory {
    type Error: std::error::Error + 'static;

    /// Returns whether `candidate` matches any of the user's last `count`
    /// password hashes. `count` is never 0.
    fn matches_recent(
        &self,
        candidate: &NormalizedPassword,
        count: usize,
    ) -> Result<bool, Self::Error>;
}
