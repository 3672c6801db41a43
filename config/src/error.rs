//! The one error type of this crate.
//!
//! Configuration problems are reported to a person editing a file, so every
//! variant says *where* the problem is: the file path for I/O failures, the
//! source name plus toml's own line/column excerpt for syntax and type
//! errors, and the dotted key (`mqtt.max_packet_size`) for values that parse
//! but are out of range.

use std::path::PathBuf;

/// Why a configuration could not be loaded or is not acceptable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read configuration file {}: {source}", path.display())]
    Io {
        /// The file that was being read.
        path: PathBuf,
        /// The underlying operating-system error.
        #[source]
        source: std::io::Error,
    },

    /// The text is not valid TOML, has an unknown key, or a value of the
    /// wrong type. `message` is toml's report, which quotes the offending
    /// line and names the key (e.g. "unknown field `foo`").
    #[error("cannot parse configuration from {source_name}: {message}")]
    Parse {
        /// Where the text came from: a file path, or a description such as
        /// "TOML text" for in-memory strings.
        source_name: String,
        /// toml's error message, including line, column and key.
        message: String,
    },

    /// A value parsed but is not acceptable (out of range, malformed, or
    /// inconsistent with another value).
    #[error("invalid configuration value for `{key}`: {reason}")]
    Invalid {
        /// Dotted path of the offending key, e.g. `mqtt.max_packet_size`.
        key: String,
        /// What is wrong, including the allowed range and the value given.
        reason: String,
    },
}

impl ConfigError {
    /// Shorthand for [`ConfigError::Invalid`].
    pub(crate) fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            reason: reason.into(),
        }
    }
}
