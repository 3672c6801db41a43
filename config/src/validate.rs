//! Shared helpers for value validation.
//!
//! Numeric limits are expressed as data ([`RangeCheck`]) rather than as
//! inline `if`s so that the same list drives both validation and a unit test
//! asserting that the documentation of each key states the range actually
//! enforced; the two cannot silently disagree. Keys named at run time (list
//! elements) use [`check_range`], and topic prefixes [`check_topic_prefix`].

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
        check_range(self.key, self.value, self.min, self.max, self.unit)
    }
}

/// Ok if `value` is in `min..=max`, otherwise an [`ConfigError::Invalid`]
/// for `key` naming the range, unit and value. For keys whose name is only
/// known at run time (list elements such as `storage.retention[2].days`);
/// fixed keys use [`RangeCheck`] so their documentation is checked too.
pub(crate) fn check_range(
    key: &str,
    value: u64,
    min: u64,
    max: u64,
    unit: &str,
) -> Result<(), ConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            key,
            format!("must be between {min} and {max} {unit}, got {value}"),
        ))
    }
}

/// Ok if `prefix` can start a topic name: non-empty, with no wildcard
/// (`+`, `#`) and no NUL character. The error names `key`.
pub(crate) fn check_topic_prefix(key: &str, prefix: &str) -> Result<(), ConfigError> {
    if prefix.is_empty() {
        return Err(ConfigError::invalid(key, "must not be empty"));
    }
    if let Some(c) = prefix.chars().find(|c| matches!(c, '+' | '#' | '\0')) {
        return Err(ConfigError::invalid(
            key,
            format!(
                "must be usable in a topic name, so no '+', '#' or NUL characters; \
                 {prefix:?} contains {c:?}"
            ),
        ));
    }
    Ok(())
}

/// Ok if `filter` is an MQTT topic filter: non-empty, no NUL, `+` only as a whole level, `#`
/// only as the whole last level, and not a shared subscription.
pub(crate) fn check_topic_filter(key: &str, filter: &str) -> Result<(), ConfigError> {
    if filter.is_empty() || filter.contains('\0') {
        return Err(ConfigError::invalid(key, "must be a non-empty topic filter without NUL characters"));
    }
    if filter.starts_with("$share/") {
        return Err(ConfigError::invalid(key, format!("must be a topic filter, not a shared subscription: {filter:?}")));
    }
    let levels: Vec<&str> = filter.split('/').collect();
    for (at, level) in levels.iter().enumerate() {
        let wildcard_misplaced = (level.contains('+') && *level != "+")
            || (level.contains('#') && (*level != "#" || at + 1 != levels.len()));
        if wildcard_misplaced {
            return Err(ConfigError::invalid(
                key,
                format!("'+' must be a whole level and '#' the whole last level, got {filter:?}"),
            ));
        }
    }
    Ok(())
}

/// Runs every check, returning the first failure.
pub(crate) fn check_all(checks: &[RangeCheck]) -> Result<(), ConfigError> {
    checks.iter().try_for_each(RangeCheck::check)
}
