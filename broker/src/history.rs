//! History over MQTT: "all messages on topic T after sequence N", for clients that reconnect
//! with clean sessions (most mobile apps) and must not depend on MQTT sessions for chat.
//!
//! A client publishes a JSON query to `$history/query`:
//!
//! ```json
//! {"topic": "chat/room-1/msg", "after": 41, "limit": 100}
//! ```
//!
//! and the broker answers with one message delivered to that client only (never routed, so
//! nobody else can see it): on the request's response topic with its correlation data for
//! MQTT 5.0 request/response, or on `$history/reply/{client_id}` for 3.1.1 clients. The
//! answer lists the page oldest first; `more` says a next page may exist, to be asked for with
//! `after = next_after`.

use base64::Engine;
use serde::{Deserialize, Serialize};
use tallymq_storage::StoredMessage;

/// Topic a client publishes history queries to.
pub const QUERY_TOPIC: &str = "$history/query";
/// Reply topic prefix for clients without a response topic (3.1.1).
pub const REPLY_PREFIX: &str = "$history/reply/";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    pub topic: String,
    #[serde(default)]
    pub after: u64,
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct Page {
    pub topic: String,
    pub after: u64,
    pub messages: Vec<Entry>,
    /// The sequence to pass as `after` for the next page.
    pub next_after: u64,
    /// The page is full: more messages may follow.
    pub more: bool,
}

#[derive(Debug, Serialize)]
pub struct Entry {
    pub seq: u64,
    pub timestamp_ms: u64,
    pub sender: String,
    pub qos: u8,
    /// Moderation held or blocked the message: it is listed (so sequence numbers stay
    /// contiguous) with its verdict, but without its payload or user properties.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub withheld: bool,
    /// The payload as text when it is UTF-8.
    pub payload: Option<String>,
    pub payload_base64: String,
    pub user_properties: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    /// SHA-256 of the record, hex: the evidence chain link.
    pub hash: String,
}

#[derive(Debug, Serialize)]
pub struct Failure {
    pub error: String,
}

pub fn parse(payload: &[u8]) -> Result<Query, String> {
    serde_json::from_slice(payload).map_err(|e| format!("invalid history query: {e}"))
}

/// A page of history. `withheld` says which messages members may not read yet (held or
/// blocked by moderation); the admin API, which serves evidence, passes `|_| false`.
pub fn page(query: &Query, limit: usize, stored: Vec<StoredMessage>, withheld: impl Fn(&StoredMessage) -> bool) -> Page {
    let messages: Vec<Entry> = stored
        .into_iter()
        .map(|message| {
            let hide = withheld(&message);
            entry(message, hide)
        })
        .collect();
    let next_after = messages.last().map(|m| m.seq).unwrap_or(query.after);
    Page { topic: query.topic.clone(), after: query.after, more: messages.len() >= limit, next_after, messages }
}

fn entry(stored: StoredMessage, withheld: bool) -> Entry {
    let record = stored.record;
    let payload: &[u8] = if withheld { &[] } else { &record.payload };
    Entry {
        seq: record.sequence,
        timestamp_ms: record.timestamp_ms,
        sender: record.sender.client_id,
        qos: record.qos,
        withheld,
        payload: if withheld { None } else { String::from_utf8(payload.to_vec()).ok() },
        payload_base64: base64::engine::general_purpose::STANDARD.encode(payload),
        user_properties: if withheld { Vec::new() } else { record.properties.user_properties },
        annotations: record.annotations,
        hash: stored.hash.iter().map(|b| format!("{b:02x}")).collect(),
    }
}
