//! The model's input: hashed n-gram counts, L2-normalized (FEATURES.md §3 and §5).
//!
//! This runs for every chat message, so [`FeatureExtractor`] keeps its buffers between
//! messages, hashes grams where they lie in the text (no string per gram) and counts buckets
//! by sorting instead of through a map.

use crate::hash::{bucket, Fnv1a};
use crate::jamo::{initials_stream_into, jamo_stream_into};
use crate::normalize::Normalizer;

/// Sparse features of one message: buckets in ascending order and their weights.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeatureVector {
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl FeatureVector {
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}

/// The features of raw `text`. Allocates; [`FeatureExtractor`] reuses its buffers.
pub fn features(text: &str) -> FeatureVector {
    let mut out = FeatureVector::default();
    FeatureExtractor::default().extract(text, &mut out);
    out
}

/// Namespaces of FEATURES.md §3: tag and gram sizes (ascending).
const CHARS: (u8, [usize; 3]) = (b'c', [2, 3, 4]);
const JAMO: (u8, [usize; 2]) = (b'j', [3, 4]);
const INITIALS: (u8, [usize; 2]) = (b'i', [2, 3]);
const WORDS: u8 = b'w';

/// Feature extraction with scratch space kept between messages.
#[derive(Debug, Default)]
pub struct FeatureExtractor {
    normalizer: Normalizer,
    normalized: String,
    stream: String,
    padded: String,
    boundaries: Vec<usize>,
    buckets: Vec<u32>,
}

impl FeatureExtractor {
    /// The normalized text of the last [`extract`](Self::extract).
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// Writes the features of raw `text` into `out` (cleared first).
    pub fn extract(&mut self, text: &str, out: &mut FeatureVector) {
        self.normalizer.normalize_into(text, &mut self.normalized);
        self.buckets.clear();
        if !self.normalized.is_empty() {
            self.count_grams();
        }
        weigh(&mut self.buckets, out);
    }

    fn count_grams(&mut self) {
        char_grams(&self.normalized, CHARS, &mut self.padded, &mut self.boundaries, &mut self.buckets);
        jamo_stream_into(&self.normalized, &mut self.stream);
        char_grams(&self.stream, JAMO, &mut self.padded, &mut self.boundaries, &mut self.buckets);
        initials_stream_into(&self.normalized, &mut self.stream);
        char_grams(&self.stream, INITIALS, &mut self.padded, &mut self.boundaries, &mut self.buckets);
        word_grams(&self.normalized, &mut self.buckets);
    }
}

/// The character n-grams of `" " + stream + " "`, nothing for an empty stream.
///
/// The grams of every size starting at one position share their bytes, so their hashes are
/// computed in one pass over those bytes: independent multiply chains the processor overlaps.
fn char_grams<const K: usize>(
    stream: &str,
    (tag, sizes): (u8, [usize; K]),
    padded: &mut String,
    boundaries: &mut Vec<usize>,
    buckets: &mut Vec<u32>,
) {
    if stream.is_empty() {
        return;
    }
    padded.clear();
    padded.push(' ');
    padded.push_str(stream);
    padded.push(' ');
    boundaries.clear();
    boundaries.extend(padded.char_indices().map(|(at, _)| at));
    boundaries.push(padded.len());
    let bytes = padded.as_bytes();
    let chars = boundaries.len() - 1;
    let prefixes: [Fnv1a; K] = sizes.map(|n| Fnv1a::gram_prefix(tag, n as u8));
    // Positions where grams of every size fit; the largest size is last.
    let all_fit = (chars + 1).saturating_sub(sizes[K - 1]);
    for at in 0..all_fit {
        let mut states = prefixes;
        let mut from = boundaries[at];
        for (k, &n) in sizes.iter().enumerate() {
            let to = boundaries[at + n];
            for &byte in &bytes[from..to] {
                for state in &mut states[k..] {
                    *state = state.write_byte(byte);
                }
            }
            from = to;
            buckets.push(bucket(states[k].finish()));
        }
    }
    // Near the end only the smaller sizes fit.
    for (&n, prefix) in sizes.iter().zip(prefixes) {
        for at in all_fit..(chars + 1).saturating_sub(n) {
            buckets.push(bucket(prefix.write(&bytes[boundaries[at]..boundaries[at + n]]).finish()));
        }
    }
}

/// Word unigrams and bigrams. The normalized text has single spaces between words, so a
/// bigram's bytes are one word, a space and the next word: the bigram ending in a word is
/// hashed alongside that word's unigram, and the one starting with it alongside too.
fn word_grams(normalized: &str, buckets: &mut Vec<u32>) {
    let unigram = Fnv1a::gram_prefix(WORDS, 1);
    let bigram = Fnv1a::gram_prefix(WORDS, 2);
    // The bigram that started with the previous word, fed up to and including the space.
    let mut open: Option<Fnv1a> = None;
    for word in normalized.split(' ') {
        let (mut single, mut starting) = (unigram, bigram);
        match open.as_mut() {
            Some(ending) => {
                for &byte in word.as_bytes() {
                    single = single.write_byte(byte);
                    starting = starting.write_byte(byte);
                    *ending = ending.write_byte(byte);
                }
                buckets.push(bucket(ending.finish()));
            }
            None => {
                for &byte in word.as_bytes() {
                    single = single.write_byte(byte);
                    starting = starting.write_byte(byte);
                }
            }
        }
        buckets.push(bucket(single.finish()));
        open = Some(starting.write_byte(b' '));
    }
}

/// Counts equal buckets and divides by the L2 norm of the counts (in f64, rounded once).
fn weigh(buckets: &mut [u32], out: &mut FeatureVector) {
    out.indices.clear();
    out.values.clear();
    buckets.sort_unstable();
    let mut sum_of_squares: u64 = 0;
    for run in buckets.chunk_by(|a, b| a == b) {
        let count = run.len() as u64;
        sum_of_squares += count * count;
        out.indices.push(run[0]);
        // A message has at most about 15,000 grams (its first 1,000 characters in four
        // namespaces): a count is exact in f32 until it is weighed below.
        out.values.push(count as f32);
    }
    if sum_of_squares == 0 {
        return;
    }
    let norm = (sum_of_squares as f64).sqrt();
    for value in &mut out.values {
        *value = (f64::from(*value) / norm) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::gram_hash;

    fn expected(grams: &[(u8, u8, &str)]) -> FeatureVector {
        let mut buckets: Vec<u32> = grams.iter().map(|&(tag, n, gram)| bucket(gram_hash(tag, n, gram))).collect();
        let mut out = FeatureVector::default();
        weigh(&mut buckets, &mut out);
        out
    }

    #[test]
    fn latin_word_grams_by_hand() {
        // "ab": chars " ab " (2: " a","ab","b "; 3: " ab","ab "; 4: " ab "), no jamo, no initials,
        // words "ab".
        let want = expected(&[
            (b'c', 2, " a"),
            (b'c', 2, "ab"),
            (b'c', 2, "b "),
            (b'c', 3, " ab"),
            (b'c', 3, "ab "),
            (b'c', 4, " ab "),
            (b'w', 1, "ab"),
        ]);
        assert_eq!(features("AB"), want);
    }

    #[test]
    fn hangul_grams_by_hand() {
        // "가 a": chars " 가 a " ; jamo " ㄱㅏ " ; initials " ㄱ " ; words "가", "a", "가 a".
        let want = expected(&[
            (b'c', 2, " 가"),
            (b'c', 2, "가 "),
            (b'c', 2, " a"),
            (b'c', 2, "a "),
            (b'c', 3, " 가 "),
            (b'c', 3, "가 a"),
            (b'c', 3, " a "),
            (b'c', 4, " 가 a"),
            (b'c', 4, "가 a "),
            (b'j', 3, " ㄱㅏ"),
            (b'j', 3, "ㄱㅏ "),
            (b'j', 4, " ㄱㅏ "),
            (b'i', 2, " ㄱ"),
            (b'i', 2, "ㄱ "),
            (b'i', 3, " ㄱ "),
            (b'w', 1, "가"),
            (b'w', 1, "a"),
            (b'w', 2, "가 a"),
        ]);
        assert_eq!(features("가 a"), want);
    }

    #[test]
    fn empty_text_has_no_features_and_weights_are_unit_length() {
        assert!(features("").is_empty());
        assert!(features(" \u{200B} ").is_empty());
        let vector = features("ㅋㅋ 돈 갚아 hello hello hello");
        let norm: f64 = vector.values.iter().map(|v| f64::from(*v).powi(2)).sum();
        assert!((norm - 1.0).abs() < 1e-6, "{norm}");
        assert!(vector.indices.windows(2).all(|w| w[0] < w[1]));
        assert!(vector.indices.iter().all(|&b| b != 0));
    }

    #[test]
    fn extractor_reuse_gives_the_same_vectors() {
        let mut extractor = FeatureExtractor::default();
        let mut out = FeatureVector::default();
        for text in ["시 발 놈아", "", "hello", "이번 달 말까지 상환 부탁드립니다"] {
            extractor.extract(text, &mut out);
            assert_eq!(out, features(text), "{text}");
        }
    }
}
