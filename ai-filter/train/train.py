"""Trains the harassment model and writes everything derived from the data.

One command reproduces every artifact from ai-filter/train/data/ (run it through train.sh,
which prepares the pinned environment):

    ai-filter/model/harassment.onnx     the model (FEATURES.md §6)
    ai-filter/model/model.json          version, feature spec, categories, thresholds, counts
    ai-filter/model/evaluation.json     every metric, machine-readable
    ai-filter/model/EVALUATION.md       the same for people
    ai-filter/model/MODEL_CARD.md       what the model is for and where it falls short
    ai-filter/testdata/golden.jsonl     feature vectors (make_vectors.py)
    ai-filter/testdata/hash.jsonl       gram hashes (make_vectors.py)
    ai-filter/testdata/parity.jsonl     onnxruntime scores the Rust side must reproduce

The steps: load and check the data; drop pool examples that near-duplicate a held-out one;
split the pool into train and validation by a stable hash; tune each category's logistic
regression on validation; export ONNX and check it against scikit-learn; choose thresholds
on validation; evaluate on validation, test and the obfuscation suite. Nothing is tuned on
the test split. The run is deterministic: the same data gives byte-identical files.
"""

import os

# Single-threaded numerics: the same sums in the same order on every run.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402

import dataset  # noqa: E402
import evaluate  # noqa: E402
import features  # noqa: E402
import make_vectors  # noqa: E402
import model as model_mod  # noqa: E402
import onnx_export  # noqa: E402
import report  # noqa: E402
import thresholds as thresholds_mod  # noqa: E402

MODEL_VERSION = "2026.11.1"
"""Bump for every model that ships; the broker logs it with every verdict."""

ORT_VERSION = "1.24.4"
"""The onnxruntime the broker loads; the parity vectors come from the same version."""

PARITY_TOLERANCE = 1e-5
"""Largest difference allowed between scikit-learn and onnxruntime probabilities."""

PARITY_HELD_OUT = 48
"""Held-out examples (besides the golden texts) in testdata/parity.jsonl."""

HERE = os.path.dirname(os.path.abspath(__file__))
FILTER_DIR = os.path.dirname(HERE)


def log(msg):
    print(msg, flush=True)


def write_text(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, path)


def write_json(path, obj):
    write_text(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def parity_texts(test, obfuscation, validation):
    """Golden texts plus a fixed sample of held-out examples, every category represented."""
    texts = [t for t, _ in make_vectors.GOLDEN]
    held = test + obfuscation if test or obfuscation else validation
    ranked = sorted(held, key=lambda e: dataset.stable_hash(e.text))
    picked = []
    for name in dataset.CATEGORIES:
        picked.extend([e for e in ranked if name in e.labels and e not in picked][:4])
    picked.extend([e for e in ranked if not e.labels and e not in picked][: PARITY_HELD_OUT - len(picked)])
    seen = set(texts)
    for e in picked:
        if e.text not in seen:
            seen.add(e.text)
            texts.append(e.text)
    return texts


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.path.join(HERE, "data"))
    parser.add_argument("--model-dir", default=os.path.join(FILTER_DIR, "model"))
    parser.add_argument("--testdata", default=os.path.join(FILTER_DIR, "testdata"))
    args = parser.parse_args(argv)
    os.makedirs(args.model_dir, exist_ok=True)

    import onnxruntime

    if onnxruntime.__version__ != ORT_VERSION:
        raise SystemExit(f"onnxruntime {onnxruntime.__version__} found, {ORT_VERSION} required (train.sh installs it)")

    log(f"loading {args.data}")
    try:
        pool, test, obfuscation = dataset.load_dir(args.data)
    except dataset.DataError as e:
        raise SystemExit(f"bad data: {e}") from None
    loaded = len(pool)
    pool, exact_dups, conflicts = dataset.dedup_pool(pool)
    pool, overlap = dataset.drop_held_out_overlap(pool, test + obfuscation)
    train, validation = dataset.split(pool)
    dedup = {
        "pool_loaded": loaded,
        "exact_duplicates_removed": exact_dups,
        "conflicting_labels_dropped": len(conflicts),
        "near_duplicates_of_held_out_dropped": len(overlap),
        "rule": "same normalized text; same skeleton (Hangul and Latin letters of the normalized text); "
        f"or skeleton character 3-gram Jaccard >= {dataset.JACCARD_NEAR_DUP}",
    }
    log(
        f"pool {loaded} -> {len(pool)} (exact dups {exact_dups}, label conflicts {len(conflicts)}, "
        f"near held-out {len(overlap)}); train {len(train)}, validation {len(validation)}, "
        f"test {len(test)}, obfuscation {len(obfuscation)}"
    )
    for e in conflicts[:10]:
        log(f"  conflicting labels: {e.file}:{e.line} {e.labels} {e.text!r}")

    x_train, y_train = model_mod.matrix(train), model_mod.labels(train)
    x_val, y_val = model_mod.matrix(validation), model_mod.labels(validation)
    log("tuning C and class weight per category on validation")
    params, grid = model_mod.tune(x_train, y_train, x_val, y_val)
    for name, p in params.items():
        log(f"  {name}: C={p['C']} class_weight={p['class_weight']} val AP={p['val_average_precision']}")
    fitted = model_mod.Model.fit(x_train, y_train, params)
    w, b = fitted.weights()

    onnx_path = os.path.join(args.model_dir, "harassment.onnx")
    proto = onnx_export.build(w, b, MODEL_VERSION)
    tmp = onnx_path + ".tmp"
    onnx.save_model(proto, tmp)
    os.replace(tmp, onnx_path)
    runtime = onnx_export.Runtime(onnx_path)

    val_texts = [e.text for e in validation]
    val_scores = runtime.scores(val_texts)
    sk_scores = fitted.predict_proba(x_val)
    diff = float(np.abs(val_scores.astype(np.float64) - sk_scores).max()) if len(validation) else 0.0
    log(f"onnxruntime vs scikit-learn on validation: max |diff| = {diff:.2e}")
    if diff > PARITY_TOLERANCE:
        raise SystemExit(f"ONNX scores differ from scikit-learn by {diff} > {PARITY_TOLERANCE}")

    unlabelled = ~y_val.astype(bool).any(axis=1)
    ordinary = np.asarray([e.kind == "clean" for e in validation], dtype=bool)
    budgets = {
        "clean": (unlabelled & ordinary, thresholds_mod.CLEAN_FP_BUDGET),
        "hard_negative": (unlabelled & ~ordinary, thresholds_mod.HARD_NEGATIVE_FP_BUDGET),
    }
    chosen, threshold_notes = thresholds_mod.choose(val_scores.astype(np.float64), y_val, budgets)
    log("thresholds: " + ", ".join(f"{c}={t}" for c, t in zip(dataset.CATEGORIES, chosen)))

    test_scores = runtime.scores([e.text for e in test])
    obf_scores = runtime.scores([e.text for e in obfuscation])
    results = {
        "validation": evaluate.evaluate(validation, val_scores, chosen),
        "test": evaluate.evaluate(test, test_scores, chosen),
        "obfuscation": evaluate.evaluate(obfuscation, obf_scores, chosen),
    }
    for split_name, r in results.items():
        if r.get("examples"):
            log(
                f"  {split_name}: micro P={r['micro']['precision']} R={r['micro']['recall']} "
                f"macro F1={r['macro_f1']} clean FP={r['clean_false_positive_rate']}"
            )

    counts = {
        "train": dataset.counts(train),
        "validation": dataset.counts(validation),
        "test": dataset.counts(test),
        "obfuscation": dataset.counts(obfuscation),
    }
    sources = sorted({e.file for e in train + validation})
    model_json = {
        "model_version": MODEL_VERSION,
        "feature_spec": features.SPEC,
        "buckets": features.BUCKETS,
        "categories": list(dataset.CATEGORIES),
        "thresholds": chosen,
        "onnx": {
            "opset": onnx_export.OPSET,
            "onnxruntime": ORT_VERSION,
            "inputs": {"indices": "int64 [batch, width]", "values": "float32 [batch, width]"},
            "outputs": {"scores": "float32 [batch, 7]"},
        },
        "trained_on": {
            "files": sources,
            "train": counts["train"],
            "validation": counts["validation"],
        },
    }
    write_json(os.path.join(args.model_dir, "model.json"), model_json)

    missed_test, wrong_test = evaluate.errors(test, test_scores, chosen, 25)
    missed_val, wrong_val = evaluate.errors(validation, val_scores, chosen, 15)
    evaluation = {
        "model_version": MODEL_VERSION,
        "thresholds": dict(zip(dataset.CATEGORIES, chosen)),
        "threshold_rule": {
            "precision_target": thresholds_mod.PRECISION_TARGET,
            "clean_false_positive_budget": thresholds_mod.CLEAN_FP_BUDGET,
            "hard_negative_false_positive_budget": thresholds_mod.HARD_NEGATIVE_FP_BUDGET,
            "per_category": threshold_notes,
        },
        "hyperparameters": params,
        "tuning_grid": grid,
        "dedup": dedup,
        "counts": counts,
        "onnx_vs_sklearn_max_abs_diff_validation": float(f"{diff:.3e}"),
        "results": results,
        "errors": {
            "test_missed": missed_test,
            "test_wrong": wrong_test,
            "validation_missed": missed_val,
            "validation_wrong": wrong_val,
        },
    }
    write_json(os.path.join(args.model_dir, "evaluation.json"), evaluation)
    write_text(os.path.join(args.model_dir, "EVALUATION.md"), report.evaluation_md(evaluation))
    write_text(os.path.join(args.model_dir, "MODEL_CARD.md"), report.model_card_md(evaluation, model_json))

    make_vectors.write_vectors(args.testdata)
    texts = parity_texts(test, obfuscation, validation)
    parity_scores = runtime.scores(texts)
    make_vectors.write_jsonl(
        os.path.join(args.testdata, "parity.jsonl"),
        ({"text": t, "scores": [float(s) for s in row]} for t, row in zip(texts, parity_scores)),
    )
    size = os.path.getsize(onnx_path)
    log(f"wrote {onnx_path} ({size / 1e6:.1f} MB), model.json, evaluation, card, {len(texts)} parity texts")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
