"""Writes the feature test vectors: ai-filter/testdata/golden.jsonl and hash.jsonl.

The Rust inference code must reproduce these byte for byte (normalized text, streams,
buckets) and within 1e-6 (feature values), so every rule of FEATURES.md §1–§5 has texts here
that would expose a different reading of it. Run by train.py; on its own:

    python make_vectors.py [TESTDATA_DIR]

Standard library only, deterministic (fixed lists, fixed order).
"""

import json
import os
import sys

import features

# (text, what it exercises). Invisible characters are written as escapes so the list stays
# readable; the files escape them too.
GOLDEN = [
    ("", "empty text: no n-grams at all"),
    ("   ", "only spaces: normalizes to empty"),
    ("\t\n\r \u3000", "only whitespace of several kinds (U+3000 via NFKC)"),
    ("시 발", "whitespace between two 1-syllable runs is removed"),
    ("시.발", "punctuation between Hangul is removed"),
    ("시_발", "underscore between Hangul is removed"),
    ("시 . 발", "mixed separator run between Hangul is removed"),
    ("시·발 시•발 시‧발 시・발", "U+00B7, U+2022, U+2027, U+30FB are separators"),
    ("이번 달 말까지", "a 1-syllable run merges with both neighbours"),
    ("이번 달 말까지 상환 부탁드립니다", "spaces between longer runs stay"),
    ("돈 갚아", "1-syllable word before a longer one: the space goes (run of 1 on the left)"),
    ("빨리 갚아", "two runs of 2: the space stays"),
    ("가  나", "double space between runs of 1 is removed"),
    ("가나  다라", "double space between runs of 2 stays and collapses to one"),
    ("가\r\n나", "CRLF between runs of 1 is removed"),
    ("가\u00a0나", "no-break space becomes a space under NFKC, then is removed"),
    ("가 , 나", "a run holding punctuation is removed even between long runs"),
    ("안녕 ,친구야", "run ' ,' between runs of 2 and 3 holds punctuation: removed"),
    ("회.사.에 알.린.다", "dotted syllables: every run is between runs of 1"),
    ("주 겨 버 린 다", "spaced-out syllables"),
    ("a 가", "a separator with Latin on one side stays"),
    ("가 a", "a separator with Latin on the other side stays"),
    ("#시발#", "separators at the edges have no Hangul neighbour on one side"),
    ("  앞뒤 공백  ", "leading and trailing whitespace goes"),
    ("ㅅㅂ", "compatibility jamo abbreviation"),
    ("ㅅ ㅂ", "spaced jamo abbreviation merges to ㅅㅂ"),
    ("ㄱ.ㅅ", "dotted jamo abbreviation"),
    ("ㅂㅅ아 ㄲㅈ", "jamo next to a syllable; initials keep compatibility consonants"),
    ("개ㅅㄲ", "syllable followed by compatibility jamo"),
    ("ㅅㅣ발", "a syllable typed as separate jamo: same jamo stream as 시발"),
    ("ㅗㅗ ㅠㅠ", "compatibility vowels: kept in the jamo stream, dropped from initials"),
    ("ㅋㅋㅋㅋ", "repeats cut to two"),
    ("ㅋㅋㅋ ㅋㅋㅋ", "runs of 3 keep their space, then each is cut to two"),
    ("ㅎㅇ ㅎㅇ", "initialisms of 2 keep their space"),
    ("ㅇㅋ", "short initialism"),
    ("!!!!", "punctuation repeats cut to two"),
    ("aaaa bbb cc", "Latin repeats"),
    ("죽여버릴꺼야아아아", "stretched syllable"),
    ("닭 값 줘", "compound tails ㄺ ㅄ"),
    ("괜찮아 ㄳ", "compound vowel ㅙ, compound tail ㄶ, compound compatibility jamo ㄳ"),
    ("뷁 쀍 와", "rare compound vowel and tail combinations"),
    ("\u1100\u1161\u11a8", "conjoining jamo compose to a syllable under NFKC"),
    ("\u1100", "a lone conjoining jamo is not Hangul"),
    ("sh1t", "leet: digit between letters"),
    ("@ss", "leet: at start of text before a letter"),
    ("$hit happens", "leet: dollar at start"),
    ("a$$hole", "leet: the first $ is followed by $, the second preceded by $: both stay"),
    ("20%", "leet: digits not followed by a letter stay"),
    ("h3ll0 w0rld", "leet: 0 at the end of a word stays, inside a word changes"),
    ("l33t sp34k", "leet: a digit after a digit stays"),
    ("5min 5 min", "leet: start of text vs between spaces"),
    ("I'm 5 min late", "leet: digit between spaces stays"),
    ("you're a b1tch 1diot", "leet after whitespace"),
    ("5분 늦어요", "digit before Hangul stays"),
    ("ＦＵＣＫ ＹＯＵ", "fullwidth letters: NFKC then lowercase"),
    ("ｓｈ１ｔ", "fullwidth letters and digit: NFKC, then leet"),
    ("ＡＢＣ１２３", "fullwidth letters and digits; digits after a letter before a digit"),
    ("시\u200b발", "zero-width space inside a word"),
    ("f\u200bu\u200bc\u200bk", "zero-width spaces between letters"),
    ("\ufeff안녕하세요", "byte order mark dropped"),
    ("시\u00ad발", "soft hyphen dropped"),
    ("\u202e역방향 text", "bidi override dropped"),
    ("병\u3164신", "Hangul filler U+3164 dropped"),
    ("병\uffa0신", "halfwidth Hangul filler dropped"),
    ("❤\ufe0f 고마워", "variation selector dropped"),
    ("👨\u200d👩\u200d👧 가족", "zero-width joiner in an emoji sequence dropped"),
    ("😡😡😡😡", "emoji repeats"),
    ("Pay 500,000 won by Friday 🙏", "English with amount and emoji"),
    ("야 너 OO은행에서 대출 받아서 갚아", "mixed Korean and Latin"),
    ("you 병신 ㅋㅋ", "mixed Latin, Hangul and jamo"),
    ("İstanbul", "full lowercase mapping: İ becomes i + U+0307"),
    ("A\u0308b", "combining diaeresis composes under NFKC"),
    ("①②③ ㎏ Ⅻ ﬁ", "compatibility characters expand under NFKC"),
    ("a\tb\u0085c\u2028d", "whitespace of several kinds between Latin becomes one space"),
    ("010-1234-5678 로 연락주세요", "phone number"),
    ("s.o.s", "dots between Latin stay"),
    ("Visit https://example.com/pay?id=42", "URL"),
    ("지급명령 신청하겠습니다", "lawful step"),
    ("I will file for a payment order", "lawful step in English"),
    ("회사에 다 알릴 거야", "disclosure threat"),
    ("너희 엄마한테 받으러 간다", "third-party demand"),
    ("I'll post your debt on Instagram", "disclosure threat in English"),
    ("배고파 죽겠다 ㅠㅠ", "hyperbole"),
    ("50만원 보내줘~~~ 토스로", "amount, tilde repeats"),
    ("가나다라마바사" * 200, "over 1,000 characters: cut first"),
    ("㎏" * 1200, "cut to 1,000 before NFKC doubles the length"),
    ("a\u200b" * 700, "cut to 1,000 before invisible characters are dropped"),
]

# (tag, n, gram): multi-byte grams of every namespace.
HASHES = [
    ("c", 2, " 시"),
    ("c", 2, "시발"),
    ("c", 3, "시발 "),
    ("c", 4, " ㅋㅋ "),
    ("c", 2, " a"),
    ("c", 3, "shi"),
    ("c", 4, "shit"),
    ("c", 2, "😡😡"),
    ("c", 3, "𝄞ab"),
    ("c", 4, "é가😡a"),
    ("j", 3, " ㅅㅣ"),
    ("j", 3, "ㅅㅣㅂ"),
    ("j", 4, "ㅂㅏㄹ "),
    ("j", 4, "ㄱㅙㄴㅊ"),
    ("j", 3, "ㄺㄱㅏ"),
    ("i", 2, "ㅅㅂ"),
    ("i", 2, " ㅅ"),
    ("i", 3, " ㅅㅂ"),
    ("i", 3, "ㄳㄱㅊ"),
    ("w", 1, "시발"),
    ("w", 1, "shit"),
    ("w", 1, "a"),
    ("w", 2, "돈 갚아"),
    ("w", 2, "pay 500,000"),
    ("w", 1, "👨👩👧"),
    ("w", 2, "회사에 다"),
]


def _escape_invisible(line):
    """JSON-escape characters that would be invisible or break lines in the file."""
    out = []
    for ch in line:
        c = ord(ch)
        if ch in features._INVISIBLE or c < 0x20 or c in (0x85, 0x2028, 0x2029) or (
            0xFE00 <= c <= 0xFE0F
        ):
            out.append(f"\\u{c:04x}")
        else:
            out.append(ch)
    return "".join(out)


def dumps(obj):
    return _escape_invisible(json.dumps(obj, ensure_ascii=False))


def golden_lines():
    for text, _why in GOLDEN:
        normalized = features.normalize(text)
        yield {
            "text": text,
            "normalized": normalized,
            "jamo": features.jamo_stream(normalized),
            "initials": features.initials_stream(normalized),
            "features": [[b, v] for b, v in features.features(text)],
        }


def hash_lines():
    for tag, n, gram in HASHES:
        h = features.gram_hash(tag, n, gram)
        yield {"tag": tag, "n": n, "gram": gram, "hash": str(h), "bucket": features.bucket(h)}


def write_jsonl(path, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(dumps(row) + "\n")
    os.replace(tmp, path)


def write_vectors(testdata_dir):
    os.makedirs(testdata_dir, exist_ok=True)
    golden = os.path.join(testdata_dir, "golden.jsonl")
    hashes = os.path.join(testdata_dir, "hash.jsonl")
    write_jsonl(golden, golden_lines())
    write_jsonl(hashes, hash_lines())
    problem = features.check([golden, hashes])
    if problem:
        raise SystemExit(f"written vectors do not check: {problem}")
    return golden, hashes


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    target = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "testdata")
    for path in write_vectors(os.path.normpath(target)):
        print(f"wrote {path}")
