//! Table tests of the split engine: the worked examples a reviewer checks
//! by hand, and every rejected input.

use sharepay_domain::ids::MemberId;
use sharepay_domain::meter::Quantity;
use sharepay_domain::money::{Currency, Money};
use sharepay_domain::split::{
    ConsumptionMember, EqualMember, ExactMember, PercentMember, ShareMember, SplitError,
    SplitMethod, split_bill,
};

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::from_code("EUR").expect("EUR"))
}

fn member(n: u128) -> MemberId {
    MemberId::from_u128(n)
}

fn equal(ids: &[u128]) -> SplitMethod {
    SplitMethod::Equal {
        members: ids
            .iter()
            .map(|&n| EqualMember {
                member: member(n),
                included: true,
            })
            .collect(),
    }
}

fn minors(bill: Money, method: &SplitMethod) -> Vec<i64> {
    let split = split_bill(bill, method).expect("valid split");
    split.lines.iter().map(|line| line.amount.minor()).collect()
}

#[test]
fn equal_split_gives_extra_unit_to_first_member() {
    let split = split_bill(eur(100), &equal(&[1, 2, 3])).expect("valid split");
    let amounts: Vec<i64> = split.lines.iter().map(|line| line.amount.minor()).collect();
    assert_eq!(amounts, vec![34, 33, 33]);
    assert_eq!(split.lines[0].member, member(1));
    assert_eq!(split.lines[0].leftover_units, 1);
    assert_eq!(split.lines[1].leftover_units, 0);
}

#[test]
fn tie_break_uses_member_id_not_position() {
    let split = split_bill(eur(100), &equal(&[3, 1, 2])).expect("valid split");
    assert_eq!(split.line(member(1)).expect("line").amount, eur(34));
    assert_eq!(split.line(member(3)).expect("line").amount, eur(33));
}

#[test]
fn equal_split_explanation_states_rounding() {
    let split = split_bill(eur(100), &equal(&[1, 2, 3])).expect("valid split");
    assert_eq!(
        split.lines[0].explanation,
        "Equal split of €1.00 among 3 members: €0.34. The exact share is not a whole number of \
         minor units, so it was rounded toward zero to €0.33 and this member received one \
         leftover minor unit (largest remainder first; equal remainders go to the lowest member id)."
    );
    assert!(
        split.lines[1]
            .explanation
            .starts_with("Equal split of €1.00 among 3 members: €0.33.")
    );
}

#[test]
fn one_member_explanation_is_singular() {
    let split = split_bill(eur(100), &equal(&[1])).expect("valid split");
    assert!(
        split.lines[0]
            .explanation
            .starts_with("Equal split of €1.00 among 1 member: €1.00."),
        "{}",
        split.lines[0].explanation
    );
}

#[test]
fn refund_splits_symmetrically() {
    assert_eq!(minors(eur(-100), &equal(&[1, 2, 3])), vec![-34, -33, -33]);
}

#[test]
fn excluded_member_gets_zero() {
    let method = SplitMethod::Equal {
        members: vec![
            EqualMember {
                member: member(1),
                included: true,
            },
            EqualMember {
                member: member(2),
                included: false,
            },
            EqualMember {
                member: member(3),
                included: true,
            },
        ],
    };
    let split = split_bill(eur(101), &method).expect("valid split");
    assert_eq!(split.line(member(2)).expect("line").amount, eur(0));
    assert_eq!(
        split.line(member(2)).expect("line").explanation,
        "Excluded from this bill: €0.00."
    );
    assert_eq!(split.line(member(1)).expect("line").amount, eur(51));
    assert_eq!(split.line(member(3)).expect("line").amount, eur(50));
}

#[test]
fn shares_split_by_weight() {
    let method = SplitMethod::Shares {
        members: vec![
            ShareMember {
                member: member(1),
                shares: 1,
            },
            ShareMember {
                member: member(2),
                shares: 2,
            },
            ShareMember {
                member: member(3),
                shares: 0,
            },
        ],
    };
    assert_eq!(minors(eur(1000), &method), vec![333, 667, 0]);
}

#[test]
fn percent_split_in_basis_points() {
    let method = SplitMethod::Percent {
        members: vec![
            PercentMember {
                member: member(1),
                basis_points: 2_500,
            },
            PercentMember {
                member: member(2),
                basis_points: 7_500,
            },
        ],
    };
    let split = split_bill(eur(999), &method).expect("valid split");
    assert_eq!(split.lines[0].amount, eur(250));
    assert_eq!(split.lines[1].amount, eur(749));
    assert!(
        split.lines[0]
            .explanation
            .starts_with("25.00% of €9.99: €2.50.")
    );
}

#[test]
fn percent_not_summing_to_100_is_rejected() {
    let method = SplitMethod::Percent {
        members: vec![PercentMember {
            member: member(1),
            basis_points: 9_999,
        }],
    };
    assert_eq!(
        split_bill(eur(100), &method),
        Err(SplitError::PercentTotal {
            total_basis_points: 9_999
        })
    );
}

#[test]
fn exact_amounts_must_sum_to_bill() {
    let method = SplitMethod::Exact {
        members: vec![
            ExactMember {
                member: member(1),
                amount: eur(60),
            },
            ExactMember {
                member: member(2),
                amount: eur(39),
            },
        ],
    };
    assert_eq!(
        split_bill(eur(100), &method),
        Err(SplitError::ExactTotal {
            entered: 99,
            bill_minor: 100
        })
    );
}

#[test]
fn exact_negative_share_of_charge_is_rejected() {
    let method = SplitMethod::Exact {
        members: vec![
            ExactMember {
                member: member(1),
                amount: eur(110),
            },
            ExactMember {
                member: member(2),
                amount: eur(-10),
            },
        ],
    };
    assert!(matches!(
        split_bill(eur(100), &method),
        Err(SplitError::ExactSign { .. })
    ));
}

#[test]
fn exact_amount_in_other_currency_is_rejected() {
    let usd = Currency::from_code("USD").expect("USD");
    let method = SplitMethod::Exact {
        members: vec![ExactMember {
            member: member(1),
            amount: Money::from_minor(100, usd),
        }],
    };
    assert!(matches!(
        split_bill(eur(100), &method),
        Err(SplitError::CurrencyMismatch { .. })
    ));
}

#[test]
fn consumption_split_adds_standing_and_usage_parts() {
    // €10.00 bill, €3.00 standing charge: €1.00 each, then €7.00 by usage 1:3:0.
    let method = SplitMethod::Consumption {
        standing_charge: eur(300),
        members: vec![
            ConsumptionMember {
                member: member(1),
                usage: Quantity::from_units(10).expect("quantity"),
                included: true,
            },
            ConsumptionMember {
                member: member(2),
                usage: Quantity::from_units(30).expect("quantity"),
                included: true,
            },
            ConsumptionMember {
                member: member(3),
                usage: Quantity::ZERO,
                included: true,
            },
        ],
    };
    let split = split_bill(eur(1000), &method).expect("valid split");
    let amounts: Vec<i64> = split.lines.iter().map(|line| line.amount.minor()).collect();
    assert_eq!(amounts, vec![275, 625, 100]);
    assert!(
        split.lines[0].explanation.starts_with(
            "Standing charge €3.00 shared equally by 3 members, plus 25.000% of the usage charge \
             €7.00 for 10 of 40 units used"
        ),
        "{}",
        split.lines[0].explanation
    );
}

#[test]
fn consumption_without_usage_is_rejected() {
    let method = SplitMethod::Consumption {
        standing_charge: eur(300),
        members: vec![ConsumptionMember {
            member: member(1),
            usage: Quantity::ZERO,
            included: true,
        }],
    };
    assert_eq!(
        split_bill(eur(1000), &method),
        Err(SplitError::NoConsumption {
            usage_part: eur(700)
        })
    );
}

#[test]
fn standing_charge_above_bill_is_rejected() {
    let method = SplitMethod::Consumption {
        standing_charge: eur(1001),
        members: vec![ConsumptionMember {
            member: member(1),
            usage: Quantity::from_milli(1),
            included: true,
        }],
    };
    assert!(matches!(
        split_bill(eur(1000), &method),
        Err(SplitError::StandingCharge { .. })
    ));
}

#[test]
fn duplicate_member_is_rejected() {
    assert_eq!(
        split_bill(eur(100), &equal(&[1, 1])),
        Err(SplitError::DuplicateMember { member: member(1) })
    );
}

#[test]
fn split_with_no_participant_is_rejected() {
    assert_eq!(
        split_bill(eur(100), &equal(&[])),
        Err(SplitError::NoParticipants)
    );
    let all_zero = SplitMethod::Shares {
        members: vec![ShareMember {
            member: member(1),
            shares: 0,
        }],
    };
    assert_eq!(
        split_bill(eur(100), &all_zero),
        Err(SplitError::NoParticipants)
    );
}

#[test]
fn extreme_bill_splits_without_overflow() {
    assert_eq!(
        minors(eur(i64::MAX), &equal(&[1, 2])),
        vec![i64::MAX / 2 + 1, i64::MAX / 2]
    );
    assert_eq!(
        minors(eur(i64::MIN), &equal(&[1, 2])),
        vec![i64::MIN / 2, i64::MIN / 2]
    );
}

#[test]
fn zero_bill_gives_zero_lines() {
    assert_eq!(minors(eur(0), &equal(&[1, 2, 3])), vec![0, 0, 0]);
}
