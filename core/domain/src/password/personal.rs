//! Words from the user's own email address and name that a password must
//! not contain.
//!
//! The tokens are compared in lower case after NFKC normalization. They are
//! never logged or returned.

use unicode_normalization::UnicodeNormalization;

/// Facts about the user choosing the password, which it must not contain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PersonalInfo<'a> {
    pub email: &'a str,
    /// Display or legal name; may be empty.
    pub name: &'a str,
}

/// Lower-case tokens taken from [`PersonalInfo`], each at least the
/// policy's minimum length.
pub(super) struct PersonalTokens {
    pub email: Vec<String>,
    pub name: Vec<String>,
}

impl PersonalTokens {
    /// Splits the email's local part (before the last `@`) and the name into
    /// the whole string and its words, keeping tokens of `min_length` or
    /// more characters.
    pub fn new(info: &PersonalInfo<'_>, min_length: usize) -> Self {
        let email = fold(info.email);
        let local_part = email
            .rsplit_once('@')
            .map_or(email.as_str(), |(local, _)| local);
        PersonalTokens {
            email: tokens(local_part, min_length),
            name: tokens(&fold(info.name), min_length),
        }
    }

    /// Email tokens first, then name tokens, as zxcvbn's user inputs.
    pub fn all(&self) -> Vec<&str> {
        self.email
            .iter()
            .chain(&self.name)
            .map(String::as_str)
            .collect()
    }

    pub fn email_contained_in(&self, folded_password: &str) -> bool {
        self.email
            .iter()
            .any(|token| folded_password.contains(token.as_str()))
    }

    pub fn name_contained_in(&self, folded_password: &str) -> bool {
        self.name
            .iter()
            .any(|token| folded_password.contains(token.as_str()))
    }
}

/// NFKC, then lower case: the form in which tokens and passwords compare.
pub(super) fn fold(text: &str) -> String {
    text.nfkc().collect::<String>().to_lowercase()
}

fn tokens(text: &str, min_length: usize) -> Vec<String> {
    let long_enough = |token: &str| token.chars().count() >= min_length.max(1);
    let mut found: Vec<String> = Vec::new();
    let whole: String = text.chars().filter(|c| c.is_alphanumeric()).collect();
    if long_enough(&whole) {
        found.push(whole);
    }
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        if long_enough(word) && !found.iter().any(|token| token == word) {
            found.push(word.to_owned());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_tokens_come_from_local_part_only() {
        let info = PersonalInfo {
            email: "Jane.Doe+bills@example.com",
            name: "",
        };
        let tokens = PersonalTokens::new(&info, 3);
        assert_eq!(tokens.email, vec!["janedoebills", "jane", "doe", "bills"]);
        assert!(tokens.name.is_empty());
    }

    #[test]
    fn short_name_words_are_ignored() {
        let info = PersonalInfo {
            email: "",
            name: "Li Wei-Ming",
        };
        let tokens = PersonalTokens::new(&info, 3);
        assert_eq!(tokens.name, vec!["liweiming", "wei", "ming"]);
    }
}
