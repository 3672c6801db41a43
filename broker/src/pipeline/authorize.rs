//! Stage 1, authorize: may this client publish here, subscribe to that filter, read that
//! topic's history? The decisions are [`AccessControl`]'s; this stage turns them into
//! refusals the client can see (5.0 reason 0x87 Not authorized).

use std::sync::Arc;

use crate::access::{AccessControl, Principal};
use crate::codec::ReasonCode;
use crate::message::Message;
use crate::rooms::Rooms;

use super::{ClientInfo, Refusal};

#[derive(Debug)]
pub struct Authorize {
    pub access: AccessControl,
}

impl Authorize {
    pub fn new(config: &tallymq_config::Config, rooms: Arc<Rooms>) -> Authorize {
        Authorize { access: AccessControl::new(config, rooms) }
    }

    pub fn publish(&self, client: &ClientInfo, message: &Message) -> Result<(), Refusal> {
        self.access.publish(&Principal::of(client), &message.topic)
    }

    /// Whether the client may read the history of `topic`: the same rule as receiving it live.
    pub fn history(&self, client: &ClientInfo, topic: &str) -> Result<(), Refusal> {
        if topic.is_empty() || topic.contains(['+', '#']) {
            return Err(Refusal::new(ReasonCode::TOPIC_NAME_INVALID, "history is read per topic, without wildcards"));
        }
        // No topic has one (the codec refuses it), and in storage keys U+0000 ends the topic:
        // such a name would reach into the log of the topic before it.
        if topic.contains('\0') {
            return Err(Refusal::new(ReasonCode::TOPIC_NAME_INVALID, "topic names cannot contain U+0000"));
        }
        if !self.access.may_read(&Principal::of(client), topic) {
            return Err(Refusal::new(ReasonCode::NOT_AUTHORIZED, format!("you may not read {topic}")));
        }
        Ok(())
    }

    /// Whether the client may subscribe to `filter` (share prefix already removed).
    pub fn subscribe(&self, client: &ClientInfo, filter: &str) -> Result<(), Refusal> {
        self.access.subscribe(&Principal::of(client), filter)
    }
}
