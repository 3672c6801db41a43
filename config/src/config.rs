//! The root [`Config`]: loading, parsing, validation and CLI overrides.
//!
//! Configuration comes from three layers: embedded defaults, an optional TOML
//! file giving any subset of keys, and a few command-line flags. Every struct
//! uses `#[serde(default)]`, so a missing key keeps its default, and
//! `#[serde(deny_unknown_fields)]`, so a misspelt key is an error instead of
//! a silently ignored setting.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::admin::AdminConfig;
use crate::auth::AuthConfig;
use crate::error::ConfigError;
use crate::limits::LimitsConfig;
use crate::listener::ListenerConfig;
use crate::log::LogConfig;
use crate::moderation::ModerationConfig;
use crate::mqtt::MqttConfig;
use crate::storage::StorageConfig;

/// The complete broker configuration.
///
/// `Config::default()` is the embedded default configuration, the same one
/// rendered with comments by [`crate::defaults_toml`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[listener.tcp]` and `[listener.ws]`: network listeners.
    pub listener: ListenerConfig,
    /// `[storage]`: data directory, durability, group commit, deduplication,
    /// history queries and retention.
    pub storage: StorageConfig,
    /// `[mqtt]`: protocol limits and behaviour.
    pub mqtt: MqttConfig,
    /// `[log]`: logging.
    pub log: LogConfig,
    /// `[auth]`: authentication and static access rules.
    pub auth: AuthConfig,
    /// `[limits]`: limits against abuse per address and per client.
    pub limits: LimitsConfig,
    /// `[admin]`: the HTTP admin API (rooms, clients) and the room limits.
    pub admin: AdminConfig,
    /// `[moderation]`: the harassment and illegal-collection detector.
    pub moderation: ModerationConfig,
}

/// Source name used in parse errors for text not read from a file.
const STRING_SOURCE: &str = "TOML text";

impl Config {
    /// Parses TOML text (any subset of keys; the rest keep their defaults)
    /// and validates the result.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        Self::parse_named(text, STRING_SOURCE)
    }

    /// Reads, parses and validates the TOML file at `path`. Read and parse
    /// errors name the path.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse_named(&text, &path.display().to_string())
    }

    fn parse_named(text: &str, source_name: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            source_name: source_name.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every value; the error names the first offending key by its
    /// dotted path and states the allowed range and the value found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listener.validate()?;
        self.storage.validate()?;
        self.mqtt.validate()?;
        self.log.validate()?;
        self.auth.validate()?;
        self.limits.validate()?;
        self.admin.validate()?;
        self.moderation.validate()?;
        Ok(())
    }

    /// Applies command-line overrides. Giving a listener address also enables
    /// that listener. Call [`Config::validate`] afterwards.
    pub fn apply_overrides(
        &mut self,
        listen: Option<SocketAddr>,
        ws_listen: Option<SocketAddr>,
        data_dir: Option<PathBuf>,
    ) {
        if let Some(address) = listen {
            self.listener.tcp.address = address;
            self.listener.tcp.enabled = true;
        }
        if let Some(address) = ws_listen {
            self.listener.ws.address = address;
            self.listener.ws.enabled = true;
        }
        if let Some(dir) = data_dir {
            self.storage.data_dir = dir;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_message(text: &str) -> String {
        match Config::from_toml_str(text) {
            Err(ConfigError::Parse {
                source_name,
                message,
            }) => {
                assert_eq!(source_name, STRING_SOURCE);
                message
            }
            other => panic!("expected a parse error for {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn empty_text_gives_defaults() {
        assert_eq!(Config::from_toml_str("").unwrap(), Config::default());
    }

    #[test]
    fn partial_file_keeps_other_defaults() {
        let c =
            Config::from_toml_str("[mqtt]\nmax_inflight = 10\n\n[listener.ws]\nenabled = false\n")
                .unwrap();
        let mut expected = Config::default();
        expected.mqtt.max_inflight = 10;
        expected.listener.ws.enabled = false;
        assert_eq!(c, expected);
    }

    #[test]
    fn dotted_keys_and_inline_tables_work() {
        let c = Config::from_toml_str(
            "listener.tcp.address = \"[::1]:1884\"\nlog = { level = \"debug\" }\n",
        )
        .unwrap();
        assert_eq!(c.listener.tcp.address, "[::1]:1884".parse().unwrap());
        assert_eq!(c.log.level, "debug");
        assert_eq!(c.mqtt, MqttConfig::default());
    }

    #[test]
    fn unknown_top_level_key_is_refused_by_name() {
        let msg = parse_message("foo = 1\n");
        assert!(msg.contains("unknown field `foo`"), "{msg}");
        let msg = parse_message("[mqt]\nmax_inflight = 3\n");
        assert!(msg.contains("unknown field `mqt`"), "{msg}");
    }

    #[test]
    fn unknown_nested_key_is_refused_by_name() {
        let msg = parse_message("[mqtt]\nmax_infligth = 3\n");
        assert!(msg.contains("unknown field `max_infligth`"), "{msg}");
        let msg = parse_message("[listener.tcp]\nport = 1883\n");
        assert!(msg.contains("unknown field `port`"), "{msg}");
        let msg = parse_message("[listener.udp]\nenabled = true\n");
        assert!(msg.contains("unknown field `udp`"), "{msg}");
    }

    #[test]
    fn wrong_type_is_refused_showing_the_key() {
        let msg = parse_message("[mqtt]\nmax_packet_size = \"big\"\n");
        assert!(msg.contains("max_packet_size"), "{msg}");
        assert!(msg.contains("invalid type"), "{msg}");

        let msg = parse_message("[listener.tcp]\nenabled = \"yes\"\n");
        assert!(msg.contains("enabled"), "{msg}");

        let msg = parse_message("[listener.tcp]\naddress = \"localhost\"\n");
        assert!(msg.contains("address"), "{msg}");
    }

    #[test]
    fn value_outside_the_integer_type_is_a_parse_error() {
        let msg = parse_message("[mqtt]\nreceive_maximum = 65536\n");
        assert!(msg.contains("receive_maximum"), "{msg}");
        let msg = parse_message("[mqtt]\nmax_session_expiry_secs = -1\n");
        assert!(msg.contains("max_session_expiry_secs"), "{msg}");
    }

    #[test]
    fn parse_error_display_is_readable() {
        let err = Config::from_toml_str("foo = 1\n").unwrap_err().to_string();
        assert!(
            err.starts_with("cannot parse configuration from TOML text: "),
            "{err}"
        );
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn invalid_value_in_text_is_reported_by_dotted_key() {
        let err = Config::from_toml_str("[mqtt]\nmax_packet_size = 0\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration value for `mqtt.max_packet_size`: \
             must be between 16 and 268435455 bytes, got 0"
        );
    }

    #[test]
    fn load_reads_a_file_and_names_it_in_errors() {
        let dir = std::env::temp_dir().join(format!("tallymq-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();

        let good = dir.join("good.toml");
        std::fs::write(&good, "[storage]\ndata_dir = \"/var/lib/tallymq\"\n").unwrap();
        let c = Config::load(&good).unwrap();
        assert_eq!(c.storage.data_dir, PathBuf::from("/var/lib/tallymq"));

        let bad = dir.join("bad.toml");
        std::fs::write(&bad, "[storage]\nbogus = 1\n").unwrap();
        let err = Config::load(&bad).unwrap_err();
        match &err {
            ConfigError::Parse {
                source_name,
                message,
            } => {
                assert_eq!(source_name, &bad.display().to_string());
                assert!(message.contains("unknown field `bogus`"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("bad.toml"));

        let missing = dir.join("missing.toml");
        let err = Config::load(&missing).unwrap_err();
        assert!(matches!(&err, ConfigError::Io { path, .. } if path == &missing));
        assert!(err.to_string().contains("missing.toml"), "{err}");

        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn overrides_set_addresses_enable_listeners_and_set_data_dir() {
        let mut c = Config::from_toml_str(
            "[listener.tcp]\nenabled = false\n[listener.ws]\nenabled = false\n",
        )
        .unwrap();
        let tcp: SocketAddr = "0.0.0.0:1884".parse().unwrap();
        let ws: SocketAddr = "0.0.0.0:8084".parse().unwrap();
        c.apply_overrides(Some(tcp), Some(ws), Some(PathBuf::from("/tmp/x")));
        assert!(c.listener.tcp.enabled && c.listener.ws.enabled);
        assert_eq!(c.listener.tcp.address, tcp);
        assert_eq!(c.listener.ws.address, ws);
        assert_eq!(c.storage.data_dir, PathBuf::from("/tmp/x"));
        c.validate().unwrap();
    }

    #[test]
    fn no_overrides_change_nothing() {
        let mut c = Config::default();
        c.listener.ws.enabled = false;
        let before = c.clone();
        c.apply_overrides(None, None, None);
        assert_eq!(c, before);
    }
}
