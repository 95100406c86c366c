//! Checks that need a password-cracking model: common passwords, keyboard
//! walks, repeats, sequences, dates, personal words and overall strength.
//!
//! The common-password list and the keyboard layouts are the dictionaries
//! built into the zxcvbn crate (version 3.1; its password list has 30,000
//! entries). zxcvbn reads the system clock to time itself and to know the
//! current year for date scoring; it does no other I/O. This module must
//! never log or return any part of the password.

use zxcvbn::matching::patterns::{DictionaryPattern, MatchPattern};

use super::personal::PersonalTokens;
use super::{PasswordPolicy, PasswordViolation};

/// Adds the violations found by zxcvbn and by the run checks to `found`.
pub(super) fn check(
    policy: &PasswordPolicy,
    password: &str,
    folded_password: &str,
    personal: &PersonalTokens,
    found: &mut Vec<PasswordViolation>,
) {
    let user_inputs = personal.all();
    let entropy = zxcvbn::zxcvbn(password, &user_inputs);
    let length = password.chars().count();

    for found_match in entropy.sequence() {
        let token_length = found_match.token.chars().count();
        if let Some(violation) =
            classify(policy, &found_match.pattern, token_length, length, personal)
        {
            found.push(violation);
        }
    }

    // zxcvbn reports only the cheapest decomposition, which can hide a run
    // inside a dictionary word ("aaaaaaaa" is a film-title entry). It also
    // reads only the first 100 characters. These checks read everything.
    if policy.reject_patterns {
        if longest_run(folded_password, |a, b| a == b) >= policy.min_pattern_length {
            found.push(PasswordViolation::RepeatedCharacters);
        }
        let ascending = longest_run(folded_password, |a, b| is_alphanumeric_step(a, b, 1));
        let descending = longest_run(folded_password, |a, b| is_alphanumeric_step(a, b, -1));
        if ascending.max(descending) >= policy.min_pattern_length {
            found.push(PasswordViolation::Sequence);
        }
    }

    let score = u8::from(entropy.score());
    if score < policy.min_strength_score {
        found.push(PasswordViolation::TooWeak {
            score,
            min: policy.min_strength_score,
        });
    }
}

/// Maps one zxcvbn match to the violation it shows, if the policy rejects it.
fn classify(
    policy: &PasswordPolicy,
    pattern: &MatchPattern,
    token_length: usize,
    password_length: usize,
    personal: &PersonalTokens,
) -> Option<PasswordViolation> {
    let long_pattern = policy.reject_patterns && token_length >= policy.min_pattern_length;
    match pattern {
        MatchPattern::Dictionary(word) => match dictionary_name(word).as_str() {
            "Passwords"
                if policy.reject_common
                    && password_length - token_length <= policy.common_max_extra_chars =>
            {
                Some(PasswordViolation::Common)
            }
            // zxcvbn ranks user inputs by their position in the list, from 1,
            // and the list has the email tokens first.
            "UserInputs"
                if policy.reject_personal_info
                    && token_length >= policy.min_personal_token_length =>
            {
                if word.rank <= personal.email.len() {
                    Some(PasswordViolation::ContainsEmail)
                } else {
                    Some(PasswordViolation::ContainsName)
                }
            }
            _ => None,
        },
        MatchPattern::Spatial(_) if long_pattern => Some(PasswordViolation::KeyboardPattern),
        MatchPattern::Repeat(_) if long_pattern => Some(PasswordViolation::RepeatedCharacters),
        MatchPattern::Sequence(_) if long_pattern => Some(PasswordViolation::Sequence),
        MatchPattern::Date(_) if policy.reject_patterns => Some(PasswordViolation::Date),
        MatchPattern::Regex(regex)
            if policy.reject_patterns && regex.regex_name == "recent_year" =>
        {
            Some(PasswordViolation::Date)
        }
        _ => None,
    }
}

/// The dictionary a match came from.
///
/// NOTE: zxcvbn 3.1 does not export its `DictionaryType` enum, so the
/// variant is compared by its `Debug` name. A rename upstream would make
/// these checks pass silently, and the common-password tests would fail.
fn dictionary_name(word: &DictionaryPattern) -> String {
    format!("{:?}", word.dictionary_name)
}

/// Length of the longest run of characters where each consecutive pair
/// satisfies `step`.
fn longest_run(text: &str, step: impl Fn(char, char) -> bool) -> usize {
    let mut longest = 0;
    let mut current = 0;
    let mut previous: Option<char> = None;
    for c in text.chars() {
        current = match previous {
            Some(p) if step(p, c) => current + 1,
            _ => 1,
        };
        longest = longest.max(current);
        previous = Some(c);
    }
    longest
}

/// Returns whether `b` follows `a` by `delta` within `0-9` or `a-z`.
fn is_alphanumeric_step(a: char, b: char, delta: i32) -> bool {
    let same_class = (a.is_ascii_digit() && b.is_ascii_digit())
        || (a.is_ascii_lowercase() && b.is_ascii_lowercase());
    same_class && (b as i32 - a as i32) == delta
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_run_counts_identical_characters() {
        assert_eq!(longest_run("abbbbc", |a, b| a == b), 4);
        assert_eq!(longest_run("", |a, b| a == b), 0);
    }

    #[test]
    fn sequences_stay_within_digits_or_letters() {
        assert_eq!(
            longest_run("x6789y", |a, b| is_alphanumeric_step(a, b, 1)),
            4
        );
        assert_eq!(
            longest_run("zyxw", |a, b| is_alphanumeric_step(a, b, -1)),
            4
        );
        // '9' to ':' is a code-point step but not a digit sequence.
        assert_eq!(longest_run("789:", |a, b| is_alphanumeric_step(a, b, 1)), 3);
    }
}
