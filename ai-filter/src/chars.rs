//! The character classes of FEATURES.md, as explicit code point ranges.
//!
//! Language predicates such as `char::is_alphanumeric` differ from Python's `str.isalnum`, and
//! both change with Unicode versions; the model's features must not, so every class here is a
//! fixed list taken from the spec.

/// Hangul syllables (U+AC00–U+D7A3) and compatibility jamo (U+3131–U+318E).
#[inline]
pub(crate) fn is_hangul(c: char) -> bool {
    matches!(c, '\u{AC00}'..='\u{D7A3}' | '\u{3131}'..='\u{318E}')
}

/// Hangul syllables only.
#[inline]
pub(crate) fn is_syllable(c: char) -> bool {
    matches!(c, '\u{AC00}'..='\u{D7A3}')
}

/// Compatibility jamo (U+3131–U+318E), the letters people type on their own (`ㅋㅋ`, `ㅅㅂ`).
#[inline]
pub(crate) fn is_compat_jamo(c: char) -> bool {
    matches!(c, '\u{3131}'..='\u{318E}')
}

/// `a`–`z` (the text is lowercased before this class is asked).
#[inline]
pub(crate) fn is_latin(c: char) -> bool {
    c.is_ascii_lowercase()
}

/// The spec's whitespace: after NFKC the other Unicode spaces have become U+0020.
#[inline]
pub(crate) fn is_whitespace(c: char) -> bool {
    matches!(c, '\u{0009}'..='\u{000D}' | ' ' | '\u{0085}' | '\u{1680}' | '\u{2028}' | '\u{2029}')
}

/// Characters dropped before anything else looks at the text (zero-width, bidi controls,
/// variation selectors, Hangul fillers).
#[inline]
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
    )
}

/// Whitespace, ASCII punctuation and the middle dots people put between syllables.
#[inline]
pub(crate) fn is_separator(c: char) -> bool {
    is_whitespace(c) || c.is_ascii_punctuation() || matches!(c, '\u{00B7}' | '\u{2022}' | '\u{2027}' | '\u{30FB}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_spec_ranges() {
        assert!(is_hangul('가') && is_hangul('힣') && is_hangul('ㄱ') && is_hangul('ㆎ'));
        assert!(!is_hangul('ᄀ'), "conjoining jamo are not in the class");
        assert!(is_latin('a') && !is_latin('A') && !is_latin('é'));
        assert!(is_whitespace('\u{2028}') && !is_whitespace('\u{00A0}'), "NBSP is gone after NFKC");
        assert!(is_invisible('\u{200B}') && is_invisible('\u{FEFF}') && !is_invisible(' '));
        for c in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~·•‧・ \t".chars() {
            assert!(is_separator(c), "{c:?}");
        }
        assert!(!is_separator('ㆍ') && !is_separator('a'));
    }
}
