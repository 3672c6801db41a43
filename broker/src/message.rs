//! An application message as the broker holds it after the publish pipeline admitted it.
//!
//! One `Arc<Message>` is shared by the retained store and every subscriber queue it reaches:
//! the payload is never copied per subscriber.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tallymq_storage::{MessageRecord, Properties, Sender, StoredMessage};

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

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl Message {
    /// The storage record for this message; the commit path fills sequence, time and links.
    pub fn to_record(&self, user: Option<&str>, client_message_id: Option<String>) -> MessageRecord {
        let now = Instant::now();
        let expires_at_ms = self.expires_at.map(|at| now_ms() + at.saturating_duration_since(now).as_millis() as u64);
        MessageRecord {
            topic: self.topic.to_string(),
            sequence: 0,
            timestamp_ms: 0,
            sender: Sender { client_id: self.publisher.to_string(), user: user.map(str::to_string) },
            qos: self.qos as u8,
            retain: self.retain,
            payload: self.payload.to_vec(),
            properties: Properties {
                payload_format_indicator: self.properties.payload_format_indicator,
                expires_at_ms,
                content_type: self.properties.content_type.clone(),
                response_topic: self.properties.response_topic.clone(),
                correlation_data: self.properties.correlation_data.as_ref().map(|d| d.to_vec()),
                user_properties: self.properties.user_properties.clone(),
            },
            annotations: self.annotations.clone(),
            client_message_id,
            prev_hash: [0; 32],
        }
    }

    /// A stored message as the broker delivers it again (after a restart).
    pub fn from_stored(stored: &StoredMessage) -> Message {
        let record = &stored.record;
        let now = Instant::now();
        let wall = now_ms();
        let expires_at = record.properties.expires_at_ms.map(|at| now + Duration::from_millis(at.saturating_sub(wall)));
        Message {
            topic: Arc::from(record.topic.as_str()),
            payload: Bytes::from(record.payload.clone()),
            qos: QoS::from_u8(record.qos).unwrap_or(QoS::AtLeastOnce),
            retain: record.retain,
            properties: PublishProperties {
                payload_format_indicator: record.properties.payload_format_indicator,
                content_type: record.properties.content_type.clone(),
                response_topic: record.properties.response_topic.clone(),
                correlation_data: record.properties.correlation_data.clone().map(Bytes::from),
                user_properties: record.properties.user_properties.clone(),
                ..Default::default()
            },
            expires_at,
            publisher: Arc::from(record.sender.client_id.as_str()),
            annotations: record.annotations.clone(),
            sequence: record.sequence,
        }
    }
}
