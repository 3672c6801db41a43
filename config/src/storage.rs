//! `[storage]`: where broker state lives and how much of it is kept in memory.
//!
//! Until durable storage exists the message log is held in memory, so its
//! size must be bounded by configuration rather than by disk space; the bound
//! lives here, next to the data directory that durable storage will use.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::validate::{check_all, RangeCheck};

/// `[storage]`: broker state location and in-memory bounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Directory for broker data files; relative paths are taken from the
    /// broker's working directory. Default `./data`.
    pub data_dir: PathBuf,
    /// Bound on the in-memory message log, in messages; when reached the
    /// oldest messages are dropped. Range 1..=100_000_000, default 1_000_000.
    pub memory_log_max_messages: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("./data"),
            memory_log_max_messages: 1_000_000,
        }
    }
}

impl StorageConfig {
    /// The numeric limits of this section.
    pub(crate) fn ranges(&self) -> Vec<RangeCheck> {
        vec![RangeCheck::new(
            "storage.memory_log_max_messages",
            self.memory_log_max_messages,
            1,
            100_000_000,
            "messages",
        )]
    }

    /// Checks every value of the section.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.data_dir.as_os_str().is_empty() {
            return Err(ConfigError::invalid(
                "storage.data_dir",
                "must not be empty (use \".\" for the working directory)",
            ));
        }
        check_all(&self.ranges())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_log_bound_edges() {
        let mut s = StorageConfig {
            memory_log_max_messages: 1,
            ..StorageConfig::default()
        };
        assert!(s.validate().is_ok());
        s.memory_log_max_messages = 100_000_000;
        assert!(s.validate().is_ok());
        s.memory_log_max_messages = 0;
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("storage.memory_log_max_messages"), "{err}");
        assert!(err.contains("got 0"), "{err}");
        s.memory_log_max_messages = 100_000_001;
        assert!(s.validate().is_err());
    }

    #[test]
    fn empty_data_dir_is_refused() {
        let s = StorageConfig {
            data_dir: PathBuf::new(),
            ..StorageConfig::default()
        };
        let err = s.validate().unwrap_err();
        assert!(matches!(&err, ConfigError::Invalid { key, .. } if key == "storage.data_dir"));
    }
}
