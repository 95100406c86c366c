//! The sentence on each split line that shows a member how their amount
//! was computed.
//!
//! Text is for display only: no code may parse it, and it must never be
//! the source of an amount.

use super::allocate::Allocation;
use crate::meter::Quantity;
use crate::money::Money;

/// Explanation of an included member's line: the mode's `header`, the
/// amount, and how rounding changed it.
pub(super) fn with_rounding(
    header: &str,
    amount: Money,
    base: Money,
    allocation: &Allocation,
) -> String {
    if allocation.remainder == 0 {
        return format!("{header}: {amount}.");
    }
    if allocation.leftover != 0 {
        return format!(
            "{header}: {amount}. The exact share is not a whole number of minor units, so it \
             was rounded toward zero to {base} and this member received one leftover minor \
             unit (largest remainder first; equal remainders go to the lowest member id)."
        );
    }
    format!(
        "{header}: {amount}. The exact share is not a whole number of minor units, so it was \
         rounded toward zero; the leftover minor units went to members with a larger \
         remainder or, on a tie, a lower member id."
    )
}

/// Explanation of the line of a member who takes no part in the bill.
pub(super) fn excluded(amount: Money) -> String {
    format!("Excluded from this bill: {amount}.")
}

/// Header for a consumption split line.
pub(super) fn consumption(
    standing_charge: Money,
    included: i128,
    usage_part: Money,
    usage: Quantity,
    total_usage: i128,
) -> String {
    let standing = format!(
        "Standing charge {standing_charge} shared equally by {}",
        super::engine::members_count(included)
    );
    if total_usage == 0 {
        return format!("{standing}; no usage was recorded");
    }
    format!(
        "{standing}, plus {} of the usage charge {usage_part} for {usage} of {} units used",
        proportion(i128::from(usage.milli()), total_usage),
        crate::meter::format_milli(total_usage),
    )
}

/// Formats basis points as a percentage with two decimals: 2500 is `25.00%`.
pub(super) fn percent(basis_points: u32) -> String {
    format!("{}.{:02}%", basis_points / 100, basis_points % 100)
}

/// Formats `part / whole` as a percentage with three decimals, rounded half
/// up; display only.
fn proportion(part: i128, whole: i128) -> String {
    let thousandths_of_percent = (part * 100_000 + whole / 2) / whole;
    format!(
        "{}.{:03}%",
        thousandths_of_percent / 1000,
        thousandths_of_percent % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_formats_basis_points() {
        assert_eq!(percent(2500), "25.00%");
        assert_eq!(percent(1), "0.01%");
        assert_eq!(percent(10_000), "100.00%");
    }

    #[test]
    fn proportion_rounds_half_up() {
        assert_eq!(proportion(1, 3), "33.333%");
        assert_eq!(proportion(2, 3), "66.667%");
        assert_eq!(proportion(5, 5), "100.000%");
    }
}
