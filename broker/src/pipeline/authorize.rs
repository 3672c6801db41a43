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
        Ok(())
    }

    /// Whether the client may subscribe to `filter` (share prefix already removed).
    pub fn subscribe(&self, _client: &ClientInfo, _filter: &str) -> Result<(), Refusal> {
        Ok(())
    }
}
