//! `moderate`: messages in on standard input, one JSON verdict per line out.
//!
//! Operators check what the model says about a message, or a whole export of chat lines,
//! before they move a threshold. The same function serves `tallymq moderate` and the
//! stand-alone `tallymq-moderate` binary.

use std::borrow::Cow;
use std::io::{self, BufRead, Read, Write};

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::Value;

use crate::category::Category;
use crate::classifier::Classifier;
use crate::decision::Decision;
use crate::policy::Policy;
use crate::scores::Scores;

/// Longest input line read: a message is cut to its first thousand characters anyway, and a
/// longer line (a stray binary file) is reported instead of being held in memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Messages answered with a verdict.
    pub messages: u64,
    /// Lines answered with an error.
    pub errors: u64,
    /// Verdicts per decision, in [`Decision`] order (allow, warn, hold, block).
    pub decisions: [u64; 4],
}

impl Summary {
    pub fn count(&self, decision: Decision) -> u64 {
        self.decisions[decision as usize]
    }

    /// One line for standard error at the end of a run.
    pub fn describe(&self, model_version: &str) -> String {
        format!(
            "{} messages (allow {}, warn {}, hold {}, block {}), {} unreadable lines, model {model_version}",
            self.messages, self.decisions[0], self.decisions[1], self.decisions[2], self.decisions[3], self.errors
        )
    }
}

/// Reads one message per line — plain text, or a JSON object with a string `"text"` (and an
/// optional `"id"`, echoed) — and writes one JSON line per message. Empty lines are skipped; a
/// line that cannot be read or classified is answered with `{"line": N, "error": "..."}`.
pub fn run_moderate(
    mut input: impl BufRead,
    mut output: impl Write,
    classifier: &mut Classifier,
    policy: &Policy,
) -> io::Result<Summary> {
    let mut summary = Summary::default();
    let mut buffer = Vec::new();
    let mut number = 0u64;
    let model_version = classifier.info().version.clone();
    loop {
        buffer.clear();
        let read = Read::take(&mut input, MAX_LINE_BYTES as u64 + 1).read_until(b'\n', &mut buffer)?;
        if read == 0 {
            break;
        }
        number += 1;
        if buffer.len() > MAX_LINE_BYTES && buffer.last() != Some(&b'\n') {
            skip_line(&mut input)?;
            report(&mut output, &mut summary, number, &format!("the line is longer than {MAX_LINE_BYTES} bytes"))?;
            continue;
        }
        let Ok(line) = std::str::from_utf8(&buffer) else {
            report(&mut output, &mut summary, number, "the line is not UTF-8")?;
            continue;
        };
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        let message = match parse(line) {
            Ok(message) => message,
            Err(error) => {
                report(&mut output, &mut summary, number, &error)?;
                continue;
            }
        };
        match classifier.classify(&message.text) {
            Ok(scores) => {
                let verdict = policy.decide(&scores);
                let answer = Answer {
                    text: &message.text,
                    id: message.id,
                    scores: ScoresJson(&scores),
                    categories: verdict.categories.iter().map(|c| c.as_str()).collect(),
                    decision: verdict.decision.as_str(),
                    model_version: &model_version,
                };
                serde_json::to_writer(&mut output, &answer)?;
                output.write_all(b"\n")?;
                summary.messages += 1;
                summary.decisions[verdict.decision as usize] += 1;
            }
            Err(error) => report(&mut output, &mut summary, number, &error.to_string())?,
        }
    }
    output.flush()?;
    Ok(summary)
}

struct Message<'a> {
    text: Cow<'a, str>,
    id: Option<Value>,
}

/// A line starting with `{` is JSON; anything else is the message itself.
fn parse(line: &str) -> Result<Message<'_>, String> {
    if !line.trim_start().starts_with('{') {
        return Ok(Message { text: Cow::Borrowed(line), id: None });
    }
    let value: Value = serde_json::from_str(line).map_err(|error| format!("not a JSON object: {error}"))?;
    let Value::Object(mut object) = value else {
        return Err("not a JSON object".to_string());
    };
    let id = object.remove("id");
    match object.remove("text") {
        Some(Value::String(text)) => Ok(Message { text: Cow::Owned(text), id }),
        _ => Err("the JSON object has no string \"text\"".to_string()),
    }
}

fn skip_line(input: &mut impl BufRead) -> io::Result<()> {
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Ok(());
        }
        match available.iter().position(|&b| b == b'\n') {
            Some(at) => {
                input.consume(at + 1);
                return Ok(());
            }
            None => {
                let len = available.len();
                input.consume(len);
            }
        }
    }
}

fn report(output: &mut impl Write, summary: &mut Summary, line: u64, error: &str) -> io::Result<()> {
    summary.errors += 1;
    serde_json::to_writer(&mut *output, &serde_json::json!({ "line": line, "error": error }))?;
    output.write_all(b"\n")
}

#[derive(Serialize)]
struct Answer<'a> {
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<Value>,
    scores: ScoresJson<'a>,
    categories: Vec<&'static str>,
    decision: &'static str,
    model_version: &'a str,
}

/// Scores as an object keyed by category name, in output order.
struct ScoresJson<'a>(&'a Scores);

impl Serialize for ScoresJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(Category::COUNT))?;
        for (category, score) in self.0.iter() {
            map.serialize_entry(category.as_str(), &score)?;
        }
        map.end()
    }
}
