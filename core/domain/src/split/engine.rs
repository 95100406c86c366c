//! Computation of each split mode on top of the largest-remainder allocation.
//!
//! Every mode works on the bill's magnitude and applies the bill's sign at
//! the end, so a refund splits exactly as the mirror image of a charge.

use super::allocate::{Allocation, Quota, largest_remainder};
use super::explain;
use super::{
    ConsumptionMember, EqualMember, ExactMember, PercentMember, ShareMember, Split, SplitError,
    SplitLine, SplitMethod,
};
use crate::ids::MemberId;
use crate::money::Money;

/// Basis points in 100 %.
const FULL_BASIS_POINTS: u64 = 10_000;

/// Splits `bill` by `method`, returning one line per listed member in member
/// id order. The lines always add up to exactly `bill`.
pub fn split_bill(bill: Money, method: &SplitMethod) -> Result<Split, SplitError> {
    match method {
        SplitMethod::Equal { members } => split_equal(bill, members),
        SplitMethod::Shares { members } => split_shares(bill, members),
        SplitMethod::Percent { members } => split_percent(bill, members),
        SplitMethod::Exact { members } => split_exact(bill, members),
        SplitMethod::Consumption {
            standing_charge,
            members,
        } => split_consumption(bill, *standing_charge, members),
    }
}

fn split_equal(bill: Money, members: &[EqualMember]) -> Result<Split, SplitError> {
    let members = sorted_by_member(members, |entry| entry.member)?;
    let included = members.iter().filter(|entry| entry.included).count();
    if included == 0 {
        return Err(SplitError::NoParticipants);
    }

    let magnitude = magnitude(bill);
    let quotas: Vec<Quota> = members
        .iter()
        .map(|entry| Quota {
            numerator: if entry.included { magnitude } else { 0 },
        })
        .collect();
    let allocations = largest_remainder(magnitude, to_i128(included), &quotas);

    let header = format!(
        "Equal split of {bill} among {}",
        members_count(to_i128(included))
    );
    build_split(
        bill,
        &members,
        |entry| entry.member,
        &allocations,
        |index, _| members[index].included.then(|| header.clone()),
    )
}

fn split_shares(bill: Money, members: &[ShareMember]) -> Result<Split, SplitError> {
    let members = sorted_by_member(members, |entry| entry.member)?;
    let total_shares: u64 = members.iter().map(|entry| u64::from(entry.shares)).sum();
    if total_shares == 0 {
        return Err(SplitError::NoParticipants);
    }

    let magnitude = magnitude(bill);
    let quotas: Vec<Quota> = members
        .iter()
        .map(|entry| Quota {
            numerator: magnitude * i128::from(entry.shares),
        })
        .collect();
    let allocations = largest_remainder(magnitude, i128::from(total_shares), &quotas);

    build_split(
        bill,
        &members,
        |entry| entry.member,
        &allocations,
        |index, _| {
            let shares = members[index].shares;
            (shares > 0).then(|| format!("{shares} of {total_shares} shares of {bill}"))
        },
    )
}

fn split_percent(bill: Money, members: &[PercentMember]) -> Result<Split, SplitError> {
    let members = sorted_by_member(members, |entry| entry.member)?;
    let total_basis_points: u64 = members
        .iter()
        .map(|entry| u64::from(entry.basis_points))
        .sum();
    if total_basis_points != FULL_BASIS_POINTS {
        return Err(SplitError::PercentTotal { total_basis_points });
    }

    let magnitude = magnitude(bill);
    let quotas: Vec<Quota> = members
        .iter()
        .map(|entry| Quota {
            numerator: magnitude * i128::from(entry.basis_points),
        })
        .collect();
    let allocations = largest_remainder(magnitude, i128::from(FULL_BASIS_POINTS), &quotas);

    build_split(
        bill,
        &members,
        |entry| entry.member,
        &allocations,
        |index, _| {
            let basis_points = members[index].basis_points;
            (basis_points > 0).then(|| format!("{} of {bill}", explain::percent(basis_points)))
        },
    )
}

fn split_exact(bill: Money, members: &[ExactMember]) -> Result<Split, SplitError> {
    let members = sorted_by_member(members, |entry| entry.member)?;
    let mut entered: i128 = 0;
    for entry in &members {
        ensure_currency(bill, entry.amount, || {
            format!("the amount for member {}", entry.member)
        })?;
        let opposite_sign = (bill.minor() >= 0 && entry.amount.minor() < 0)
            || (bill.minor() <= 0 && entry.amount.minor() > 0);
        if opposite_sign {
            return Err(SplitError::ExactSign {
                member: entry.member,
                amount: entry.amount,
                bill,
            });
        }
        entered += i128::from(entry.amount.minor());
    }
    if entered != i128::from(bill.minor()) {
        return Err(SplitError::ExactTotal {
            entered,
            bill_minor: bill.minor(),
        });
    }

    let lines = members
        .iter()
        .map(|entry| SplitLine {
            member: entry.member,
            amount: entry.amount,
            leftover_units: 0,
            explanation: if entry.amount.is_zero() {
                explain::excluded(entry.amount)
            } else {
                format!("Exact amount entered: {}.", entry.amount)
            },
        })
        .collect();
    Ok(Split { bill, lines })
}

fn split_consumption(
    bill: Money,
    standing_charge: Money,
    members: &[ConsumptionMember],
) -> Result<Split, SplitError> {
    ensure_currency(bill, standing_charge, || "the standing charge".to_owned())?;
    let same_sign =
        standing_charge.is_zero() || (standing_charge.is_negative() == bill.is_negative());
    let standing = magnitude(standing_charge);
    let magnitude = magnitude(bill);
    if !same_sign || standing > magnitude {
        return Err(SplitError::StandingCharge {
            standing_charge,
            bill,
        });
    }

    let members = sorted_by_member(members, |entry| entry.member)?;
    let included = to_i128(members.iter().filter(|entry| entry.included).count());
    if included == 0 {
        return Err(SplitError::NoParticipants);
    }
    let total_usage: i128 = members
        .iter()
        .filter(|entry| entry.included)
        .map(|entry| i128::from(entry.usage.milli()))
        .sum();
    let usage_part = magnitude - standing;
    if total_usage == 0 && usage_part != 0 {
        let usage_part = bill
            .checked_sub(standing_charge)
            .map_err(|_| SplitError::Overflow {
                detail: "the usage part of the bill does not fit in 64 bits",
            })?;
        return Err(SplitError::NoConsumption { usage_part });
    }

    // Member i's exact share is standing / n + usage_part * u_i / U. Over the
    // common denominator n * U its numerator is standing * U + usage_part *
    // u_i * n, so one largest-remainder pass keeps every line within one
    // minor unit of its exact share. With no usage (U = 0, usage_part = 0)
    // only the standing charge remains, split over the denominator n.
    let overflow = SplitError::Overflow {
        detail: "bill amount times total usage exceeds 128-bit arithmetic; enter usage in larger units",
    };
    let usage_weight = total_usage.max(1);
    let denominator = included.checked_mul(usage_weight).ok_or(overflow.clone())?;
    let mut quotas = Vec::with_capacity(members.len());
    for entry in &members {
        let numerator = if entry.included {
            let standing_part = standing.checked_mul(usage_weight);
            let usage_share = usage_part
                .checked_mul(i128::from(entry.usage.milli()))
                .and_then(|value| value.checked_mul(included));
            standing_part
                .zip(usage_share)
                .and_then(|(a, b)| a.checked_add(b))
                .ok_or(overflow.clone())?
        } else {
            0
        };
        quotas.push(Quota { numerator });
    }
    let allocations = largest_remainder(magnitude, denominator, &quotas);

    let sign = bill.minor().signum();
    let currency = bill.currency();
    let standing_signed = Money::from_minor(standing_charge.minor(), currency);
    let usage_signed = Money::from_minor(to_i64(usage_part * i128::from(sign))?, currency);
    build_split(
        bill,
        &members,
        |entry| entry.member,
        &allocations,
        |index, _| {
            let entry = &members[index];
            entry.included.then(|| {
                explain::consumption(
                    standing_signed,
                    included,
                    usage_signed,
                    entry.usage,
                    total_usage,
                )
            })
        },
    )
}

/// Turns allocations into signed lines. `describe` returns the header of an
/// included member's explanation, or `None` for an excluded member.
fn build_split<T>(
    bill: Money,
    members: &[&T],
    member_of: impl Fn(&T) -> MemberId,
    allocations: &[Allocation],
    describe: impl Fn(usize, &Allocation) -> Option<String>,
) -> Result<Split, SplitError> {
    let sign = i128::from(bill.minor().signum());
    let currency = bill.currency();
    let mut lines = Vec::with_capacity(members.len());
    for (index, (entry, allocation)) in members.iter().zip(allocations).enumerate() {
        let amount = Money::from_minor(to_i64(allocation.total() * sign)?, currency);
        let base = Money::from_minor(to_i64(allocation.base * sign)?, currency);
        let explanation = match describe(index, allocation) {
            Some(header) => explain::with_rounding(&header, amount, base, allocation),
            None => explain::excluded(amount),
        };
        lines.push(SplitLine {
            member: member_of(entry),
            amount,
            leftover_units: to_i64(allocation.leftover * sign)?,
            explanation,
        });
    }
    Ok(Split { bill, lines })
}

/// Sorts entries by member id, the stable order that breaks rounding ties,
/// and rejects a member listed twice.
fn sorted_by_member<T>(
    entries: &[T],
    member_of: impl Fn(&T) -> MemberId,
) -> Result<Vec<&T>, SplitError> {
    let mut sorted: Vec<&T> = entries.iter().collect();
    sorted.sort_by_key(|entry| member_of(entry));
    for pair in sorted.windows(2) {
        if member_of(pair[0]) == member_of(pair[1]) {
            return Err(SplitError::DuplicateMember {
                member: member_of(pair[0]),
            });
        }
    }
    Ok(sorted)
}

fn ensure_currency(
    bill: Money,
    amount: Money,
    field: impl Fn() -> String,
) -> Result<(), SplitError> {
    if amount.currency() == bill.currency() {
        return Ok(());
    }
    Err(SplitError::CurrencyMismatch {
        field: field(),
        found: amount.currency().code(),
        expected: bill.currency().code(),
    })
}

fn magnitude(amount: Money) -> i128 {
    i128::from(amount.minor()).abs()
}

fn to_i128(count: usize) -> i128 {
    // A usize always fits in i128 on every supported target (at most 64 bits).
    i128::try_from(count).unwrap_or(i128::MAX)
}

/// Every line is at most the bill in magnitude, so this only fails on a bug.
fn to_i64(units: i128) -> Result<i64, SplitError> {
    i64::try_from(units).map_err(|_| SplitError::Overflow {
        detail: "a share does not fit in 64-bit minor units",
    })
}

/// `1 member`, `2 members`: the count as the explanations print it.
pub(crate) fn members_count(count: i128) -> String {
    if count == 1 {
        "1 member".to_owned()
    } else {
        format!("{count} members")
    }
}
