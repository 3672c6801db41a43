//! What the store's tests share: a configuration on a temporary directory and a message to
//! append.
#![allow(dead_code)]

use tallymq_config::StorageConfig;
use tallymq_storage::MessageRecord;

pub fn config(dir: &std::path::Path) -> StorageConfig {
    StorageConfig { data_dir: dir.to_path_buf(), ..StorageConfig::default() }
}

/// A QoS 1 message from the client `lender` (user `u1`); the commit path numbers and links it.
pub fn message(topic: &str, payload: &str) -> MessageRecord {
    MessageRecord {
        topic: topic.to_string(),
        sequence: 0,
        timestamp_ms: 0,
        sender: tallymq_storage::Sender { client_id: "lender".into(), user: Some("u1".into()) },
        qos: 1,
        retain: false,
        payload: payload.as_bytes().to_vec(),
        properties: Default::default(),
        annotations: vec![],
        client_message_id: None,
        prev_hash: [0; 32],
    }
}
