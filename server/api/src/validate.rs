//! Checks on request fields that the wire types cannot express: formats,
//! maximum lengths and the password policy. Messages never echo a password.

use secrecy::SecretString;
use sharepay_domain::password::{NormalizedPassword, PasswordPolicy, PersonalInfo};
use sharepay_domain::wire::FieldError;

use crate::error::ApiError;

/// Longest email address SMTP can carry (RFC 5321, 254 octets).
const MAX_EMAIL_LENGTH: usize = 254;
/// Maximum length of a device fingerprint, in characters.
const MAX_FINGERPRINT_LENGTH: usize = 256;

/// Returns the email trimmed and lower-cased, or a field error.
pub fn email(raw: &str) -> Result<String, ApiError> {
    let email = raw.trim().to_lowercase();
    if email.len() > MAX_EMAIL_LENGTH {
        return Err(ApiError::invalid_field(
            "email",
            format!("must be at most {MAX_EMAIL_LENGTH} characters"),
        ));
    }
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if !valid {
        return Err(ApiError::invalid_field(
            "email",
            "must be an address such as name@example.org",
        ));
    }
    Ok(email)
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
