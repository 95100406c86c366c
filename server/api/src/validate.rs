//! Checks on request fields that the wire types cannot express.

use secrecy::SecretString;
use unicode_normalization::UnicodeNormalization;

use crate::error::ApiError;

/// Longest email address SMTP can carry (RFC 5321, 254 octets).
const MAX_EMAIL_LENGTH: usize = 254;
const MIN_PASSWORD_LENGTH: usize = 10;
const MAX_PASSWORD_LENGTH: usize = 128;

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

/// Normalizes a new password to NFKC and checks it, returning every failed
/// rule at once.
///
/// TODO: replace with the domain password policy (common passwords,
/// patterns, strength score, history); until then only length and character
/// classes are enforced.
pub fn new_password(raw: &str, _email: &str) -> Result<SecretString, ApiError> {
    let normalized: String = raw.nfkc().collect();
    let length = normalized.chars().count();
    let mut problems = Vec::new();
    if length < MIN_PASSWORD_LENGTH {
        problems.push(format!("must be at least {MIN_PASSWORD_LENGTH} characters"));
    }
    if length > MAX_PASSWORD_LENGTH {
        problems.push(format!("must be at most {MAX_PASSWORD_LENGTH} characters"));
    }
    if !normalized.chars().any(char::is_uppercase) {
        problems.push("must contain an uppercase letter".to_owned());
    }
    if !normalized.chars().any(char::is_lowercase) {
        problems.push("must contain a lowercase letter".to_owned());
    }
    if !normalized.chars().any(|c| c.is_numeric()) {
        problems.push("must contain a digit".to_owned());
    }
    if !normalized
        .chars()
        .any(|c| !c.is_alphanumeric() && !c.is_whitespace())
    {
        problems.push("must contain a special character such as ! or -".to_owned());
    }
    if problems.is_empty() {
        return Ok(SecretString::from(normalized));
    }
    Err(ApiError::InvalidInput {
        detail: format!("password: {}", problems.join("; ")),
        errors: problems
            .into_iter()
            .map(|message| sharepay_domain::wire::FieldError {
                field: "password".to_owned(),
                message,
            })
            .collect(),
    })
}
