//! The password policy: normalization, composition, guessability and
//! history rules, all configurable.
//!
//! Candidates are normalized to Unicode NFKC first, and the normalized form
//! is what the server hashes. Every failed rule comes back at once. This
//! module must never hash, store, log or echo a password.

mod guessability;
mod history;
mod personal;
mod violation;

pub use history::PasswordHistory;
pub use personal::PersonalInfo;
pub use violation::{PasswordCheckError, PasswordRejection, PasswordViolation};

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use personal::PersonalTokens;

/// Every rule and number of the password policy. The defaults are the
/// SharePay policy; `docs/security.md` explains where they depart from
/// NIST SP 800-63B, OWASP ASVS and PCI DSS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordPolicy {
    /// Minimum length in Unicode scalar values, counted after NFKC.
    pub min_length: usize,
    /// Maximum length in Unicode scalar values, counted after NFKC.
    pub max_length: usize,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_digit: bool,
    /// Anything that is not a letter, a digit or a control character counts,
    /// including the space.
    pub require_special: bool,
    /// Reject tabs, line breaks and other control characters.
    pub reject_control_characters: bool,
    /// Reject an entry of the common-password list, allowing for case,
    /// look-alike substitutions (`p@ssw0rd`) and reversal.
    pub reject_common: bool,
    /// A list entry padded with at most this many other characters
    /// (`Password1!` is `password1` plus one) still counts as common.
    pub common_max_extra_chars: usize,
    /// Reject keyboard walks, repeats, sequences and dates.
    pub reject_patterns: bool,
    /// Shortest walk, repeat or sequence that is rejected, in characters.
    pub min_pattern_length: usize,
    /// Reject the user's email local part, name, or words from them.
    pub reject_personal_info: bool,
    /// Shortest word from the email or name that is looked for.
    pub min_personal_token_length: usize,
    /// Lowest accepted zxcvbn score, 0 to 4; 3 means more than about 10^8
    /// estimated guesses.
    pub min_strength_score: u8,
    /// How many previous passwords a new one must differ from; 0 turns the
    /// history check off.
    pub history_count: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: 10,
            max_length: 128,
            require_uppercase: true,
            require_lowercase: true,
            require_digit: true,
            require_special: true,
            reject_control_characters: true,
            reject_common: true,
            common_max_extra_chars: 4,
            reject_patterns: true,
            min_pattern_length: 4,
            reject_personal_info: true,
            min_personal_token_length: 3,
            min_strength_score: 3,
            history_count: 5,
        }
    }
}

/// A policy configuration that cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PasswordPolicyError {
    #[error("password policy min_length must be at least 1, but is 0")]
    ZeroMinLength,
    #[error(
        "password policy min_length ({min}) is greater than max_length ({max}): lower min_length or raise max_length"
    )]
    LengthRange { min: usize, max: usize },
    #[error("password policy min_strength_score is {score}, but zxcvbn scores run from 0 to 4")]
    StrengthScore { score: u8 },
    #[error(
        "password policy min_pattern_length is {length}: use at least 2, or set reject_patterns to false"
    )]
    PatternLength { length: usize },
}

/// A password after NFKC normalization: the exact string to hash. Its
/// memory is wiped on drop, and `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct NormalizedPassword(Zeroizing<String>);

impl NormalizedPassword {
    /// Normalizes `candidate` to NFKC.
    pub fn new(candidate: &str) -> Self {
        NormalizedPassword(Zeroizing::new(candidate.nfkc().collect()))
    }

    /// Returns the normalized text, for the password hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in Unicode scalar values.
    pub fn char_count(&self) -> usize {
        self.0.chars().count()
    }
}

impl fmt::Debug for NormalizedPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NormalizedPassword([redacted])")
    }
}

impl PasswordPolicy {
    /// Checks that the configuration is usable; call it once at start-up.
    pub fn validate(&self) -> Result<(), PasswordPolicyError> {
        if self.min_length == 0 {
            return Err(PasswordPolicyError::ZeroMinLength);
        }
        if self.min_length > self.max_length {
            return Err(PasswordPolicyError::LengthRange {
                min: self.min_length,
                max: self.max_length,
            });
        }
        if self.min_strength_score > 4 {
            return Err(PasswordPolicyError::StrengthScore {
                score: self.min_strength_score,
            });
        }
        if self.reject_patterns && self.min_pattern_length < 2 {
            return Err(PasswordPolicyError::PatternLength {
                length: self.min_pattern_length,
            });
        }
        Ok(())
    }

    /// Checks every rule except history. Returns the normalized password to
    /// hash, or every violation at once.
    pub fn check(
        &self,
        candidate: &str,
        personal: &PersonalInfo<'_>,
    ) -> Result<NormalizedPassword, PasswordRejection> {
        let normalized = NormalizedPassword::new(candidate);
        let violations = self.violations(&normalized, personal);
        if violations.is_empty() {
            Ok(normalized)
        } else {
            Err(PasswordRejection { violations })
        }
    }

    /// Checks every rule including history, which the server supplies.
    /// Violations of the other rules and reuse come back together.
    pub fn check_with_history<H: PasswordHistory>(
        &self,
        candidate: &str,
        personal: &PersonalInfo<'_>,
        history: &H,
    ) -> Result<NormalizedPassword, PasswordCheckError<H::Error>> {
        let normalized = NormalizedPassword::new(candidate);
        let mut violations = self.violations(&normalized, personal);
        if self.history_count > 0
            && history
                .matches_recent(&normalized, self.history_count)
                .map_err(PasswordCheckError::History)?
        {
            violations.push(PasswordViolation::RecentlyUsed {
                count: self.history_count,
            });
        }
        if violations.is_empty() {
            Ok(normalized)
        } else {
            Err(PasswordCheckError::Rejected(PasswordRejection {
                violations,
            }))
        }
    }

    fn violations(
        &self,
        normalized: &NormalizedPassword,
        personal: &PersonalInfo<'_>,
    ) -> Vec<PasswordViolation> {
        let password = normalized.expose();
        let mut found = Vec::new();

        let length = normalized.char_count();
        if length < self.min_length {
            found.push(PasswordViolation::TooShort {
                min: self.min_length,
                actual: length,
            });
        }
        if length > self.max_length {
            found.push(PasswordViolation::TooLong {
                max: self.max_length,
                actual: length,
            });
        }
        self.check_composition(password, &mut found);

        let folded = Zeroizing::new(password.to_lowercase());
        let tokens = PersonalTokens::new(personal, self.min_personal_token_length);
        if self.reject_personal_info {
            if tokens.email_contained_in(&folded) {
                found.push(PasswordViolation::ContainsEmail);
            }
            if tokens.name_contained_in(&folded) {
                found.push(PasswordViolation::ContainsName);
            }
        }
        guessability::check(self, password, &folded, &tokens, &mut found);

        found.sort();
        found.dedup();
        found
    }

    fn check_composition(&self, password: &str, found: &mut Vec<PasswordViolation>) {
        let has = |test: fn(char) -> bool| password.chars().any(test);
        if self.require_uppercase && !has(char::is_uppercase) {
            found.push(PasswordViolation::MissingUppercase);
        }
        if self.require_lowercase && !has(char::is_lowercase) {
            found.push(PasswordViolation::MissingLowercase);
        }
        if self.require_digit && !has(char::is_numeric) {
            found.push(PasswordViolation::MissingDigit);
        }
        if self.require_special && !has(|c| !c.is_alphanumeric() && !c.is_control()) {
            found.push(PasswordViolation::MissingSpecial);
        }
        if self.reject_control_characters && has(char::is_control) {
            found.push(PasswordViolation::ControlCharacter);
        }
    }
}
