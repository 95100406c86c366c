//! Exact conversion between decimal strings and integer minor units.
//!
//! Only integer arithmetic is used; a parse must never round.

use super::{Currency, MoneyError};

/// Parses `[+|-]digits[.digits]` into minor units of `currency`.
pub(super) fn parse_minor_units(input: &str, currency: Currency) -> Result<i64, MoneyError> {
    let invalid = |reason: &'static str| MoneyError::InvalidAmount {
        input: input.to_owned(),
        currency: currency.code(),
        reason,
    };

    let (negative, unsigned) = match input.as_bytes().first() {
        Some(b'-') => (true, &input[1..]),
        Some(b'+') => (false, &input[1..]),
        Some(_) => (false, input),
        None => return Err(invalid("the amount is empty")),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };

    if whole.is_empty() {
        return Err(invalid("write at least one digit before the decimal point"));
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            "use only digits 0-9 and one '.' as the decimal separator, with no grouping or currency sign",
        ));
    }
    let fraction = fraction.unwrap_or("");
    if unsigned.contains('.') && fraction.is_empty() {
        return Err(invalid("write at least one digit after the decimal point"));
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            "use only digits 0-9 and one '.' as the decimal separator, with no grouping or currency sign",
        ));
    }

    let allowed = currency.exponent();
    if fraction.len() > usize::from(allowed) {
        return Err(MoneyError::TooManyDecimals {
            input: input.to_owned(),
            currency: currency.code(),
            allowed,
            found: fraction.len(),
        });
    }

    // Accumulate the magnitude as negative, because i64::MIN has no
    // positive counterpart; the padded fraction supplies the minor digits.
    let overflow = MoneyError::Overflow {
        operation: "parsing",
    };
    let padding = usize::from(allowed) - fraction.len();
    let digits = whole
        .bytes()
        .chain(fraction.bytes())
        .chain(std::iter::repeat_n(b'0', padding));
    let mut accumulated: i64 = 0;
    for digit in digits {
        accumulated = accumulated
            .checked_mul(10)
            .and_then(|value| value.checked_sub(i64::from(digit - b'0')))
            .ok_or(overflow.clone())?;
    }
    if negative {
        Ok(accumulated)
    } else {
        accumulated.checked_neg().ok_or(overflow)
    }
}

/// Formats minor units as `-1234.56`, with exactly `exponent` decimal places.
pub(super) fn format_plain(minor: i64, exponent: u8) -> String {
    let (whole, fraction) = split_magnitude(minor.unsigned_abs(), exponent);
    let sign = if minor < 0 { "-" } else { "" };
    match fraction {
        Some(fraction) => format!("{sign}{whole}.{fraction}"),
        None => format!("{sign}{whole}"),
    }
}

/// Formats a magnitude as `1,234.56`, grouping the whole part by thousands.
pub(super) fn format_grouped(magnitude: u64, exponent: u8) -> String {
    let (whole, fraction) = split_magnitude(magnitude, exponent);
    let whole = whole.to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    match fraction {
        Some(fraction) => format!("{grouped}.{fraction}"),
        None => grouped,
    }
}

/// Splits a magnitude into its whole part and its zero-padded fraction digits.
fn split_magnitude(magnitude: u64, exponent: u8) -> (u64, Option<String>) {
    if exponent == 0 {
        return (magnitude, None);
    }
    let scale = 10u64.pow(u32::from(exponent));
    let fraction = format!(
        "{:0width$}",
        magnitude % scale,
        width = usize::from(exponent)
    );
    (magnitude / scale, Some(fraction))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str, code: &str) -> Result<i64, MoneyError> {
        let currency = Currency::from_code(code).expect("currency in table");
        parse_minor_units(input, currency)
    }

    #[test]
    fn parse_accepts_plain_decimals() {
        assert_eq!(parse("12.34", "EUR"), Ok(1234));
        assert_eq!(parse("12.3", "EUR"), Ok(1230));
        assert_eq!(parse("12", "EUR"), Ok(1200));
        assert_eq!(parse("-0.05", "EUR"), Ok(-5));
        assert_eq!(parse("+7", "JPY"), Ok(7));
        assert_eq!(parse("0.0001", "CLF"), Ok(1));
    }

    #[test]
    fn parse_reaches_both_i64_limits() {
        assert_eq!(parse("9223372036854775807", "JPY"), Ok(i64::MAX));
        assert_eq!(parse("-9223372036854775808", "JPY"), Ok(i64::MIN));
        assert_eq!(parse("92233720368547758.07", "EUR"), Ok(i64::MAX));
    }

    #[test]
    fn parse_rejects_overflow() {
        assert_eq!(
            parse("9223372036854775808", "JPY"),
            Err(MoneyError::Overflow {
                operation: "parsing"
            })
        );
        assert!(parse("92233720368547758.08", "EUR").is_err());
    }

    #[test]
    fn parse_rejects_malformed_input() {
        let cases = [
            "", "-", ".5", "5.", "1,000", "1.000.0", "€5", " 5", "5 ", "1e3", "--5", "٣",
        ];
        for input in cases {
            let result = parse(input, "EUR");
            assert!(
                matches!(result, Err(MoneyError::InvalidAmount { .. })),
                "{input:?} gave {result:?}"
            );
        }
    }

    #[test]
    fn parse_rejects_decimals_for_zero_exponent() {
        assert!(matches!(
            parse("1000.0", "JPY"),
            Err(MoneyError::TooManyDecimals {
                allowed: 0,
                found: 1,
                ..
            })
        ));
    }

    #[test]
    fn plain_format_round_trips() {
        for (minor, exponent, text) in [
            (123_456, 2, "1234.56"),
            (-5, 2, "-0.05"),
            (1000, 0, "1000"),
            (1234, 3, "1.234"),
            (i64::MIN, 2, "-92233720368547758.08"),
        ] {
            assert_eq!(format_plain(minor, exponent), text);
        }
    }

    #[test]
    fn grouping_inserts_commas_every_three_digits() {
        assert_eq!(format_grouped(0, 0), "0");
        assert_eq!(format_grouped(999, 0), "999");
        assert_eq!(format_grouped(1000, 0), "1,000");
        assert_eq!(format_grouped(1_234_567, 2), "12,345.67");
        assert_eq!(format_grouped(100_000_000, 3), "100,000.000");
    }
}
