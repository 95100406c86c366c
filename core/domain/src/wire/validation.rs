//! Collection of per-field validation errors for request bodies.
//!
//! Validation reports every offending field at once, keyed by its JSON
//! path. Messages must never contain a secret the request carried.

use crate::wire::FieldError;

/// Accumulates [`FieldError`]s while a request body is checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldErrors {
    errors: Vec<FieldError>,
}

impl FieldErrors {
    pub fn new() -> Self {
        FieldErrors::default()
    }

    /// Records that `field` (a JSON path such as `members[2].shares`) is invalid.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Returns `value`, or records `field` as missing when it is `None`.
    pub fn require<T>(&mut self, field: &str, value: Option<T>, hint: &str) -> Option<T> {
        if value.is_none() {
            self.add(field, format!("{field} is required {hint}"));
        }
        value
    }

    /// Records `field` as not allowed when it is set.
    pub fn forbid<T>(&mut self, field: &str, value: &Option<T>, hint: &str) {
        if value.is_some() {
            self.add(field, format!("{field} is not allowed {hint}: remove it"));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn as_slice(&self) -> &[FieldError] {
        &self.errors
    }

    /// Joins every field and message into one line for a problem's `detail`.
    pub fn detail(&self) -> String {
        self.errors
            .iter()
            .map(|error| format!("{}: {}", error.field, error.message))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Returns `value` when no error was recorded, else every error.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self.errors)
        }
    }

    pub fn into_vec(self) -> Vec<FieldError> {
        self.errors
    }
}

/// Whether a `Content-Type` value is `application/json`, with at most a
/// UTF-8 charset parameter. Types that only start the same way, such as
/// `application/jsonp`, are not JSON.
pub fn is_json_media_type(value: &str) -> bool {
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        && parts.all(|parameter| {
            let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
            name.trim().eq_ignore_ascii_case("charset")
                && value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_media_types_count_as_json() {
        for value in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=\"UTF-8\"",
        ] {
            assert!(is_json_media_type(value), "{value}");
        }
        for value in [
            "application/jsonp",
            "application/json-patch+json",
            "application/json; charset=latin1",
            "text/plain",
            "",
        ] {
            assert!(!is_json_media_type(value), "{value}");
        }
    }

    #[test]
    fn errors_are_collected_in_order() {
        let mut errors = FieldErrors::new();
        errors.add("email", "email is required");
        let missing: Option<u32> = errors.require("members[0].shares", None, "for mode shares");
        assert_eq!(missing, None);
        assert_eq!(errors.as_slice().len(), 2);
        assert_eq!(errors.as_slice()[1].field, "members[0].shares");
        assert_eq!(
            errors.detail(),
            "email: email is required; members[0].shares: members[0].shares is required for mode shares"
        );
        assert!(errors.finish(()).is_err());
    }

    #[test]
    fn no_errors_returns_value() {
        assert_eq!(FieldErrors::new().finish(7), Ok(7));
    }
}
