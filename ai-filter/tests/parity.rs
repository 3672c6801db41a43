//! The Rust classifier against the scores onnxruntime gave the training code in Python for
//! the same texts: features, tensors and the runtime call must all agree.


use serde_json::Value;
use tallymq_ai_filter::classifier::Classifier;
use tallymq_ai_filter::model::ModelSource;
use tallymq_ai_filter::{Category, Scores};

const SCORE_TOLERANCE: f64 = 1e-5;

fn load(source: &ModelSource) -> Classifier {
    Classifier::load(source).unwrap_or_else(|error| panic!("{error}"))
}

fn parity() -> Vec<(String, [f64; Category::COUNT])> {
    let path = crate_dir().join("testdata/parity.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let value: Value = serde_json::from_str(line).expect("parity line is JSON");
            let scores: Vec<f64> = value["scores"].as_array().expect("scores").iter().map(|s| s.as_f64().expect("a number")).collect();
            let scores: [f64; Category::COUNT] = scores.try_into().expect("one score per category");
            (value["text"].as_str().expect("text").to_string(), scores)
        })
        .collect()
}

fn assert_close(text: &str, got: &Scores, want: &[f64; Category::COUNT], tolerance: f64) {
    for ((category, got), want) in got.iter().zip(want) {
        assert!((f64::from(got) - want).abs() <= tolerance, "{text:?}: {category} {got} != {want}");
    }
}

#[test]
fn scores_match_onnxruntime_in_python() {
    let vectors = parity();
    assert!(vectors.len() >= 10, "parity.jsonl has only {} lines", vectors.len());
    let mut classifier = load(&ModelSource::Embedded);
    for (text, want) in &vectors {
        let got = classifier.classify(text).unwrap_or_else(|error| panic!("{text:?}: {error}"));
        assert_close(text, &got, want, SCORE_TOLERANCE);
    }
    // Not a constant answer: the texts score differently, so matching them means something.
    let widest = Category::ALL
        .iter()
        .map(|c| {
            let scores = vectors.iter().map(|(_, s)| s[c.index()]);
            scores.clone().fold(f64::MIN, f64::max) - scores.fold(f64::MAX, f64::min)
        })
        .fold(0.0, f64::max);
    assert!(widest > 0.05, "the parity scores hardly differ between texts ({widest})");
}

#[test]
fn one_batch_scores_like_single_texts() {
    let vectors = parity();
    let mut classifier = load(&ModelSource::Embedded);
    let texts: Vec<&str> = vectors.iter().map(|(text, _)| text.as_str()).chain(["", "   "]).collect();
    let batch = classifier.classify_batch(&texts).expect("batch");
    assert_eq!(batch.len(), texts.len());
    for (text, scores) in texts.iter().zip(&batch) {
        let single = classifier.classify(text).expect("single");
        let single: [f64; Category::COUNT] = single.0.map(f64::from);
        // A batch pads rows to one width, and the runtime's sum over a row is ordered by
        // width: the same tolerance as against Python, not bit equality.
        assert_close(text, scores, &single, SCORE_TOLERANCE);
    }
    assert_eq!(classifier.classify_batch(&[]).expect("empty batch"), Vec::new());
}

#[test]
fn the_model_file_loads_like_the_embedded_one() {
    let file = crate_dir().join("model/harassment.onnx");
    let mut from_file = load(&ModelSource::File(file));
    let mut embedded = load(&ModelSource::Embedded);
    assert_eq!(from_file.info(), embedded.info());
    assert_eq!(embedded.info().feature_spec, 1);
    for text in ["시발 돈 갚아", "이번 달 말까지 상환 부탁드립니다", "you worthless idiot"] {
        assert_eq!(from_file.classify(text).expect("file"), embedded.classify(text).expect("embedded"));
    }
}

/// This crate's directory, read when the test runs: a test binary built from another checkout
/// of the same sources can be reused from a shared target directory, and `env!` would point
/// into that checkout.
fn crate_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"))
}
