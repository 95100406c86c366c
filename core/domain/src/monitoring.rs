//! Transaction monitoring: rules that flag a payment for review.
//!
//! After a payment, the server passes it with the user's recent payments
//! and device first-use times to [`evaluate_payment`]. Each rule that
//! matches returns a [`RuleMatch`] with a severity and a reason for the
//! reviewer; the server opens a case for them. The rules are:
//!
//! - amount threshold: the payment is at or above its currency's threshold;
//! - velocity: the user made too many payments within a window;
//! - structuring: several payments just under the threshold within a window;
//! - new device: a large payment soon after the user first used the device.
//!
//! Times are parameters and this module reads no clock. Reason texts carry
//! amounts, counts and windows, never a device fingerprint.

mod config;

pub use config::{
    AmountThresholdRule, MonitoringConfig, MonitoringConfigError, NewDeviceRule, StructuringRule,
    VelocityRule,
};

use serde::{Deserialize, Serialize};

use crate::ids::{ResourceId, UserId};
use crate::meter::Timestamp;
use crate::money::Money;
use config::FULL_BASIS_POINTS;

/// A payment as the monitoring rules see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecord {
    pub payment: ResourceId,
    pub user: UserId,
    pub amount: Money,
    pub at: Timestamp,
    /// Opaque identifier of the device that sent the payment request.
    pub device: String,
}

/// When a user first used a device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceSighting {
    pub user: UserId,
    pub device: String,
    pub first_seen: Timestamp,
}

/// The urgency of a match for the reviewer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

/// The rule that matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitoringRule {
    AmountThreshold,
    Velocity,
    Structuring,
    NewDeviceLargePayment,
}

impl MonitoringRule {
    /// Storage code, the same as the JSON form.
    pub const fn code(&self) -> &'static str {
        match self {
            MonitoringRule::AmountThreshold => "amount_threshold",
            MonitoringRule::Velocity => "velocity",
            MonitoringRule::Structuring => "structuring",
            MonitoringRule::NewDeviceLargePayment => "new_device_large_payment",
        }
    }
}

/// One rule that matched a payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleMatch {
    pub rule: MonitoringRule,
    pub severity: Severity,
    /// The reason the rule matched, in a sentence for the reviewer.
    pub reason: String,
}

/// Runs every enabled rule on `payment` and returns the matches in the
/// order of [`MonitoringRule`].
///
/// `history` may hold any payments: only the same user's payments at or
/// before `payment.at` count, each payment id once, and `payment` itself
/// is skipped if it is listed. A device missing from `devices` counts as
/// first used at `payment.at`. `config` must have passed
/// [`MonitoringConfig::validate`].
pub fn evaluate_payment(
    config: &MonitoringConfig,
    payment: &PaymentRecord,
    history: &[PaymentRecord],
    devices: &[DeviceSighting],
) -> Vec<RuleMatch> {
    let mut matches = Vec::new();
    let threshold = config.threshold(payment.amount.currency());

    if let Some(threshold) = threshold
        && config.amount_threshold.enabled
        && payment.amount.minor() >= threshold.minor()
    {
        matches.push(RuleMatch {
            rule: MonitoringRule::AmountThreshold,
            severity: config.amount_threshold.severity,
            reason: format!(
                "payment of {} is at or above the {threshold} threshold",
                payment.amount
            ),
        });
    }

    if config.velocity.enabled {
        matches.extend(check_velocity(&config.velocity, payment, history));
    }

    if let Some(threshold) = threshold {
        if config.structuring.enabled {
            matches.extend(check_structuring(
                &config.structuring,
                threshold,
                payment,
                history,
            ));
        }
        if config.new_device.enabled {
            matches.extend(check_new_device(
                &config.new_device,
                threshold,
                payment,
                devices,
            ));
        }
    }
    matches
}

fn check_velocity(
    rule: &VelocityRule,
    payment: &PaymentRecord,
    history: &[PaymentRecord],
) -> Option<RuleMatch> {
    let count = earlier_payments(payment, history, rule.window_seconds).len() + 1;
    let limit = usize::try_from(rule.max_payments).unwrap_or(usize::MAX);
    if count <= limit {
        return None;
    }
    Some(RuleMatch {
        rule: MonitoringRule::Velocity,
        severity: rule.severity,
        reason: format!(
            "{count} payments within {}, more than the limit of {limit}",
            describe_window(rule.window_seconds)
        ),
    })
}

fn check_structuring(
    rule: &StructuringRule,
    threshold: Money,
    payment: &PaymentRecord,
    history: &[PaymentRecord],
) -> Option<RuleMatch> {
    let lower = part_of(threshold, FULL_BASIS_POINTS - rule.margin_basis_points);
    let in_band = |amount: Money| {
        amount.currency() == threshold.currency()
            && amount.minor() >= lower
            && amount.minor() < threshold.minor()
    };
    if !in_band(payment.amount) {
        return None;
    }

    // A payment id counts once, and counts as in the band when any record
    // of it is: a conflicting duplicate can add suspicion but never hide it,
    // so more history never removes a match.
    let mut in_band_ids: Vec<_> = history
        .iter()
        .filter(|earlier| is_earlier(payment, earlier, rule.window_seconds))
        .filter(|earlier| in_band(earlier.amount))
        .map(|earlier| earlier.payment)
        .collect();
    in_band_ids.sort_unstable();
    in_band_ids.dedup();
    let count = in_band_ids.len() + 1;
    if count < usize::try_from(rule.min_payments).unwrap_or(usize::MAX) {
        return None;
    }
    let lower = Money::from_minor(lower, threshold.currency());
    let upper = Money::from_minor(threshold.minor() - 1, threshold.currency());
    Some(RuleMatch {
        rule: MonitoringRule::Structuring,
        severity: rule.severity,
        reason: format!(
            "{count} payments within {} were between {lower} and {upper}, just under the \
             {threshold} threshold",
            describe_window(rule.window_seconds)
        ),
    })
}

fn check_new_device(
    rule: &NewDeviceRule,
    threshold: Money,
    payment: &PaymentRecord,
    devices: &[DeviceSighting],
) -> Option<RuleMatch> {
    let large = part_of(threshold, rule.large_payment_basis_points);
    if payment.amount.minor() < large {
        return None;
    }

    let first_seen = devices
        .iter()
        .filter(|sighting| sighting.user == payment.user && sighting.device == payment.device)
        .map(|sighting| sighting.first_seen)
        .min()
        .unwrap_or(payment.at);
    let age = payment.at.0.saturating_sub(first_seen.0);
    if age > rule.window_seconds {
        return None;
    }
    let large = Money::from_minor(large, threshold.currency());
    Some(RuleMatch {
        rule: MonitoringRule::NewDeviceLargePayment,
        severity: rule.severity,
        reason: format!(
            "payment of {} (at least {large}) from a device first used {} earlier",
            payment.amount,
            describe_window(age.max(0))
        ),
    })
}

/// Collects the same user's other payments in `(payment.at - window, payment.at]`,
/// each payment id once.
///
/// When the history lists one id more than once with different data, the
/// entry that sorts first by time, amount, currency and device is kept, so
/// the result never depends on the order of `history`. Only the velocity
/// rule uses this, and it counts ids, so which entry is kept does not
/// change its result.
fn earlier_payments<'a>(
    payment: &PaymentRecord,
    history: &'a [PaymentRecord],
    window_seconds: i64,
) -> Vec<&'a PaymentRecord> {
    let mut earlier: Vec<&PaymentRecord> = history
        .iter()
        .filter(|earlier| is_earlier(payment, earlier, window_seconds))
        .collect();
    earlier.sort_by(|left, right| {
        (
            left.payment,
            left.at,
            left.amount.minor(),
            left.amount.currency().code(),
        )
            .cmp(&(
                right.payment,
                right.at,
                right.amount.minor(),
                right.amount.currency().code(),
            ))
            .then_with(|| left.device.cmp(&right.device))
    });
    earlier.dedup_by_key(|earlier| earlier.payment);
    earlier
}

/// Returns whether `earlier` is another payment of the same user inside the
/// window that ends at `payment`.
fn is_earlier(payment: &PaymentRecord, earlier: &PaymentRecord, window_seconds: i64) -> bool {
    let start = payment.at.0.saturating_sub(window_seconds);
    earlier.user == payment.user
        && earlier.payment != payment.payment
        && earlier.at.0 > start
        && earlier.at <= payment.at
}

/// `basis_points` of a positive `amount`, in minor units, rounded up so
/// that the bound never falls below the configured fraction.
fn part_of(amount: Money, basis_points: u32) -> i64 {
    let scaled = i128::from(amount.minor()) * i128::from(basis_points);
    let full = i128::from(FULL_BASIS_POINTS);
    let rounded_up = (scaled + full - 1) / full;
    // At most `amount` for basis points up to 100 %, so it fits in i64.
    i64::try_from(rounded_up).unwrap_or(i64::MAX)
}

/// Formats a span of seconds in the largest whole unit: `7 days`, `1 hour`.
fn describe_window(seconds: i64) -> String {
    let units = [(86_400, "day"), (3_600, "hour"), (60, "minute")];
    for (size, name) in units {
        if seconds >= size && seconds % size == 0 {
            let count = seconds / size;
            let plural = if count == 1 { "" } else { "s" };
            return format!("{count} {name}{plural}");
        }
    }
    let plural = if seconds == 1 { "" } else { "s" };
    format!("{seconds} second{plural}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_use_the_largest_whole_unit() {
        assert_eq!(describe_window(604_800), "7 days");
        assert_eq!(describe_window(86_400), "1 day");
        assert_eq!(describe_window(5_400), "90 minutes");
        assert_eq!(describe_window(3_600), "1 hour");
        assert_eq!(describe_window(61), "61 seconds");
        assert_eq!(describe_window(1), "1 second");
        assert_eq!(describe_window(0), "0 seconds");
    }

    #[test]
    fn rule_codes_match_json() {
        let rules = [
            MonitoringRule::AmountThreshold,
            MonitoringRule::Velocity,
            MonitoringRule::Structuring,
            MonitoringRule::NewDeviceLargePayment,
        ];
        for rule in rules {
            let json = serde_json::to_value(rule).expect("serialize");
            assert_eq!(json, rule.code());
        }
        assert!(Severity::High > Severity::Medium);
        assert!(Severity::Medium > Severity::Low);
    }

    #[test]
    fn part_of_rounds_up() {
        let eur = crate::money::Currency::from_code("EUR").expect("EUR in table");
        assert_eq!(part_of(Money::from_minor(100_000, eur), 9_000), 90_000);
        assert_eq!(part_of(Money::from_minor(999, eur), 5_000), 500);
        assert_eq!(part_of(Money::from_minor(1, eur), 1), 1);
        assert_eq!(part_of(Money::from_minor(i64::MAX, eur), 10_000), i64::MAX);
    }
}
