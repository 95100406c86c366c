//! Card expiry dates, checked against a current month the caller supplies.
//!
//! A card is valid through the last day of its expiry month, so a card
//! expiring this month is still accepted.

use thiserror::Error;

/// Furthest a card's expiry may lie in the future, in years. Issuers print
/// 3 to 5 years ahead; 20 leaves room while still catching typos such as
/// 2203 for 2032.
pub const MAX_YEARS_AHEAD: i32 = 20;

/// A calendar month, such as the current one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct YearMonth {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

/// A validated expiry: month 1-12, not in the past, at most
/// [`MAX_YEARS_AHEAD`] years ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CardExpiry {
    month: u32,
    year: i32,
}

/// Reason an expiry was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum ExpiryError {
    #[error("the expiry month must be 1 to 12, not {found}")]
    MonthOutOfRange { found: i64 },
    #[error("the expiry year must have four digits, such as 2030, not {found}")]
    YearNotFourDigits { found: i64 },
    #[error("the card expired at the end of {month:02}/{year}: use a card that is still valid")]
    Expired { month: u32, year: i32 },
    #[error(
        "the expiry year {found} is more than {MAX_YEARS_AHEAD} years ahead: check it for typos"
    )]
    TooFarAhead { found: i32 },
}

impl ExpiryError {
    /// Returns the request field the error belongs to: `expiry_month` or
    /// `expiry_year`. An expired card names the year unless only the month
    /// is in the past.
    pub fn field(&self, today: YearMonth) -> &'static str {
        match self {
            ExpiryError::MonthOutOfRange { .. } => "expiry_month",
            ExpiryError::Expired { year, .. } if *year == today.year => "expiry_month",
            _ => "expiry_year",
        }
    }
}

impl CardExpiry {
    /// Checks `month` and `year` (four digits) against `today`, returning
    /// every problem found.
    pub fn validate(month: i64, year: i64, today: YearMonth) -> Result<Self, Vec<ExpiryError>> {
        let mut errors = Vec::new();
        let valid_month = u32::try_from(month).ok().filter(|m| (1..=12).contains(m));
        if valid_month.is_none() {
            errors.push(ExpiryError::MonthOutOfRange { found: month });
        }
        let valid_year = i32::try_from(year)
            .ok()
            .filter(|y| (1000..=9999).contains(y));
        if valid_year.is_none() {
            errors.push(ExpiryError::YearNotFourDigits { found: year });
        }

        if let Some(year) = valid_year {
            if year > today.year + MAX_YEARS_AHEAD {
                errors.push(ExpiryError::TooFarAhead { found: year });
            }
            let month_for_comparison = valid_month.unwrap_or(12);
            if (YearMonth {
                year,
                month: month_for_comparison,
            }) < today
            {
                errors.push(ExpiryError::Expired {
                    month: month_for_comparison,
                    year,
                });
            }
        }

        match (valid_month, valid_year) {
            (Some(month), Some(year)) if errors.is_empty() => Ok(Self { month, year }),
            _ => Err(errors),
        }
    }

    pub fn month(&self) -> u32 {
        self.month
    }

    pub fn year(&self) -> i32 {
        self.year
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: YearMonth = YearMonth {
        year: 2026,
        month: 12,
    };

    #[test]
    fn current_month_is_still_valid() {
        let expiry = CardExpiry::validate(12, 2026, TODAY).expect("valid this month");
        assert_eq!((expiry.month(), expiry.year()), (12, 2026));
    }

    #[test]
    fn last_month_is_expired_on_month_field() {
        let errors = CardExpiry::validate(11, 2026, TODAY).expect_err("expired");
        assert_eq!(
            errors,
            vec![ExpiryError::Expired {
                month: 11,
                year: 2026
            }]
        );
        assert_eq!(errors[0].field(TODAY), "expiry_month");
    }

    #[test]
    fn last_year_is_expired_on_year_field() {
        let errors = CardExpiry::validate(12, 2025, TODAY).expect_err("expired");
        assert_eq!(errors[0].field(TODAY), "expiry_year");
    }

    #[test]
    fn twenty_years_ahead_is_the_limit() {
        assert!(CardExpiry::validate(1, 2046, TODAY).is_ok());
        let errors = CardExpiry::validate(1, 2047, TODAY).expect_err("too far");
        assert_eq!(errors, vec![ExpiryError::TooFarAhead { found: 2047 }]);
    }

    #[test]
    fn month_and_year_errors_are_reported_together() {
        let errors = CardExpiry::validate(13, 30, TODAY).expect_err("both wrong");
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].field(TODAY), "expiry_month");
        assert_eq!(errors[1].field(TODAY), "expiry_year");
    }
}
