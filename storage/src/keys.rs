//! Column families and key layouts, designed for the reads that happen.
//!
//! Topic names and client ids never contain U+0000 (MQTT forbids it), so a NUL byte
//! separates a name from the big-endian number after it: all keys of one topic or client are
//! contiguous and ordered by that number, which makes "after sequence N" a range scan.

/// Per-topic message logs: `topic \0 sequence(u64 BE)` → stored message.
pub const MESSAGES: &str = "messages";
/// Head of each topic log: `topic` → last sequence and hash.
pub const TOPICS: &str = "topics";
/// Retained messages: `topic` → stored message.
pub const RETAINED: &str = "retained";
/// Persistent sessions: `client` → session record.
pub const SESSIONS: &str = "sessions";
/// Messages waiting for or in delivery to a persistent session: `client \0 order(u64 BE)`.
pub const QUEUE: &str = "queue";
/// Inbound QoS 2 packet ids awaiting PUBREL: `client \0 packet id(u16 BE)`.
pub const INCOMING: &str = "incoming";
/// Client message ids seen recently: `client \0 msg-id` → where the message was stored.
pub const DEDUP: &str = "dedup";
/// Schema version and other facts about the data directory.
pub const META: &str = "meta";
/// Loan chat rooms: `room id` → room record (members, state, loan). Written by the admin API.
pub const ROOMS: &str = "rooms";
/// Messages moderation holds back: `topic \0 sequence(u64 BE)` → when to release or expire it.
/// Written with the message; deleted when it is released, marked when it expires (an expired
/// message stays withheld from readers).
pub const HELD: &str = "held";
/// Collection contacts per loan room: `room id` → the contact ledger of the legal rules,
/// written with the message that changed it.
pub const CONTACTS: &str = "contacts";

pub const ALL: [&str; 11] = [MESSAGES, TOPICS, RETAINED, SESSIONS, QUEUE, INCOMING, DEDUP, META, ROOMS, HELD, CONTACTS];

pub const SCHEMA_VERSION_KEY: &[u8] = b"schema_version";

const SEPARATOR: u8 = 0;

/// `name \0`: the prefix of every key that belongs to `name`.
pub fn prefix(name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 9);
    key.extend_from_slice(name.as_bytes());
    key.push(SEPARATOR);
    key
}

/// `name \0 number(u64 BE)`.
pub fn numbered(name: &str, number: u64) -> Vec<u8> {
    let mut key = prefix(name);
    key.extend_from_slice(&number.to_be_bytes());
    key
}

/// `client \0 packet id(u16 BE)`.
pub fn packet(client: &str, packet_id: u16) -> Vec<u8> {
    let mut key = prefix(client);
    key.extend_from_slice(&packet_id.to_be_bytes());
    key
}

/// `client \0 text`.
pub fn named(client: &str, text: &str) -> Vec<u8> {
    let mut key = prefix(client);
    key.extend_from_slice(text.as_bytes());
    key
}

/// The first key after every key that starts with `name \0`.
pub fn prefix_end(name: &str) -> Vec<u8> {
    let mut key = name.as_bytes().to_vec();
    key.push(SEPARATOR + 1);
    key
}

/// Splits `name \0 rest` into the name and the rest.
pub fn split(key: &[u8]) -> Option<(&str, &[u8])> {
    let at = key.iter().position(|b| *b == SEPARATOR)?;
    let name = std::str::from_utf8(&key[..at]).ok()?;
    Some((name, &key[at + 1..]))
}

/// The number after the separator of a `numbered` key.
pub fn number(rest: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_keys_sort_by_name_then_number() {
        let mut keys = vec![numbered("a/b", 10), numbered("a", 2), numbered("a/b", 9), numbered("a", 256)];
        keys.sort();
        assert_eq!(keys, vec![numbered("a", 2), numbered("a", 256), numbered("a/b", 9), numbered("a/b", 10)]);
    }

    #[test]
    fn prefix_range_covers_exactly_one_name() {
        let (start, end) = (prefix("a"), prefix_end("a"));
        assert!(numbered("a", u64::MAX) < end && numbered("a", 0) >= start);
        assert!(numbered("a/b", 0) >= end, "a longer name sorts after the range");
        assert!(named("a", "zzz") < end);
    }

    #[test]
    fn keys_split_back() {
        let key = numbered("chat/1", 42);
        let (name, rest) = split(&key).unwrap();
        assert_eq!((name, number(rest)), ("chat/1", Some(42)));
    }
}
