//! `[mqtt]`: protocol limits and behaviour shared by MQTT 3.1.1 and 5.0.
//!
//! Every limit that bounds memory or work per client lives here so that an
//! operator can see, in one section, how much a single client may cost the
//! broker. Where MQTT 5.0 lets the server advertise a limit (maximum packet
//! size, receive maximum, topic alias maximum, server keep alive, ...) the
//! same value is what is advertised, so configured and advertised limits
//! cannot differ.

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::validate::{check_all, check_topic_prefix, RangeCheck};

/// Largest value the MQTT variable byte integer can express, and therefore
/// the largest possible packet size (256 MiB - 1).
pub const MQTT_MAX_PACKET_SIZE_LIMIT: u32 = 268_435_455;

/// `[mqtt]`: protocol limits and behaviour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// Largest inbound packet accepted, in bytes (whole packet, fixed header
    /// included); advertised to 5.0 clients as Maximum Packet Size.
    /// Range 16..=268_435_455, default 1_048_576.
    pub max_packet_size: u32,
    /// How many inbound QoS 1/2 publishes a client may have unacknowledged
    /// at once; advertised to 5.0 clients as Receive Maximum.
    /// Range 1..=65535, default 128.
    pub receive_maximum: u16,
    /// Outbound QoS 1/2 messages awaiting acknowledgement per client; for a
    /// 5.0 client the smaller of this and the client's Receive Maximum.
    /// Range 1..=65535, default 64.
    pub max_inflight: u16,
    /// Per-session queue of messages waiting for delivery; when full, new
    /// messages for that client are dropped and counted.
    /// Range 1..=1_000_000, default 1000.
    pub max_queued_messages: u32,
    /// Whether QoS 0 messages are queued for offline persistent sessions.
    /// Default `false` (QoS 0 is delivered only to connected clients).
    pub queue_qos0_offline: bool,
    /// Largest keep alive granted, in seconds. A 5.0 client asking for more,
    /// or for 0 (no keep alive), is told Server Keep Alive = this value. A
    /// 3.1.1 client's keep alive is accepted as asked (that protocol cannot
    /// lower it) and enforced at 1.5x. Range 1..=65535, default 600.
    pub max_keep_alive_secs: u16,
    /// Seconds allowed between accepting a connection and receiving its
    /// CONNECT packet. Range 1..=300, default 10.
    pub connect_timeout_secs: u32,
    /// Inbound topic aliases accepted from a 5.0 client; advertised as Topic
    /// Alias Maximum. 0 = none. Range 0..=65535, default 64.
    pub topic_alias_maximum: u16,
    /// Most topic aliases the broker uses towards a 5.0 client, further
    /// bounded by the client's own Topic Alias Maximum. 0 = none.
    /// Range 0..=65535, default 64.
    pub max_outbound_topic_aliases: u16,
    /// Cap on a 5.0 client's Session Expiry Interval, in seconds; also the
    /// expiry of 3.1.1 persistent (clean session = 0) sessions.
    /// Range 0..=4_294_967_295, default 604_800 (7 days).
    pub max_session_expiry_secs: u32,
    /// Longest client identifier accepted, in bytes (UTF-8).
    /// Range 1..=65535, default 128.
    pub max_client_id_len: u16,
    /// Whether retained messages are supported; advertised to 5.0 clients as
    /// Retain Available. Default `true`.
    pub retain_available: bool,
    /// Most retained topics stored. When reached, retaining on a new topic is
    /// refused (reason 0x97 Quota exceeded) but replacing or deleting an
    /// existing retained message still works. Range 0..=100_000_000,
    /// default 100_000.
    pub max_retained_messages: u32,
    /// Most subscriptions (topic filters) one client may hold.
    /// Range 1..=1_000_000, default 1000.
    pub max_subscriptions_per_client: u32,
    /// Most levels (`/`-separated parts) in a topic name or filter.
    /// Range 1..=1024, default 32.
    pub max_topic_levels: u16,
    /// Longest topic name or filter accepted, in bytes (UTF-8).
    /// Range 1..=65535, default 1024.
    pub max_topic_len: u16,
    /// Prefix of the per-client topic (prefix + client id) on which refusals
    /// are published to 3.1.1 clients, which have no reason codes. Must be
    /// non-empty and contain no wildcard (`+`, `#`). Default `$notice/`.
    pub notice_topic_prefix: String,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            max_packet_size: 1_048_576,
            receive_maximum: 128,
            max_inflight: 64,
            max_queued_messages: 1000,
            queue_qos0_offline: false,
            max_keep_alive_secs: 600,
            connect_timeout_secs: 10,
            topic_alias_maximum: 64,
            max_outbound_topic_aliases: 64,
            max_session_expiry_secs: 604_800,
            max_client_id_len: 128,
            retain_available: true,
            max_retained_messages: 100_000,
            max_subscriptions_per_client: 1000,
            max_topic_levels: 32,
            max_topic_len: 1024,
            notice_topic_prefix: "$notice/".to_owned(),
        }
    }
}

impl MqttConfig {
    /// The numeric limits of this section. Keys whose type already equals
    /// their range (`topic_alias_maximum`, `max_outbound_topic_aliases`,
    /// `max_session_expiry_secs`) need no check.
    pub(crate) fn ranges(&self) -> Vec<RangeCheck> {
        const U16: u64 = u16::MAX as u64;
        vec![
            RangeCheck::new(
                "mqtt.max_packet_size",
                self.max_packet_size,
                16,
                MQTT_MAX_PACKET_SIZE_LIMIT as u64,
                "bytes",
            ),
            RangeCheck::new(
                "mqtt.receive_maximum",
                self.receive_maximum,
                1,
                U16,
                "messages",
            ),
            RangeCheck::new("mqtt.max_inflight", self.max_inflight, 1, U16, "messages"),
            RangeCheck::new(
                "mqtt.max_queued_messages",
                self.max_queued_messages,
                1,
                1_000_000,
                "messages",
            ),
            RangeCheck::new(
                "mqtt.max_keep_alive_secs",
                self.max_keep_alive_secs,
                1,
                U16,
                "seconds",
            ),
            RangeCheck::new(
                "mqtt.connect_timeout_secs",
                self.connect_timeout_secs,
                1,
                300,
                "seconds",
            ),
            RangeCheck::new(
                "mqtt.max_client_id_len",
                self.max_client_id_len,
                1,
                U16,
                "bytes",
            ),
            RangeCheck::new(
                "mqtt.max_retained_messages",
                self.max_retained_messages,
                0,
                100_000_000,
                "messages",
            ),
            RangeCheck::new(
                "mqtt.max_subscriptions_per_client",
                self.max_subscriptions_per_client,
                1,
                1_000_000,
                "subscriptions",
            ),
            RangeCheck::new(
                "mqtt.max_topic_levels",
                self.max_topic_levels,
                1,
                1024,
                "levels",
            ),
            RangeCheck::new("mqtt.max_topic_len", self.max_topic_len, 1, U16, "bytes"),
        ]
    }

    /// Checks every value of the section.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        check_all(&self.ranges())?;
        check_topic_prefix("mqtt.notice_topic_prefix", &self.notice_topic_prefix)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(err: ConfigError) -> String {
        match err {
            ConfigError::Invalid { key, .. } => key,
            other => panic!("expected Invalid, got {other}"),
        }
    }

    #[test]
    fn max_packet_size_edges_and_message() {
        let mut m = MqttConfig {
            max_packet_size: 16,
            ..MqttConfig::default()
        };
        assert!(m.validate().is_ok());
        m.max_packet_size = MQTT_MAX_PACKET_SIZE_LIMIT;
        assert!(m.validate().is_ok());
        m.max_packet_size = 15;
        assert!(m.validate().is_err());
        m.max_packet_size = MQTT_MAX_PACKET_SIZE_LIMIT + 1;
        assert!(m.validate().is_err());
        m.max_packet_size = 0;
        match m.validate().unwrap_err() {
            ConfigError::Invalid { key, reason } => {
                assert_eq!(key, "mqtt.max_packet_size");
                assert_eq!(reason, "must be between 16 and 268435455 bytes, got 0");
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn zero_is_refused_where_minimum_is_one() {
        type Setter = fn(&mut MqttConfig);
        let cases: [(&str, Setter); 7] = [
            ("mqtt.receive_maximum", |m| m.receive_maximum = 0),
            ("mqtt.max_inflight", |m| m.max_inflight = 0),
            ("mqtt.max_queued_messages", |m| m.max_queued_messages = 0),
            ("mqtt.max_keep_alive_secs", |m| m.max_keep_alive_secs = 0),
            ("mqtt.connect_timeout_secs", |m| m.connect_timeout_secs = 0),
            ("mqtt.max_client_id_len", |m| m.max_client_id_len = 0),
            ("mqtt.max_topic_len", |m| m.max_topic_len = 0),
        ];
        for (key, set) in cases {
            let mut m = MqttConfig::default();
            set(&mut m);
            assert_eq!(key_of(m.validate().unwrap_err()), key);
        }
        let m = MqttConfig {
            receive_maximum: 1,
            max_inflight: 1,
            max_keep_alive_secs: 1,
            max_client_id_len: 1,
            max_topic_len: 1,
            ..MqttConfig::default()
        };
        assert!(m.validate().is_ok());
        let m = MqttConfig {
            receive_maximum: u16::MAX,
            max_inflight: u16::MAX,
            max_keep_alive_secs: u16::MAX,
            max_client_id_len: u16::MAX,
            max_topic_len: u16::MAX,
            ..MqttConfig::default()
        };
        assert!(m.validate().is_ok());
    }

    #[test]
    fn max_queued_messages_edges() {
        let mut m = MqttConfig {
            max_queued_messages: 1,
            ..MqttConfig::default()
        };
        assert!(m.validate().is_ok());
        m.max_queued_messages = 1_000_000;
        assert!(m.validate().is_ok());
        m.max_queued_messages = 1_000_001;
        assert_eq!(
            key_of(m.validate().unwrap_err()),
            "mqtt.max_queued_messages"
        );
    }

    #[test]
    fn connect_timeout_edges() {
        let mut m = MqttConfig {
            connect_timeout_secs: 1,
            ..MqttConfig::default()
        };
        assert!(m.validate().is_ok());
        m.connect_timeout_secs = 300;
        assert!(m.validate().is_ok());
        m.connect_timeout_secs = 301;
        assert_eq!(
            key_of(m.validate().unwrap_err()),
            "mqtt.connect_timeout_secs"
        );
    }

    #[test]
    fn retained_subscription_and_level_edges() {
        let mut m = MqttConfig {
            max_retained_messages: 0,
            max_subscriptions_per_client: 1,
            max_topic_levels: 1,
            ..MqttConfig::default()
        };
        assert!(m.validate().is_ok());
        m.max_retained_messages = 100_000_000;
        m.max_subscriptions_per_client = 1_000_000;
        m.max_topic_levels = 1024;
        assert!(m.validate().is_ok());

        let mut over = m.clone();
        over.max_retained_messages = 100_000_001;
        assert_eq!(
            key_of(over.validate().unwrap_err()),
            "mqtt.max_retained_messages"
        );
        let mut over = m.clone();
        over.max_subscriptions_per_client = 1_000_001;
        assert_eq!(
            key_of(over.validate().unwrap_err()),
            "mqtt.max_subscriptions_per_client"
        );
        let mut under = m.clone();
        under.max_subscriptions_per_client = 0;
        assert_eq!(
            key_of(under.validate().unwrap_err()),
            "mqtt.max_subscriptions_per_client"
        );
        let mut over = m.clone();
        over.max_topic_levels = 1025;
        assert_eq!(
            key_of(over.validate().unwrap_err()),
            "mqtt.max_topic_levels"
        );
        let mut under = m;
        under.max_topic_levels = 0;
        assert_eq!(
            key_of(under.validate().unwrap_err()),
            "mqtt.max_topic_levels"
        );
    }

    #[test]
    fn full_type_ranges_are_accepted() {
        let m = MqttConfig {
            topic_alias_maximum: 0,
            max_outbound_topic_aliases: 0,
            max_session_expiry_secs: 0,
            ..MqttConfig::default()
        };
        assert!(m.validate().is_ok());
        let m = MqttConfig {
            topic_alias_maximum: u16::MAX,
            max_outbound_topic_aliases: u16::MAX,
            max_session_expiry_secs: u32::MAX,
            ..MqttConfig::default()
        };
        assert!(m.validate().is_ok());
    }

    #[test]
    fn notice_topic_prefix_rules() {
        for bad in ["", "$notice/+/", "$notice/#", "a\0b"] {
            let m = MqttConfig {
                notice_topic_prefix: bad.into(),
                ..MqttConfig::default()
            };
            assert_eq!(
                key_of(m.validate().unwrap_err()),
                "mqtt.notice_topic_prefix",
                "{bad:?}"
            );
        }
        for good in ["n", "$SYS/notice/", "notices-"] {
            let m = MqttConfig {
                notice_topic_prefix: good.into(),
                ..MqttConfig::default()
            };
            assert!(m.validate().is_ok(), "{good:?}");
        }
    }
}
