//! An application message as the broker holds it after the publish pipeline admitted it.
//!
//! One `Arc<Message>` is shared by the retained store and every subscriber queue it reaches:
//! the payload is never copied per subscriber.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::codec::{PublishProperties, QoS, UserProperty};
use crate::router::ClientKey;

#[derive(Debug, Clone)]
pub struct Message {
    pub topic: Arc<str>,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    /// Properties forwarded unchanged to 5.0 subscribers (payload format, content type,
    /// response topic, correlation data, user properties). Topic alias, subscription
    /// identifiers and expiry are per delivery and not kept here.
    pub properties: PublishProperties,
    /// When the 5.0 message expiry interval runs out; `None` never expires.
    pub expires_at: Option<Instant>,
    /// Client identifier of the sender (empty for messages the server itself publishes).
    pub publisher: ClientKey,
    /// Data the pipeline's stages attached (for example a moderation verdict), sent to 5.0
    /// subscribers as user properties after the publisher's own.
    pub annotations: Vec<UserProperty>,
    /// Per-topic sequence number assigned by the persist stage.
    pub sequence: u64,
}

impl Message {
    /// Builds a message from a received PUBLISH whose topic alias is already resolved.
    pub fn from_publish(
        topic: Arc<str>,
        qos: QoS,
        retain: bool,
        mut properties: PublishProperties,
        payload: Bytes,
        publisher: ClientKey,
        now: Instant,
    ) -> Message {
        let expires_at = properties.message_expiry_interval.map(|secs| now + Duration::from_secs(u64::from(secs)));
        properties.topic_alias = None;
        properties.message_expiry_interval = None;
        properties.subscription_identifiers.clear();
        Message { topic, payload, qos, retain, properties, expires_at, publisher, annotations: Vec::new(), sequence: 0 }
    }

    pub fn is_expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// The message expiry interval to put in an outgoing PUBLISH: what remains, rounded up.
    pub fn remaining_expiry(&self, now: Instant) -> Option<u32> {
        self.expires_at.map(|at| {
            let left = at.saturating_duration_since(now);
            let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            u32::try_from(secs).unwrap_or(u32::MAX)
        })
    }
}
