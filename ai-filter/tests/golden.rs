//! The Rust features against the test vectors the training code wrote, and the training
//! code against the same vectors: both sides must compute exactly what FEATURES.md says.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use tallymq_ai_filter::hash::{bucket, gram_hash};
use tallymq_ai_filter::jamo::{initials_stream, jamo_stream};
use tallymq_ai_filter::{features, normalize};

const VALUE_TOLERANCE: f64 = 1e-6;

fn testdata(name: &str) -> PathBuf {
    crate_dir().join("testdata").join(name)
}

fn lines(name: &str) -> Vec<(usize, Value)> {
    let path = testdata(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(at, line)| (at + 1, serde_json::from_str(line).unwrap_or_else(|e| panic!("{name}:{}: {e}", at + 1))))
        .collect()
}

fn str_field<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field].as_str().unwrap_or_else(|| panic!("no string {field:?} in {value}"))
}

#[test]
fn golden_vectors() {
    let vectors = lines("golden.jsonl");
    assert!(vectors.len() >= 20, "golden.jsonl has only {} vectors", vectors.len());
    let mut failures = Vec::new();
    for (line, vector) in &vectors {
        let text = str_field(vector, "text");
        let normalized = normalize(text);
        let checks = [
            ("normalized", normalized.clone(), str_field(vector, "normalized")),
            ("jamo", jamo_stream(&normalized), str_field(vector, "jamo")),
            ("initials", initials_stream(&normalized), str_field(vector, "initials")),
        ];
        for (what, got, want) in checks {
            if got != want {
                failures.push(format!("line {line} {text:?}: {what} {got:?} != {want:?}"));
            }
        }
        let want: Vec<(u32, f64)> = vector["features"]
            .as_array()
            .expect("features array")
            .iter()
            .map(|pair| {
                let bucket = pair[0].as_u64().and_then(|b| u32::try_from(b).ok()).expect("bucket");
                (bucket, pair[1].as_f64().expect("value"))
            })
            .collect();
        let got = features(text);
        let got_buckets: Vec<u32> = got.indices.clone();
        let want_buckets: Vec<u32> = want.iter().map(|(b, _)| *b).collect();
        if got_buckets != want_buckets {
            failures.push(format!("line {line} {text:?}: buckets {got_buckets:?} != {want_buckets:?}"));
            continue;
        }
        for ((bucket, got), (_, want)) in got.indices.iter().zip(&got.values).zip(&want) {
            if (f64::from(*got) - want).abs() > VALUE_TOLERANCE {
                failures.push(format!("line {line} {text:?}: bucket {bucket} value {got} != {want}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} golden vectors differ:\n{}", failures.len(), vectors.len(), failures.join("\n"));
}

#[test]
fn hash_vectors() {
    let vectors = lines("hash.jsonl");
    assert!(!vectors.is_empty());
    for (line, vector) in &vectors {
        let tag = str_field(vector, "tag");
        assert_eq!(tag.len(), 1, "line {line}: tag {tag:?}");
        let n = vector["n"].as_u64().and_then(|n| u8::try_from(n).ok()).expect("n");
        let gram = str_field(vector, "gram");
        let hash = gram_hash(tag.as_bytes()[0], n, gram);
        assert_eq!(hash.to_string(), str_field(vector, "hash"), "line {line}: hash of {gram:?}");
        assert_eq!(Some(u64::from(bucket(hash))), vector["bucket"].as_u64(), "line {line}: bucket of {gram:?}");
    }
}

/// The training code's own check of the same files: if it passes here too, Python and Rust
/// agree through the vectors, not just each with itself.
#[test]
fn python_features_agree_with_the_vectors() {
    let Ok(python) = std::env::var("TALLYMQ_PYTHON") else {
        panic!("TALLYMQ_PYTHON is not set: run scripts/test.sh, which sets it to the test venv's Python");
    };
    let root = crate_dir();
    let output = Command::new(&python)
        .arg(root.join("train/features.py"))
        .arg("--check")
        .arg(testdata("golden.jsonl"))
        .arg(testdata("hash.jsonl"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python} (TALLYMQ_PYTHON): {e}"));
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "features.py --check failed with {}\n{stdout}\n{stderr}", output.status);
}

/// This crate's directory, read when the test runs: a test binary built from another checkout
/// of the same sources can be reused from a shared target directory, and `env!` would point
/// into that checkout.
fn crate_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"))
}
