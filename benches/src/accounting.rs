//! Loss and duplicate detection: which of each publisher's messages each receiver saw.
//!
//! A receiver keeps one [`SeqSet`] per publisher it heard from. At the end of a run the sets
//! of the members of one *sink* (a subscriber, or all members of a shared-subscription group,
//! which together should see every message once) are merged, and compared with how many
//! messages each publisher sent: every expected message is either delivered or lost, and
//! every copy beyond the first is a duplicate. Nothing is inferred from counters alone, so a
//! lost message cannot hide behind a duplicated one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Highest sequence number a receiver tracks: one bit per message, so at most 12.5 MiB per
/// (receiver, publisher). A stamp above it is counted as unexpected, not tracked.
pub const MAX_TRACKED_SEQUENCE: u64 = 100_000_000;

/// The sequence numbers seen from one publisher: a bitmap, one bit per message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeqSet {
    words: Vec<u64>,
    distinct: u64,
}

impl SeqSet {
    pub fn new() -> SeqSet {
        SeqSet::default()
    }

    /// Adds `sequence`; `Some(true)` if it was new, `Some(false)` for a duplicate, `None` if
    /// it is beyond [`MAX_TRACKED_SEQUENCE`].
    pub fn insert(&mut self, sequence: u64) -> Option<bool> {
        if sequence > MAX_TRACKED_SEQUENCE {
            return None;
        }
        let word = (sequence / 64) as usize;
        let bit = 1u64 << (sequence % 64);
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let new = self.words[word] & bit == 0;
        if new {
            self.words[word] |= bit;
            self.distinct += 1;
        }
        Some(new)
    }

    pub fn contains(&self, sequence: u64) -> bool {
        let word = (sequence / 64) as usize;
        self.words
            .get(word)
            .is_some_and(|w| w & (1u64 << (sequence % 64)) != 0)
    }

    /// Distinct sequence numbers seen.
    pub fn len(&self) -> u64 {
        self.distinct
    }

    pub fn is_empty(&self) -> bool {
        self.distinct == 0
    }

    /// Distinct sequence numbers below `end`.
    pub fn count_below(&self, end: u64) -> u64 {
        let full_words = (end / 64) as usize;
        let mut count: u64 = self
            .words
            .iter()
            .take(full_words)
            .map(|w| u64::from(w.count_ones()))
            .sum();
        let rest = end % 64;
        if rest > 0 {
            if let Some(word) = self.words.get(full_words) {
                count += u64::from((word & ((1u64 << rest) - 1)).count_ones());
            }
        }
        count
    }

    /// Adds every sequence number of `other`; returns how many were already here.
    pub fn merge(&mut self, other: &SeqSet) -> u64 {
        if other.words.len() > self.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        let mut overlap = 0u64;
        for (mine, theirs) in self.words.iter_mut().zip(&other.words) {
            overlap += u64::from((*mine & theirs).count_ones());
            *mine |= theirs;
        }
        self.distinct = self.distinct + other.distinct - overlap;
        overlap
    }
}

/// What one receiving connection saw, per publisher.
#[derive(Debug, Clone, Default)]
pub struct ReceiveLog {
    pub per_publisher: BTreeMap<u32, SeqSet>,
    /// Every PUBLISH delivered with one of our stamps, duplicates included.
    pub received: u64,
    /// Copies of a message this connection had already seen.
    pub duplicates: u64,
    /// Payloads without a stamp, or with a sequence beyond what is tracked.
    pub unexpected: u64,
}

impl ReceiveLog {
    /// Records one delivery; `true` if this connection had not seen the message before.
    pub fn record(&mut self, publisher: u32, sequence: u64) -> bool {
        self.received += 1;
        match self
            .per_publisher
            .entry(publisher)
            .or_default()
            .insert(sequence)
        {
            Some(true) => true,
            Some(false) => {
                self.duplicates += 1;
                false
            }
            None => {
                self.unexpected += 1;
                false
            }
        }
    }

    /// Records a payload that carried no stamp.
    pub fn record_foreign(&mut self) {
        self.received += 1;
        self.unexpected += 1;
    }
}

/// The verdict for all receivers of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Deliveries the scenario calls for: for each sink, the messages of the publishers it
    /// listens to.
    pub expected: u64,
    /// Expected messages that reached their sink at least once.
    pub delivered: u64,
    /// Expected messages that never reached their sink.
    pub lost: u64,
    /// Copies beyond the first, within a connection or across a shared group's members.
    pub duplicates: u64,
    /// Deliveries no publisher of the run sent (unknown publisher, sequence never published,
    /// payload without a stamp).
    pub unexpected: u64,
    /// Every delivery received, duplicates and unexpected ones included.
    pub received: u64,
}

impl Tally {
    /// Whether every expected message arrived exactly once and nothing else did.
    pub fn is_exact(&self) -> bool {
        self.lost == 0
            && self.duplicates == 0
            && self.unexpected == 0
            && self.delivered == self.expected
    }
}

/// One sink of a scenario: the receive logs of its members and the publishers it should
/// hear from.
#[derive(Debug, Clone)]
pub struct Sink<'a> {
    pub members: Vec<&'a ReceiveLog>,
    pub publishers: Vec<u32>,
}

/// Compares what the sinks saw with `published[p]`, the messages publisher `p` sent (numbered
/// `0..published[p]`).
pub fn tally(sinks: &[Sink<'_>], published: &[u64]) -> Tally {
    let mut tally = Tally::default();
    for sink in sinks {
        let mut merged: BTreeMap<u32, SeqSet> = BTreeMap::new();
        for member in &sink.members {
            tally.received += member.received;
            tally.duplicates += member.duplicates;
            tally.unexpected += member.unexpected;
            for (&publisher, seen) in &member.per_publisher {
                tally.duplicates += merged.entry(publisher).or_default().merge(seen);
            }
        }
        for (&publisher, seen) in &merged {
            let sent = sink
                .publishers
                .contains(&publisher)
                .then(|| published.get(publisher as usize).copied())
                .flatten()
                .unwrap_or(0);
            let valid = seen.count_below(sent);
            tally.delivered += valid;
            tally.unexpected += seen.len() - valid;
        }
        for &publisher in &sink.publishers {
            tally.expected += published.get(publisher as usize).copied().unwrap_or(0);
        }
    }
    tally.lost = tally.expected - tally.delivered;
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(entries: &[(u32, u64)]) -> ReceiveLog {
        let mut log = ReceiveLog::default();
        for &(publisher, sequence) in entries {
            log.record(publisher, sequence);
        }
        log
    }

    #[test]
    fn seq_set_tells_new_from_seen() {
        let mut set = SeqSet::new();
        assert_eq!(set.insert(0), Some(true));
        assert_eq!(set.insert(130), Some(true));
        assert_eq!(set.insert(130), Some(false));
        assert_eq!(set.insert(MAX_TRACKED_SEQUENCE + 1), None);
        assert_eq!(set.len(), 2);
        assert!(set.contains(130) && !set.contains(129) && !set.contains(10_000));
        assert_eq!(set.count_below(130), 1);
        assert_eq!(set.count_below(131), 2);
        assert_eq!(set.count_below(64), 1);
        assert_eq!(set.count_below(0), 0);
    }

    #[test]
    fn merging_counts_the_overlap() {
        let mut a = SeqSet::new();
        let mut b = SeqSet::new();
        for s in [1, 2, 3, 200] {
            a.insert(s);
        }
        for s in [3, 4, 500] {
            b.insert(s);
        }
        assert_eq!(a.merge(&b), 1);
        assert_eq!(a.len(), 6);
        for s in [1, 2, 3, 4, 200, 500] {
            assert!(a.contains(s));
        }
    }

    #[test]
    fn every_message_once_is_exact() {
        let subscriber = log(&[(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]);
        let t = tally(
            &[Sink {
                members: vec![&subscriber],
                publishers: vec![0, 1],
            }],
            &[3, 2],
        );
        assert_eq!(
            t,
            Tally {
                expected: 5,
                delivered: 5,
                lost: 0,
                duplicates: 0,
                unexpected: 0,
                received: 5
            }
        );
        assert!(t.is_exact());
    }

    #[test]
    fn a_gap_is_loss_even_when_a_duplicate_makes_the_count_right() {
        // Three messages sent, three received: but #1 is missing and #2 came twice.
        let subscriber = log(&[(0, 0), (0, 2), (0, 2)]);
        let t = tally(
            &[Sink {
                members: vec![&subscriber],
                publishers: vec![0],
            }],
            &[3],
        );
        assert_eq!(t.received, 3);
        assert_eq!(t.delivered, 2);
        assert_eq!(t.lost, 1);
        assert_eq!(t.duplicates, 1);
        assert!(!t.is_exact());
    }

    #[test]
    fn shared_group_members_together_must_see_each_message_once() {
        let a = log(&[(0, 0), (0, 2), (1, 1)]);
        let b = log(&[(0, 1), (1, 0), (1, 1)]);
        let t = tally(
            &[Sink {
                members: vec![&a, &b],
                publishers: vec![0, 1],
            }],
            &[3, 2],
        );
        assert_eq!(t.expected, 5);
        assert_eq!(t.delivered, 5);
        assert_eq!(t.duplicates, 1, "(1, 1) reached both members");
        assert_eq!(t.lost, 0);
    }

    #[test]
    fn messages_nobody_sent_are_unexpected_not_delivered() {
        let mut subscriber = log(&[(0, 0), (0, 5), (7, 0)]);
        subscriber.record_foreign();
        let t = tally(
            &[Sink {
                members: vec![&subscriber],
                publishers: vec![0],
            }],
            &[2],
        );
        assert_eq!(t.delivered, 1);
        assert_eq!(t.lost, 1);
        assert_eq!(
            t.unexpected, 3,
            "sequence 5 never sent, publisher 7 not listened to, one foreign payload"
        );
        assert_eq!(t.received, 4);
    }

    #[test]
    fn each_sink_expects_only_its_publishers() {
        let first = log(&[(0, 0), (0, 1)]);
        let second = log(&[(1, 0)]);
        let t = tally(
            &[
                Sink {
                    members: vec![&first],
                    publishers: vec![0],
                },
                Sink {
                    members: vec![&second],
                    publishers: vec![1],
                },
            ],
            &[2, 3],
        );
        assert_eq!(t.expected, 5);
        assert_eq!(t.delivered, 3);
        assert_eq!(t.lost, 2);
    }
}
