"""Metrics of the model at its chosen thresholds, per split and per kind of example.

Why these metrics: the product blocks or holds messages, so per-category precision and recall
at the thresholds actually shipped matter more than threshold-free scores; and false
positives on ordinary messages are what users feel, so they are reported separately for
repayment reminders, everyday chat and dangerous-looking clean text.
"""

from collections import defaultdict

import numpy as np

from dataset import CATEGORIES

CLEAN_GROUPS = ("reminder", "everyday", "hard_negative")


def clean_group(e):
    """Which clean group an example belongs to: `source` when it names one, else by kind."""
    if e.source in CLEAN_GROUPS:
        return e.source
    src = e.source.lower()
    if e.kind == "hard_negative":
        return "hard_negative"
    if "reminder" in src or "repay" in src or "lawful" in src or "legal" in src:
        return "reminder"
    return "everyday"


def _ratio(a, b):
    return round(a / b, 4) if b else None


def _prf(tp, fp, fn):
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    if precision is None or recall is None or precision + recall == 0:
        f1 = None if precision is None or recall is None else 0.0
    else:
        f1 = 2 * precision * recall / (precision + recall)
    r = lambda x: None if x is None else round(x, 4)  # noqa: E731
    return {"precision": r(precision), "recall": r(recall), "f1": r(f1), "support": tp + fn, "tp": tp, "fp": fp, "fn": fn}


def _slices(examples, key, positive, right_flag, any_flag):
    """Per value of `key(example)`, sorted: how positives and clean examples fared."""
    slices = defaultdict(list)
    for at, e in enumerate(examples):
        slices[key(e)].append(at)
    out = {}
    for name in sorted(slices):
        rows = slices[name]
        pos = [r for r in rows if positive[r]]
        neg = [r for r in rows if not positive[r]]
        out[name] = {
            "examples": len(rows),
            "positives_flagged_right_category": _ratio(sum(int(right_flag[r]) for r in pos), len(pos)),
            "clean_false_positive_rate": _ratio(sum(int(any_flag[r]) for r in neg), len(neg)),
        }
    return out


def evaluate(examples, scores, thresholds):
    """Metrics for examples with scores [n, 7] at thresholds [7]; JSON-ready dict."""
    if not examples:
        return {"examples": 0}
    flagged = np.asarray(scores) >= np.asarray(thresholds, dtype=np.float32)
    y = np.asarray([e.label_vector() for e in examples], dtype=bool)
    per_category = {}
    for k, name in enumerate(CATEGORIES):
        tp = int((flagged[:, k] & y[:, k]).sum())
        fp = int((flagged[:, k] & ~y[:, k]).sum())
        fn = int((~flagged[:, k] & y[:, k]).sum())
        per_category[name] = _prf(tp, fp, fn)
    tp = sum(v["tp"] for v in per_category.values())
    fp = sum(v["fp"] for v in per_category.values())
    fn = sum(v["fn"] for v in per_category.values())
    f1s = [v["f1"] for v in per_category.values() if v["f1"] is not None]

    positive = y.any(axis=1)
    any_flag = flagged.any(axis=1)
    right_flag = (flagged & y).any(axis=1)
    out = {
        "examples": len(examples),
        "positives": int(positive.sum()),
        "clean": int((~positive).sum()),
        "per_category": per_category,
        "micro": _prf(tp, fp, fn),
        "macro_f1": round(sum(f1s) / len(f1s), 4) if f1s else None,
        "positives_flagged_any": _ratio(int((positive & any_flag).sum()), int(positive.sum())),
        "positives_flagged_right_category": _ratio(int((positive & right_flag).sum()), int(positive.sum())),
        "clean_false_positive_rate": _ratio(int((~positive & any_flag).sum()), int((~positive).sum())),
    }
    groups = defaultdict(lambda: [0, 0])
    for at, e in enumerate(examples):
        if positive[at]:
            continue
        g = groups[clean_group(e)]
        g[0] += 1
        g[1] += int(any_flag[at])
    out["clean_by_group"] = {
        name: {"examples": n, "flagged": f, "false_positive_rate": _ratio(f, n)}
        for name, (n, f) in sorted(groups.items())
    }
    out["by_kind"] = _slices(examples, lambda e: e.kind, positive, right_flag, any_flag)
    out["by_lang"] = _slices(examples, lambda e: e.lang, positive, right_flag, any_flag)
    return out


def errors(examples, scores, thresholds, limit):
    """Up to `limit` misclassified examples (false negatives first), for the report."""
    flagged = np.asarray(scores) >= np.asarray(thresholds, dtype=np.float32)
    missed, wrong = [], []
    for at, e in enumerate(examples):
        got = [c for k, c in enumerate(CATEGORIES) if flagged[at, k]]
        if set(got) == set(e.labels):
            continue
        row = {"text": e.text, "labels": e.labels, "predicted": got, "kind": e.kind}
        (missed if set(e.labels) - set(got) else wrong).append(row)
    return missed[:limit], wrong[:limit]
