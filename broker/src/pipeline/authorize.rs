//! Stage 1, authorize: may this client publish here, or subscribe to that filter?
//!
//! Until access control exists every client may use every topic except the `$`-prefixed ones,
//! which belong to the server (notices, `$SYS`).

use crate::codec::ReasonCode;
use crate::message::Message;

use super::{ClientInfo, Refusal};

#[derive(Debug, Default)]
pub struct Authorize {}

impl Authorize {
    pub fn new() -> Authorize {
        Authorize {}
    }

    pub fn publish(&self, _client: &ClientInfo, message: &Message) -> Result<(), Refusal> {
        if message.topic.starts_with('$') {
            return Err(Refusal::new(ReasonCode::NOT_AUTHORIZED, "topics starting with '$' are reserved for the server"));
        }
        Ok(())
    }

    /// Whether the client may read the history of `topic`.
    pub fn history(&self, _client: &ClientInfo, topic: &str) -> Result<(), Refusal> {
        if topic.is_empty() || topic.contains(['+', '#']) {
            return Err(Refusal::new(ReasonCode::TOPIC_NAME_INVALID, "history is read per topic, without wildcards"));
        }
        // No topic has one (the codec refuses it), and in storage keys U+0000 ends the topic:
        // such a name would reach into the log of the topic before it.
        if topic.contains('\0') {
            return Err(Refusal::new(ReasonCode::TOPIC_NAME_INVALID, "topic names cannot contain U+0000"));
        }
        Ok(())
    }

    /// Whether the client may subscribe to `filter` (share prefix already removed).
    pub fn subscribe(&self, _client: &ClientInfo, _filter: &str) -> Result<(), Refusal> {
        Ok(())
    }
}
