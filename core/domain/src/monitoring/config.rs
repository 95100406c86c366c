//! Settings of the monitoring rules, with defaults and validation.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::Severity;
use crate::money::{Currency, Money};

/// Basis points in 100 %.
pub(super) const FULL_BASIS_POINTS: u32 = 10_000;

const HOUR: i64 = 60 * 60;
const DAY: i64 = 24 * HOUR;

/// Settings of every monitoring rule.
///
/// Deserializes from partial input: a missing field keeps its default, and
/// an unknown field is an error. Call [`MonitoringConfig::validate`] once
/// at start-up, because [`super::evaluate_payment`] trusts the values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitoringConfig {
    /// One threshold per currency, used by the amount, structuring and new
    /// device rules. A payment in a currency without a threshold is checked
    /// by the velocity rule only.
    pub thresholds: Vec<Money>,
    pub amount_threshold: AmountThresholdRule,
    pub velocity: VelocityRule,
    pub structuring: StructuringRule,
    pub new_device: NewDeviceRule,
}

/// Flags a payment at or above its currency's threshold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AmountThresholdRule {
    pub enabled: bool,
    pub severity: Severity,
}

/// Flags a user who makes more than `max_payments` payments within
/// `window_seconds`, counting the payment being evaluated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VelocityRule {
    pub enabled: bool,
    pub max_payments: u32,
    pub window_seconds: i64,
    pub severity: Severity,
}

/// Flags a payment just under the threshold when, with it, the user made at
/// least `min_payments` such payments within `window_seconds`. "Just
/// under" means at most `margin_basis_points` below the threshold (1,000
/// basis points is 10 %).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StructuringRule {
    pub enabled: bool,
    pub margin_basis_points: u32,
    pub min_payments: u32,
    pub window_seconds: i64,
    pub severity: Severity,
}

/// Flags a large payment from a device that the user first used no more
/// than `window_seconds` earlier. "Large" means at least
/// `large_payment_basis_points` of the currency's threshold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NewDeviceRule {
    pub enabled: bool,
    pub window_seconds: i64,
    pub large_payment_basis_points: u32,
    pub severity: Severity,
}

impl Default for MonitoringConfig {
    /// Thresholds of 1,000.00 in EUR, USD, GBP and CHF with every rule on.
    ///
    /// NOTE: these values are a starting point for payments of household
    /// bills, not figures from any regulation. Set them per deployment.
    fn default() -> Self {
        let thresholds = ["EUR", "USD", "GBP", "CHF"]
            .into_iter()
            .filter_map(|code| Currency::from_code(code).ok())
            .map(|currency| Money::from_minor(100_000, currency))
            .collect();
        MonitoringConfig {
            thresholds,
            amount_threshold: AmountThresholdRule::default(),
            velocity: VelocityRule::default(),
            structuring: StructuringRule::default(),
            new_device: NewDeviceRule::default(),
        }
    }
}

impl Default for AmountThresholdRule {
    fn default() -> Self {
        AmountThresholdRule {
            enabled: true,
            severity: Severity::Medium,
        }
    }
}

impl Default for VelocityRule {
    /// More than 5 payments in one hour.
    fn default() -> Self {
        VelocityRule {
            enabled: true,
            max_payments: 5,
            window_seconds: HOUR,
            severity: Severity::Medium,
        }
    }
}

impl Default for StructuringRule {
    /// 3 payments within 10 % under the threshold in 7 days.
    fn default() -> Self {
        StructuringRule {
            enabled: true,
            margin_basis_points: 1_000,
            min_payments: 3,
            window_seconds: 7 * DAY,
            severity: Severity::High,
        }
    }
}

impl Default for NewDeviceRule {
    /// Half the threshold or more within 24 hours of a device's first use.
    fn default() -> Self {
        NewDeviceRule {
            enabled: true,
            window_seconds: DAY,
            large_payment_basis_points: 5_000,
            severity: Severity::High,
        }
    }
}

/// Error from validating a [`MonitoringConfig`]. Field paths are relative to
/// the monitoring section, such as `velocity.window_seconds`.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MonitoringConfigError {
    #[error("{field} is {value}, but it must be {requirement}")]
    OutOfRange {
        field: String,
        value: String,
        requirement: String,
    },

    #[error(
        "thresholds lists {currency} more than once (entry {index}): keep one threshold per \
         currency"
    )]
    DuplicateThreshold {
        currency: &'static str,
        index: usize,
    },

    #[error(
        "{rule}.enabled is true, but thresholds is empty: add a threshold for each payment \
         currency, or set {rule}.enabled = false"
    )]
    MissingThresholds { rule: &'static str },
}

impl MonitoringConfig {
    /// Checks every field and returns the first invalid one.
    pub fn validate(&self) -> Result<(), MonitoringConfigError> {
        self.validate_thresholds()?;

        let velocity = &self.velocity;
        if velocity.enabled {
            at_least("velocity.max_payments", velocity.max_payments.into(), 1)?;
            at_least("velocity.window_seconds", velocity.window_seconds, 1)?;
        }

        let structuring = &self.structuring;
        if structuring.enabled {
            self.require_thresholds("structuring")?;
            basis_points(
                "structuring.margin_basis_points",
                structuring.margin_basis_points,
                "between 1 and 5000 (0.01 % to 50 %)",
                FULL_BASIS_POINTS / 2,
            )?;
            at_least(
                "structuring.min_payments",
                structuring.min_payments.into(),
                2,
            )?;
            at_least("structuring.window_seconds", structuring.window_seconds, 1)?;
        }

        let new_device = &self.new_device;
        if new_device.enabled {
            self.require_thresholds("new_device")?;
            at_least("new_device.window_seconds", new_device.window_seconds, 1)?;
            basis_points(
                "new_device.large_payment_basis_points",
                new_device.large_payment_basis_points,
                "between 1 and 10000 (0.01 % to 100 % of the threshold)",
                FULL_BASIS_POINTS,
            )?;
        }

        if self.amount_threshold.enabled {
            self.require_thresholds("amount_threshold")?;
        }
        Ok(())
    }

    /// Finds the threshold for `currency`, if one is configured.
    pub fn threshold(&self, currency: Currency) -> Option<Money> {
        self.thresholds
            .iter()
            .copied()
            .find(|threshold| threshold.currency() == currency)
    }

    fn validate_thresholds(&self) -> Result<(), MonitoringConfigError> {
        let mut seen = BTreeSet::new();
        for (index, threshold) in self.thresholds.iter().enumerate() {
            if threshold.minor() <= 0 {
                return Err(MonitoringConfigError::OutOfRange {
                    field: format!("thresholds[{index}]"),
                    value: threshold.to_string(),
                    requirement: "a positive amount".to_owned(),
                });
            }
            let currency = threshold.currency().code();
            if !seen.insert(currency) {
                return Err(MonitoringConfigError::DuplicateThreshold { currency, index });
            }
        }
        Ok(())
    }

    fn require_thresholds(&self, rule: &'static str) -> Result<(), MonitoringConfigError> {
        if self.thresholds.is_empty() {
            return Err(MonitoringConfigError::MissingThresholds { rule });
        }
        Ok(())
    }
}

fn at_least(field: &str, value: i64, minimum: i64) -> Result<(), MonitoringConfigError> {
    if value >= minimum {
        return Ok(());
    }
    Err(MonitoringConfigError::OutOfRange {
        field: field.to_owned(),
        value: value.to_string(),
        requirement: format!("at least {minimum}"),
    })
}

fn basis_points(
    field: &str,
    value: u32,
    requirement: &'static str,
    maximum: u32,
) -> Result<(), MonitoringConfigError> {
    if (1..=maximum).contains(&value) {
        return Ok(());
    }
    Err(MonitoringConfigError::OutOfRange {
        field: field.to_owned(),
        value: value.to_string(),
        requirement: requirement.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(minor: i64) -> Money {
        Money::from_minor(minor, Currency::from_code("EUR").expect("EUR in table"))
    }

    #[test]
    fn defaults_are_valid() {
        let config = MonitoringConfig::default();
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.thresholds.len(), 4);
        assert_eq!(
            config.threshold(Currency::from_code("EUR").expect("EUR")),
            Some(eur(100_000))
        );
        assert_eq!(
            config.threshold(Currency::from_code("JPY").expect("JPY")),
            None
        );
    }

    #[test]
    fn invalid_fields_are_named() {
        type Change = fn(&mut MonitoringConfig);
        let cases: [(Change, &str); 8] = [
            (|c| c.velocity.max_payments = 0, "velocity.max_payments"),
            (|c| c.velocity.window_seconds = 0, "velocity.window_seconds"),
            (
                |c| c.structuring.margin_basis_points = 0,
                "structuring.margin_basis_points",
            ),
            (
                |c| c.structuring.margin_basis_points = 5_001,
                "structuring.margin_basis_points",
            ),
            (
                |c| c.structuring.min_payments = 1,
                "structuring.min_payments",
            ),
            (
                |c| c.structuring.window_seconds = -5,
                "structuring.window_seconds",
            ),
            (
                |c| c.new_device.large_payment_basis_points = 10_001,
                "new_device.large_payment_basis_points",
            ),
            (|c| c.thresholds[1] = eur(0), "thresholds[1]"),
        ];
        for (change, expected_field) in cases {
            let mut config = MonitoringConfig::default();
            change(&mut config);
            match config.validate() {
                Err(MonitoringConfigError::OutOfRange { field, .. }) => {
                    assert_eq!(field, expected_field);
                }
                other => panic!("{expected_field}: expected OutOfRange, got {other:?}"),
            }
        }
    }

    #[test]
    fn disabled_rules_are_not_validated() {
        let mut config = MonitoringConfig::default();
        config.velocity.enabled = false;
        config.velocity.window_seconds = 0;
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn duplicate_currency_is_rejected() {
        let mut config = MonitoringConfig::default();
        config.thresholds.push(eur(50_000));
        let error = config.validate().expect_err("two EUR thresholds");
        assert_eq!(
            error,
            MonitoringConfigError::DuplicateThreshold {
                currency: "EUR",
                index: 4
            }
        );
    }

    #[test]
    fn rules_need_thresholds() {
        let mut config = MonitoringConfig {
            thresholds: Vec::new(),
            ..MonitoringConfig::default()
        };
        let error = config.validate().expect_err("no thresholds");
        assert_eq!(
            error.to_string(),
            "structuring.enabled is true, but thresholds is empty: add a threshold for each \
             payment currency, or set structuring.enabled = false"
        );

        config.amount_threshold.enabled = false;
        config.structuring.enabled = false;
        config.new_device.enabled = false;
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn partial_json_keeps_defaults() {
        let config: MonitoringConfig =
            serde_json::from_str(r#"{"velocity": {"max_payments": 9}}"#).expect("partial config");
        assert_eq!(config.velocity.max_payments, 9);
        assert_eq!(config.velocity.window_seconds, HOUR);
        assert_eq!(config.structuring, StructuringRule::default());

        let unknown = serde_json::from_str::<MonitoringConfig>(r#"{"velocty": {}}"#);
        assert!(unknown.is_err());
    }
}
