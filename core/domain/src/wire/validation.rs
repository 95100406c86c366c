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

/// Rewrites a serde message for people: Rust type names such as
/// `struct ReadingRequest` or `u32` become the JSON they stand for.
pub fn readable_serde_message(message: &str) -> String {
    const PRIMITIVES: [(&str, &str); 12] = [
        ("u8", "a whole number from 0 to 255"),
        ("u16", "a whole number from 0 to 65535"),
        ("u32", "a whole number from 0 to 4294967295"),
        ("u64", "a whole number of 0 or more"),
        ("usize", "a whole number of 0 or more"),
        ("i8", "a whole number"),
        ("i16", "a whole number"),
        ("i32", "a whole number"),
        ("i64", "a whole number"),
        ("f32", "a number"),
        ("f64", "a number"),
        ("char", "a single character"),
    ];
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("expected ") {
        let (before, after) = rest.split_at(at + "expected ".len());
        out.push_str(before);
        let word_end = |text: &str| {
            text.find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(text.len())
        };
        if let Some(name) = after.strip_prefix("struct ") {
            out.push_str("a JSON object");
            rest = &name[word_end(name)..];
        } else if let Some(name) = after.strip_prefix("enum ") {
            out.push_str("one of the documented values");
            rest = &name[word_end(name)..];
        } else {
            let end = word_end(after);
            match PRIMITIVES.iter().find(|(rust, _)| *rust == &after[..end]) {
                Some((_, json)) => {
                    out.push_str(json);
                    rest = &after[end..];
                }
                None => rest = after,
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_lose_rust_type_names() {
        let cases = [
            (
                "invalid type: string \"x\", expected struct RegisterRequest at line 1 column 3",
                "invalid type: string \"x\", expected a JSON object at line 1 column 3",
            ),
            (
                "invalid value: integer `-1`, expected u32",
                "invalid value: integer `-1`, expected a whole number from 0 to 4294967295",
            ),
            (
                "invalid type: map, expected enum SplitMode",
                "invalid type: map, expected one of the documented values",
            ),
            (
                "invalid type: null, expected a string",
                "invalid type: null, expected a string",
            ),
            (
                "invalid type: boolean `true`, expected f64",
                "invalid type: boolean `true`, expected a number",
            ),
        ];
        for (serde, readable) in cases {
            assert_eq!(readable_serde_message(serde), readable);
        }
    }

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
