//! The Luhn (mod 10) check digit of ISO/IEC 7812 card numbers.

/// Reports whether `digits` (ASCII digits only, check digit last) passes the
/// Luhn check. An empty string or any non-digit fails.
pub fn luhn_valid(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    luhn_sum(digits.bytes().rev(), false).is_multiple_of(10)
}

/// Computes the check digit to append to `payload` (ASCII digits without a
/// check digit), or `None` when `payload` contains a non-digit.
pub fn luhn_check_digit(payload: &str) -> Option<u8> {
    if !payload.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // The rightmost payload digit sits next to the check digit, so it is
    // the first one doubled.
    let sum = luhn_sum(payload.bytes().rev(), true);
    Some(((10 - sum % 10) % 10) as u8)
}

/// Sums digits given right to left, doubling every second one starting
/// with the first when `double_first` is set.
fn luhn_sum(reversed_digits: impl Iterator<Item = u8>, double_first: bool) -> u32 {
    let mut sum = 0u32;
    let mut double = double_first;
    for byte in reversed_digits {
        let mut digit = u32::from(byte - b'0');
        if double {
            digit *= 2;
            if digit > 9 {
                digit -= 9;
            }
        }
        sum += digit;
        double = !double;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_numbers_pass() {
        for number in [
            "4242424242424242",
            "5555555555554444",
            "378282246310005",
            "79927398713",
        ] {
            assert!(luhn_valid(number), "{number} should pass");
        }
    }

    #[test]
    fn wrong_check_digit_fails() {
        assert!(!luhn_valid("4242424242424241"));
        assert!(!luhn_valid("79927398710"));
    }

    #[test]
    fn non_digits_and_empty_fail() {
        assert!(!luhn_valid(""));
        assert!(!luhn_valid("4242 4242"));
        assert_eq!(luhn_check_digit("42x"), None);
    }

    #[test]
    fn check_digit_completes_number() {
        assert_eq!(luhn_check_digit("7992739871"), Some(3));
        assert_eq!(luhn_check_digit("424242424242424"), Some(2));
    }
}
