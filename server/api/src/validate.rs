//! Checks on request fields that the wire types cannot express: formats,
//! maximum lengths and the password policy. Messages never echo a password.

use secrecy::SecretString;
use sharepay_domain::password::{NormalizedPassword, PasswordPolicy, PersonalInfo};
use sharepay_domain::wire::FieldError;
use unicode_normalization::UnicodeNormalization;

use crate::error::ApiError;

/// Maximum length of an email address SMTP can carry (RFC 5321, 254 octets).
const MAX_EMAIL_LENGTH: usize = 254;
/// Maximum length of a device fingerprint, in characters.
const MAX_FINGERPRINT_LENGTH: usize = 256;

/// Maximum length of the local part (before the `@`) in SMTP (RFC 5321, 64 octets).
const MAX_LOCAL_PART_LENGTH: usize = 64;

/// Returns the email in the one form the server stores and looks up:
/// trimmed, NFKC-normalized and lower-cased, so that look-alike spellings
/// (full-width letters, decomposed accents, letter case) name one account.
///
/// The local part is a dot-atom: letters and digits of any script plus
/// ASCII `!#$%&'*+-/=?^_`{|}~`, with no leading, trailing or double dot.
/// Quoted local parts are not accepted. The domain must be ASCII host name
/// labels; an internationalized domain is accepted in its `xn--` form.
/// Control and invisible formatting characters (zero-width spaces,
/// direction overrides) are rejected everywhere.
pub fn email(raw: &str) -> Result<String, ApiError> {
    let email: String = raw.trim().nfkc().collect::<String>().to_lowercase();
    if email.len() > MAX_EMAIL_LENGTH {
        return Err(ApiError::invalid_field(
            "email",
            format!("must be at most {MAX_EMAIL_LENGTH} characters"),
        ));
    }
    if email
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || is_invisible_format(c))
    {
        return Err(ApiError::invalid_field(
            "email",
            "contains a space, control or invisible character; type the address again",
        ));
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err(ApiError::invalid_field(
            "email",
            "must be an address such as name@example.org",
        ));
    };
    if let Err(message) = check_local_part(local) {
        return Err(ApiError::invalid_field("email", message));
    }
    if let Err(message) = check_domain(domain) {
        return Err(ApiError::invalid_field("email", message));
    }
    Ok(email)
}

/// Reports characters of Unicode category Cf that change how text looks or
/// reads without being visible: soft hyphen, zero-width characters, word
/// joiners, direction marks, overrides and isolates, and the byte-order mark.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
    )
}

fn check_local_part(local: &str) -> Result<(), String> {
    if local.is_empty() {
        return Err("is missing the name before the @, as in name@example.org".to_owned());
    }
    if local.len() > MAX_LOCAL_PART_LENGTH {
        return Err(format!(
            "the part before the @ must be at most {MAX_LOCAL_PART_LENGTH} characters"
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(
            "the part before the @ cannot start or end with a dot or have two dots in a row"
                .to_owned(),
        );
    }
    let allowed = |c: char| c.is_alphanumeric() || c == '.' || "!#$%&'*+-/=?^_`{|}~".contains(c);
    if let Some(bad) = local.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "the part before the @ cannot contain {bad:?}; use letters, digits and . _ - +"
        ));
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), String> {
    if !domain.is_ascii() {
        return Err(
            "the domain after the @ must be ASCII; write an internationalized domain in its xn-- form"
                .to_owned(),
        );
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err("the domain after the @ needs a dot, as in example.org".to_owned());
    }
    for label in &labels {
        let valid = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid {
            return Err(format!(
                "the domain after the @ has an invalid part {label:?}; use letters, digits and hyphens between dots"
            ));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err("the domain after the @ must be a name, not an IP address".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod email_tests {
    use super::email;

    #[test]
    fn look_alike_spellings_normalize_to_one_address() {
        let plain = email("alice@example.org").expect("plain");

        assert_eq!(
            email("\u{FF41}lice@example.org").expect("full-width a"),
            plain
        );
        assert_eq!(email("Alice@EXAMPLE.org").expect("upper case"), plain);
        assert_eq!(email("  alice@example.org ").expect("spaces around"), plain);
        assert_eq!(
            email("ren\u{0065}\u{0301}@example.org").expect("decomposed"),
            email("ren\u{00E9}@example.org").expect("composed"),
        );
    }

    #[test]
    fn invisible_and_control_characters_are_rejected() {
        for raw in [
            "ali\u{200B}ce@example.org",
            "alice\u{202E}@example.org",
            "alice\u{0000}@example.org",
            "al ice@example.org",
            "alice@exa\u{2060}mple.org",
        ] {
            assert!(email(raw).is_err(), "{raw:?} was accepted");
        }
    }

    #[test]
    fn malformed_addresses_are_rejected() {
        for raw in [
            "alice",
            "@example.org",
            "alice@",
            "alice@example",
            "alice@-example.org",
            "alice@exa_mple.org",
            "alice@example..org",
            "alice@\"example\".org",
            "alice@exa/mple.org",
            ".alice@example.org",
            "al..ice@example.org",
            "\"alice\"@example.org",
            "alice@10.0.0.1",
            "alice@b\u{00FC}cher.example",
        ] {
            assert!(email(raw).is_err(), "{raw:?} was accepted");
        }
    }

    #[test]
    fn ordinary_addresses_are_accepted() {
        for raw in [
            "a.b+tag@example.org",
            "o'brien@example.co.uk",
            "j\u{00F6}rg@xn--bcher-kva.example",
            "x_y-z@sub.example-domain.org",
        ] {
            assert!(email(raw).is_ok(), "{raw:?} was rejected");
        }
    }
}

/// Checks a new password against the domain password policy, after NFKC
/// normalization, and returns the normalized form to hash. Every failed rule
/// becomes one field error on `password`.
///
/// The password history rule is not checked here: registration has no
/// history, and password changes do not exist yet.
pub fn new_password(raw: &str, email: &str) -> Result<SecretString, ApiError> {
    let policy = PasswordPolicy::default();
    let personal = PersonalInfo { email, name: "" };
    match policy.check(raw, &personal) {
        Ok(normalized) => Ok(SecretString::from(normalized.expose())),
        Err(rejection) => Err(ApiError::invalid_fields(
            rejection
                .violations
                .iter()
                .map(|violation| FieldError {
                    field: "password".to_owned(),
                    message: violation.to_string(),
                })
                .collect(),
        )),
    }
}

/// Normalizes a password given at login to NFKC, as it was when hashed, and
/// rejects one longer than any accepted password.
pub fn login_password(raw: &str) -> Result<SecretString, ApiError> {
    let normalized = NormalizedPassword::new(raw);
    let max = PasswordPolicy::default().max_length;
    if normalized.char_count() > max {
        return Err(ApiError::invalid_field(
            "password",
            format!("must be at most {max} characters"),
        ));
    }
    Ok(SecretString::from(normalized.expose()))
}

/// Checks the optional device fingerprint's length.
pub fn device_fingerprint(raw: Option<&str>) -> Result<(), ApiError> {
    match raw {
        Some(value) if value.chars().count() > MAX_FINGERPRINT_LENGTH => {
            Err(ApiError::invalid_field(
                "device_fingerprint",
                format!("must be at most {MAX_FINGERPRINT_LENGTH} characters"),
            ))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn weak_password_lists_every_violation() {
        let error = new_password("password", "ada@example.org").expect_err("weak password");

        let ApiError::InvalidInput { errors, .. } = error else {
            panic!("expected invalid input, got {error:?}");
        };
        assert!(errors.len() >= 3, "{errors:?}");
        assert!(errors.iter().all(|e| e.field == "password"));
        assert!(errors.iter().all(|e| !e.message.contains("password1")));
    }

    #[test]
    fn strong_password_is_normalized() {
        // U+FF21 (fullwidth A) normalizes to "A" under NFKC.
        let password = new_password("\u{FF21}mber-Lantern-Quiet-92!", "ada@example.org")
            .expect("strong password");

        assert!(password.expose_secret().starts_with("Amber"));
    }

    #[test]
    fn password_containing_email_is_rejected() {
        let error = new_password("Adalovelace-Quiet-92!", "adalovelace@example.org")
            .expect_err("contains the email");

        assert!(error.to_problem().detail.contains("email"));
    }

    #[test]
    fn long_email_is_rejected() {
        let email = format!("{}@example.org", "a".repeat(250));

        let error = self::email(&email).expect_err("too long");
        assert_eq!(error.to_problem().errors[0].field, "email");
    }

    #[test]
    fn long_login_password_is_rejected() {
        let error = login_password(&"x".repeat(129)).expect_err("too long");

        assert_eq!(error.to_problem().errors[0].field, "password");
    }
}
