//! Table and property tests of the card rules: Luhn, brand ranges, length,
//! expiry and CVC, and that no message repeats the card number.

use proptest::prelude::*;
use sharepay_domain::card::{
    CardBrand, CardIntakeRequest, PanError, PrimaryAccountNumber, YearMonth, luhn_check_digit,
    luhn_valid, validate_intake,
};

const TODAY: YearMonth = YearMonth {
    year: 2026,
    month: 12,
};

fn request(number: &str, month: i64, year: i64, cvc: &str) -> CardIntakeRequest {
    CardIntakeRequest {
        number: number.to_owned(),
        expiry_month: month,
        expiry_year: year,
        cvc: cvc.to_owned(),
        cardholder_name: "Ada Lovelace".to_owned(),
    }
}

/// Appends the Luhn check digit to `payload`.
fn with_check_digit(payload: &str) -> String {
    let digit = luhn_check_digit(payload).expect("payload is digits");
    format!("{payload}{digit}")
}

#[test]
fn brand_table_matches_known_prefixes() {
    let cases: &[(&str, CardBrand)] = &[
        ("4242424242424242", CardBrand::Visa),
        ("4222222222222", CardBrand::Visa),
        ("5555555555554444", CardBrand::Mastercard),
        ("2221000000000009", CardBrand::Mastercard),
        ("2720990000000007", CardBrand::Mastercard),
        ("378282246310005", CardBrand::AmericanExpress),
        ("340000000000009", CardBrand::AmericanExpress),
        ("6011111111111117", CardBrand::Discover),
        ("6445644564456445", CardBrand::Discover),
        ("6500000000000002", CardBrand::Discover),
        ("6221260000000000", CardBrand::Discover),
        ("3530111333300000", CardBrand::Jcb),
        ("3589000000000003", CardBrand::Jcb),
        ("30569309025904", CardBrand::DinersClub),
        ("36227206271667", CardBrand::DinersClub),
        ("3095000000000003", CardBrand::DinersClub),
        ("6200000000000005", CardBrand::UnionPay),
        ("6759649826438453", CardBrand::Maestro),
        ("501800000009", CardBrand::Maestro),
    ];
    for (number, brand) in cases {
        let number = with_check_digit(&number[..number.len() - 1]);
        let pan = PrimaryAccountNumber::parse(&number)
            .unwrap_or_else(|e| panic!("{brand} number of {} digits: {e}", number.len()));
        assert_eq!(pan.brand(), *brand, "brand of a {brand} test number");
    }
}

#[test]
fn mastercard_two_series_bounds_are_exact() {
    for (payload, expected) in [
        ("222099000000000", None),
        ("222100000000000", Some(CardBrand::Mastercard)),
        ("272099000000000", Some(CardBrand::Mastercard)),
        ("272100000000000", None),
    ] {
        let brand = PrimaryAccountNumber::parse(&with_check_digit(payload))
            .ok()
            .map(|pan| pan.brand());
        assert_eq!(brand, expected, "prefix {}", &payload[..4]);
    }
}

#[test]
fn pan_rejections_name_the_reason() {
    let cases: &[(&str, PanError)] = &[
        ("", PanError::Missing),
        ("4242-4242-4242-424a", PanError::InvalidCharacter),
        ("42424242424", PanError::InvalidLength { found: 11 }),
        (
            "42424242424242424242",
            PanError::InvalidLength { found: 20 },
        ),
        ("4242424242424241", PanError::LuhnMismatch),
        ("9999999999999995", PanError::UnknownBrand),
        ("37828224631000", PanError::LuhnMismatch),
    ];
    for (input, expected) in cases {
        let error = PrimaryAccountNumber::parse(input).expect_err("must be rejected");
        assert_eq!(error, *expected, "input of {} characters", input.len());
    }

    let amex_16 = with_check_digit("370000000000000");
    let error = PrimaryAccountNumber::parse(&amex_16).expect_err("Amex has 15 digits");
    assert_eq!(
        error,
        PanError::InvalidLengthForBrand {
            brand: CardBrand::AmericanExpress,
            found: 16
        }
    );
}

#[test]
fn valid_intake_returns_card() {
    let card = validate_intake(&request("4242 4242 4242 4242", 12, 2030, "123"), TODAY)
        .expect("valid card");
    assert_eq!(card.brand(), CardBrand::Visa);
    assert_eq!(card.pan.last4(), "4242");
    assert_eq!(card.expiry.month(), 12);
    assert_eq!(card.expiry.year(), 2030);
    assert_eq!(card.cvc.expose_digits(), "123");
}

#[test]
fn intake_field_errors_by_case() {
    let cases: &[(CardIntakeRequest, &[&str])] = &[
        (request("4242424242424241", 12, 2030, "123"), &["number"]),
        (
            request("4242424242424242", 11, 2026, "123"),
            &["expiry_month"],
        ),
        (
            request("4242424242424242", 12, 2025, "123"),
            &["expiry_year"],
        ),
        (
            request("4242424242424242", 0, 2030, "123"),
            &["expiry_month"],
        ),
        (
            request("4242424242424242", 12, 2047, "123"),
            &["expiry_year"],
        ),
        (request("4242424242424242", 12, 2030, "1234"), &["cvc"]),
        (request("378282246310005", 12, 2030, "123"), &["cvc"]),
        (request("4242424242424242", 12, 2030, "12a"), &["cvc"]),
        (
            request("4242424242424241", 13, 2020, ""),
            &["number", "expiry_month", "expiry_year", "cvc"],
        ),
    ];
    for (input, fields) in cases {
        let errors = validate_intake(input, TODAY).expect_err("must be rejected");
        let named: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, *fields, "fields for {input:?}");
    }
}

#[test]
fn amex_needs_four_digit_cvc() {
    let card = validate_intake(&request("378282246310005", 1, 2031, "1234"), TODAY)
        .expect("Amex with 4 digits");
    assert_eq!(card.brand(), CardBrand::AmericanExpress);
}

#[test]
fn messages_never_echo_the_number() {
    let number = "4000056655665557";
    let errors = validate_intake(&request(number, 13, 1999, "99999"), TODAY).expect_err("invalid");
    for error in &errors {
        assert!(!error.message.contains("0566556655"), "{}", error.message);
        assert!(!error.message.contains("99999"), "{}", error.message);
    }
    let debug = format!("{:?}", request(number, 1, 2030, "999"));
    assert!(!debug.contains("0566556655"), "{debug}");
    assert!(!debug.contains("999\""), "{debug}");
}

#[test]
fn cardholder_name_is_required() {
    let mut input = request("4242424242424242", 12, 2030, "123");
    input.cardholder_name = "  ".to_owned();
    let errors = validate_intake(&input, TODAY).expect_err("no name");
    assert_eq!(errors[0].field, "cardholder_name");
}

proptest! {
    #[test]
    fn generated_luhn_numbers_pass(payload in "[0-9]{11,18}") {
        let number = with_check_digit(&payload);
        prop_assert!(luhn_valid(&number));
    }

    #[test]
    fn single_digit_change_fails_luhn(
        payload in "[0-9]{11,18}",
        position in any::<prop::sample::Index>(),
        shift in 1u8..=9,
    ) {
        let number = with_check_digit(&payload);
        let mut digits = number.into_bytes();
        let index = position.index(digits.len());
        digits[index] = b'0' + (digits[index] - b'0' + shift) % 10;
        let changed = String::from_utf8(digits).expect("ASCII");
        prop_assert!(!luhn_valid(&changed), "changed digit {} still passes", index);
    }
}

#[test]
fn visa_lengths_are_13_16_19() {
    for length in 12..=19 {
        let number = with_check_digit(&format!("4{}", "1".repeat(length - 2)));
        let result = PrimaryAccountNumber::parse(&number);
        let expected_valid = matches!(length, 13 | 16 | 19);
        assert_eq!(result.is_ok(), expected_valid, "Visa with {length} digits");
    }
}
