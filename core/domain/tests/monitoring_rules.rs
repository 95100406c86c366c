//! Transaction monitoring rules on hand-made payment histories, with the
//! default configuration unless a test changes it.

use sharepay_domain::ids::{ResourceId, UserId};
use sharepay_domain::meter::Timestamp;
use sharepay_domain::money::{Currency, Money};
use sharepay_domain::monitoring::{
    DeviceSighting, MonitoringConfig, MonitoringRule, PaymentRecord, RuleMatch, Severity,
    evaluate_payment,
};

const ALICE: UserId = UserId::from_u128(1);
const BOB: UserId = UserId::from_u128(2);
const NOW: i64 = 1_800_000_000;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
const PHONE: &str = "device-phone";

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::from_code("EUR").expect("EUR in table"))
}

fn payment(id: u128, user: UserId, amount: Money, at: i64) -> PaymentRecord {
    PaymentRecord {
        payment: ResourceId::from_u128(id),
        user,
        amount,
        at: Timestamp(at),
        device: PHONE.to_owned(),
    }
}

/// Returns Alice's phone, first used a year ago, so the new-device rule stays quiet.
fn known_phone() -> Vec<DeviceSighting> {
    vec![DeviceSighting {
        user: ALICE,
        device: PHONE.to_owned(),
        first_seen: Timestamp(NOW - 365 * DAY),
    }]
}

fn rules(matches: &[RuleMatch]) -> Vec<MonitoringRule> {
    matches.iter().map(|found| found.rule).collect()
}

fn evaluate(current: &PaymentRecord, history: &[PaymentRecord]) -> Vec<RuleMatch> {
    evaluate_payment(
        &MonitoringConfig::default(),
        current,
        history,
        &known_phone(),
    )
}

#[test]
fn ordinary_payment_matches_nothing() {
    let current = payment(100, ALICE, eur(4_250), NOW);
    let history = [payment(1, ALICE, eur(3_900), NOW - 30 * DAY)];
    assert_eq!(evaluate(&current, &history), Vec::new());
}

#[test]
fn amount_at_threshold_matches() {
    let current = payment(100, ALICE, eur(100_000), NOW);
    let matches = evaluate(&current, &[]);
    assert_eq!(rules(&matches), [MonitoringRule::AmountThreshold]);
    assert_eq!(matches[0].severity, Severity::Medium);
    assert_eq!(
        matches[0].reason,
        "payment of €1,000.00 is at or above the €1,000.00 threshold"
    );
}

#[test]
fn amount_one_cent_under_threshold_does_not_match() {
    let current = payment(100, ALICE, eur(99_999), NOW);
    assert!(!rules(&evaluate(&current, &[])).contains(&MonitoringRule::AmountThreshold));
}

#[test]
fn currency_without_threshold_is_checked_for_velocity_only() {
    let jpy = Currency::from_code("JPY").expect("JPY in table");
    let huge = Money::from_minor(10_000_000, jpy);
    let current = payment(100, ALICE, huge, NOW);
    assert_eq!(evaluate(&current, &[]), Vec::new());

    let history: Vec<_> = (0..5)
        .map(|index| payment(index, ALICE, huge, NOW - 60 * (index as i64 + 1)))
        .collect();
    assert_eq!(
        rules(&evaluate(&current, &history)),
        [MonitoringRule::Velocity]
    );
}

#[test]
fn velocity_counts_payments_in_window() {
    let current = payment(100, ALICE, eur(1_000), NOW);
    // Five earlier payments in the last hour make six with the current one.
    let mut history: Vec<_> = (0..5)
        .map(|index| payment(index, ALICE, eur(1_000), NOW - 600 * index as i64))
        .collect();
    let matches = evaluate(&current, &history);
    assert_eq!(rules(&matches), [MonitoringRule::Velocity]);
    assert_eq!(
        matches[0].reason,
        "6 payments within 1 hour, more than the limit of 5"
    );

    // Moving one payment to exactly one hour ago takes it out of the window.
    history[4].at = Timestamp(NOW - HOUR);
    assert_eq!(evaluate(&current, &history), Vec::new());
}

#[test]
fn velocity_ignores_other_users_duplicates_and_later_payments() {
    let current = payment(100, ALICE, eur(1_000), NOW);
    let mut history: Vec<_> = (0..4)
        .map(|index| payment(index, ALICE, eur(1_000), NOW - 60 * index as i64))
        .collect();
    history.push(payment(50, BOB, eur(1_000), NOW - 10));
    history.push(payment(3, ALICE, eur(1_000), NOW - 180));
    history.push(payment(51, ALICE, eur(1_000), NOW + 1));
    history.push(current.clone());
    assert_eq!(evaluate(&current, &history), Vec::new());
}

#[test]
fn structuring_matches_third_payment_just_under_threshold() {
    let current = payment(100, ALICE, eur(95_000), NOW);
    let history = [
        payment(1, ALICE, eur(99_999), NOW - 6 * DAY),
        payment(2, ALICE, eur(90_000), NOW - 2 * DAY),
    ];
    let matches = evaluate(&current, &history);
    assert_eq!(rules(&matches), [MonitoringRule::Structuring]);
    assert_eq!(matches[0].severity, Severity::High);
    assert_eq!(
        matches[0].reason,
        "3 payments within 7 days were between €900.00 and €999.99, just under the \
         €1,000.00 threshold"
    );
}

#[test]
fn structuring_needs_every_payment_in_band() {
    let history = [
        payment(1, ALICE, eur(99_999), NOW - 6 * DAY),
        payment(2, ALICE, eur(89_999), NOW - 2 * DAY),
    ];
    let current = payment(100, ALICE, eur(95_000), NOW);
    assert_eq!(evaluate(&current, &history), Vec::new());

    let in_band = [
        payment(1, ALICE, eur(99_999), NOW - 6 * DAY),
        payment(2, ALICE, eur(90_000), NOW - 2 * DAY),
    ];
    let below_band = payment(100, ALICE, eur(80_000), NOW);
    assert_eq!(evaluate(&below_band, &in_band), Vec::new());

    let outside_window = [
        payment(1, ALICE, eur(99_999), NOW - 7 * DAY),
        payment(2, ALICE, eur(90_000), NOW - 2 * DAY),
    ];
    assert_eq!(evaluate(&current, &outside_window), Vec::new());
}

#[test]
fn structuring_ignores_other_currencies() {
    let usd = Money::from_minor(95_000, Currency::from_code("USD").expect("USD in table"));
    let history = [
        payment(1, ALICE, usd, NOW - DAY),
        payment(2, ALICE, usd, NOW - 2 * DAY),
    ];
    let current = payment(100, ALICE, eur(95_000), NOW);
    assert_eq!(evaluate(&current, &history), Vec::new());
}

#[test]
fn new_device_then_large_payment_matches() {
    let tablet = DeviceSighting {
        user: ALICE,
        device: "device-tablet".to_owned(),
        first_seen: Timestamp(NOW - 2 * HOUR),
    };
    let mut current = payment(100, ALICE, eur(50_000), NOW);
    current.device = tablet.device.clone();
    let devices = [known_phone(), vec![tablet]].concat();

    let matches = evaluate_payment(&MonitoringConfig::default(), &current, &[], &devices);
    assert_eq!(rules(&matches), [MonitoringRule::NewDeviceLargePayment]);
    assert_eq!(
        matches[0].reason,
        "payment of €500.00 (at least €500.00) from a device first used 2 hours earlier"
    );
    assert!(!matches[0].reason.contains("device-tablet"));

    current.amount = eur(49_999);
    let small = evaluate_payment(&MonitoringConfig::default(), &current, &[], &devices);
    assert_eq!(small, Vec::new());
}

#[test]
fn new_device_rule_uses_the_users_own_sighting() {
    // Bob used the tablet long ago, but Alice has never used it before.
    let devices = [DeviceSighting {
        user: BOB,
        device: "device-tablet".to_owned(),
        first_seen: Timestamp(NOW - 365 * DAY),
    }];
    let mut current = payment(100, ALICE, eur(60_000), NOW);
    current.device = "device-tablet".to_owned();
    let matches = evaluate_payment(&MonitoringConfig::default(), &current, &[], &devices);
    assert_eq!(rules(&matches), [MonitoringRule::NewDeviceLargePayment]);
    assert!(matches[0].reason.ends_with("first used 0 seconds earlier"));
}

#[test]
fn device_older_than_window_does_not_match() {
    let devices = [DeviceSighting {
        user: ALICE,
        device: PHONE.to_owned(),
        first_seen: Timestamp(NOW - DAY - 1),
    }];
    let current = payment(100, ALICE, eur(60_000), NOW);
    let matches = evaluate_payment(&MonitoringConfig::default(), &current, &[], &devices);
    assert_eq!(matches, Vec::new());
}

#[test]
fn several_rules_match_in_rule_order() {
    let mut config = MonitoringConfig::default();
    config.velocity.max_payments = 1;
    let current = payment(100, ALICE, eur(150_000), NOW);
    let history = [payment(1, ALICE, eur(1_000), NOW - 60)];
    let matches = evaluate_payment(&config, &current, &history, &[]);
    assert_eq!(
        rules(&matches),
        [
            MonitoringRule::AmountThreshold,
            MonitoringRule::Velocity,
            MonitoringRule::NewDeviceLargePayment,
        ]
    );
}

#[test]
fn disabled_rules_do_not_match() {
    let mut config = MonitoringConfig::default();
    config.amount_threshold.enabled = false;
    config.new_device.enabled = false;
    let current = payment(100, ALICE, eur(150_000), NOW);
    assert_eq!(evaluate_payment(&config, &current, &[], &[]), Vec::new());
}

#[test]
fn conflicting_duplicate_ids_give_same_result_in_any_order() {
    let current = payment(100, ALICE, eur(95_000), NOW);
    let in_band = payment(1, ALICE, eur(99_000), NOW - 2 * DAY);
    let below_band = payment(1, ALICE, eur(10_000), NOW - 3 * DAY);
    let other = payment(2, ALICE, eur(90_000), NOW - DAY);

    let forward = [in_band.clone(), below_band.clone(), other.clone()];
    let backward = [other, below_band, in_band];
    let first = evaluate(&current, &forward);
    let second = evaluate(&current, &backward);
    assert_eq!(first, second);
    // Payment 1 counts once, and as in the band, because one of its records
    // is.
    assert_eq!(rules(&first), vec![MonitoringRule::Structuring]);
}
