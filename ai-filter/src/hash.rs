//! FNV-1a hashing of n-grams into the model's buckets, FEATURES.md §4.
//!
//! The model has no vocabulary: every n-gram is hashed into one of [`BUCKETS`] rows of its
//! weight matrix, so new slang costs nothing to represent and Python and Rust agree on a
//! feature by computing the same 64-bit hash. FNV-1a is byte-at-a-time, so a gram is hashed
//! straight from the text it sits in, without copying it.

/// Rows of the model's weight matrix; row 0 is padding.
pub const BUCKETS: u32 = 1 << 18;

const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// An FNV-1a 64 state that bytes are fed into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Fnv1a {
        Fnv1a(OFFSET_BASIS)
    }
}

impl Fnv1a {
    /// The state after `tag` and `n`, the prefix every gram of one namespace and size shares.
    #[inline]
    pub fn gram_prefix(tag: u8, n: u8) -> Fnv1a {
        Fnv1a::default().write(&[tag, n])
    }

    #[inline]
    #[must_use]
    pub fn write(self, bytes: &[u8]) -> Fnv1a {
        bytes.iter().fold(self, |state, &byte| state.write_byte(byte))
    }

    #[inline]
    #[must_use]
    pub fn write_byte(self, byte: u8) -> Fnv1a {
        Fnv1a((self.0 ^ u64::from(byte)).wrapping_mul(PRIME))
    }

    #[inline]
    pub fn finish(self) -> u64 {
        self.0
    }
}

/// FNV-1a 64 of `bytes`.
pub fn fnv1a64(bytes: impl AsRef<[u8]>) -> u64 {
    Fnv1a::default().write(bytes.as_ref()).finish()
}

/// The hash of one n-gram: FNV-1a 64 over `[tag] [n] [UTF-8 of gram]`.
pub fn gram_hash(tag: u8, n: u8, gram: &str) -> u64 {
    Fnv1a::gram_prefix(tag, n).write(gram.as_bytes()).finish()
}

/// The bucket of a hash: `1 + hash mod (BUCKETS − 1)`, never the padding bucket 0.
#[inline]
pub fn bucket(hash: u64) -> u32 {
    // The remainder is below BUCKETS − 1 < 2^32, so the conversion cannot truncate.
    1 + (hash % u64::from(BUCKETS - 1)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_reference_values() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn gram_hash_covers_tag_size_and_text() {
        assert_eq!(gram_hash(b'c', 2, "ab"), fnv1a64([b'c', 2, b'a', b'b']));
        assert_ne!(gram_hash(b'c', 2, "ab"), gram_hash(b'w', 2, "ab"));
        assert_ne!(gram_hash(b'c', 2, "시발"), gram_hash(b'c', 3, "시발"));
        let fed = Fnv1a::gram_prefix(b'j', 3).write("ㅅ".as_bytes()).write("ㅣㅂ".as_bytes()).finish();
        assert_eq!(fed, gram_hash(b'j', 3, "ㅅㅣㅂ"));
    }

    #[test]
    fn buckets_skip_padding() {
        assert_eq!(bucket(0), 1);
        assert_eq!(bucket(u64::from(BUCKETS - 1)), 1);
        assert_eq!(bucket(u64::from(BUCKETS - 2)), BUCKETS - 1);
        assert!((0..10_000u64).map(|h| bucket(h.wrapping_mul(0x9e37_79b9_7f4a_7c15))).all(|b| (1..BUCKETS).contains(&b)));
    }
}
