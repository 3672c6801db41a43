//! A map for the many small maps: a session's subscriptions, a topic's subscribers.
//!
//! Most sessions hold one or two subscriptions and most topics (a user's inbox, a loan
//! room) have one or two subscribers, yet a hash table's smallest allocation has room for
//! three entries and its control bytes. Up to [`FEW`] entries therefore live in a vector
//! grown one entry at a time, searched linearly; past that the map becomes a hash table, so
//! a client with thousands of subscriptions or a topic with thousands of subscribers keeps
//! constant-time lookups.

use std::borrow::Borrow;
use std::hash::Hash;

use crate::hashing::HashMap;

/// Entries kept in the vector before the map turns into a hash table.
pub const FEW: usize = 8;

#[derive(Debug, Clone)]
pub enum SmallMap<K, V> {
    Few(Vec<(K, V)>),
    /// Boxed: the map is then as small as the vector (a trie node and a session carry one).
    Many(Box<HashMap<K, V>>),
}

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        SmallMap::Few(Vec::new())
    }
}

impl<K: Hash + Eq, V> SmallMap<K, V> {
    pub fn new() -> Self {
        SmallMap::default()
    }

    pub fn len(&self) -> usize {
        match self {
            SmallMap::Few(entries) => entries.len(),
            SmallMap::Many(map) => map.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self {
            SmallMap::Few(entries) => entries.iter().find(|(k, _)| k.borrow() == key).map(|(_, v)| v),
            SmallMap::Many(map) => map.get(key),
        }
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(key).is_some()
    }

    /// Inserts or replaces; returns the value replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self {
            SmallMap::Few(entries) => {
                if let Some((_, old)) = entries.iter_mut().find(|(k, _)| *k == key) {
                    return Some(std::mem::replace(old, value));
                }
                if entries.len() < FEW {
                    // One entry at a time: the vector never holds room it does not use.
                    entries.reserve_exact(1);
                    entries.push((key, value));
                    return None;
                }
                let mut map: HashMap<K, V> = HashMap::with_capacity_and_hasher(FEW * 2, Default::default());
                map.extend(entries.drain(..));
                map.insert(key, value);
                *self = SmallMap::Many(Box::new(map));
                None
            }
            SmallMap::Many(map) => map.insert(key, value),
        }
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self {
            SmallMap::Few(entries) => {
                let at = entries.iter().position(|(k, _)| k.borrow() == key)?;
                let (_, value) = entries.swap_remove(at);
                if entries.is_empty() {
                    *entries = Vec::new();
                }
                Some(value)
            }
            SmallMap::Many(map) => map.remove(key),
        }
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        match self {
            SmallMap::Few(entries) => Iter::Few(entries.iter()),
            SmallMap::Many(map) => Iter::Many(map.iter()),
        }
    }

    /// Takes every entry out, leaving the map empty and without an allocation.
    pub fn drain(&mut self) -> IntoIter<K, V> {
        std::mem::take(self).into_iter()
    }
}

pub enum Iter<'a, K, V> {
    Few(std::slice::Iter<'a, (K, V)>),
    Many(std::collections::hash_map::Iter<'a, K, V>),
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Few(entries) => entries.next().map(|(k, v)| (k, v)),
            Iter::Many(map) => map.next(),
        }
    }
}

pub enum IntoIter<K, V> {
    Few(std::vec::IntoIter<(K, V)>),
    Many(std::collections::hash_map::IntoIter<K, V>),
}

impl<K, V> Iterator for IntoIter<K, V> {
    type Item = (K, V);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            IntoIter::Few(entries) => entries.next(),
            IntoIter::Many(map) => map.next(),
        }
    }
}

impl<K, V> IntoIterator for SmallMap<K, V> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V>;

    fn into_iter(self) -> IntoIter<K, V> {
        match self {
            SmallMap::Few(entries) => IntoIter::Few(entries.into_iter()),
            SmallMap::Many(map) => IntoIter::Many((*map).into_iter()),
        }
    }
}

impl<'a, K: Hash + Eq, V> IntoIterator for &'a SmallMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;

    fn into_iter(self) -> Iter<'a, K, V> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_a_map_below_and_above_the_threshold() {
        let mut map: SmallMap<String, usize> = SmallMap::new();
        let mut reference = std::collections::HashMap::new();
        for round in 0..3 {
            for i in 0..FEW * 3 {
                let key = format!("k{}", (i * 7 + round) % (FEW * 2));
                assert_eq!(map.insert(key.clone(), i), reference.insert(key, i));
                assert_eq!(map.len(), reference.len());
            }
            for i in 0..FEW * 2 {
                let key = format!("k{i}");
                assert_eq!(map.get(key.as_str()), reference.get(&key));
                if i % 3 == round {
                    assert_eq!(map.remove(key.as_str()), reference.remove(&key));
                }
            }
            let mut seen: Vec<_> = map.iter().map(|(k, v)| (k.clone(), *v)).collect();
            let mut expected: Vec<_> = reference.iter().map(|(k, v)| (k.clone(), *v)).collect();
            seen.sort();
            expected.sort();
            assert_eq!(seen, expected);
        }
        let drained = map.drain().count();
        assert_eq!(drained, reference.len());
        assert!(map.is_empty());
        assert!(matches!(&map, SmallMap::Few(entries) if entries.capacity() == 0));
    }

    #[test]
    fn a_few_entries_take_only_their_own_room() {
        let mut map: SmallMap<u32, u64> = SmallMap::new();
        map.insert(1, 1);
        assert!(matches!(&map, SmallMap::Few(entries) if entries.capacity() == 1));
        map.insert(2, 2);
        assert!(matches!(&map, SmallMap::Few(entries) if entries.capacity() == 2));
        for i in 3..=FEW as u32 + 1 {
            map.insert(i, u64::from(i));
        }
        assert!(matches!(&map, SmallMap::Many(_)));
        assert_eq!(map.get(&5), Some(&5));
        // The hash table is boxed, so the map itself is no larger than its vector.
        assert_eq!(std::mem::size_of::<SmallMap<u32, u64>>(), std::mem::size_of::<Vec<(u32, u64)>>());
        map.remove(&1);
        map.remove(&2);
        assert_eq!(map.len(), FEW - 1);
    }
}
