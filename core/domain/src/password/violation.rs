//! The rules a password can fail, each with a message a user understands.
//!
//! Messages describe the rule, never the password: they must not echo the
//! candidate or any part of it.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// One failed rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum PasswordViolation {
    TooShort { min: usize, actual: usize },
    TooLong { max: usize, actual: usize },
    MissingUppercase,
    MissingLowercase,
    MissingDigit,
    MissingSpecial,
    ControlCharacter,
    Common,
    KeyboardPattern,
    RepeatedCharacters,
    Sequence,
    Date,
    ContainsEmail,
    ContainsName,
    TooWeak { score: u8, min: u8 },
    RecentlyUsed { count: usize },
}

impl PasswordViolation {
    /// Returns a stable slug for clients that translate the message.
    pub const fn code(&self) -> &'static str {
        match self {
            PasswordViolation::TooShort { .. } => "too_short",
            PasswordViolation::TooLong { .. } => "too_long",
            PasswordViolation::MissingUppercase => "missing_uppercase",
            PasswordViolation::MissingLowercase => "missing_lowercase",
            PasswordViolation::MissingDigit => "missing_digit",
            PasswordViolation::MissingSpecial => "missing_special",
            PasswordViolation::ControlCharacter => "control_character",
            PasswordViolation::Common => "common",
            PasswordViolation::KeyboardPattern => "keyboard_pattern",
            PasswordViolation::RepeatedCharacters => "repeated_characters",
            PasswordViolation::Sequence => "sequence",
            PasswordViolation::Date => "date",
            PasswordViolation::ContainsEmail => "contains_email",
            PasswordViolation::ContainsName => "contains_name",
            PasswordViolation::TooWeak { .. } => "too_weak",
            PasswordViolation::RecentlyUsed { .. } => "recently_used",
        }
    }
}

impl fmt::Display for PasswordViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordViolation::TooShort { min, actual } => {
                write!(
                    f,
                    "Use at least {min} characters; this password has {actual}."
                )
            }
            PasswordViolation::TooLong { max, actual } => {
                write!(
                    f,
                    "Use at most {max} characters; this password has {actual}."
                )
            }
            PasswordViolation::MissingUppercase => {
                f.write_str("Add at least one uppercase letter.")
            }
            PasswordViolation::MissingLowercase => {
                f.write_str("Add at least one lowercase letter.")
            }
            PasswordViolation::MissingDigit => f.write_str("Add at least one digit (0-9)."),
            PasswordViolation::MissingSpecial => f.write_str(
                "Add at least one special character, such as a space or one of ! ? # % & * -.",
            ),
            PasswordViolation::ControlCharacter => {
                f.write_str("Remove invisible control characters such as tabs or line breaks.")
            }
            PasswordViolation::Common => f.write_str(
                "This password is on a list of commonly used passwords. Choose one that other \
                 people are unlikely to use.",
            ),
            PasswordViolation::KeyboardPattern => f.write_str(
                "Avoid runs of neighbouring keys on the keyboard, such as qwer or zaq1.",
            ),
            PasswordViolation::RepeatedCharacters => {
                f.write_str("Avoid repeated characters or blocks, such as aaaa or abcabc.")
            }
            PasswordViolation::Sequence => {
                f.write_str("Avoid sequences such as abcd, 1234 or 9876.")
            }
            PasswordViolation::Date => {
                f.write_str("Avoid dates and years, which are easy to guess.")
            }
            PasswordViolation::ContainsEmail => {
                f.write_str("Do not use your email address or a part of it.")
            }
            PasswordViolation::ContainsName => f.write_str("Do not use your name."),
            PasswordViolation::TooWeak { score, min } => write!(
                f,
                "This password is too easy to guess (strength {score} of 4, at least {min} \
                 needed). Make it longer, for example with a few unrelated words."
            ),
            PasswordViolation::RecentlyUsed { count } => write!(
                f,
                "Choose a password that differs from your last {count} passwords."
            ),
        }
    }
}

/// Every rule a candidate failed, in a fixed order.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("the password does not meet the policy: {}", summary(.violations))]
pub struct PasswordRejection {
    pub violations: Vec<PasswordViolation>,
}

impl PasswordRejection {
    pub fn contains(&self, violation: &PasswordViolation) -> bool {
        self.violations.contains(violation)
    }

    /// Returns whether any violation has this [`PasswordViolation::code`].
    pub fn contains_code(&self, code: &str) -> bool {
        self.violations
            .iter()
            .any(|violation| violation.code() == code)
    }
}

fn summary(violations: &[PasswordViolation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A check that could not finish: the rules rejected the candidate, or the
/// history store failed.
#[derive(Debug, Error)]
pub enum PasswordCheckError<E: std::error::Error + 'static> {
    #[error(transparent)]
    Rejected(#[from] PasswordRejection),
    #[error("password history lookup failed: {0}")]
    History(#[source] E),
}
