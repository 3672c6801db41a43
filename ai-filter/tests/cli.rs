//! `moderate`: plain and JSON lines in, one JSON verdict per line out, bad lines reported
//! without stopping the run.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;
use tallymq_ai_filter::classifier::Classifier;
use tallymq_ai_filter::cli::run_moderate;
use tallymq_ai_filter::model::ModelSource;
use tallymq_ai_filter::policy::{Policy, Thresholds};
use tallymq_ai_filter::{Category, Decision};

const INPUT: &str = concat!(
    "이번 달 말까지 상환 부탁드립니다\n",
    "\n",
    "{\"id\": 7, \"text\": \"시발 돈 갚아\"}\n",
    "{\"text\": broken\n",
    "{\"id\": \"x\"}\n",
    "   \n",
    "{\"text\": \"you worthless idiot\", \"id\": {\"room\": \"loan-42\"}}\r\n",
    "{not json at all but plain?}\n",
    "last line without newline",
);

fn classifier() -> Classifier {
    Classifier::load(&ModelSource::Embedded).unwrap_or_else(|error| panic!("{error}"))
}

fn run(input: &[u8], classifier: &mut Classifier, policy: &Policy) -> (Vec<Value>, tallymq_ai_filter::cli::Summary) {
    let mut output = Vec::new();
    let summary = run_moderate(input, &mut output, classifier, policy).expect("run");
    let text = String::from_utf8(output).expect("UTF-8 output");
    assert!(text.ends_with('\n'));
    (text.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"))).collect(), summary)
}

#[test]
fn plain_and_json_lines_are_answered_and_bad_lines_reported() {
    let mut classifier = classifier();
    let policy = Policy::from_model(classifier.info());
    let (lines, summary) = run(INPUT.as_bytes(), &mut classifier, &policy);
    assert_eq!(lines.len(), 7, "{lines:#?}");
    assert_eq!((summary.messages, summary.errors), (4, 3));

    assert_eq!(lines[0]["text"], "이번 달 말까지 상환 부탁드립니다");
    assert!(lines[0].get("id").is_none());
    assert_eq!(lines[1]["id"], 7);
    assert_eq!(lines[1]["text"], "시발 돈 갚아");
    assert_eq!(lines[2]["line"], 4);
    assert!(lines[2]["error"].as_str().expect("error").contains("not a JSON object"), "{}", lines[2]);
    assert_eq!(lines[3]["line"], 5);
    assert!(lines[3]["error"].as_str().expect("error").contains("\"text\""), "{}", lines[3]);
    assert_eq!(lines[4]["id"]["room"], "loan-42");
    assert_eq!(lines[4]["text"], "you worthless idiot");
    assert_eq!(lines[5]["line"], 8);
    assert_eq!(lines[6]["text"], "last line without newline");

    let version = classifier.info().version.clone();
    for line in [&lines[0], &lines[1], &lines[4], &lines[6]] {
        let text = line["text"].as_str().expect("text");
        let scores = classifier.classify(text).expect("classify");
        let object = line["scores"].as_object().expect("scores object");
        let names: Vec<&str> = object.keys().map(String::as_str).collect();
        let mut expected_names: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        expected_names.sort_unstable();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, expected_names);
        for (category, score) in scores.iter() {
            let printed = object[category.as_str()].as_f64().expect("score");
            assert!((printed - f64::from(score)).abs() < 1e-6, "{text}: {category}");
        }
        let verdict = policy.decide(&scores);
        assert_eq!(line["decision"], verdict.decision.as_str());
        let categories: Vec<&str> = verdict.categories.iter().map(|c| c.as_str()).collect();
        assert_eq!(line["categories"], serde_json::json!(categories));
        assert_eq!(line["model_version"], version.as_str());
    }
    assert_eq!(summary.decisions.iter().sum::<u64>(), 4);
}

#[test]
fn the_policy_decides() {
    let mut classifier = classifier();
    let (top, score) = classifier.classify("hello").expect("classify").top();
    let mut policy = Policy::from_model(classifier.info());
    for category in Category::ALL {
        policy.set(category, Thresholds::default());
    }
    // Blocks exactly at the top score: the verdict names that category alone.
    policy.set(top, Thresholds { warn: None, hold: None, block: Some(score) });
    let (lines, summary) = run(b"hello\n", &mut classifier, &policy);
    assert_eq!(lines[0]["decision"], "block");
    assert_eq!(lines[0]["categories"], serde_json::json!([top.as_str()]));
    assert_eq!(summary.count(Decision::Block), 1);
    // Just above it, nothing is found.
    policy.set(top, Thresholds { warn: None, hold: Some(score.next_up()), block: None });
    let (lines, summary) = run(b"hello\n", &mut classifier, &policy);
    assert_eq!(lines[0]["decision"], "allow");
    assert_eq!(lines[0]["categories"], serde_json::json!([]));
    assert_eq!(summary.count(Decision::Allow), 1);
}

#[test]
fn invalid_utf8_and_overlong_lines_are_reported() {
    let mut classifier = classifier();
    let policy = Policy::from_model(classifier.info());
    let mut input = b"ok\n\xff\xfe\n".to_vec();
    input.extend(std::iter::repeat_n(b'a', tallymq_ai_filter::cli::MAX_LINE_BYTES + 10));
    input.extend(b"\nafter\n");
    let (lines, summary) = run(&input, &mut classifier, &policy);
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert_eq!(lines[0]["text"], "ok");
    assert_eq!(lines[1]["line"], 2);
    assert!(lines[1]["error"].as_str().expect("error").contains("UTF-8"));
    assert_eq!(lines[2]["line"], 3);
    assert!(lines[2]["error"].as_str().expect("error").contains("longer than"));
    assert_eq!(lines[3]["text"], "after");
    assert_eq!((summary.messages, summary.errors), (2, 2));
}

/// The stand-alone command over a pipe.
#[test]
fn the_command_reads_stdin_and_writes_one_line_per_message() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tallymq-moderate"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tallymq-moderate");
    child.stdin.take().expect("stdin").write_all(INPUT.as_bytes()).expect("write stdin");
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    assert_eq!(stdout.lines().count(), 7, "{stdout}");
    assert!(stderr.contains("4 messages") && stderr.contains("3 unreadable lines"), "{stderr}");
}
