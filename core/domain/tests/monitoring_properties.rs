//! Property tests of the monitoring rules over random valid configurations
//! and random histories of up to 60 payments by two users in EUR and USD.

use std::collections::BTreeSet;

use proptest::prelude::*;
use sharepay_domain::ids::{ResourceId, UserId};
use sharepay_domain::meter::Timestamp;
use sharepay_domain::money::{Currency, Money};
use sharepay_domain::monitoring::{
    DeviceSighting, MonitoringConfig, MonitoringRule, PaymentRecord, RuleMatch, evaluate_payment,
};

const CASES: u32 = 500;
const NOW: i64 = 1_800_000_000;
const SPAN: i64 = 10 * 86_400;
const ALICE: UserId = UserId::from_u128(1);
const BOB: UserId = UserId::from_u128(2);
const DEVICES: [&str; 3] = ["device-a", "device-b", "device-c"];

fn config() -> impl Strategy<Value = MonitoringConfig> {
    (
        1..=10u32,
        1..=SPAN,
        1..=5_000u32,
        2..=6u32,
        1..=SPAN,
        1..=SPAN,
        1..=10_000u32,
    )
        .prop_map(
            |(
                max_payments,
                velocity_window,
                margin,
                min_payments,
                structuring_window,
                device_window,
                large,
            )| {
                let mut config = MonitoringConfig::default();
                config.velocity.max_payments = max_payments;
                config.velocity.window_seconds = velocity_window;
                config.structuring.margin_basis_points = margin;
                config.structuring.min_payments = min_payments;
                config.structuring.window_seconds = structuring_window;
                config.new_device.window_seconds = device_window;
                config.new_device.large_payment_basis_points = large;
                config
            },
        )
}

fn money() -> impl Strategy<Value = Money> {
    (1..=200_000i64, prop::sample::select(vec!["EUR", "USD"])).prop_map(|(minor, code)| {
        Money::from_minor(minor, Currency::from_code(code).expect("currency in table"))
    })
}

/// Draws payment ids from a small range, so that histories repeat some ids.
fn payment() -> impl Strategy<Value = PaymentRecord> {
    (
        0..20u128,
        prop::sample::select(vec![ALICE, BOB]),
        money(),
        NOW - SPAN..=NOW + 3_600,
        prop::sample::select(DEVICES.to_vec()),
    )
        .prop_map(|(id, user, amount, at, device)| PaymentRecord {
            payment: ResourceId::from_u128(id),
            user,
            amount,
            at: Timestamp(at),
            device: device.to_owned(),
        })
}

fn sighting() -> impl Strategy<Value = DeviceSighting> {
    (
        prop::sample::select(vec![ALICE, BOB]),
        prop::sample::select(DEVICES.to_vec()),
        NOW - 2 * SPAN..=NOW,
    )
        .prop_map(|(user, device, first_seen)| DeviceSighting {
            user,
            device: device.to_owned(),
            first_seen: Timestamp(first_seen),
        })
}

/// Draws Alice's payment at `NOW`, with an id outside the history's range.
fn current() -> impl Strategy<Value = PaymentRecord> {
    (money(), prop::sample::select(DEVICES.to_vec())).prop_map(|(amount, device)| PaymentRecord {
        payment: ResourceId::from_u128(1_000),
        user: ALICE,
        amount,
        at: Timestamp(NOW),
        device: device.to_owned(),
    })
}

fn rules(matches: &[RuleMatch]) -> BTreeSet<MonitoringRule> {
    matches.iter().map(|found| found.rule).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn result_ignores_input_order(
        config in config(),
        current in current(),
        history in prop::collection::vec(payment(), 0..60).prop_shuffle(),
        devices in prop::collection::vec(sighting(), 0..6),
    ) {
        prop_assert_eq!(config.validate(), Ok(()));
        let forward = evaluate_payment(&config, &current, &history, &devices);

        let mut reversed_history = history.clone();
        reversed_history.reverse();
        let mut reversed_devices = devices.clone();
        reversed_devices.reverse();
        let backward = evaluate_payment(&config, &current, &reversed_history, &reversed_devices);
        prop_assert_eq!(forward, backward);
    }

    #[test]
    fn other_users_change_nothing(
        config in config(),
        current in current(),
        history in prop::collection::vec(payment(), 0..60),
        devices in prop::collection::vec(sighting(), 0..6),
    ) {
        let alone: Vec<_> = history.iter().filter(|payment| payment.user == ALICE).cloned().collect();
        let own_devices: Vec<_> = devices.iter().filter(|sighting| sighting.user == ALICE).cloned().collect();
        prop_assert_eq!(
            evaluate_payment(&config, &current, &history, &devices),
            evaluate_payment(&config, &current, &alone, &own_devices)
        );
    }

    #[test]
    fn more_history_never_removes_a_match(
        config in config(),
        current in current(),
        history in prop::collection::vec(payment(), 0..60),
        extra in prop::collection::vec(payment(), 1..10),
        devices in prop::collection::vec(sighting(), 0..6),
    ) {
        let before = rules(&evaluate_payment(&config, &current, &history, &devices));
        let longer = [history, extra].concat();
        let after = rules(&evaluate_payment(&config, &current, &longer, &devices));
        prop_assert!(before.is_subset(&after), "{:?} then {:?}", before, after);
    }

    #[test]
    fn amount_and_velocity_match_their_definitions(
        config in config(),
        current in current(),
        history in prop::collection::vec(payment(), 0..60),
    ) {
        let found = rules(&evaluate_payment(&config, &current, &history, &[]));

        let threshold = config.threshold(current.amount.currency()).expect("EUR and USD have thresholds");
        prop_assert_eq!(
            found.contains(&MonitoringRule::AmountThreshold),
            current.amount.minor() >= threshold.minor()
        );

        let window_start = NOW - config.velocity.window_seconds;
        let in_window: BTreeSet<ResourceId> = history
            .iter()
            .filter(|payment| payment.user == ALICE)
            .filter(|payment| payment.at.0 > window_start && payment.at.0 <= NOW)
            .map(|payment| payment.payment)
            .collect();
        let count = in_window.len() + 1;
        prop_assert_eq!(
            found.contains(&MonitoringRule::Velocity),
            count > config.velocity.max_payments as usize
        );
    }

    #[test]
    fn reasons_never_name_a_device(
        config in config(),
        current in current(),
        history in prop::collection::vec(payment(), 0..60),
        devices in prop::collection::vec(sighting(), 0..6),
    ) {
        for found in evaluate_payment(&config, &current, &history, &devices) {
            for device in DEVICES {
                prop_assert!(!found.reason.contains(device), "{}", found.reason);
            }
        }
    }
}
