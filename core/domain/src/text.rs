//! Rules for short texts that other people read: household names, bill
//! providers, cardholder names and notes.

/// Returns whether `c` is rejected in such a text. Control characters such as
/// line breaks break the layout of lists and logs. Bidirectional formatting
/// characters make a text display in another order than it is stored, so
/// that a provider stored as `RTL \u{202E}gnp.exe` reads as `RTL exe.png`.
pub fn is_hidden_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// Error message for a text that contains a character that
/// [`is_hidden_char`] rejects.
pub const HIDDEN_CHAR_MESSAGE: &str =
    "must not contain control characters (such as line breaks) or text direction marks";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_marks_and_controls_are_hidden() {
        for c in [
            '\n', '\t', '\u{7F}', '\u{202E}', '\u{2066}', '\u{200F}', '\u{061C}',
        ] {
            assert!(is_hidden_char(c), "{:?}", c);
        }
    }

    #[test]
    fn letters_of_any_script_are_visible() {
        for c in ['a', 'é', 'ß', 'ש', 'ع', '中', ' ', '-', '€'] {
            assert!(!is_hidden_char(c), "{:?}", c);
        }
    }
}
