//! `[limits]`: what one source address or one client may cost the broker.
//!
//! `[mqtt]` bounds a single connection's protocol state (packet size, queues,
//! subscriptions). This section bounds abuse across connections: how many
//! sockets one address may hold, how fast it may open them, how often it may
//! fail to authenticate, and how fast one client may publish. Every map the
//! broker keeps per address is itself bounded by `max_tracked_addresses`.

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::validate::{check_all, RangeCheck};

/// What happens to a client that publishes faster than its rate allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OverRate {
    /// The publish is refused: MQTT 5.0 reason 0x96 (Message rate too high)
    /// in the PUBACK/PUBREC, a notice for 3.1.1 clients; QoS 0 publishes are
    /// dropped and counted. The connection stays up.
    Refuse,
    /// The client is disconnected (MQTT 5.0 DISCONNECT 0x96).
    Disconnect,
}

/// `[limits]`: limits against abuse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Open connections in all, over every listener. Default 100_000.
    pub max_connections: u32,
    /// Open connections from one IP address. Mobile carriers put many users
    /// behind one address, so this is generous. Default 1_000.
    pub max_connections_per_address: u32,
    /// New connections per second from one IP address, sustained.
    /// Default 50.
    pub connect_rate_per_address: u32,
    /// New connections one IP address may open at once before the rate
    /// applies (token bucket size). Default 500.
    pub connect_burst_per_address: u32,
    /// Failed authentications allowed per minute from one IP address; beyond
    /// it, CONNECTs from that address are refused without checking their
    /// credentials until the minute has passed. Default 10.
    pub auth_failures_per_minute: u32,
    /// Most IP addresses whose connect rate and authentication failures are
    /// tracked at once. When full, idle entries are forgotten first; if none
    /// is idle, connections from new addresses are refused. Default 100_000.
    pub max_tracked_addresses: u32,
    /// Publishes per second one client may send, sustained. Default 100.
    pub publish_rate: u32,
    /// Publishes a client may send at once before the rate applies (token
    /// bucket size). Default 500.
    pub publish_burst: u32,
    /// What happens beyond the publish rate: "refuse" or "disconnect".
    pub over_publish_rate: OverRate,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_connections: 100_000,
            max_connections_per_address: 1_000,
            connect_rate_per_address: 50,
            connect_burst_per_address: 500,
            auth_failures_per_minute: 10,
            max_tracked_addresses: 100_000,
            publish_rate: 100,
            publish_burst: 500,
            over_publish_rate: OverRate::Refuse,
        }
    }
}

/// Documentation of every key of the section, in display order.
pub(crate) const DOCS: &[(&str, &str)] = &[
    (
        "limits",
        "Limits against abuse, per source address and per client. Per-connection\n\
         protocol limits (packet size, queues, subscriptions, CONNECT deadline) are\n\
         in [mqtt].",
    ),
    (
        "limits.max_connections",
        "Open connections in all, over every listener. Beyond it new connections\n\
         are closed at once. Range: 1 to 10000000 connections.",
    ),
    (
        "limits.max_connections_per_address",
        "Open connections from one IP address. Mobile carriers put many users\n\
         behind one address, so keep this generous. Range: 1 to 10000000 connections.",
    ),
    (
        "limits.connect_rate_per_address",
        "New connections per second from one IP address, sustained. Beyond it new\n\
         connections are closed at once. Range: 1 to 1000000 connections per second.",
    ),
    (
        "limits.connect_burst_per_address",
        "New connections one IP address may open at once before the rate applies.\n\
         Range: 1 to 1000000 connections.",
    ),
    (
        "limits.auth_failures_per_minute",
        "Failed authentications allowed per minute from one IP address. Beyond it,\n\
         CONNECTs from that address are refused (5.0: 0x8A Banned; 3.1.1: return\n\
         code 5) without checking credentials until the minute has passed.\n\
         Range: 1 to 1000000 failures.",
    ),
    (
        "limits.max_tracked_addresses",
        "Most IP addresses whose connect rate and authentication failures are\n\
         tracked at once. When full, idle entries are forgotten first; if none is\n\
         idle, connections from new addresses are refused.\n\
         Range: 16 to 100000000 addresses.",
    ),
    (
        "limits.publish_rate",
        "Publishes per second one client may send, sustained (token bucket).\n\
         Range: 1 to 1000000 messages per second.",
    ),
    (
        "limits.publish_burst",
        "Publishes one client may send at once before the rate applies.\n\
         Range: 1 to 1000000 messages.",
    ),
    (
        "limits.over_publish_rate",
        "Beyond the publish rate: \"refuse\" answers MQTT 5.0 clients with reason 0x96\n\
         (Message rate too high) and 3.1.1 clients with a notice, drops QoS 0\n\
         publishes, and keeps the connection; \"disconnect\" closes it (5.0:\n\
         DISCONNECT 0x96).",
    ),
];

impl LimitsConfig {
    /// The numeric keys with their allowed ranges.
    pub(crate) fn ranges(&self) -> Vec<RangeCheck> {
        vec![
            RangeCheck::new("limits.max_connections", self.max_connections, 1, 10_000_000, "connections"),
            RangeCheck::new(
                "limits.max_connections_per_address",
                self.max_connections_per_address,
                1,
                10_000_000,
                "connections",
            ),
            RangeCheck::new(
                "limits.connect_rate_per_address",
                self.connect_rate_per_address,
                1,
                1_000_000,
                "connections per second",
            ),
            RangeCheck::new(
                "limits.connect_burst_per_address",
                self.connect_burst_per_address,
                1,
                1_000_000,
                "connections",
            ),
            RangeCheck::new("limits.auth_failures_per_minute", self.auth_failures_per_minute, 1, 1_000_000, "failures"),
            RangeCheck::new("limits.max_tracked_addresses", self.max_tracked_addresses, 16, 100_000_000, "addresses"),
            RangeCheck::new("limits.publish_rate", self.publish_rate, 1, 1_000_000, "messages per second"),
            RangeCheck::new("limits.publish_burst", self.publish_burst, 1, 1_000_000, "messages"),
        ]
    }

    /// Checks every value of the section.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        check_all(&self.ranges())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_zero_is_refused_by_name() {
        LimitsConfig::default().validate().unwrap();
        let limits = LimitsConfig { publish_rate: 0, ..LimitsConfig::default() };
        let error = limits.validate().unwrap_err().to_string();
        assert!(error.contains("limits.publish_rate"), "{error}");
    }

    #[test]
    fn over_rate_policy_parses_lowercase() {
        let parsed: LimitsConfig = toml::from_str("over_publish_rate = \"disconnect\"").unwrap();
        assert_eq!(parsed.over_publish_rate, OverRate::Disconnect);
        assert!(toml::from_str::<LimitsConfig>("over_publish_rate = \"ignore\"").is_err());
    }
}
