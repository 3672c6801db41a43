//! The hasher of the maps that every connection, session and subscription carries.
//!
//! `std`'s `RandomState` keeps its SipHash keys inside each map: 16 bytes per map, paid by
//! empty maps too, and there are two per connection (topic aliases), two per session
//! (messages in flight, QoS 2 ids) and two or three in every node of the subscription trie.
//! Those maps are keyed by what clients send (topic levels, client ids, packet ids,
//! filters), so they keep SipHash with random keys against collision flooding; the keys are
//! drawn once per process and shared, and the map's builder is zero-sized.

use std::collections::hash_map::{DefaultHasher, RandomState};
use std::hash::BuildHasher;
use std::sync::OnceLock;

/// Builds SipHash hashers with the process's random keys.
#[derive(Debug, Clone, Copy, Default)]
pub struct SharedRandomState;

impl BuildHasher for SharedRandomState {
    type Hasher = DefaultHasher;

    fn build_hasher(&self) -> DefaultHasher {
        static KEYS: OnceLock<RandomState> = OnceLock::new();
        KEYS.get_or_init(RandomState::new).build_hasher()
    }
}

/// A `HashMap` with the shared keys; make one with `HashMap::default()`.
pub type HashMap<K, V> = std::collections::HashMap<K, V, SharedRandomState>;
/// A `HashSet` with the shared keys; make one with `HashSet::default()`.
pub type HashSet<T> = std::collections::HashSet<T, SharedRandomState>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_carry_no_keys_and_hash_alike_within_the_process() {
        assert_eq!(std::mem::size_of::<HashMap<u16, u16>>() + 16, std::mem::size_of::<std::collections::HashMap<u16, u16>>());
        let a = SharedRandomState.hash_one("chat/room-1");
        assert_eq!(a, SharedRandomState.hash_one("chat/room-1"));
        assert_ne!(a, SharedRandomState.hash_one("chat/room-2"));
        let mut map = HashMap::default();
        map.insert("chat/room-1", 1);
        assert_eq!(map.get("chat/room-1"), Some(&1));
    }
}
