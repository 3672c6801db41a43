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

    /// Stores, replaces or (empty payload) deletes the retained message of the topic. A new
    /// topic beyond the limit is refused; replacing and deleting always work.
    pub fn apply(&self, message: &Arc<Message>) -> Result<(), RetainedFull> {
        let mut messages = self.messages.write();
        if message.payload.is_empty() {
            messages.remove(&message.topic);
            return Ok(());
        }
        if !messages.contains_key(&message.topic) && messages.len() >= self.max {
            return Err(RetainedFull { max: self.max });
        }
        messages.insert(message.topic.clone(), message.clone());
        Ok(())
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
