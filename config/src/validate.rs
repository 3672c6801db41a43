//! Shared helpers for value validation.
//!
//! Numeric limits are expressed as data ([`RangeCheck`]) rather than as
//! inline `if`s so that the same list drives both validation and a unit test
//! asserting that the documentation of each key states the range actually
//! enforced; the two cannot silently disagree.

use crate::error::ConfigError;

/// One numeric key with its current value and its inclusive allowed range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RangeCheck {
    /// Dotted key, e.g. `mqtt.max_packet_size`.
    pub key: &'static str,
    /// The configured value.
    pub value: u64,
    /// Smallest accepted value.
    pub min: u64,
    /// Largest accepted value.
    pub max: u64,
    /// Unit shown in error messages ("bytes", "seconds", ...).
    pub unit: &'static str,
}

impl RangeCheck {
    /// Builds a check for `key` holding `value`, allowed in `min..=max`.
    pub(crate) fn new(
        key: &'static str,
        value: impl Into<u64>,
        min: u64,
        max: u64,
        unit: &'static str,
    ) -> Self {
        RangeCheck {
            key,
            value: value.into(),
            min,
            max,
            unit,
        }
    }

    /// Ok if the value is within range, otherwise an
    /// [`ConfigError::Invalid`] naming the key, range, unit and value.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if (self.min..=self.max).contains(&self.value) {
            Ok(())
        } else {
            Err(ConfigError::invalid(
                self.key,
                format!(
                    "must be between {} and {} {}, got {}",
                    self.min, self.max, self.unit, self.value
                ),
            ))
        }
    }
}

/// Runs every check, returning the first failure.
pub(crate) fn check_all(checks: &[RangeCheck]) -> Result<(), ConfigError> {
    checks.iter().try_for_each(RangeCheck::check)
}
