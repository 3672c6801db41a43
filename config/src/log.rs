//! `[log]`: diagnostic output of the broker process.
//!
//! The level is kept as an uninterpreted `tracing` filter directive so this
//! crate need not depend on `tracing-subscriber`; the broker parses it when
//! installing its subscriber and reports syntax errors there.

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// `[log]`: logging settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A `tracing` `EnvFilter` directive such as `info` or
    /// `info,tallymq=debug`. Must not be empty. Default `info`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".to_owned(),
        }
    }
}

impl LogConfig {
    /// Checks every value of the section.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.level.trim().is_empty() {
            return Err(ConfigError::invalid(
                "log.level",
                "must not be empty (e.g. \"info\" or \"info,tallymq=debug\")",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_must_not_be_blank() {
        let mut l = LogConfig::default();
        assert!(l.validate().is_ok());
        l.level = " ".into();
        let err = l.validate().unwrap_err();
        assert!(matches!(&err, ConfigError::Invalid { key, .. } if key == "log.level"));
        l.level = "warn".into();
        assert!(l.validate().is_ok());
    }
}
