//! What is stored in each column family, and how it is encoded.
//!
//! Every value is `version byte || postcard(value)`. Message and dedup values put their
//! server timestamp (u64 big-endian, milliseconds since the Unix epoch) between the version
//! byte and the postcard body, so that retention can read a record's age without decoding it.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::StorageError;

/// Version of every value format below. Readers refuse values of a newer version.
pub const FORMAT_VERSION: u8 = 1;

/// Who sent a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Sender {
    pub client_id: String,
    pub user: Option<String>,
}

/// Message properties kept for delivery and evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Properties {
    pub payload_format_indicator: Option<u8>,
    /// When the message stops being deliverable, in milliseconds since the epoch.
    pub expires_at_ms: Option<u64>,
    pub content_type: Option<String>,
    pub response_topic: Option<String>,
    pub correlation_data: Option<Vec<u8>>,
    pub user_properties: Vec<(String, String)>,
}

/// One record of a topic log. Its canonical encoding (postcard of this struct, behind the
/// version byte) is what the hash chain hashes, `prev_hash` included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub topic: String,
    /// Position in the topic log, from 1, gapless.
    pub sequence: u64,
    /// Server time at commit, milliseconds since the epoch.
    pub timestamp_ms: u64,
    pub sender: Sender,
    pub qos: u8,
    pub retain: bool,
    #[serde(with = "byte_string")]
    pub payload: Vec<u8>,
    pub properties: Properties,
    /// Data the pipeline attached, for example a moderation verdict.
    pub annotations: Vec<(String, String)>,
    /// The client's own id for the message, used to store resends once.
    pub client_message_id: Option<String>,
    /// Hash of the previous record of the topic; zeros for the first.
    pub prev_hash: [u8; 32],
}

/// A record as stored: the record and the hash of its canonical encoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMessage {
    pub record: MessageRecord,
    pub hash: [u8; 32],
}

/// The head of a topic log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TopicHead {
    pub last_sequence: u64,
    pub last_hash: [u8; 32],
}

/// A subscription of a persistent session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    /// The filter as the client sent it, `$share/{group}/` included.
    pub raw_filter: String,
    pub share_group: Option<String>,
    pub filter: String,
    pub qos: u8,
    pub no_local: bool,
    pub retain_as_published: bool,
    pub retain_handling: u8,
    pub identifier: Option<u32>,
}

/// A will message waiting for its client's connection to end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WillRecord {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: u8,
    pub retain: bool,
    pub delay_secs: u32,
    /// Message expiry interval in seconds, counted from publication.
    pub expiry_secs: Option<u32>,
    pub properties: Properties,
}

/// A persistent session (one that outlives its connection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// MQTT protocol level of the last connection (4 or 5).
    pub protocol: u8,
    pub expiry_secs: u32,
    /// When the last connection ended; `None` while connected.
    pub disconnected_at_ms: Option<u64>,
    pub will: Option<WillRecord>,
    /// The authenticated user of the last connection, and its roles: access control decides
    /// what an offline session may still receive by them.
    pub user: Option<String>,
    pub roles: Vec<String>,
    pub subscriptions: Vec<SubscriptionRecord>,
    /// The first queue key of this incarnation of the session: queue entries below it were
    /// written for an earlier session with the same client id and are discarded.
    pub first_order: u64,
}

/// Where an outbound QoS 1/2 message stands once it has a packet id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryStage {
    /// PUBLISH sent, waiting for PUBACK or PUBREC.
    AwaitingAck,
    /// PUBREC received, PUBREL sent, waiting for PUBCOMP.
    AwaitingComp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub packet_id: u16,
    pub stage: DeliveryStage,
}

/// A message queued for a persistent session, pointing into its topic log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    pub topic: String,
    pub sequence: u64,
    pub qos: u8,
    pub retain: bool,
    pub subscription_ids: Vec<u32>,
    /// Set once the message is on the wire with a packet id (recorded for QoS 2).
    pub delivery: Option<Delivery>,
}

/// Where a message with a client message id was stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DedupEntry {
    pub topic: String,
    pub sequence: u64,
}

/// A message moderation holds back from delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HoldRecord {
    /// When a rule releases it (milliseconds since the epoch); `None`: held for review.
    pub release_at_ms: Option<u64>,
    /// When it expires undelivered, if not released before.
    pub expires_at_ms: u64,
    /// It expired: kept so that readers still see it as withheld; never scheduled again.
    pub expired: bool,
}

/// A member's part in a loan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberRole {
    Lender,
    Borrower,
    Guarantor,
}

/// Whether a room accepts messages. Closing is final: a closed room's history stays
/// readable by its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoomState {
    Open,
    Closed,
}

/// Where a loan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoanState {
    Active,
    Overdue,
    /// Collection paused at the borrower's request.
    Paused,
    /// Repaid or forgiven.
    Discharged,
    Disputed,
}

/// A weekly time slot in which the borrower is not to be contacted, in Asia/Seoul local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactWindow {
    /// Days of the week the slot starts on: bit 0 is Monday, bit 6 Sunday.
    pub days: u8,
    /// Minutes after local midnight at which the slot starts.
    pub start_minute: u16,
    /// Minutes after local midnight at which the slot ends; at or before `start_minute`, it
    /// ends on the next day.
    pub end_minute: u16,
}

/// The amount lent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// A non-negative decimal number as text ("1500000", "1250.50"): exact, never a float.
    pub amount: String,
    /// ISO 4217 code, e.g. "KRW".
    pub currency: String,
}

/// The loan behind a room, as the legal rules of the harassment detector read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoanRecord {
    /// `YYYY-MM-DD`.
    pub due_date: String,
    pub state: LoanState,
    /// The borrower's do-not-contact slots.
    pub do_not_contact: Vec<ContactWindow>,
    /// Annual interest rate in hundredths of a percent (1250 is 12.5 %).
    pub annual_interest_rate_bp: u32,
    pub principal: Option<Principal>,
}

/// A loan chat room: who may read and write `chat/{id}/...`, in which role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomRecord {
    pub id: String,
    /// User id → role.
    pub members: std::collections::BTreeMap<String, MemberRole>,
    pub state: RoomState,
    /// Milliseconds since the epoch.
    pub created_at_ms: u64,
    pub closed_at_ms: Option<u64>,
    pub loan: Option<LoanRecord>,
}

/// Room reserved for a value before encoding it; a larger one grows the buffer.
const ENCODE_CAPACITY: usize = 128;

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    encode_into(Vec::with_capacity(ENCODE_CAPACITY), value)
}

/// Appends `version || postcard(value)` to `out`, serializing straight into it.
fn encode_into<T: Serialize>(mut out: Vec<u8>, value: &T) -> Vec<u8> {
    out.push(FORMAT_VERSION);
    // Serializing plain structs into a Vec cannot fail; if it did, the body stays empty.
    postcard::to_extend(value, out).unwrap_or_else(|_| vec![FORMAT_VERSION])
}

pub fn decode<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T, StorageError> {
    let (version, body) = bytes.split_first().ok_or(StorageError::Corrupt { what, reason: "empty value".into() })?;
    check_version(what, *version)?;
    postcard::from_bytes(body).map_err(|e| StorageError::Corrupt { what, reason: e.to_string() })
}

/// `version || timestamp || postcard(value)`.
pub fn encode_timestamped<T: Serialize>(timestamp_ms: u64, value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(ENCODE_CAPACITY);
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&timestamp_ms.to_be_bytes());
    postcard::to_extend(value, out).unwrap_or_else(|_| {
        let mut out = vec![FORMAT_VERSION];
        out.extend_from_slice(&timestamp_ms.to_be_bytes());
        out
    })
}

/// `encode_timestamped(timestamp_ms, &StoredMessage { record, hash })` from the record's
/// `canonical` encoding, without serializing the record again: postcard writes a struct as
/// its fields in order and `[u8; 32]` as its 32 bytes, so the stored body is the canonical
/// body followed by the hash.
pub fn encode_stored(timestamp_ms: u64, canonical: &[u8], hash: &[u8; 32]) -> Vec<u8> {
    let body = canonical.get(1..).unwrap_or_default();
    let mut out = Vec::with_capacity(1 + 8 + body.len() + hash.len());
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&timestamp_ms.to_be_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(hash);
    out
}

pub fn decode_timestamped<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T, StorageError> {
    let corrupt = |reason: &str| StorageError::Corrupt { what, reason: reason.into() };
    let (version, rest) = bytes.split_first().ok_or_else(|| corrupt("empty value"))?;
    check_version(what, *version)?;
    let body = rest.get(8..).ok_or_else(|| corrupt("value shorter than its timestamp"))?;
    postcard::from_bytes(body).map_err(|e| StorageError::Corrupt { what, reason: e.to_string() })
}

/// The timestamp of a timestamped value, without decoding the rest.
pub fn timestamp_of(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(1..9)?.try_into().ok()?))
}

fn check_version(what: &'static str, version: u8) -> Result<(), StorageError> {
    if version > FORMAT_VERSION {
        return Err(StorageError::Corrupt { what, reason: format!("format version {version} is newer than {FORMAT_VERSION}") });
    }
    Ok(())
}

/// The canonical encoding the hash chain hashes.
pub fn canonical(record: &MessageRecord) -> Vec<u8> {
    let known = record.topic.len() + record.payload.len() + record.sender.client_id.len();
    encode_into(Vec::with_capacity(ENCODE_CAPACITY + known), record)
}

/// A `Vec<u8>` field written with `serialize_bytes`. In postcard that is the same bytes as
/// the derived sequence of `u8` (varint length, then the bytes), so stored values and hashes
/// are unchanged; it is copied in one piece instead of element by element.
mod byte_string {
    use serde::de::{Deserializer, SeqAccess, Visitor};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        deserializer.deserialize_byte_buf(ByteBuf)
    }

    struct ByteBuf;

    impl<'de> Visitor<'de> for ByteBuf {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("bytes")
        }

        fn visit_bytes<E>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }

        fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(byte) = seq.next_element()? {
                out.push(byte);
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_behind_a_version_byte() {
        let head = TopicHead { last_sequence: 7, last_hash: [3; 32] };
        let bytes = encode(&head);
        assert_eq!(bytes[0], FORMAT_VERSION);
        assert_eq!(decode::<TopicHead>("head", &bytes).unwrap(), head);
    }

    #[test]
    fn timestamp_is_readable_without_decoding() {
        let entry = DedupEntry { topic: "t".into(), sequence: 4 };
        let bytes = encode_timestamped(1_700_000_000_123, &entry);
        assert_eq!(timestamp_of(&bytes), Some(1_700_000_000_123));
        assert_eq!(decode_timestamped::<DedupEntry>("dedup", &bytes).unwrap(), entry);
    }

    /// `MessageRecord` as derived before its payload was written as bytes.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct SequencePayloadRecord {
        topic: String,
        sequence: u64,
        timestamp_ms: u64,
        sender: Sender,
        qos: u8,
        retain: bool,
        payload: Vec<u8>,
        properties: Properties,
        annotations: Vec<(String, String)>,
        client_message_id: Option<String>,
        prev_hash: [u8; 32],
    }

    #[test]
    fn payload_as_bytes_keeps_the_encoding_and_the_hash_input() {
        for len in [0usize, 1, 127, 128, 300, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let record = MessageRecord {
                topic: "chat/room-1".into(),
                sequence: 42,
                timestamp_ms: 1_700_000_000_000,
                sender: Sender { client_id: "alice".into(), user: Some("a".into()) },
                qos: 1,
                retain: false,
                payload: payload.clone(),
                properties: Properties { user_properties: vec![("k".into(), "v".into())], ..Default::default() },
                annotations: vec![],
                client_message_id: Some("m-1".into()),
                prev_hash: [9; 32],
            };
            let before = SequencePayloadRecord {
                topic: record.topic.clone(),
                sequence: record.sequence,
                timestamp_ms: record.timestamp_ms,
                sender: record.sender.clone(),
                qos: record.qos,
                retain: record.retain,
                payload,
                properties: record.properties.clone(),
                annotations: vec![],
                client_message_id: record.client_message_id.clone(),
                prev_hash: record.prev_hash,
            };
            let bytes = canonical(&record);
            assert_eq!(bytes, encode(&before), "payload of {len} bytes");
            assert_eq!(decode::<MessageRecord>("message", &bytes).unwrap(), record);
            assert_eq!(decode::<SequencePayloadRecord>("message", &bytes).unwrap(), before);

            // The stored value built from the canonical bytes is the serialized StoredMessage.
            let hash = crate::chain::hash_canonical(&bytes);
            assert_eq!(hash, crate::chain::hash(&record));
            let stored = encode_stored(1_700_000_000_999, &bytes, &hash);
            assert_eq!(stored, encode_timestamped(1_700_000_000_999, &StoredMessage { record: record.clone(), hash }));
            assert_eq!(timestamp_of(&stored), Some(1_700_000_000_999));
            assert_eq!(decode_timestamped::<StoredMessage>("message", &stored).unwrap(), StoredMessage { record, hash });
        }
    }

    #[test]
    fn newer_versions_and_garbage_are_refused() {
        let mut bytes = encode(&TopicHead::default());
        bytes[0] = FORMAT_VERSION + 1;
        assert!(matches!(decode::<TopicHead>("head", &bytes), Err(StorageError::Corrupt { .. })));
        assert!(decode::<TopicHead>("head", &[]).is_err());
        assert!(decode::<TopicHead>("head", &[FORMAT_VERSION, 0xff]).is_err());
    }
}
