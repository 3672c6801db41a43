"""Text features of the harassment model, feature spec 1 (ai-filter/FEATURES.md).

The broker computes the same features in Rust (ai-filter/src/normalize.rs, jamo.rs,
features.rs). The two implementations are written independently from FEATURES.md and are held
together by the test vectors in ai-filter/testdata/, so this file follows the page literally,
section by section, and uses explicit code point ranges instead of Python's Unicode predicates
(str.isalnum and Rust's char::is_alphanumeric disagree).

Only the standard library is used: the Rust test suite runs

    python features.py --check ai-filter/testdata/golden.jsonl ai-filter/testdata/hash.jsonl

with a plain interpreter that has no numpy. It exits 0 when every vector matches and 1 naming
the first mismatch. `python features.py TEXT...` prints the streams and the vector of each TEXT.

NFKC and lowercasing come from `unicodedata` / `str.lower`, so they follow the interpreter's
Unicode version (14 for Python 3.11); the test vectors avoid characters assigned later.
"""

import json
import math
import struct
import sys
import unicodedata

SPEC = 1
"""The feature spec this file implements (`feature_spec` in model.json)."""

BUCKETS = 1 << 18
"""Columns of the model's weight matrix; bucket 0 is padding."""

MAX_CHARS = 1000
"""Input is cut to this many Unicode scalar values before anything else (FEATURES.md §1)."""

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
_MASK64 = (1 << 64) - 1

# --- character classes (FEATURES.md, head) -------------------------------------------------

_WHITESPACE = frozenset(
    [chr(c) for c in range(0x09, 0x0E)] + ["\u0020", "\u0085", "\u1680", "\u2028", "\u2029"]
)

_INVISIBLE_RANGES = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
)
_INVISIBLE = frozenset(chr(c) for lo, hi in _INVISIBLE_RANGES for c in range(lo, hi + 1))

_SEPARATORS = _WHITESPACE | frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") | frozenset(
    "\u00b7\u2022\u2027\u30fb"
)

_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s"}


def is_hangul(ch):
    """Hangul syllables U+AC00–U+D7A3 and compatibility jamo U+3131–U+318E."""
    c = ord(ch)
    return 0xAC00 <= c <= 0xD7A3 or 0x3131 <= c <= 0x318E


def is_latin(ch):
    """`a`–`z` only (the text is already lowercased when this is asked)."""
    return "a" <= ch <= "z"


def is_whitespace(ch):
    return ch in _WHITESPACE


def is_separator(ch):
    return ch in _SEPARATORS


# --- 1. normalization ----------------------------------------------------------------------


def _leetspeak(text):
    out = []
    for at, ch in enumerate(text):
        to = _LEET.get(ch)
        if to is not None:
            nxt = text[at + 1] if at + 1 < len(text) else None
            prev = text[at - 1] if at > 0 else None
            if (
                nxt is not None
                and is_latin(nxt)
                and (prev is None or is_latin(prev) or is_whitespace(prev))
            ):
                ch = to
        out.append(ch)
    return "".join(out)


def _hangul_run_lengths(text):
    """For every position, the length of the maximal Hangul run it belongs to (0 if none)."""
    lengths = [0] * len(text)
    at = 0
    while at < len(text):
        if is_hangul(text[at]):
            end = at
            while end < len(text) and is_hangul(text[end]):
                end += 1
            for k in range(at, end):
                lengths[k] = end - at
            at = end
        else:
            at += 1
    return lengths


def _separators_between_hangul(text):
    runs = _hangul_run_lengths(text)
    out = []
    at = 0
    while at < len(text):
        if not is_separator(text[at]):
            out.append(text[at])
            at += 1
            continue
        end = at
        while end < len(text) and is_separator(text[end]):
            end += 1
        run = text[at:end]
        drop = False
        if at > 0 and end < len(text) and is_hangul(text[at - 1]) and is_hangul(text[end]):
            if any(not is_whitespace(ch) for ch in run):
                drop = True
            elif runs[at - 1] == 1 or runs[end] == 1:
                drop = True
        if not drop:
            out.append(run)
        at = end
    return "".join(out)


def _collapse_whitespace(text):
    out = []
    pending = False
    for ch in text:
        if is_whitespace(ch):
            pending = True
            continue
        if pending and out:
            out.append(" ")
        pending = False
        out.append(ch)
    return "".join(out)


def _cut_repeats(text):
    out = []
    for ch in text:
        if len(out) >= 2 and out[-1] == ch and out[-2] == ch:
            continue
        out.append(ch)
    return "".join(out)


def _nfkc_keeping_compat_jamo(text):
    """FEATURES.md §1 step 1: NFKC, except that compatibility jamo U+3131–U+318E stay.

    Plain NFKC maps every compatibility jamo to a conjoining jamo (U+1100–U+11FF): `ㅋㅋ`
    would become `ᄏᄏ` and `ㅅㅂ` would leave the Hangul class, the jamo and the initials
    streams altogether. So the text is cut at every compatibility jamo, each piece between
    them gets NFKC, and the jamo are put back unchanged.
    """
    out = []
    start = 0
    for at, ch in enumerate(text):
        if _is_compat_jamo(ch):
            if start < at:
                out.append(unicodedata.normalize("NFKC", text[start:at]))
            out.append(ch)
            start = at + 1
    if start < len(text):
        out.append(unicodedata.normalize("NFKC", text[start:]))
    return "".join(out)


def normalize(text):
    """FEATURES.md §1: the normalized text."""
    text = text[:MAX_CHARS]
    text = _nfkc_keeping_compat_jamo(text)
    text = "".join(ch for ch in text if ch not in _INVISIBLE)
    text = text.lower()
    text = _leetspeak(text)
    text = _separators_between_hangul(text)
    text = _collapse_whitespace(text)
    return _cut_repeats(text)


# --- 2. derived streams --------------------------------------------------------------------

_LEADS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_VOWELS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_TAILS = "ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"
assert len(_LEADS) == 19 and len(_VOWELS) == 21 and len(_TAILS) == 27


def _is_syllable(ch):
    return 0xAC00 <= ord(ch) <= 0xD7A3


def _is_compat_jamo(ch):
    return 0x3131 <= ord(ch) <= 0x318E


def _is_compat_consonant(ch):
    return 0x3131 <= ord(ch) <= 0x314E


def _join_spaced(parts):
    """Runs of U+0020 become one, leading and trailing spaces go."""
    return " ".join(word for word in "".join(parts).split(" ") if word)


def jamo_stream(normalized):
    """FEATURES.md §2: syllables as lead, vowel and tail compatibility jamo."""
    parts = []
    for ch in normalized:
        if _is_syllable(ch):
            i = ord(ch) - 0xAC00
            parts.append(_LEADS[i // 588])
            parts.append(_VOWELS[(i % 588) // 28])
            tail = i % 28
            if tail:
                parts.append(_TAILS[tail - 1])
        elif _is_compat_jamo(ch):
            parts.append(ch)
        else:
            parts.append(" ")
    return _join_spaced(parts)


def initials_stream(normalized):
    """FEATURES.md §2: the lead consonant of every syllable, compatibility consonants kept."""
    parts = []
    for ch in normalized:
        if _is_syllable(ch):
            parts.append(_LEADS[(ord(ch) - 0xAC00) // 588])
        elif _is_compat_consonant(ch):
            parts.append(ch)
        elif _is_compat_jamo(ch):
            continue
        else:
            parts.append(" ")
    return _join_spaced(parts)


# --- 3. n-grams ----------------------------------------------------------------------------


def _char_grams(stream, sizes):
    for n in sizes:
        for at in range(len(stream) - n + 1):
            yield n, stream[at : at + n]


def grams(text):
    """Every (tag, n, gram) of a raw text, in a fixed order (FEATURES.md §3)."""
    normalized = normalize(text)
    out = []
    if normalized:
        out.extend(("c", n, g) for n, g in _char_grams(" " + normalized + " ", (2, 3, 4)))
    jamo = jamo_stream(normalized)
    if jamo:
        out.extend(("j", n, g) for n, g in _char_grams(" " + jamo + " ", (3, 4)))
    initials = initials_stream(normalized)
    if initials:
        out.extend(("i", n, g) for n, g in _char_grams(" " + initials + " ", (2, 3)))
    if normalized:
        words = normalized.split(" ")
        out.extend(("w", 1, w) for w in words)
        out.extend(("w", 2, words[k] + " " + words[k + 1]) for k in range(len(words) - 1))
    return out


# --- 4. hashing ----------------------------------------------------------------------------


def fnv1a64(data):
    h = FNV_OFFSET
    for byte in data:
        h ^= byte
        h = (h * FNV_PRIME) & _MASK64
    return h


def gram_hash(tag, n, gram):
    return fnv1a64(bytes([ord(tag), n]) + gram.encode("utf-8"))


def bucket(h):
    return 1 + h % (BUCKETS - 1)


# --- 5. the feature vector -----------------------------------------------------------------


def _f32(x):
    """Round a float to the nearest 32-bit float (returned as a Python float, exact)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def features(text):
    """FEATURES.md §5: [(bucket, value)] sorted by bucket, values rounded to float32."""
    counts = {}
    for tag, n, g in grams(text):
        b = bucket(gram_hash(tag, n, g))
        counts[b] = counts.get(b, 0) + 1
    if not counts:
        return []
    norm = math.sqrt(sum(c * c for c in counts.values()))
    return [(b, _f32(counts[b] / norm)) for b in sorted(counts)]


# --- test vectors --------------------------------------------------------------------------

VALUE_TOLERANCE = 1e-6


def _check_golden(path):
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            v = json.loads(line)
            text = v["text"]
            where = f"{path}:{line_no} text={text[:60]!r}"
            normalized = normalize(text)
            if normalized != v["normalized"]:
                return f"{where}: normalized {normalized!r} != {v['normalized']!r}"
            jamo = jamo_stream(normalized)
            if jamo != v["jamo"]:
                return f"{where}: jamo {jamo!r} != {v['jamo']!r}"
            initials = initials_stream(normalized)
            if initials != v["initials"]:
                return f"{where}: initials {initials!r} != {v['initials']!r}"
            got = features(text)
            want = v["features"]
            if len(got) != len(want):
                return f"{where}: {len(got)} features != {len(want)}"
            for (gb, gv), (wb, wv) in zip(got, want):
                if gb != wb:
                    return f"{where}: bucket {gb} != {wb}"
                if abs(gv - wv) > VALUE_TOLERANCE:
                    return f"{where}: bucket {gb} value {gv} != {wv}"
    return None


def _check_hash(path):
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            v = json.loads(line)
            where = f"{path}:{line_no} gram={v['gram']!r}"
            h = gram_hash(v["tag"], v["n"], v["gram"])
            if str(h) != v["hash"]:
                return f"{where}: hash {h} != {v['hash']}"
            if bucket(h) != v["bucket"]:
                return f"{where}: bucket {bucket(h)} != {v['bucket']}"
    return None


def check(paths):
    """Check test-vector files; a file named hash*.jsonl holds hashes, any other golden vectors.

    Returns the first mismatch as a message, or None.
    """
    for path in paths:
        name = path.replace("\\", "/").rsplit("/", 1)[-1]
        problem = _check_hash(path) if name.startswith("hash") else _check_golden(path)
        if problem:
            return problem
    return None


def main(argv):
    if len(argv) >= 2 and argv[0] == "--check":
        try:
            problem = check(argv[1:])
        except (OSError, ValueError, KeyError, TypeError) as e:
            print(f"features.py: cannot check: {e}", file=sys.stderr)
            return 1
        if problem:
            print(f"features.py: mismatch: {problem}", file=sys.stderr)
            return 1
        print(f"features.py: all vectors match ({', '.join(argv[1:])})")
        return 0
    if argv and not argv[0].startswith("--"):
        for text in argv:
            normalized = normalize(text)
            print(
                json.dumps(
                    {
                        "text": text,
                        "normalized": normalized,
                        "jamo": jamo_stream(normalized),
                        "initials": initials_stream(normalized),
                        "features": features(text),
                    },
                    ensure_ascii=False,
                )
            )
        return 0
    print(
        "usage: features.py --check GOLDEN.jsonl [HASH.jsonl ...] | features.py TEXT...",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
