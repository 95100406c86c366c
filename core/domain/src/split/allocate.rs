//! Largest-remainder allocation of a whole number of minor units.
//!
//! Integer arithmetic only (`i128`), so the phone and the server produce the
//! same units. It must never round with floating point.

use std::cmp::Ordering;

/// One member's exact share, written as `numerator / denominator` minor units.
pub(super) struct Quota {
    pub numerator: i128,
}

/// One member's allocated units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Allocation {
    /// `floor(numerator / denominator)`.
    pub base: i128,
    /// `numerator mod denominator`; zero when the quota was whole.
    pub remainder: i128,
    /// 1 when this member received one leftover unit, else 0.
    pub leftover: i128,
}

impl Allocation {
    pub fn total(&self) -> i128 {
        self.base + self.leftover
    }
}

/// Allocates `total` units by the largest-remainder (Hamilton) method.
///
/// Preconditions, checked by the callers: `total >= 0`, `denominator > 0`,
/// every numerator `>= 0`, and the numerators add up to exactly
/// `total * denominator`. Each member first gets the floor of their quota.
/// The units still missing (fewer than the number of members with a
/// non-zero remainder) go one each to the largest remainders. Equal
/// remainders go to the earlier entry, and the callers pass entries sorted
/// by member id, so the result does not depend on input order.
pub(super) fn largest_remainder(
    total: i128,
    denominator: i128,
    quotas: &[Quota],
) -> Vec<Allocation> {
    let mut allocations: Vec<Allocation> = quotas
        .iter()
        .map(|quota| Allocation {
            base: quota.numerator / denominator,
            remainder: quota.numerator % denominator,
            leftover: 0,
        })
        .collect();

    let allocated: i128 = allocations.iter().map(|allocation| allocation.base).sum();
    let leftover_units = total - allocated;

    let mut order: Vec<usize> = (0..allocations.len()).collect();
    order.sort_by(
        |&a, &b| match allocations[b].remainder.cmp(&allocations[a].remainder) {
            Ordering::Equal => a.cmp(&b),
            unequal => unequal,
        },
    );
    for &index in order
        .iter()
        .take(usize::try_from(leftover_units).unwrap_or(0))
    {
        allocations[index].leftover = 1;
    }
    allocations
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quotas(numerators: &[i128]) -> Vec<Quota> {
        numerators
            .iter()
            .map(|&numerator| Quota { numerator })
            .collect()
    }

    #[test]
    fn largest_remainder_gets_leftover() {
        // 10 units in ratio 1:2:4 have quotas 10/7, 20/7, 40/7.
        let allocations = largest_remainder(10, 7, &quotas(&[10, 20, 40]));
        let totals: Vec<i128> = allocations.iter().map(Allocation::total).collect();
        assert_eq!(totals, vec![1, 3, 6]);
    }

    #[test]
    fn equal_remainders_go_to_earlier_entries() {
        let allocations = largest_remainder(100, 3, &quotas(&[100, 100, 100]));
        let totals: Vec<i128> = allocations.iter().map(Allocation::total).collect();
        assert_eq!(totals, vec![34, 33, 33]);
    }

    #[test]
    fn zero_quota_never_gets_leftover() {
        let allocations = largest_remainder(1, 2, &quotas(&[0, 1, 1]));
        assert_eq!(allocations[0].total(), 0);
        assert_eq!(allocations[1].total(), 1);
        assert_eq!(allocations[2].total(), 0);
    }
}
