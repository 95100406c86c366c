//! Card brands and the issuer identification number (IIN) ranges that
//! identify them.
//!
//! The ranges and lengths follow the IIN table of the English Wikipedia
//! article "Payment card number". The table is a simplification: networks publish many more, and changing, sub-ranges,
//! co-branded cards route by agreement, and a real deployment would ask the
//! processor's BIN service. It is good enough to reject a mistyped number
//! and to pick the CVC length.
//!
//! NOTE: the ranges were not compared with the live article or with the
//! networks' own tables; check them before routing payments by brand.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A card network, as the vault reports it to the phone and the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardBrand {
    Visa,
    Mastercard,
    #[serde(rename = "amex")]
    AmericanExpress,
    Discover,
    Jcb,
    DinersClub,
    #[serde(rename = "unionpay")]
    UnionPay,
    Maestro,
}

impl CardBrand {
    /// Returns the slug used on the wire, such as `visa` or `amex`.
    pub fn slug(self) -> &'static str {
        match self {
            CardBrand::Visa => "visa",
            CardBrand::Mastercard => "mastercard",
            CardBrand::AmericanExpress => "amex",
            CardBrand::Discover => "discover",
            CardBrand::Jcb => "jcb",
            CardBrand::DinersClub => "diners_club",
            CardBrand::UnionPay => "unionpay",
            CardBrand::Maestro => "maestro",
        }
    }

    /// Parses a wire slug produced by [`CardBrand::slug`].
    pub fn from_slug(slug: &str) -> Option<CardBrand> {
        ALL_BRANDS.into_iter().find(|brand| brand.slug() == slug)
    }

    /// Reports whether the brand issues card numbers of `length` digits.
    pub fn issues_length(self, length: usize) -> bool {
        match self {
            CardBrand::Visa => matches!(length, 13 | 16 | 19),
            CardBrand::Mastercard => length == 16,
            CardBrand::AmericanExpress => length == 15,
            CardBrand::Discover | CardBrand::Jcb | CardBrand::UnionPay => {
                (16..=19).contains(&length)
            }
            CardBrand::DinersClub => (14..=19).contains(&length),
            CardBrand::Maestro => (12..=19).contains(&length),
        }
    }

    /// Number of digits of the card verification code: 4 for American
    /// Express (printed on the front), 3 for every other brand.
    pub fn cvc_length(self) -> usize {
        match self {
            CardBrand::AmericanExpress => 4,
            _ => 3,
        }
    }
}

impl fmt::Display for CardBrand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

const ALL_BRANDS: [CardBrand; 8] = [
    CardBrand::Visa,
    CardBrand::Mastercard,
    CardBrand::AmericanExpress,
    CardBrand::Discover,
    CardBrand::Jcb,
    CardBrand::DinersClub,
    CardBrand::UnionPay,
    CardBrand::Maestro,
];

/// One inclusive range of leading digits: the first `digits` digits of the
/// number, read as an integer, lie in `first..=last`.
struct IinRange {
    digits: usize,
    first: u32,
    last: u32,
    brand: CardBrand,
}

const fn range(digits: usize, first: u32, last: u32, brand: CardBrand) -> IinRange {
    IinRange {
        digits,
        first,
        last,
        brand,
    }
}

/// Ordered longest prefix first, so a specific range wins over a wider one
/// that contains it (Discover's 622126-622925 inside UnionPay's 62).
const IIN_RANGES: &[IinRange] = &[
    range(6, 622_126, 622_925, CardBrand::Discover),
    range(4, 2221, 2720, CardBrand::Mastercard),
    range(4, 3528, 3589, CardBrand::Jcb),
    range(4, 3095, 3095, CardBrand::DinersClub),
    range(4, 6011, 6011, CardBrand::Discover),
    range(4, 5018, 5018, CardBrand::Maestro),
    range(4, 5020, 5020, CardBrand::Maestro),
    range(4, 5038, 5038, CardBrand::Maestro),
    range(4, 5893, 5893, CardBrand::Maestro),
    range(4, 6304, 6304, CardBrand::Maestro),
    range(4, 6759, 6759, CardBrand::Maestro),
    range(4, 6761, 6763, CardBrand::Maestro),
    range(3, 300, 305, CardBrand::DinersClub),
    range(3, 644, 649, CardBrand::Discover),
    range(2, 34, 34, CardBrand::AmericanExpress),
    range(2, 37, 37, CardBrand::AmericanExpress),
    range(2, 36, 36, CardBrand::DinersClub),
    range(2, 38, 39, CardBrand::DinersClub),
    range(2, 51, 55, CardBrand::Mastercard),
    range(2, 65, 65, CardBrand::Discover),
    range(2, 62, 62, CardBrand::UnionPay),
    range(1, 4, 4, CardBrand::Visa),
];

/// Finds the brand whose IIN range contains the leading digits of
/// `digits` (ASCII digits only), or `None` for a range not in the table.
pub fn brand_for_digits(digits: &str) -> Option<CardBrand> {
    IIN_RANGES.iter().find_map(|entry| {
        let prefix = digits.get(..entry.digits)?;
        let value: u32 = prefix.parse().ok()?;
        (entry.first..=entry.last)
            .contains(&value)
            .then_some(entry.brand)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_round_trips() {
        for brand in ALL_BRANDS {
            assert_eq!(CardBrand::from_slug(brand.slug()), Some(brand));
            let json = serde_json::to_string(&brand).expect("serialize");
            assert_eq!(json, format!("\"{}\"", brand.slug()));
        }
    }

    #[test]
    fn discover_wins_inside_unionpay_range() {
        assert_eq!(
            brand_for_digits("6221260000000000"),
            Some(CardBrand::Discover)
        );
        assert_eq!(
            brand_for_digits("6221250000000000"),
            Some(CardBrand::UnionPay)
        );
    }
}
