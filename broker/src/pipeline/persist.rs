//! Stage 4, persist: store the message and give it its per-topic sequence number.
//!
//! Nothing is acknowledged before this stage returns. The store here is an in-memory log
//! bounded by `storage.memory_log_max_messages` (oldest dropped first); durable storage
//! replaces it behind the same `store` call. Retained messages are updated in this stage too,
//! so that a refused retained publish (store full) is refused before it is acknowledged.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::codec::ReasonCode;
use crate::message::Message;
use crate::retained::RetainedStore;

use super::Refusal;

/// Per-topic logs kept in memory, bounded in total message count.
pub struct MemoryLog {
    inner: Mutex<LogState>,
    max_messages: usize,
}

struct LogState {
    /// Next sequence number per topic. Topics whose messages all left the ring keep their
    /// counter so that numbering stays monotonic; the counter map is bounded with the ring
    /// (see `append`).
    next_sequence: HashMap<Arc<str>, u64>,
    messages: VecDeque<Arc<Message>>,
}

impl MemoryLog {
    pub fn new(max_messages: u64) -> MemoryLog {
        MemoryLog {
            inner: Mutex::new(LogState { next_sequence: HashMap::new(), messages: VecDeque::new() }),
            max_messages: usize::try_from(max_messages).unwrap_or(usize::MAX).max(1),
        }
    }

    /// Assigns the next sequence number of the message's topic and keeps the message.
    pub fn append(&self, mut message: Message) -> Arc<Message> {
        let mut state = self.inner.lock();
        let next = state.next_sequence.entry(message.topic.clone()).or_insert(1);
        message.sequence = *next;
        *next += 1;
        let message = Arc::new(message);
        if state.messages.len() >= self.max_messages {
            state.messages.pop_front();
        }
        state.messages.push_back(message.clone());
        if state.next_sequence.len() > self.max_messages {
            // More topics than messages kept: forget counters of topics with nothing kept.
            let LogState { next_sequence, messages } = &mut *state;
            let live: std::collections::HashSet<&str> = messages.iter().map(|m| &*m.topic).collect();
            next_sequence.retain(|topic, _| live.contains(&**topic));
        }
        message
    }

    /// Messages kept for `topic` with a sequence number above `after`, oldest first.
    pub fn read_after(&self, topic: &str, after: u64, limit: usize) -> Vec<Arc<Message>> {
        let state = self.inner.lock();
        state.messages.iter().filter(|m| &*m.topic == topic && m.sequence > after).take(limit).cloned().collect()
    }
}

pub struct Persist {
    log: MemoryLog,
    retained: Arc<RetainedStore>,
}

impl Persist {
    pub fn new(log: MemoryLog, retained: Arc<RetainedStore>) -> Persist {
        Persist { log, retained }
    }

    pub fn log(&self) -> &MemoryLog {
        &self.log
    }

    pub async fn store(&self, message: Message) -> Result<Arc<Message>, Refusal> {
        let message = self.log.append(message);
        if message.retain {
            self.retained.apply(&message).map_err(|full| Refusal::new(ReasonCode::QUOTA_EXCEEDED, full.to_string()))?;
        }
        Ok(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::QoS;
    use std::time::Instant;

    fn message(topic: &str) -> Message {
        Message::from_publish(Arc::from(topic), QoS::AtLeastOnce, false, Default::default(), bytes::Bytes::from_static(b"m"), Arc::from("c"), Instant::now())
    }

    #[test]
    fn sequences_are_per_topic_and_gapless() {
        let log = MemoryLog::new(100);
        let seqs: Vec<u64> = ["a", "b", "a", "a", "b"].iter().map(|t| log.append(message(t)).sequence).collect();
        assert_eq!(seqs, [1, 1, 2, 3, 2]);
        let after: Vec<u64> = log.read_after("a", 1, 10).iter().map(|m| m.sequence).collect();
        assert_eq!(after, [2, 3]);
    }

    #[test]
    fn ring_is_bounded_and_numbering_stays_monotonic() {
        let log = MemoryLog::new(2);
        for _ in 0..5 {
            log.append(message("a"));
        }
        let kept: Vec<u64> = log.read_after("a", 0, 10).iter().map(|m| m.sequence).collect();
        assert_eq!(kept, [4, 5]);
        assert_eq!(log.append(message("a")).sequence, 6);
    }
}
