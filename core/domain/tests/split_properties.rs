//! Property tests of the split engine over every mode, 1 to 50 members,
//! amounts up to 10^12 minor units (charges and refunds) and every currency
//! exponent in the table (0, 2, 3 and 4).

use std::collections::BTreeMap;

use proptest::prelude::*;
use sharepay_domain::ids::MemberId;
use sharepay_domain::meter::Quantity;
use sharepay_domain::money::{Currency, Money};
use sharepay_domain::split::{
    ConsumptionMember, EqualMember, ExactMember, PercentMember, ShareMember, Split, SplitMethod,
    split_bill,
};

const MAX_AMOUNT: i64 = 1_000_000_000_000;
const CASES: u32 = 1_000;

/// Picks one currency per exponent in the ISO 4217 table.
fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(vec!["JPY", "EUR", "KWD", "CLF"])
        .prop_map(|code| Currency::from_code(code).expect("currency in table"))
}

fn bill() -> impl Strategy<Value = Money> {
    (-MAX_AMOUNT..=MAX_AMOUNT, currency())
        .prop_map(|(minor, currency)| Money::from_minor(minor, currency))
}

/// 1 to 50 distinct member ids, in random order.
fn member_ids() -> impl Strategy<Value = Vec<MemberId>> {
    prop::collection::btree_set(any::<u128>(), 1..=50)
        .prop_map(|ids| ids.into_iter().map(MemberId::from_u128).collect::<Vec<_>>())
        .prop_shuffle()
}

/// `count` non-negative parts that add up to `total`, from sorted random cuts.
fn parts_of(total: u64, count: usize) -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(0..=total, count - 1).prop_map(move |mut cuts| {
        cuts.sort_unstable();
        let mut parts = Vec::with_capacity(cuts.len() + 1);
        let mut previous = 0;
        for cut in cuts {
            parts.push(cut - previous);
            previous = cut;
        }
        parts.push(total - previous);
        parts
    })
}

fn amounts(split: &Split) -> BTreeMap<MemberId, i64> {
    split
        .lines
        .iter()
        .map(|line| (line.member, line.amount.minor()))
        .collect()
}

/// Checks the properties that every mode shares.
fn check_common(
    bill: Money,
    method: &SplitMethod,
    shuffled: &SplitMethod,
) -> Result<Split, TestCaseError> {
    let split = split_bill(bill, method).map_err(|error| TestCaseError::fail(error.to_string()))?;

    let total: i128 = split
        .lines
        .iter()
        .map(|line| i128::from(line.amount.minor()))
        .sum();
    prop_assert_eq!(
        total,
        i128::from(bill.minor()),
        "lines must sum to the bill"
    );

    for line in &split.lines {
        prop_assert_eq!(line.amount.currency(), bill.currency());
        if bill.minor() > 0 {
            prop_assert!(
                line.amount.minor() >= 0,
                "negative share {} of a charge",
                line.amount
            );
        }
        if bill.minor() < 0 {
            prop_assert!(
                line.amount.minor() <= 0,
                "positive share {} of a refund",
                line.amount
            );
        }
        prop_assert!(!line.explanation.is_empty());
    }

    let again = split_bill(bill, method).map_err(|error| TestCaseError::fail(error.to_string()))?;
    prop_assert_eq!(&again, &split, "the same input must give the same split");

    let permuted =
        split_bill(bill, shuffled).map_err(|error| TestCaseError::fail(error.to_string()))?;
    prop_assert_eq!(
        amounts(&permuted),
        amounts(&split),
        "member order must not change any amount"
    );
    prop_assert_eq!(&permuted, &split);
    Ok(split)
}

fn reversed<T: Clone>(items: &[T]) -> Vec<T> {
    items.iter().rev().cloned().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn equal_split_properties(
        bill in bill(),
        ids in member_ids(),
        exclusion_seed in any::<u64>(),
    ) {
        // Exclude some members, but never the first, so someone takes part.
        let members: Vec<EqualMember> = ids
            .iter()
            .enumerate()
            .map(|(index, &member)| EqualMember {
                member,
                included: index == 0 || (exclusion_seed >> (index % 64)) & 1 == 1,
            })
            .collect();
        let split = check_common(
            bill,
            &SplitMethod::Equal { members: members.clone() },
            &SplitMethod::Equal { members: reversed(&members) },
        )?;

        let included: Vec<i64> = members
            .iter()
            .filter(|entry| entry.included)
            .map(|entry| split.line(entry.member).expect("line per member").amount.minor())
            .collect();
        let max = included.iter().max().expect("at least one included");
        let min = included.iter().min().expect("at least one included");
        prop_assert!(max - min <= 1, "equal shares differ by {}", max - min);
        for entry in members.iter().filter(|entry| !entry.included) {
            prop_assert_eq!(split.line(entry.member).expect("line per member").amount.minor(), 0);
        }
    }

    #[test]
    fn shares_split_properties(
        bill in bill(),
        members in member_ids().prop_flat_map(|ids| {
            let count = ids.len();
            (Just(ids), prop::collection::vec(0u32..=1_000, count))
        }),
    ) {
        let (ids, mut weights) = members;
        weights[0] = weights[0].max(1);
        let members: Vec<ShareMember> = ids
            .iter()
            .zip(&weights)
            .map(|(&member, &shares)| ShareMember { member, shares })
            .collect();
        let split = check_common(
            bill,
            &SplitMethod::Shares { members: members.clone() },
            &SplitMethod::Shares { members: reversed(&members) },
        )?;
        check_within_one_unit(bill, &split, members.iter().map(|entry| (entry.member, i128::from(entry.shares))))?;
    }

    #[test]
    fn percent_split_properties(
        bill in bill(),
        members in member_ids().prop_flat_map(|ids| {
            let count = ids.len();
            (Just(ids), parts_of(10_000, count))
        }),
    ) {
        let (ids, basis_points) = members;
        let members: Vec<PercentMember> = ids
            .iter()
            .zip(&basis_points)
            .map(|(&member, &points)| PercentMember {
                member,
                basis_points: u32::try_from(points).expect("at most 10000"),
            })
            .collect();
        let split = check_common(
            bill,
            &SplitMethod::Percent { members: members.clone() },
            &SplitMethod::Percent { members: reversed(&members) },
        )?;
        check_within_one_unit(bill, &split, members.iter().map(|entry| (entry.member, i128::from(entry.basis_points))))?;
    }

    #[test]
    fn exact_split_properties(
        (bill, ids, parts) in (bill(), member_ids()).prop_flat_map(|(bill, ids)| {
            let count = ids.len();
            (Just(bill), Just(ids), parts_of(bill.minor().unsigned_abs(), count))
        }),
    ) {
        let sign = bill.minor().signum();
        let members: Vec<ExactMember> = ids
            .iter()
            .zip(&parts)
            .map(|(&member, &part)| ExactMember {
                member,
                amount: Money::from_minor(i64::try_from(part).expect("part of an i64") * sign, bill.currency()),
            })
            .collect();
        let split = check_common(
            bill,
            &SplitMethod::Exact { members: members.clone() },
            &SplitMethod::Exact { members: reversed(&members) },
        )?;
        for entry in &members {
            prop_assert_eq!(split.line(entry.member).expect("line per member").amount, entry.amount);
        }
    }

    #[test]
    fn consumption_split_properties(
        (bill, standing_percent, ids, usages, exclusion_seed) in (bill(), 0u64..=100, member_ids())
            .prop_flat_map(|(bill, standing_percent, ids)| {
                let count = ids.len();
                (
                    Just(bill),
                    Just(standing_percent),
                    Just(ids),
                    prop::collection::vec(0u64..=1_000_000_000, count),
                    any::<u64>(),
                )
            }),
    ) {
        let standing_minor = i64::try_from(i128::from(bill.minor()) * i128::from(standing_percent) / 100)
            .expect("part of the bill");
        let standing_charge = Money::from_minor(standing_minor, bill.currency());
        let members: Vec<ConsumptionMember> = ids
            .iter()
            .zip(&usages)
            .enumerate()
            .map(|(index, (&member, &usage))| ConsumptionMember {
                member,
                // The first member is always included with some usage, so
                // the usage part always has someone to go to.
                usage: Quantity::from_milli(if index == 0 { usage.max(1) } else { usage }),
                included: index == 0 || (exclusion_seed >> (index % 64)) & 1 == 1,
            })
            .collect();
        let split = check_common(
            bill,
            &SplitMethod::Consumption { standing_charge, members: members.clone() },
            &SplitMethod::Consumption { standing_charge, members: reversed(&members) },
        )?;

        // Exact share: standing / n + usage_part * u / U. Compare over the
        // common denominator n * U: |line * n * U - exact numerator| < n * U.
        let included: Vec<&ConsumptionMember> = members.iter().filter(|entry| entry.included).collect();
        let count = i128::try_from(included.len()).expect("small count");
        let total_usage: i128 = included.iter().map(|entry| i128::from(entry.usage.milli())).sum();
        let standing = i128::from(standing_minor);
        let usage_part = i128::from(bill.minor()) - standing;
        let denominator = count * total_usage;
        for entry in &members {
            let line = i128::from(split.line(entry.member).expect("line per member").amount.minor());
            if !entry.included {
                prop_assert_eq!(line, 0);
                continue;
            }
            let exact_numerator = standing * total_usage + usage_part * i128::from(entry.usage.milli()) * count;
            prop_assert!(
                (line * denominator - exact_numerator).abs() < denominator,
                "line {} is not within one minor unit of {}/{}",
                line,
                exact_numerator,
                denominator
            );
        }
    }

    #[test]
    fn refund_splits_as_mirror_of_charge(
        bill in bill(),
        members in member_ids().prop_flat_map(|ids| {
            let count = ids.len();
            (Just(ids), prop::collection::vec(0u32..=1_000, count))
        }),
    ) {
        let (ids, mut weights) = members;
        weights[0] = weights[0].max(1);
        let method = SplitMethod::Shares {
            members: ids.iter().zip(&weights).map(|(&member, &shares)| ShareMember { member, shares }).collect(),
        };
        let negated = Money::from_minor(-bill.minor(), bill.currency());
        let charge = split_bill(bill, &method).expect("valid split");
        let refund = split_bill(negated, &method).expect("valid split");
        for (charge_line, refund_line) in charge.lines.iter().zip(&refund.lines) {
            prop_assert_eq!(charge_line.member, refund_line.member);
            prop_assert_eq!(charge_line.amount.minor(), -refund_line.amount.minor());
        }
    }
}

/// Weighted modes: each line is within one minor unit of `bill * w / W`.
fn check_within_one_unit(
    bill: Money,
    split: &Split,
    weights: impl Iterator<Item = (MemberId, i128)>,
) -> Result<(), TestCaseError> {
    let weights: Vec<(MemberId, i128)> = weights.collect();
    let total_weight: i128 = weights.iter().map(|(_, weight)| weight).sum();
    for (member, weight) in weights {
        let line = i128::from(split.line(member).expect("line per member").amount.minor());
        let exact_numerator = i128::from(bill.minor()) * weight;
        prop_assert!((line * total_weight - exact_numerator).abs() < total_weight);
    }
    Ok(())
}
