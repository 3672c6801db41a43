"""The classifier: one logistic regression per category over the hashed features.

Why this shape: the broker runs the model on every chat message, so it must be a single
sparse dot product per category (FEATURES.md §6), and a linear model over hashed n-grams is
what fits that. One binary model per category (one-vs-rest) lets every category get its own
regularization and class weight, chosen on the validation split, and a message can be in
several categories at once.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

import features
from dataset import CATEGORIES

C_GRID = (1.0, 4.0, 16.0, 64.0, 256.0, 1024.0)
"""Inverse regularization strengths tried per category."""

CLASS_WEIGHTS = (None, "balanced")
"""Class weightings tried per category (positives are a minority in every category)."""

AP_TOLERANCE = 0.002
"""Validation average precisions closer than this count as equal when choosing C."""

MAX_ITER = 5000
"""lbfgs iteration limit; far above what the data needs, so every fit converges."""

RANDOM_STATE = 20261121


def matrix(examples):
    """CSR matrix [len(examples), BUCKETS] of feature vectors, float64 from the float32 values.

    The values are the float32 ones the broker computes, so training sees exactly what
    inference sees.
    """
    indptr = [0]
    indices = []
    values = []
    for e in examples:
        for b, v in features.features(e.text):
            indices.append(b)
            values.append(v)
        indptr.append(len(indices))
    return sp.csr_matrix(
        (np.asarray(values, dtype=np.float64), np.asarray(indices, dtype=np.int64), np.asarray(indptr)),
        shape=(len(examples), features.BUCKETS),
    )


def labels(examples):
    return np.asarray([e.label_vector() for e in examples], dtype=np.int64).reshape(-1, len(CATEGORIES))


def fit_one(x, y, c, class_weight):
    model = LogisticRegression(
        C=c,
        class_weight=class_weight,
        solver="lbfgs",
        max_iter=MAX_ITER,
        tol=1e-6,
        random_state=RANDOM_STATE,
    )
    model.fit(x, y)
    return model


def tune(x_train, y_train, x_val, y_val):
    """Per category, the most regularized (C, class_weight) that validation cannot tell apart
    from the best: the smallest C whose validation average precision is within AP_TOLERANCE
    of the best one (then the higher AP). Differences that small are noise on a validation
    split of a few hundred examples per category, and the smoother model is the safer bet
    on phrasings that no template had.
    Returns ({category: {"C", "class_weight", "val_average_precision"}}, grid results).
    """
    chosen = {}
    grid = {}
    for k, name in enumerate(CATEGORIES):
        yt, yv = y_train[:, k], y_val[:, k]
        rows = []
        for class_weight in CLASS_WEIGHTS:
            for c in C_GRID:
                if yt.sum() == 0 or yv.sum() == 0:
                    ap = 0.0
                else:
                    m = fit_one(x_train, yt, c, class_weight)
                    ap = float(average_precision_score(yv, m.predict_proba(x_val)[:, 1]))
                rows.append({"C": c, "class_weight": class_weight or "none", "val_average_precision": round(ap, 6)})
        top = max(r["val_average_precision"] for r in rows)
        close = [r for r in rows if r["val_average_precision"] >= top - AP_TOLERANCE]
        best = min(close, key=lambda r: (r["C"], -r["val_average_precision"], r["class_weight"] != "none"))
        chosen[name] = best
        grid[name] = rows
    return chosen, grid


class Model:
    """The seven fitted binary models; weights as the ONNX graph needs them."""

    def __init__(self, per_category):
        self.per_category = per_category

    @classmethod
    def fit(cls, x, y, params):
        per_category = []
        for k, name in enumerate(CATEGORIES):
            p = params[name]
            weight = None if p["class_weight"] == "none" else p["class_weight"]
            per_category.append(fit_one(x, y[:, k], p["C"], weight))
        return cls(per_category)

    def predict_proba(self, x):
        """[n, 7] float64 probabilities, as scikit-learn computes them."""
        return np.column_stack([m.predict_proba(x)[:, 1] for m in self.per_category])

    def weights(self):
        """(W float32 [BUCKETS, 7] with row 0 zero, b float32 [7])."""
        w = np.column_stack([m.coef_[0] for m in self.per_category]).astype(np.float32)
        w[0, :] = 0.0
        b = np.asarray([m.intercept_[0] for m in self.per_category], dtype=np.float32)
        return np.ascontiguousarray(w), b
