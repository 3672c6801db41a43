//! The jamo and initials streams, FEATURES.md §2.
//!
//! Korean abuse is often typed as bare consonants (`ㅅㅂ` for `시발`) or misspelled by one
//! letter. Decomposing syllables into jamo, and keeping only each syllable's first consonant,
//! gives the model n-grams on which `시발`, `씨발` and `ㅅㅂ` look alike.

use crate::chars::{is_compat_jamo, is_syllable};

const SYLLABLE_BASE: u32 = 0xAC00;
const PER_LEAD: u32 = 588;
const PER_VOWEL: u32 = 28;

const LEADS: [char; 19] =
    ['ㄱ', 'ㄲ', 'ㄴ', 'ㄷ', 'ㄸ', 'ㄹ', 'ㅁ', 'ㅂ', 'ㅃ', 'ㅅ', 'ㅆ', 'ㅇ', 'ㅈ', 'ㅉ', 'ㅊ', 'ㅋ', 'ㅌ', 'ㅍ', 'ㅎ'];
const VOWELS: [char; 21] = [
    'ㅏ', 'ㅐ', 'ㅑ', 'ㅒ', 'ㅓ', 'ㅔ', 'ㅕ', 'ㅖ', 'ㅗ', 'ㅘ', 'ㅙ', 'ㅚ', 'ㅛ', 'ㅜ', 'ㅝ', 'ㅞ', 'ㅟ', 'ㅠ', 'ㅡ', 'ㅢ', 'ㅣ',
];
/// Index 0 is "no tail".
const TAILS: [Option<char>; 28] = [
    None,
    Some('ㄱ'),
    Some('ㄲ'),
    Some('ㄳ'),
    Some('ㄴ'),
    Some('ㄵ'),
    Some('ㄶ'),
    Some('ㄷ'),
    Some('ㄹ'),
    Some('ㄺ'),
    Some('ㄻ'),
    Some('ㄼ'),
    Some('ㄽ'),
    Some('ㄾ'),
    Some('ㄿ'),
    Some('ㅀ'),
    Some('ㅁ'),
    Some('ㅂ'),
    Some('ㅄ'),
    Some('ㅅ'),
    Some('ㅆ'),
    Some('ㅇ'),
    Some('ㅈ'),
    Some('ㅊ'),
    Some('ㅋ'),
    Some('ㅌ'),
    Some('ㅍ'),
    Some('ㅎ'),
];

/// Compatibility consonants (U+3131–U+314E).
fn is_compat_consonant(c: char) -> bool {
    matches!(c, '\u{3131}'..='\u{314E}')
}

/// The lead, vowel and optional tail of a Hangul syllable.
fn decompose(syllable: char) -> (char, char, Option<char>) {
    let index = u32::from(syllable) - SYLLABLE_BASE;
    let lead = LEADS[(index / PER_LEAD) as usize];
    let vowel = VOWELS[((index % PER_LEAD) / PER_VOWEL) as usize];
    let tail = TAILS[(index % PER_VOWEL) as usize];
    (lead, vowel, tail)
}

/// Each syllable as its jamo; compatibility jamo as they are; everything else a space.
pub fn jamo_stream(normalized: &str) -> String {
    let mut out = String::new();
    jamo_stream_into(normalized, &mut out);
    out
}

/// Each syllable as its lead consonant; compatibility consonants as they are; vowels dropped;
/// everything else a space.
pub fn initials_stream(normalized: &str) -> String {
    let mut out = String::new();
    initials_stream_into(normalized, &mut out);
    out
}

/// [`jamo_stream`] into a reused buffer (cleared first).
pub fn jamo_stream_into(normalized: &str, out: &mut String) {
    let mut stream = Spaced::new(out);
    for c in normalized.chars() {
        if is_syllable(c) {
            let (lead, vowel, tail) = decompose(c);
            stream.push(lead);
            stream.push(vowel);
            if let Some(tail) = tail {
                stream.push(tail);
            }
        } else if is_compat_jamo(c) {
            stream.push(c);
        } else {
            stream.space();
        }
    }
}

/// [`initials_stream`] into a reused buffer (cleared first).
pub fn initials_stream_into(normalized: &str, out: &mut String) {
    let mut stream = Spaced::new(out);
    for c in normalized.chars() {
        if is_syllable(c) {
            stream.push(decompose(c).0);
        } else if is_compat_consonant(c) {
            stream.push(c);
        } else if !is_compat_jamo(c) {
            // Whitespace and everything else; compatibility vowels and archaic letters carry
            // no initial and are dropped.
            stream.space();
        }
    }
}

/// Builds a stream in which runs of spaces are one space and there are none at either end.
struct Spaced<'a> {
    out: &'a mut String,
    pending_space: bool,
}

impl<'a> Spaced<'a> {
    fn new(out: &'a mut String) -> Spaced<'a> {
        out.clear();
        Spaced { out, pending_space: false }
    }

    fn push(&mut self, c: char) {
        if self.pending_space && !self.out.is_empty() {
            self.out.push(' ');
        }
        self.pending_space = false;
        self.out.push(c);
    }

    fn space(&mut self) {
        self.pending_space = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syllables_decompose_into_compatibility_jamo() {
        assert_eq!(jamo_stream("시발"), "ㅅㅣㅂㅏㄹ");
        assert_eq!(jamo_stream("과 닭"), "ㄱㅘ ㄷㅏㄺ");
        assert_eq!(jamo_stream("가힣"), "ㄱㅏㅎㅣㅎ");
        assert_eq!(jamo_stream("ok 돈!! ㅋㅋ"), "ㄷㅗㄴ ㅋㅋ");
        assert_eq!(jamo_stream("hello"), "");
    }

    #[test]
    fn initials_keep_lead_consonants_only() {
        assert_eq!(initials_stream("시발"), "ㅅㅂ");
        assert_eq!(initials_stream("ㅅㅂ"), "ㅅㅂ");
        assert_eq!(initials_stream("ㅏㅅㅂㅘ"), "ㅅㅂ");
        assert_eq!(initials_stream("돈 갚아, 지금"), "ㄷ ㄱㅇ ㅈㄱ");
        assert_eq!(initials_stream("ok"), "");
    }
}
