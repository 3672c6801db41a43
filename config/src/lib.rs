//! tallymq configuration: embedded defaults, an optional TOML file, and a
//! few command-line overrides, validated before the broker starts.
//!
//! The configuration lives in its own crate so that its rules (ranges,
//! defaults, documentation of every key) can be read, tested and reused
//! without building the broker, and so that limits the broker advertises to
//! MQTT 5.0 clients come from one checked place.
//!
//! ```
//! use tallymq_config::Config;
//!
//! let config = Config::from_toml_str("[mqtt]\nmax_inflight = 32\n").unwrap();
//! assert_eq!(config.mqtt.max_inflight, 32);
//! assert_eq!(config.mqtt.receive_maximum, Config::default().mqtt.receive_maximum);
//!
//! // The commented default file describes and reproduces the defaults.
//! let text = tallymq_config::defaults_toml();
//! assert_eq!(Config::from_toml_str(&text).unwrap(), Config::default());
//! ```
//!
//! Layout: [`Config`] and its loading live in `config`, one module per
//! section (`listener`, `storage`, `mqtt`, `log`, `auth`, `limits`, `admin`,
//! `moderation`), errors in `error`, and
//! the commented default file in `defaults_doc`.

mod admin;
mod auth;
mod config;
mod defaults_doc;
mod error;
mod limits;
mod listener;
mod log;
mod moderation;
mod mqtt;
mod storage;
mod validate;

pub use admin::AdminConfig;
pub use auth::{Access, AccessRule, Anonymous, AuthConfig, AuthMode, JwtAlgorithm, JwtConfig, MAX_ACCESS_RULES};
pub use config::Config;
pub use defaults_doc::defaults_toml;
pub use error::ConfigError;
pub use limits::{LimitsConfig, OverRate};
pub use listener::{
    CertificateConfig, ListenerConfig, TcpListenerConfig, TlsListenerConfig, WsListenerConfig, WssListenerConfig,
};
pub use log::LogConfig;
pub use moderation::{
    CategoryThresholds, ContactLimitPolicy, DoNotContactPolicy, ModerationConfig, NightPolicy, OnFailure,
    MAX_MODERATED_TOPICS, MODERATION_CATEGORIES,
};
pub use mqtt::{MqttConfig, MQTT_MAX_PACKET_SIZE_LIMIT};
pub use storage::{Durability, RetentionRule, StorageConfig};
