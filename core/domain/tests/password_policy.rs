//! Boundary and rule tests of the password policy with its defaults.

use std::cell::Cell;
use std::fmt;

use sharepay_domain::password::{
    NormalizedPassword, PasswordCheckError, PasswordHistory, PasswordPolicy, PasswordPolicyError,
    PasswordViolation, PersonalInfo,
};

const JANE: PersonalInfo<'static> = PersonalInfo {
    email: "jane.doe@example.com",
    name: "Jane Doe",
};

/// A strong 12-character password with every character class.
const STRONG: &str = "Vq7#mLp2xRz!";

fn check(candidate: &str) -> Result<NormalizedPassword, Vec<PasswordViolation>> {
    PasswordPolicy::default()
        .check(candidate, &JANE)
        .map_err(|rejection| rejection.violations)
}

fn violations(candidate: &str) -> Vec<PasswordViolation> {
    check(candidate).err().unwrap_or_default()
}

/// `length` characters with no pattern zxcvbn or the run checks would find:
/// a fixed pseudo-random walk over letters, digits and symbols.
fn random_looking(length: usize) -> String {
    const ALPHABET: &[u8] = b"AbCdEfGhJkMnPqRsTuVwXyZ23456789!#%&*?@";
    let mut state: u64 = 0x5eed_1234_abcd_0001;
    let mut text = String::with_capacity(length);
    while text.chars().count() < length {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let index = usize::try_from(state >> 33).expect("fits usize") % ALPHABET.len();
        let next = char::from(ALPHABET[index]);
        // Skip a character that would extend a run of the previous one.
        if text
            .chars()
            .last()
            .is_some_and(|last| last.eq_ignore_ascii_case(&next))
        {
            continue;
        }
        text.push(next);
    }
    text
}

#[test]
fn strong_password_is_accepted() {
    assert!(check(STRONG).is_ok(), "{:?}", violations(STRONG));
}

#[test]
fn length_9_is_too_short() {
    let candidate = "Vq7#mLp2x";
    assert_eq!(candidate.chars().count(), 9);
    assert!(violations(candidate).contains(&PasswordViolation::TooShort { min: 10, actual: 9 }));
}

#[test]
fn length_10_is_accepted() {
    let candidate = "Vq7#mLp2xR";
    assert_eq!(candidate.chars().count(), 10);
    assert!(check(candidate).is_ok(), "{:?}", violations(candidate));
}

#[test]
fn length_128_is_accepted() {
    let candidate = random_looking(128);
    assert!(check(&candidate).is_ok(), "{:?}", violations(&candidate));
}

#[test]
fn length_129_is_too_long() {
    let candidate = random_looking(129);
    assert_eq!(
        violations(&candidate),
        vec![PasswordViolation::TooLong {
            max: 128,
            actual: 129
        }]
    );
}

#[test]
fn missing_uppercase_is_reported() {
    assert_eq!(
        violations("vq7#mlp2xrz!"),
        vec![PasswordViolation::MissingUppercase]
    );
}

#[test]
fn missing_lowercase_is_reported() {
    assert_eq!(
        violations("VQ7#MLP2XRZ!"),
        vec![PasswordViolation::MissingLowercase]
    );
}

#[test]
fn missing_digit_is_reported() {
    assert_eq!(
        violations("Vqh#mLpexRz!"),
        vec![PasswordViolation::MissingDigit]
    );
}

#[test]
fn missing_special_is_reported() {
    assert_eq!(
        violations("Vq7kmLp2xRzw"),
        vec![PasswordViolation::MissingSpecial]
    );
}

#[test]
fn space_counts_as_special_character() {
    assert!(
        check("Vq7 mLp2xRzw").is_ok(),
        "{:?}",
        violations("Vq7 mLp2xRzw")
    );
}

#[test]
fn control_character_is_rejected() {
    assert!(violations("Vq7#mLp2\txRz!").contains(&PasswordViolation::ControlCharacter));
}

#[test]
fn common_passwords_are_rejected() {
    for candidate in [
        "Password1!",
        "Password123!",
        "Qwertyuiop1!",
        "Asdfghjk;l9!",
        "P@ssw0rd123!",
        "1qaz2wsx3edC!",
    ] {
        assert!(
            violations(candidate).contains(&PasswordViolation::Common),
            "{candidate:?} gave {:?}",
            violations(candidate)
        );
    }
}

#[test]
fn common_password_list_has_at_least_10000_entries() {
    // zxcvbn's list has 30,000 entries; "tazdevil" is ranked 10,006 and
    // "wmegrfux" 20,001, and neither is a word in another dictionary.
    assert!(violations("Tazdevil9!").contains(&PasswordViolation::Common));
    assert!(violations("Wmegrfux9!").contains(&PasswordViolation::Common));
}

#[test]
fn own_email_local_part_is_rejected() {
    assert!(violations("Jane.Doe#7Kq").contains(&PasswordViolation::ContainsEmail));
    assert!(violations("xJaneDoe#7Kq").contains(&PasswordViolation::ContainsEmail));
}

#[test]
fn own_email_with_lookalike_characters_is_rejected() {
    let found = violations("J4ne.D0e#7Kq!");
    assert!(
        found.contains(&PasswordViolation::ContainsEmail)
            || found.contains(&PasswordViolation::ContainsName),
        "{found:?}"
    );
}

#[test]
fn own_name_is_rejected() {
    let info = PersonalInfo {
        email: "jd@example.com",
        name: "Gwendolyn Marsh",
    };
    let rejection = PasswordPolicy::default()
        .check("Gwendolyn#7Kq2", &info)
        .expect_err("contains the name");
    assert!(
        rejection.contains(&PasswordViolation::ContainsName),
        "{rejection:?}"
    );
}

#[test]
fn keyboard_walk_is_rejected() {
    assert!(violations("Zaq1@wsxVq7#").contains(&PasswordViolation::KeyboardPattern));
}

#[test]
fn repeated_characters_are_rejected() {
    assert!(violations("Aaaaaaaa1!x").contains(&PasswordViolation::RepeatedCharacters));
    assert!(violations("Vq7#Vq7#Vq7#").contains(&PasswordViolation::RepeatedCharacters));
}

#[test]
fn sequences_are_rejected() {
    assert!(violations("Abcdefgh1!Q").contains(&PasswordViolation::Sequence));
    assert!(violations("Vq#mLp9876xR").contains(&PasswordViolation::Sequence));
}

#[test]
fn dates_are_rejected() {
    assert!(violations("19/04/1987Ab!").contains(&PasswordViolation::Date));
    assert!(violations("Summer2024!!").contains(&PasswordViolation::Date));
}

#[test]
fn weak_password_gets_every_failed_rule_at_once() {
    assert_eq!(
        violations("password"),
        vec![
            PasswordViolation::TooShort { min: 10, actual: 8 },
            PasswordViolation::MissingUppercase,
            PasswordViolation::MissingDigit,
            PasswordViolation::MissingSpecial,
            PasswordViolation::Common,
            PasswordViolation::TooWeak { score: 0, min: 3 },
        ]
    );
}

#[test]
fn combining_marks_count_after_normalization() {
    // "Cafécrème9!" has 11 scalar values precomposed and 13 with combining
    // accents; both normalize to the same 11 characters.
    let precomposed = "Caf\u{e9}cr\u{e8}me9!";
    let combining = "Cafe\u{301}cre\u{300}me9!";
    assert_eq!(combining.chars().count(), 13);
    let a = NormalizedPassword::new(precomposed);
    let b = NormalizedPassword::new(combining);
    assert_eq!(a, b, "both spellings must hash the same");
    assert_eq!(b.char_count(), 11);
}

#[test]
fn combining_marks_do_not_reach_minimum_length() {
    // Nine characters after NFC/NFKC, ten or more scalar values as typed.
    let candidate = "Vq7#\u{e9}Lp2x".replace('\u{e9}', "e\u{301}");
    assert_eq!(candidate.chars().count(), 10);
    assert!(violations(&candidate).contains(&PasswordViolation::TooShort { min: 10, actual: 9 }));
}

#[test]
fn compatibility_characters_are_folded() {
    // Full-width letters and digits become ASCII under NFKC.
    let normalized = NormalizedPassword::new("\u{ff36}q\u{ff17}#mLp2xRz!");
    assert_eq!(normalized.expose(), STRONG);
}

#[test]
fn messages_never_echo_the_password() {
    // "password" itself is left out: the messages use that word.
    for candidate in [
        "letmein",
        "Jane.Doe#7Kq",
        "Summer2024!!",
        "Vq7#Vq7#Vq7#",
        &random_looking(129),
    ] {
        let rejection = PasswordPolicy::default()
            .check(candidate, &JANE)
            .expect_err("rejected");
        let text = rejection.to_string();
        assert!(
            !text.contains(candidate),
            "message echoes the password: {text}"
        );
        assert!(
            !text.to_lowercase().contains("jane"),
            "message echoes the email: {text}"
        );
    }
}

#[test]
fn normalized_password_debug_is_redacted() {
    let normalized = NormalizedPassword::new(STRONG);
    assert_eq!(format!("{normalized:?}"), "NormalizedPassword([redacted])");
}

#[test]
fn every_rule_is_configurable() {
    let relaxed = PasswordPolicy {
        min_length: 4,
        require_uppercase: false,
        require_digit: false,
        require_special: false,
        reject_common: false,
        reject_patterns: false,
        reject_personal_info: false,
        min_strength_score: 0,
        ..PasswordPolicy::default()
    };
    assert!(relaxed.validate().is_ok());
    assert!(relaxed.check("password", &JANE).is_ok());

    let stricter = PasswordPolicy {
        min_length: 16,
        ..PasswordPolicy::default()
    };
    let rejection = stricter.check(STRONG, &JANE).expect_err("too short for 16");
    assert!(rejection.contains(&PasswordViolation::TooShort {
        min: 16,
        actual: 12
    }));
}

#[test]
fn invalid_policy_is_reported() {
    let inverted = PasswordPolicy {
        min_length: 20,
        max_length: 10,
        ..PasswordPolicy::default()
    };
    assert_eq!(
        inverted.validate(),
        Err(PasswordPolicyError::LengthRange { min: 20, max: 10 })
    );
    let score = PasswordPolicy {
        min_strength_score: 5,
        ..PasswordPolicy::default()
    };
    assert_eq!(
        score.validate(),
        Err(PasswordPolicyError::StrengthScore { score: 5 })
    );
}

#[test]
fn policy_reads_partial_configuration() {
    let policy: PasswordPolicy =
        serde_json::from_str(r#"{"min_length": 12, "history_count": 10}"#).expect("valid");
    assert_eq!(policy.min_length, 12);
    assert_eq!(policy.history_count, 10);
    assert_eq!(policy.max_length, 128);
}

/// History backed by the normalized text of earlier passwords; a real
/// server compares against salted hashes instead.
struct FakeHistory {
    previous: Vec<&'static str>,
    requested_count: Cell<usize>,
}

#[derive(Debug)]
struct StoreDown;

impl fmt::Display for StoreDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("store unavailable")
    }
}

impl std::error::Error for StoreDown {}

impl PasswordHistory for FakeHistory {
    type Error = StoreDown;

    fn matches_recent(
        &self,
        candidate: &NormalizedPassword,
        count: usize,
    ) -> Result<bool, StoreDown> {
        self.requested_count.set(count);
        if self.previous.is_empty() {
            return Err(StoreDown);
        }
        Ok(self
            .previous
            .iter()
            .take(count)
            .any(|old| *old == candidate.expose()))
    }
}

#[test]
fn reused_password_is_rejected_with_other_violations() {
    let history = FakeHistory {
        previous: vec!["Vq7#mLp2xRz!", "older"],
        requested_count: Cell::new(0),
    };
    let result = PasswordPolicy::default().check_with_history(STRONG, &JANE, &history);
    let Err(PasswordCheckError::Rejected(rejection)) = result else {
        panic!("expected a rejection, got {result:?}");
    };
    assert_eq!(
        rejection.violations,
        vec![PasswordViolation::RecentlyUsed { count: 5 }]
    );
    assert_eq!(history.requested_count.get(), 5);
}

#[test]
fn history_receives_normalized_candidate() {
    let history = FakeHistory {
        previous: vec![STRONG],
        requested_count: Cell::new(0),
    };
    let full_width = "\u{ff36}q\u{ff17}#mLp2xRz!";
    let result = PasswordPolicy::default().check_with_history(full_width, &JANE, &history);
    assert!(matches!(result, Err(PasswordCheckError::Rejected(_))));
}

#[test]
fn new_password_passes_history() {
    let history = FakeHistory {
        previous: vec!["Xj4!Ab9#Lm2?"],
        requested_count: Cell::new(0),
    };
    assert!(
        PasswordPolicy::default()
            .check_with_history(STRONG, &JANE, &history)
            .is_ok()
    );
}

#[test]
fn history_failure_is_an_error_not_a_pass() {
    let history = FakeHistory {
        previous: vec![],
        requested_count: Cell::new(0),
    };
    let result = PasswordPolicy::default().check_with_history(STRONG, &JANE, &history);
    assert!(matches!(
        result,
        Err(PasswordCheckError::History(StoreDown))
    ));
}
