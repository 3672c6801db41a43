//! Retained messages: the last retained message per topic, handed to new subscribers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::RwLock;

use crate::message::Message;
use crate::topic;

/// The store refused a new retained topic because it holds `max` already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the broker holds its maximum of {max} retained messages")]
pub struct RetainedFull {
    pub max: usize,
}

pub struct RetainedStore {
    messages: RwLock<HashMap<Arc<str>, Arc<Message>>>,
    max: usize,
}

impl RetainedStore {
    pub fn new(max: usize) -> RetainedStore {
        RetainedStore { messages: RwLock::new(HashMap::new()), max }
    }

    /// Whether a retained message for `topic` fits: replacing one always does, a new topic
    /// only below the limit.
    pub fn check_room(&self, topic: &str) -> Result<(), RetainedFull> {
        let messages = self.messages.read();
        if !messages.contains_key(topic) && messages.len() >= self.max {
            return Err(RetainedFull { max: self.max });
        }
        Ok(())
    }

    /// Stores, replaces or (empty payload) deletes the retained message of the topic. The
    /// caller checked room first ([`RetainedStore::check_room`]).
    pub fn apply(&self, message: &Arc<Message>) {
        let mut messages = self.messages.write();
        if message.payload.is_empty() {
            messages.remove(&message.topic);
        } else {
            messages.insert(message.topic.clone(), message.clone());
        }
    }

    /// Unexpired retained messages whose topic matches `filter`.
    pub fn matching(&self, filter: &str) -> Vec<Arc<Message>> {
        let now = Instant::now();
        let messages = self.messages.read();
        if !topic::has_wildcard(filter) {
            return messages.get(filter).filter(|m| !m.is_expired(now)).cloned().into_iter().collect();
        }
        messages
            .iter()
            .filter(|(name, m)| topic::matches(filter, name) && !m.is_expired(now))
            .map(|(_, m)| m.clone())
            .collect()
    }

    pub fn len(&self) -> usize {
        self.messages.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
