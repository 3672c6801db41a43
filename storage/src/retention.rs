//! Retention, enforced by RocksDB compaction: old records are dropped from the front of a
//! topic log as files are compacted, never rewritten in the middle of a hash chain.
//!
//! A rule keeps messages on topics starting with its prefix for a number of days; the longest
//! matching prefix wins; topics without a rule (loan chats) are kept forever.

use std::time::Duration;

use rocksdb::compaction_filter::Decision;
use tallymq_config::RetentionRule;

use crate::commit::now_ms;
use crate::keys;
use crate::record;

pub struct Retention {
    /// (prefix, maximum age in milliseconds), longest prefix first.
    rules: Vec<(String, u64)>,
    dedup_window_ms: u64,
}

impl Retention {
    pub fn new(rules: &[RetentionRule], dedup_window: Duration) -> Retention {
        let mut rules: Vec<(String, u64)> =
            rules.iter().map(|r| (r.prefix.clone(), u64::from(r.days) * 24 * 3600 * 1000)).collect();
        rules.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        Retention { rules, dedup_window_ms: dedup_window.as_millis() as u64 }
    }

    /// Maximum age of messages on `topic`, if a rule applies.
    pub fn max_age_ms(&self, topic: &str) -> Option<u64> {
        self.rules.iter().find(|(prefix, _)| topic.starts_with(prefix.as_str())).map(|(_, age)| *age)
    }

    pub fn applies_to(&self, topic: &str) -> bool {
        self.max_age_ms(topic).is_some()
    }

    /// Compaction decision for a `messages` record.
    pub fn messages_decision(&self, key: &[u8], value: &[u8]) -> Decision {
        let Some((topic, _)) = keys::split(key) else { return Decision::Keep };
        let (Some(max_age), Some(stored_at)) = (self.max_age_ms(topic), record::timestamp_of(value)) else {
            return Decision::Keep;
        };
        if now_ms().saturating_sub(stored_at) > max_age {
            Decision::Remove
        } else {
            Decision::Keep
        }
    }

    /// Compaction decision for a `dedup` entry: forgotten after the dedup window.
    pub fn dedup_decision(&self, value: &[u8]) -> Decision {
        match record::timestamp_of(value) {
            Some(at) if now_ms().saturating_sub(at) > self.dedup_window_ms => Decision::Remove,
            _ => Decision::Keep,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(prefix: &str, days: u32) -> RetentionRule {
        RetentionRule { prefix: prefix.into(), days }
    }

    #[test]
    fn longest_prefix_wins_and_unmatched_topics_are_kept_forever() {
        let retention = Retention::new(&[rule("live/", 30), rule("live/vip/", 365)], Duration::from_secs(60));
        let day = 24 * 3600 * 1000;
        assert_eq!(retention.max_age_ms("live/1/donation"), Some(30 * day));
        assert_eq!(retention.max_age_ms("live/vip/1"), Some(365 * day));
        assert_eq!(retention.max_age_ms("chat/room/msg"), None);
    }

    #[test]
    fn old_records_on_ruled_topics_are_removed() {
        let retention = Retention::new(&[rule("live/", 1)], Duration::from_secs(60));
        let old = record::encode_timestamped(now_ms() - 2 * 24 * 3600 * 1000, &());
        let fresh = record::encode_timestamped(now_ms(), &());
        assert!(matches!(retention.messages_decision(&keys::numbered("live/x", 1), &old), Decision::Remove));
        assert!(matches!(retention.messages_decision(&keys::numbered("live/x", 2), &fresh), Decision::Keep));
        assert!(matches!(retention.messages_decision(&keys::numbered("chat/x", 1), &old), Decision::Keep));
    }
}
