//! The moderation pool: real worker threads with real classifiers, many concurrent callers.

use std::sync::Arc;

use tallymq_ai_filter::classifier::Classifier;
use tallymq_ai_filter::model::ModelSource;
use tallymq_ai_filter::pool::{ModerationPool, PoolConfig};
use tallymq_ai_filter::FilterError;

const TEXTS: [&str; 8] = [
    "이번 달 말까지 상환 부탁드립니다",
    "시발 돈 안 갚으면 회사에 다 알릴 거야",
    "ㅅㅂ 빨리 갚아",
    "you worthless idiot, pay now",
    "I will file for a payment order",
    "너희 엄마한테 받으러 간다",
    "",
    "ㅋㅋㅋㅋ 고마워",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_get_the_scores_of_a_single_classifier() {
    let mut single = Classifier::load(&ModelSource::Embedded).unwrap_or_else(|error| panic!("{error}"));
    let expected: Vec<_> = TEXTS.iter().map(|text| single.classify(text).expect("single")).collect();

    let config = PoolConfig { workers: 2, queue_capacity: 1024, max_batch: 16 };
    let pool = Arc::new(ModerationPool::start(ModelSource::Embedded, config).unwrap_or_else(|error| panic!("{error}")));
    assert_eq!(pool.info(), single.info());
    const CALLS: usize = 400;
    let tasks: Vec<_> = (0..CALLS)
        .map(|call| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let at = call % TEXTS.len();
                (at, pool.classify(TEXTS[at].to_string()).await)
            })
        })
        .collect();
    for task in tasks {
        let (at, scores) = task.await.expect("task");
        let scores = scores.unwrap_or_else(|error| panic!("{:?}: {error}", TEXTS[at]));
        for ((category, got), (_, want)) in scores.iter().zip(expected[at].iter()) {
            // Batches pad rows to one width, which changes the order of the sum slightly.
            assert!((got - want).abs() <= 1e-5, "{:?}: {category} {got} != {want}", TEXTS[at]);
        }
    }
    let stats = pool.stats();
    assert_eq!(stats.classified, CALLS as u64);
    assert!(stats.batches >= 1 && stats.batches <= CALLS as u64, "{stats:?}");
    assert_eq!((stats.failures, stats.overloaded), (0, 0));

    // Dropping the last handle joins the workers.
    let pool = Arc::into_inner(pool).expect("no other handle");
    drop(pool);
}

#[test]
fn callers_that_are_not_async_wait_on_the_receiver() {
    let pool = ModerationPool::start(ModelSource::Embedded, PoolConfig::default()).unwrap_or_else(|error| panic!("{error}"));
    let answers: Vec<_> = TEXTS.iter().map(|text| pool.submit(text.to_string()).expect("queued")).collect();
    for (text, answer) in TEXTS.iter().zip(answers) {
        let scores = answer.blocking_recv().expect("answered").expect("scored");
        assert!(scores.iter().all(|(_, s)| (0.0..=1.0).contains(&s)), "{text:?}: {scores:?}");
    }
    assert_eq!(pool.stats().classified, TEXTS.len() as u64);
}

#[test]
fn a_missing_model_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("missing.onnx");
    let error = ModerationPool::start(ModelSource::File(path.clone()), PoolConfig { workers: 2, ..PoolConfig::default() })
        .expect_err("no model");
    assert!(matches!(&error, FilterError::ModelMissing { path: missing, .. } if *missing == path), "{error:?}");
    assert!(error.to_string().contains(&path.display().to_string()), "{error}");
}

#[test]
fn a_broken_model_is_refused_with_its_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("broken.onnx");
    std::fs::write(&path, b"not an onnx graph").expect("write model");
    let info = std::fs::read_to_string(crate_dir().join("model/model.json")).expect("model.json");
    std::fs::write(path.with_extension("json"), info).expect("write metadata");
    let error = ModerationPool::start(ModelSource::File(path.clone()), PoolConfig::default()).expect_err("broken model");
    assert!(matches!(error, FilterError::ModelInvalid { .. }), "{error:?}");
    assert!(error.to_string().contains(&path.display().to_string()), "{error}");
}

/// This crate's directory, read when the test runs: a test binary built from another checkout
/// of the same sources can be reused from a shared target directory, and `env!` would point
/// into that checkout.
fn crate_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"))
}
