"""Loading, checking, de-duplicating and splitting the examples.

Why this is careful: the test split and the obfuscation suite are written independently of the
training templates so that they measure generalization. A training example that is the same
sentence as a test example (or the same but for an amount, a date or the spacing) would
make the test measure memory instead. So every comparison is made on the *normalized* text of
FEATURES.md, held-out files take precedence, and near-duplicates and whole templates inside
the pool are kept in one split so that validation is not flattered either.

Near-duplicate rule (both are checked):
  1. the same *skeleton*: the normalized text with everything except Hangul and Latin letters
     removed (digits, spaces, punctuation, emoji go), e.g. "50만원 보내" and "30만 원 보내!";
  2. character 3-gram Jaccard similarity >= 0.9 between skeletons (padded with one space on
     each side), found with a prefix-filter join so it stays fast on tens of thousands of lines.
"""

import hashlib
import json
import math
import os
from collections import Counter, defaultdict

import features

CATEGORIES = (
    "threat",
    "disclosure_threat",
    "false_legal_threat",
    "coerced_borrowing",
    "third_party_demand",
    "insult",
    "sexual",
)
LANGS = ("ko", "en")
KINDS = ("positive", "clean", "hard_negative", "obfuscated")
HELD_OUT_FILES = ("test.jsonl", "obfuscation.jsonl")

JACCARD_NEAR_DUP = 0.9
"""Skeleton 3-gram Jaccard similarity from which two texts count as the same example."""

VALIDATION_SHARE = 0.15
"""Share of every stratum of the pool held out for validation."""


class DataError(Exception):
    """A data file breaks the line format; the message names file and line."""


class Example:
    __slots__ = ("text", "labels", "lang", "kind", "source", "file", "line", "normalized", "skeleton")

    def __init__(self, text, labels, lang, kind, source, file, line):
        self.text = text
        self.labels = labels
        self.lang = lang
        self.kind = kind
        self.source = source
        self.file = file
        self.line = line
        self.normalized = features.normalize(text)
        self.skeleton = skeleton(self.normalized)

    def label_vector(self):
        return [1 if c in self.labels else 0 for c in CATEGORIES]

    def stratum(self):
        """Labels (or the clean kind) and language: what the split keeps proportional."""
        what = "+".join(self.labels) if self.labels else "clean:" + self.kind
        return what + "/" + self.lang


def skeleton(normalized):
    """Hangul and Latin letters only; see the module doc."""
    return "".join(ch for ch in normalized if features.is_hangul(ch) or features.is_latin(ch))


def stable_hash(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- loading -------------------------------------------------------------------------------


def load_file(path):
    """Parse and check one JSON Lines file; raise DataError at the first bad line."""
    name = os.path.basename(path)
    out = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{name}:{line_no}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{where}: not JSON: {e}") from None
            if not isinstance(row, dict):
                raise DataError(f"{where}: not a JSON object")
            text = row.get("text")
            labels = row.get("labels")
            lang = row.get("lang")
            kind = row.get("kind")
            source = row.get("source", "")
            if not isinstance(text, str) or not text.strip():
                raise DataError(f"{where}: text must be a non-empty string")
            if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
                raise DataError(f"{where}: labels must be a list of category names")
            unknown = [x for x in labels if x not in CATEGORIES]
            if unknown:
                raise DataError(f"{where}: unknown labels {unknown}; expected among {list(CATEGORIES)}")
            if len(set(labels)) != len(labels):
                raise DataError(f"{where}: repeated label in {labels}")
            if lang not in LANGS:
                raise DataError(f"{where}: lang {lang!r} is not one of {list(LANGS)}")
            if kind not in KINDS:
                raise DataError(f"{where}: kind {kind!r} is not one of {list(KINDS)}")
            if kind == "positive" and not labels:
                raise DataError(f"{where}: kind positive needs at least one label")
            if kind in ("clean", "hard_negative") and labels:
                raise DataError(f"{where}: kind {kind} must have no labels, has {labels}")
            if not isinstance(source, str):
                raise DataError(f"{where}: source must be a string")
            ordered = [c for c in CATEGORIES if c in labels]
            out.append(Example(text, ordered, lang, kind, source, name, line_no))
    return out


def load_dir(data_dir):
    """(pool, test, obfuscation): every *.jsonl except the held-out files is pool."""
    pool = []
    for name in sorted(os.listdir(data_dir)):
        if name.endswith(".jsonl") and name not in HELD_OUT_FILES:
            pool.extend(load_file(os.path.join(data_dir, name)))
    held = {}
    for name in HELD_OUT_FILES:
        path = os.path.join(data_dir, name)
        held[name] = load_file(path) if os.path.exists(path) else []
    return pool, held["test.jsonl"], held["obfuscation.jsonl"]


# --- near-duplicates -----------------------------------------------------------------------


def _trigrams(s):
    padded = " " + s + " "
    return frozenset(padded[k : k + 3] for k in range(len(padded) - 2))


class _NearIndex:
    """Prefix-filter index for Jaccard >= t (Chaudhuri et al. / PPJoin prefix filtering).

    Grams are ordered rarest first; two sets with Jaccard >= t must share a gram among the
    first |x| - ceil(t * |x|) + 1 of each, so only those are indexed and probed.
    """

    def __init__(self, gram_sets, threshold):
        self.threshold = threshold
        freq = Counter(g for s in gram_sets for g in s)
        self.rank = {g: (n, g) for g, n in freq.items()}
        self.sets = []
        self.postings = defaultdict(list)

    def _ordered(self, s):
        return sorted(s, key=lambda g: self.rank.get(g, (0, g)))

    def _prefix(self, s):
        return len(s) - math.ceil(self.threshold * len(s)) + 1

    def add(self, s):
        at = len(self.sets)
        self.sets.append(s)
        ordered = self._ordered(s)
        for g in ordered[: self._prefix(s)]:
            self.postings[g].append(at)
        return at

    def similar(self, s):
        """Indices of stored sets with Jaccard >= threshold against s."""
        if not s:
            return []
        found = set()
        for g in self._ordered(s)[: self._prefix(s)]:
            found.update(self.postings.get(g, ()))
        out = []
        for at in sorted(found):
            other = self.sets[at]
            small, big = sorted((len(s), len(other)))
            if small < self.threshold * big:
                continue
            inter = len(s & other)
            if inter / (len(s) + len(other) - inter) >= self.threshold:
                out.append(at)
        return out


def drop_held_out_overlap(pool, held_out):
    """Pool examples that near-duplicate any held-out example are dropped (held-out wins).

    Returns (kept, dropped).
    """
    skeletons = {e.skeleton for e in held_out}
    normalized = {e.normalized for e in held_out}
    gram_sets = [_trigrams(e.skeleton) for e in held_out if e.skeleton]
    pool_sets = [_trigrams(e.skeleton) if e.skeleton else frozenset() for e in pool]
    index = _NearIndex(gram_sets + [s for s in pool_sets if s], JACCARD_NEAR_DUP)
    for s in gram_sets:
        index.add(s)
    kept, dropped = [], []
    for e, s in zip(pool, pool_sets):
        if e.normalized in normalized or (e.skeleton and e.skeleton in skeletons) or index.similar(s):
            dropped.append(e)
        else:
            kept.append(e)
    return kept, dropped


def dedup_pool(pool):
    """Exact duplicates (same normalized text) are merged; conflicting labels drop all copies.

    Returns (unique examples in load order, number of exact duplicates removed, examples
    dropped for conflicting labels).
    """
    by_text = defaultdict(list)
    for e in pool:
        by_text[e.normalized].append(e)
    unique, removed, conflicts = [], 0, []
    seen = set()
    for e in pool:
        if e.normalized in seen:
            continue
        seen.add(e.normalized)
        copies = by_text[e.normalized]
        if len({tuple(c.labels) for c in copies}) > 1:
            conflicts.extend(copies)
            continue
        unique.append(e)
        removed += len(copies) - 1
    return unique, removed, conflicts


_VARIANT_PREFIXES = ("obfuscated:", "styled:")


def template_of(source):
    """The template an example was made from, or None for a hand-written line.

    A generated example's `source` ends in a template number (`template:threat_ko:07`,
    `compose:insult+threat_ko:03`, `compose:a+b_ko:04+11`); obfuscated and restyled variants
    carry their original's source behind a prefix (`obfuscated:template:threat_ko:07`).
    """
    while source.startswith(_VARIANT_PREFIXES):
        source = source.split(":", 1)[1]
    tail = source.rsplit(":", 1)
    if len(tail) == 2 and tail[1] and all(part.isdigit() for part in tail[1].split("+")):
        return source
    return None


def split_groups(pool):
    """Group pool examples that must share a split (union-find).

    Together: near-duplicates (same skeleton or 3-gram Jaccard >= JACCARD_NEAR_DUP) and all
    examples of one template with their variants. Validation then holds whole templates the
    model has not seen, which is what the hand-written test split asks of it; a split by
    example would put sentences of the same template on both sides and make validation
    measure memory.
    """
    parent = list(range(len(pool)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a, b):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    first_of = {}
    for at, e in enumerate(pool):
        for key in (("text", e.skeleton or e.normalized), ("source", template_of(e.source))):
            if key[1] is None:
                continue
            if key in first_of:
                union(first_of[key], at)
            else:
                first_of[key] = at
    sets = [_trigrams(e.skeleton) if e.skeleton else frozenset() for e in pool]
    index = _NearIndex([s for s in sets if s], JACCARD_NEAR_DUP)
    owner = []
    for at, s in enumerate(sets):
        if not s:
            continue
        for other in index.similar(s):
            union(owner[other], at)
        index.add(s)
        owner.append(at)
    groups = defaultdict(list)
    for at in range(len(pool)):
        groups[find(at)].append(at)
    return [groups[k] for k in sorted(groups)]


# --- split ---------------------------------------------------------------------------------


def split(pool):
    """Fixed train/validation split of the pool: (train, validation).

    Groups (near-duplicates and templates; see split_groups) stay together. Inside every
    stratum (labels or clean kind, and language; a group's stratum is its first member's),
    groups are ordered by the SHA-256 of their smallest normalized text and the first ones go
    to validation until it holds VALIDATION_SHARE of the stratum's examples. Nothing depends
    on file or run order.
    """
    groups = split_groups(pool)
    strata = defaultdict(list)
    for g in groups:
        members = [pool[k] for k in g]
        key = min(m.normalized for m in members)
        strata[members[0].stratum()].append((stable_hash(key), members))
    train, validation = [], []
    for name in sorted(strata):
        entries = sorted(strata[name], key=lambda item: item[0])
        total = sum(len(m) for _, m in entries)
        want = round(total * VALIDATION_SHARE)
        taken = 0
        for _, members in entries:
            if taken < want:
                validation.extend(members)
                taken += len(members)
            else:
                train.extend(members)
    key = lambda e: (e.file, e.line)  # noqa: E731 - a sort key
    return sorted(train, key=key), sorted(validation, key=key)


def counts(examples):
    """Counts per category, language, kind and source group, for reports."""
    per_label = Counter(c for e in examples for c in e.labels)
    return {
        "examples": len(examples),
        "clean": sum(1 for e in examples if not e.labels),
        "per_category": {c: per_label.get(c, 0) for c in CATEGORIES},
        "per_lang": dict(sorted(Counter(e.lang for e in examples).items())),
        "per_kind": dict(sorted(Counter(e.kind for e in examples).items())),
    }
