//! A moderation verdict as it travels with its message: stored in the record's annotations
//! (so it is part of the hash chain and of every evidence export) and sent to MQTT 5.0
//! subscribers as user properties after the publisher's own.

use tallymq_ai_filter::{Category, Decision, Scores};

use crate::codec::UserProperty;

/// `allow`, `warn`, `hold` or `block`.
pub const DECISION_PROPERTY: &str = "moderation";
/// The categories over threshold, comma-separated (absent when none).
pub const CATEGORIES_PROPERTY: &str = "moderation-categories";
/// Every category's score, `name=score` comma-separated, three decimals.
pub const SCORES_PROPERTY: &str = "moderation-scores";
/// The model version that scored the text.
pub const MODEL_PROPERTY: &str = "moderation-model";
/// The legal rules that fired, comma-separated (absent when none).
pub const RULES_PROPERTY: &str = "moderation-rules";
/// For a held message: when a rule releases it, milliseconds since the epoch.
pub const RELEASE_PROPERTY: &str = "moderation-release-at";
/// Why the model gave no scores (the message passed per `on_failure = "open"`).
pub const FAILURE_PROPERTY: &str = "moderation-failure";

/// What moderation decided about one message, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub decision: Decision,
    /// Categories whose score reached a threshold.
    pub categories: Vec<Category>,
    /// The model's scores; `None` when the model could not judge.
    pub scores: Option<Scores>,
    pub model_version: String,
    /// Names of the legal rules that fired.
    pub rules: Vec<&'static str>,
    pub release_at_ms: Option<u64>,
    /// Why the model gave no scores.
    pub failure: Option<String>,
}

impl Verdict {
    /// The verdict as user properties, in a fixed order.
    pub fn annotations(&self) -> Vec<UserProperty> {
        let mut out = vec![(DECISION_PROPERTY.to_owned(), self.decision.as_str().to_owned())];
        if !self.categories.is_empty() {
            out.push((CATEGORIES_PROPERTY.to_owned(), join(self.categories.iter().map(|c| c.as_str()))));
        }
        if let Some(scores) = &self.scores {
            let listed = Category::ALL.iter().map(|c| format!("{}={:.3}", c.as_str(), scores.get(*c)));
            out.push((SCORES_PROPERTY.to_owned(), listed.collect::<Vec<_>>().join(",")));
        }
        out.push((MODEL_PROPERTY.to_owned(), self.model_version.clone()));
        if !self.rules.is_empty() {
            out.push((RULES_PROPERTY.to_owned(), join(self.rules.iter().copied())));
        }
        if let Some(at) = self.release_at_ms {
            out.push((RELEASE_PROPERTY.to_owned(), at.to_string()));
        }
        if let Some(failure) = &self.failure {
            out.push((FAILURE_PROPERTY.to_owned(), failure.clone()));
        }
        out
    }
}

/// Whether a stored message is withheld from its readers now: blocked, or held and not yet
/// released (`held` asks the store).
pub fn withheld<E>(annotations: &[UserProperty], held: impl FnOnce() -> Result<bool, E>) -> Result<bool, E> {
    let decision = annotations.iter().find(|(name, _)| name == DECISION_PROPERTY).map(|(_, value)| value.as_str());
    match decision {
        Some("block") => Ok(true),
        Some("hold") => held(),
        _ => Ok(false),
    }
}

fn join<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_name_decision_categories_scores_model_and_rules() {
        let mut scores = [0.0; Category::COUNT];
        scores[Category::Threat.index()] = 0.9714;
        let verdict = Verdict {
            decision: Decision::Hold,
            categories: vec![Category::Threat],
            scores: Some(Scores(scores)),
            model_version: "m1".into(),
            rules: vec!["night_window"],
            release_at_ms: Some(42),
            failure: None,
        };
        let annotations = verdict.annotations();
        let get = |name: &str| annotations.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        assert_eq!(get(DECISION_PROPERTY), Some("hold"));
        assert_eq!(get(CATEGORIES_PROPERTY), Some("threat"));
        assert!(get(SCORES_PROPERTY).is_some_and(|s| s.starts_with("threat=0.971,disclosure_threat=0.000")));
        assert_eq!(get(MODEL_PROPERTY), Some("m1"));
        assert_eq!(get(RULES_PROPERTY), Some("night_window"));
        assert_eq!(get(RELEASE_PROPERTY), Some("42"));
        assert_eq!(get(FAILURE_PROPERTY), None);
    }
}
