//! Stage 2, validate: is the message well formed for this broker's rules?
//!
//! The codec already refused what the protocol forbids; this stage applies the configured
//! limits and the checks that need the message as a whole.

use crate::codec::ReasonCode;
use crate::message::Message;
use crate::topic::{self, TopicLimits};

use super::{ClientInfo, Refusal};

#[derive(Debug)]
pub struct Validate {
    limits: TopicLimits,
    retain_available: bool,
}

impl Validate {
    pub fn new(config: &tallymq_config::Config) -> Validate {
        Validate {
            limits: TopicLimits {
                max_len: usize::from(config.mqtt.max_topic_len),
                max_levels: usize::from(config.mqtt.max_topic_levels),
            },
            retain_available: config.mqtt.retain_available,
        }
    }

    pub fn topic_limits(&self) -> TopicLimits {
        self.limits
    }

    pub fn check(&self, _client: &ClientInfo, message: &Message) -> Result<(), Refusal> {
        topic::validate_name(&message.topic, self.limits)
            .map_err(|e| Refusal::new(ReasonCode::TOPIC_NAME_INVALID, e.to_string()))?;
        if message.retain && !self.retain_available {
            return Err(Refusal::new(ReasonCode::RETAIN_NOT_SUPPORTED, "this broker does not keep retained messages"));
        }
        if message.properties.payload_format_indicator == Some(1) && std::str::from_utf8(&message.payload).is_err() {
            return Err(Refusal::new(ReasonCode::PAYLOAD_FORMAT_INVALID, "payload is marked UTF-8 but is not valid UTF-8"));
        }
        Ok(())
    }
}
