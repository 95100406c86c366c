//! Exact decimal parsing for the meter data files: values become integer
//! thousandths, so no float ever touches an energy figure.

/// Parses a non-negative decimal with at most three decimals (`0.39`,
/// `17`, `3.658`) into thousandths (`390`, `17000`, `3658`).
pub fn parse_thousandths(text: &str) -> Result<u64, String> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    let digits_only = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits_only(whole) || !digits_only(fraction) {
        return Err(format!(
            "{text:?} is not a non-negative decimal number such as 0.39 or 17"
        ));
    }
    if text.contains('.') && fraction.is_empty() {
        return Err(format!("{text:?} has a '.' with no digits after it"));
    }
    if fraction.len() > 3 {
        return Err(format!(
            "{text:?} has {} decimals; at most 3 are supported",
            fraction.len()
        ));
    }
    let whole: u64 = whole
        .parse()
        .map_err(|_| format!("{text:?} is too large"))?;
    let mut thousandths: u64 = fraction.parse().unwrap_or(0);
    for _ in fraction.len()..3 {
        thousandths *= 10;
    }
    whole
        .checked_mul(1000)
        .and_then(|value| value.checked_add(thousandths))
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// Formats watt-hours as kilowatt-hours with three decimals: `1234` becomes
/// `1.234`.
pub fn format_kwh(watt_hours: u64) -> String {
    format!("{}.{:03}", watt_hours / 1000, watt_hours % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_to_thousandths() {
        let cases = [
            ("0.39", 390),
            ("17", 17_000),
            ("3.658", 3_658),
            ("0.000", 0),
            ("2.5", 2_500),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_thousandths(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn malformed_decimals_are_rejected() {
        for text in ["", "-1", "1.2345", "1.", ".5", "1e3", "0,5", " 1", "NaN"] {
            assert!(
                parse_thousandths(text).is_err(),
                "{text:?} must be rejected"
            );
        }
    }

    #[test]
    fn kwh_keeps_three_decimals() {
        assert_eq!(format_kwh(0), "0.000");
        assert_eq!(format_kwh(8_530), "8.530");
        assert_eq!(format_kwh(1_209_420), "1209.420");
    }
}
