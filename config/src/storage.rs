//! `[storage]`: durable message storage.
//!
//! Where the data lives, what an acknowledged write survives
//! ([`Durability`]), how writes are grouped into commits, how long a client
//! message id is remembered for deduplication, how much a history query may
//! return, and how long messages are kept ([`RetentionRule`]).

use std::collections::HashMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::validate::{check_all, check_range, check_topic_prefix, RangeCheck};

/// Smallest `days` of a retention rule.
pub(crate) const RETENTION_DAYS_MIN: u32 = 1;
/// Largest `days` of a retention rule (100 years).
pub(crate) const RETENTION_DAYS_MAX: u32 = 36_500;

/// What an acknowledged write survives: `storage.durability`.
///
/// Writes are committed in groups (one batch and at most one sync for many
/// writes), so even [`Durability::Fsync`] does not limit throughput to one
/// sync per message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// `"fsync"`: a write is acknowledged only after the write-ahead log is
    /// synced to disk (fdatasync); it survives power loss. The default.
    #[default]
    Fsync,
    /// `"flush"`: the write-ahead log is written to the OS but not synced; a
    /// write survives a broker crash (kill -9), not an OS crash or power loss.
    Flush,
    /// `"none"`: no write-ahead log; recent acknowledged writes are lost on
    /// any crash. For benchmarks only.
    None,
}

/// One entry of `storage.retention`: messages on topics starting with
/// `prefix` are deleted by compaction once older than `days`.
///
/// In TOML: `retention = [{ prefix = "live/", days = 7 }]`, or one
/// `[[storage.retention]]` table per rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    /// Topic prefix the rule applies to. Non-empty, no `+`, `#` or NUL, and
    /// unique among the rules.
    pub prefix: String,
    /// Age in days after which matching messages are deleted.
    /// Range 1..=36_500.
    pub days: u32,
}

impl RetentionRule {
    fn new(prefix: &str, days: u32) -> Self {
        RetentionRule {
            prefix: prefix.to_owned(),
            days,
        }
    }
}

/// `[storage]`: durable message storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Directory for broker data files; relative paths are taken from the
    /// broker's working directory. Default `./data`.
    pub data_dir: PathBuf,
    /// What an acknowledged write survives; see [`Durability`].
    /// Default [`Durability::Fsync`].
    pub durability: Durability,
    /// The most writes one group commit (one `WriteBatch` and one sync)
    /// takes. Range 1..=1_000_000, default 4096.
    pub max_batch_writes: u32,
    /// Writes waiting for the commit path; when full, writers wait
    /// (backpressure). Range 1..=10_000_000, default 65_536.
    pub write_queue_capacity: u32,
    /// Writes nobody waits for (a delivered message leaving a session's
    /// queue, a session's last-seen time) that may wait for the next commit
    /// instead of waking the commit path for one of their own; beyond it they
    /// go through the write queue. Counts single writes. 0: never wait.
    /// Range 0..=1_000_000, default 4096.
    pub max_later_writes: u32,
    /// The longest, in milliseconds, such changes wait for the next commit
    /// before they get one of their own (they are lost if the broker dies
    /// meanwhile; each is safe to lose). Range 1..=1000, default 50.
    pub later_writes_delay_ms: u32,
    /// How long, in seconds, a client message id (`msg-id` user property) is
    /// remembered so that a resent message is stored once.
    /// Range 60..=315_360_000 (10 years), default 604_800 (7 days).
    pub dedup_window_secs: u32,
    /// The most messages one history query returns.
    /// Range 1..=100_000, default 1000.
    pub history_max_page: u32,
    /// Topic heads (last sequence number and hash) the commit path keeps in
    /// memory; others are read from disk on demand.
    /// Range 1..=100_000_000, default 100_000.
    pub max_cached_topics: u32,
    /// Retention rules. A message is deleted by compaction once older than
    /// the `days` of the rule with the longest prefix of its topic; topics
    /// matching no rule are kept forever (see [`StorageConfig::retention_days`]).
    /// Default: `live/`, `auction/` and `event/` for 30 days each.
    pub retention: Vec<RetentionRule>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("./data"),
            durability: Durability::default(),
            max_batch_writes: 4096,
            write_queue_capacity: 65_536,
            max_later_writes: 4096,
            later_writes_delay_ms: 50,
            dedup_window_secs: 604_800,
            history_max_page: 1000,
            max_cached_topics: 100_000,
            retention: vec![
                RetentionRule::new("live/", 30),
                RetentionRule::new("auction/", 30),
                RetentionRule::new("event/", 30),
            ],
        }
    }
}

impl StorageConfig {
    /// Days after which messages on `topic` are deleted: those of the rule
    /// with the longest prefix of `topic`, or `None` (kept forever) if no
    /// rule matches.
    pub fn retention_days(&self, topic: &str) -> Option<u32> {
        self.retention
            .iter()
            .filter(|rule| topic.starts_with(&rule.prefix))
            .max_by_key(|rule| rule.prefix.len())
            .map(|rule| rule.days)
    }

    /// The numeric limits of this section with a fixed key.
    pub(crate) fn ranges(&self) -> Vec<RangeCheck> {
        vec![
            RangeCheck::new(
                "storage.max_batch_writes",
                self.max_batch_writes,
                1,
                1_000_000,
                "writes",
            ),
            RangeCheck::new(
                "storage.write_queue_capacity",
                self.write_queue_capacity,
                1,
                10_000_000,
                "writes",
            ),
            RangeCheck::new(
                "storage.max_later_writes",
                self.max_later_writes,
                0,
                1_000_000,
                "writes",
            ),
            RangeCheck::new(
                "storage.later_writes_delay_ms",
                self.later_writes_delay_ms,
                1,
                1000,
                "milliseconds",
            ),
            RangeCheck::new(
                "storage.dedup_window_secs",
                self.dedup_window_secs,
                60,
                315_360_000,
                "seconds",
            ),
            RangeCheck::new(
                "storage.history_max_page",
                self.history_max_page,
                1,
                100_000,
                "messages",
            ),
            RangeCheck::new(
                "storage.max_cached_topics",
                self.max_cached_topics,
                1,
                100_000_000,
                "topics",
            ),
        ]
    }

    /// Checks every value of the section.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.data_dir.as_os_str().is_empty() {
            return Err(ConfigError::invalid(
                "storage.data_dir",
                "must not be empty (use \".\" for the working directory)",
            ));
        }
        check_all(&self.ranges())?;
        self.validate_retention()
    }

    /// Each rule's prefix and days, and that no prefix appears twice. Errors
    /// name the element, e.g. `storage.retention[2].prefix`.
    fn validate_retention(&self) -> Result<(), ConfigError> {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, rule) in self.retention.iter().enumerate() {
            let prefix_key = format!("storage.retention[{i}].prefix");
            check_topic_prefix(&prefix_key, &rule.prefix)?;
            if let Some(first) = seen.insert(&rule.prefix, i) {
                return Err(ConfigError::invalid(
                    prefix_key,
                    format!(
                        "duplicate prefix {:?}, already used by storage.retention[{first}]",
                        rule.prefix
                    ),
                ));
            }
            check_range(
                &format!("storage.retention[{i}].days"),
                rule.days.into(),
                RETENTION_DAYS_MIN.into(),
                RETENTION_DAYS_MAX.into(),
                "days",
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn key_of(err: ConfigError) -> String {
        match err {
            ConfigError::Invalid { key, .. } => key,
            other => panic!("expected Invalid, got {other}"),
        }
    }

    fn parse_error(text: &str) -> String {
        match Config::from_toml_str(text) {
            Err(ConfigError::Parse { message, .. }) => message,
            other => panic!("expected a parse error for {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let s = StorageConfig::default();
        assert!(s.validate().is_ok());
        assert_eq!(s.data_dir, PathBuf::from("./data"));
        assert_eq!(s.durability, Durability::Fsync);
        assert_eq!(s.max_batch_writes, 4096);
        assert_eq!(s.write_queue_capacity, 65_536);
        assert_eq!(s.dedup_window_secs, 604_800);
        assert_eq!(s.history_max_page, 1000);
        assert_eq!(s.max_cached_topics, 100_000);
        let prefixes: Vec<(&str, u32)> = s
            .retention
            .iter()
            .map(|r| (r.prefix.as_str(), r.days))
            .collect();
        assert_eq!(prefixes, [("live/", 30), ("auction/", 30), ("event/", 30)]);
    }

    /// For each ranged key: both edges accepted, one past each edge refused
    /// with an error naming the key and the value.
    #[test]
    fn range_edges() {
        type Setter = fn(&mut StorageConfig, u32);
        let cases: [(&str, u32, u32, Setter); 5] = [
            ("storage.max_batch_writes", 1, 1_000_000, |s, v| {
                s.max_batch_writes = v
            }),
            ("storage.write_queue_capacity", 1, 10_000_000, |s, v| {
                s.write_queue_capacity = v
            }),
            ("storage.dedup_window_secs", 60, 315_360_000, |s, v| {
                s.dedup_window_secs = v
            }),
            ("storage.history_max_page", 1, 100_000, |s, v| {
                s.history_max_page = v
            }),
            ("storage.max_cached_topics", 1, 100_000_000, |s, v| {
                s.max_cached_topics = v
            }),
        ];
        for (key, min, max, set) in cases {
            for ok in [min, max] {
                let mut s = StorageConfig::default();
                set(&mut s, ok);
                assert!(s.validate().is_ok(), "{key} = {ok}");
            }
            for bad in [min - 1, max + 1] {
                let mut s = StorageConfig::default();
                set(&mut s, bad);
                let err = s.validate().unwrap_err();
                let text = err.to_string();
                assert_eq!(key_of(err), key);
                assert!(text.contains(&format!("got {bad}")), "{text}");
                assert!(text.contains(&format!("between {min} and {max}")), "{text}");
            }
        }
    }

    #[test]
    fn range_error_in_text_names_the_key() {
        let err = Config::from_toml_str("[storage]\ndedup_window_secs = 59\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration value for `storage.dedup_window_secs`: \
             must be between 60 and 315360000 seconds, got 59"
        );
    }

    #[test]
    fn durability_parses_all_three_values() {
        for (text, expected) in [
            ("fsync", Durability::Fsync),
            ("flush", Durability::Flush),
            ("none", Durability::None),
        ] {
            let c =
                Config::from_toml_str(&format!("[storage]\ndurability = \"{text}\"\n")).unwrap();
            assert_eq!(c.storage.durability, expected);
            let rendered = toml::Value::try_from(expected).unwrap();
            assert_eq!(rendered.as_str(), Some(text));
        }
        let c = Config::from_toml_str("storage.durability = \"flush\"\n").unwrap();
        assert_eq!(c.storage.durability, Durability::Flush);
    }

    #[test]
    fn unknown_durability_is_refused_naming_the_key() {
        let msg = parse_error("[storage]\ndurability = \"sync\"\n");
        assert!(msg.contains("durability"), "{msg}");
        assert!(msg.contains("sync"), "{msg}");
        assert!(msg.contains("fsync") && msg.contains("flush"), "{msg}");
        let msg = parse_error("[storage]\ndurability = \"FSYNC\"\n");
        assert!(msg.contains("durability"), "{msg}");
    }

    #[test]
    fn removed_memory_log_key_is_refused() {
        let msg = parse_error("[storage]\nmemory_log_max_messages = 10\n");
        assert!(
            msg.contains("unknown field `memory_log_max_messages`"),
            "{msg}"
        );
    }

    fn with_rules(rules: &[(&str, u32)]) -> StorageConfig {
        StorageConfig {
            retention: rules
                .iter()
                .map(|&(p, d)| RetentionRule::new(p, d))
                .collect(),
            ..StorageConfig::default()
        }
    }

    #[test]
    fn retention_rules_are_validated_by_element() {
        let cases: [(&[(&str, u32)], &str); 8] = [
            (&[("", 1)], "storage.retention[0].prefix"),
            (&[("a/", 1), ("live/+/x", 1)], "storage.retention[1].prefix"),
            (&[("live/#", 1)], "storage.retention[0].prefix"),
            (&[("a\0b", 1)], "storage.retention[0].prefix"),
            (
                &[("a/", 1), ("b/", 2), ("a/", 3)],
                "storage.retention[2].prefix",
            ),
            (&[("a/", 0)], "storage.retention[0].days"),
            (&[("a/", 1), ("b/", 36_501)], "storage.retention[1].days"),
            (&[("b/", u32::MAX)], "storage.retention[0].days"),
        ];
        for (rules, key) in cases {
            let err = with_rules(rules).validate().unwrap_err();
            assert_eq!(key_of(err), key, "{rules:?}");
        }
        let err = with_rules(&[("x/", 2), ("x/", 2)]).validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration value for `storage.retention[1].prefix`: \
             duplicate prefix \"x/\", already used by storage.retention[0]"
        );
        let err = with_rules(&[("x/", 0)]).validate().unwrap_err();
        assert!(
            err.to_string()
                .ends_with("must be between 1 and 36500 days, got 0"),
            "{err}"
        );
    }

    #[test]
    fn retention_accepts_edges_nesting_and_an_empty_list() {
        let s = with_rules(&[("a", 1), ("a/b/", 36_500), ("$SYS/", 7)]);
        assert!(s.validate().is_ok());
        assert!(with_rules(&[]).validate().is_ok());
    }

    #[test]
    fn longest_matching_prefix_wins_and_unmatched_topics_are_kept() {
        let s = with_rules(&[("live/", 30), ("live/hot/", 2), ("l", 365)]);
        assert_eq!(s.retention_days("live/hot/1"), Some(2));
        assert_eq!(s.retention_days("live/cold/1"), Some(30));
        assert_eq!(s.retention_days("lobby"), Some(365));
        assert_eq!(s.retention_days("chat/room"), None);
        let d = StorageConfig::default();
        assert_eq!(d.retention_days("auction/42/bids"), Some(30));
        assert_eq!(d.retention_days("chat/general"), None);
        assert_eq!(with_rules(&[]).retention_days("live/x"), None);
    }

    #[test]
    fn retention_as_array_of_tables() {
        let c = Config::from_toml_str(
            "[storage]\n\
             durability = \"flush\"\n\
             \n\
             [[storage.retention]]\n\
             prefix = \"live/\"\n\
             days = 7\n\
             \n\
             [[storage.retention]]\n\
             prefix = \"chat/\"\n\
             days = 3650\n\
             \n\
             [mqtt]\n\
             max_inflight = 5\n",
        )
        .unwrap();
        assert_eq!(c.storage.durability, Durability::Flush);
        assert_eq!(
            c.storage.retention,
            [
                RetentionRule::new("live/", 7),
                RetentionRule::new("chat/", 3650)
            ]
        );
        assert_eq!(c.mqtt.max_inflight, 5);
    }

    #[test]
    fn retention_as_inline_array_replaces_the_defaults() {
        let c =
            Config::from_toml_str("[storage]\nretention = [{ prefix = \"live/\", days = 7 }]\n")
                .unwrap();
        assert_eq!(c.storage.retention, [RetentionRule::new("live/", 7)]);
        let c = Config::from_toml_str("[storage]\nretention = []\n").unwrap();
        assert!(c.storage.retention.is_empty());
    }

    #[test]
    fn retention_rule_fields_are_required_and_checked() {
        let msg = parse_error("[storage]\nretention = [{ prefix = \"a/\", day = 7 }]\n");
        assert!(msg.contains("unknown field `day`"), "{msg}");
        let msg = parse_error("[[storage.retention]]\nprefix = \"a/\"\n");
        assert!(msg.contains("missing field `days`"), "{msg}");
        let msg = parse_error("[[storage.retention]]\ndays = 1\n");
        assert!(msg.contains("missing field `prefix`"), "{msg}");
        let err = Config::from_toml_str("[[storage.retention]]\nprefix = \"a/#\"\ndays = 1\n")
            .unwrap_err();
        assert_eq!(key_of(err), "storage.retention[0].prefix");
    }

    #[test]
    fn non_default_storage_round_trips_through_toml() {
        let storage = StorageConfig {
            data_dir: PathBuf::from("/srv/tallymq"),
            durability: Durability::None,
            max_batch_writes: 1,
            write_queue_capacity: 10_000_000,
            max_later_writes: 0,
            later_writes_delay_ms: 1000,
            dedup_window_secs: 60,
            history_max_page: 100_000,
            max_cached_topics: 1,
            retention: vec![
                RetentionRule::new("a/", 1),
                RetentionRule::new("b/", 36_500),
            ],
        };
        let c = Config {
            storage,
            ..Config::default()
        };
        let text = toml::to_string(&c).unwrap();
        assert_eq!(Config::from_toml_str(&text).unwrap(), c);
    }
}
