"""Per-category thresholds, chosen on the validation split only.

Why per category: a false "threat" or "disclosure_threat" verdict can hold or block a lawful
message, so those two need high precision; a missed insult costs less. And false positives on
everyday chat are what users notice first, so the clean examples get a budget of their own.

The rule, in order:
  1. For every category, the candidate thresholds are the validation scores of its positives.
     Among those whose precision on validation is at least PRECISION_TARGET[category], take
     the one with the highest recall (ties: the highest threshold). If none reaches the
     target, take the one with the best F1 and record that the target was missed.
  2. While more than CLEAN_FP_BUDGET of the ordinary clean validation examples (kind clean),
     or more than HARD_NEGATIVE_FP_BUDGET of the hard negatives, are flagged by any
     category, raise one threshold to just above the lowest-scoring example of that group it
     flags: the category whose step loses the least validation recall per example cleared
     (ties: the step clearing more).
  3. Each threshold is then moved halfway (in logit space) down towards the highest score
     of a validation example below it that is not a positive of the category, so that the
     validation decisions do not change but the margin is split evenly, and rounded to 4
     decimals; the reported metrics use the rounded values.
"""

import math

import numpy as np

from dataset import CATEGORIES

PRECISION_TARGET = {
    "threat": 0.95,
    "disclosure_threat": 0.95,
    "false_legal_threat": 0.90,
    "coerced_borrowing": 0.90,
    "third_party_demand": 0.90,
    "insult": 0.90,
    "sexual": 0.90,
}

CLEAN_FP_BUDGET = 0.02
"""Largest share of ordinary clean validation examples (kind `clean`: reminders, everyday
chat) that any category may flag: the false positives users notice."""

HARD_NEGATIVE_FP_BUDGET = 0.05
"""Largest share of dangerous-looking clean validation examples (kind `hard_negative`:
negations, quoted threats, lawful steps, hyperbole) that any category may flag. Looser than
the clean budget: a bag of n-grams cannot read every negation, and clearing a handful of
near-identical negations of one template would cost a whole category's recall."""

FLOOR, CEILING = 0.05, 0.99
"""Thresholds stay inside this range whatever the validation set says."""


def _logit(p):
    p = min(max(p, 1e-7), 1 - 1e-7)
    return math.log(p / (1 - p))


def _sigmoid(z):
    return 1 / (1 + math.exp(-z))


def _pr_at(scores, y, t):
    flagged = scores >= t
    tp = int((flagged & (y == 1)).sum())
    fp = int((flagged & (y == 0)).sum())
    pos = int((y == 1).sum())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / pos if pos else 0.0
    return precision, recall


def _first_pass(scores, y, target):
    candidates = sorted({float(s) for s in scores[y == 1]}, reverse=True)
    best, best_f1 = None, None
    for t in candidates:
        p, r = _pr_at(scores, y, t)
        if p >= target and (best is None or r > best[1]):
            best = (t, r)
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        if best_f1 is None or f1 > best_f1[1]:
            best_f1 = (t, f1)
    if best is not None:
        return best[0], True
    if best_f1 is not None:
        return best_f1[0], False
    return 0.5, False


def choose(scores, y, budgets):
    """Thresholds per category from validation scores [n, 7] and labels [n, 7].

    `budgets` maps a group name to (row mask, largest share of the group that may be flagged
    by any category), e.g. {"clean": (mask, 0.02), "hard_negative": (mask, 0.05)}.
    Returns (thresholds list of 7 floats, notes dict per category).
    """
    n_cat = len(CATEGORIES)
    thresholds = []
    met = []
    for k, name in enumerate(CATEGORIES):
        t, ok = _first_pass(scores[:, k], y[:, k], PRECISION_TARGET[name])
        thresholds.append(min(max(t, FLOOR), CEILING))
        met.append(ok)

    raised = [0] * n_cat
    while True:
        current = np.asarray(thresholds)
        over = None
        for group, (mask, budget) in sorted(budgets.items()):
            n = int(mask.sum())
            if n and (scores[mask] >= current).any(axis=1).sum() / n > budget:
                over = group
                break
        if over is None:
            break
        group_scores = scores[budgets[over][0]]
        flagged = group_scores >= current
        flagged_any = flagged.any(axis=1)
        options = []
        for k in range(n_cat):
            hits = group_scores[flagged[:, k], k]
            if len(hits) == 0:
                continue
            new_t = float(np.nextafter(hits.min(), 1.0))
            if new_t > CEILING:
                continue
            trial = flagged.copy()
            trial[:, k] = group_scores[:, k] >= new_t
            removed = int(flagged_any.sum() - trial.any(axis=1).sum())
            _, r_now = _pr_at(scores[:, k], y[:, k], thresholds[k])
            _, r_new = _pr_at(scores[:, k], y[:, k], new_t)
            # Recall lost per example of the group no longer flagged; a step that clears
            # nobody (another category still flags them) costs its recall loss alone.
            options.append(((r_now - r_new) / max(removed, 0.5), -removed, k, new_t))
        if not options:
            break
        _, _, k, new_t = min(options)
        thresholds[k] = new_t
        raised[k] += 1

    final = []
    for k in range(n_cat):
        t = thresholds[k]
        col, yk = scores[:, k], y[:, k]
        below = col[(col < t) & (yk == 0)]
        if len(below):
            t = _sigmoid((_logit(t) + _logit(float(below.max()))) / 2)
        t = min(max(t, FLOOR), CEILING)
        # Round down so that no validation positive at the chosen threshold is lost, unless
        # that would let in the negative just below it.
        rounded = math.floor(t * 1e4) / 1e4
        if len(below) and rounded <= float(below.max()):
            rounded = math.ceil(t * 1e4) / 1e4
        final.append(rounded)

    notes = {
        name: {
            "precision_target": PRECISION_TARGET[name],
            "target_met_on_validation": met[k],
            "raised_for_clean_budget": raised[k],
        }
        for k, name in enumerate(CATEGORIES)
    }
    return final, notes
