//! `[moderation]`: the harassment and illegal-collection detector of the publish pipeline.
//!
//! Two judges decide on every message of a moderated topic: a text model (per-category
//! scores against thresholds) and the legal rules of debt collection (night window, contact
//! limit, do-not-contact slots, stopped collection). Their verdict is one of allow, warn,
//! hold or block. The detector is on by default: in production a loan chat without it would
//! carry threats unseen, so turning it off is a deliberate act of this file.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::validate::{check_all, check_topic_filter, RangeCheck};

/// The model's categories, in the model's output order.
pub const MODERATION_CATEGORIES: [&str; 7] =
    ["threat", "disclosure_threat", "false_legal_threat", "coerced_borrowing", "third_party_demand", "insult", "sexual"];

/// Most topic filters under moderation.
pub const MAX_MODERATED_TOPICS: usize = 64;

/// What happens to a message the detector could not judge (runtime error, queue full, timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// Delivered without a verdict; the failure is logged, counted and stored with the message.
    Open,
    /// Refused to the sender, who may send it again.
    Closed,
}

/// A lender's collection message in the night window (21:00–08:00 Asia/Seoul).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NightPolicy {
    /// Held until 08:00.
    Hold,
    /// Delivered, with a warning to both sides.
    Warn,
}

/// A lender's collection message inside one of the borrower's do-not-contact slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DoNotContactPolicy {
    /// Held until the slot ends.
    Hold,
    /// Refused.
    Block,
}

/// A lender's collection contact beyond the weekly limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContactLimitPolicy {
    /// Refused (MQTT 5.0 reason 0x97); it does not count.
    Refuse,
    /// Delivered with a warning; it counts.
    Flag,
}

/// The thresholds of one category. A score at or above a threshold leads to its decision;
/// the strictest reached wins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryThresholds {
    pub category: String,
    /// Warn at this score; absent: the model's recommended threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn: Option<f64>,
    /// Hold at this score: no rule releases such a hold, so the message expires undelivered
    /// after `hold_expiry_secs` (the sender is told it is held, not refused); absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<f64>,
    /// Block at this score; absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<f64>,
}

/// `[moderation]`: the detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModerationConfig {
    /// Whether messages are moderated. Default `true`.
    pub enabled: bool,
    /// Topic filters whose messages are moderated. Default `["chat/#"]`.
    pub topics: Vec<String>,
    /// The ONNX model file (its `.json` metadata beside it); empty: the model built in.
    pub model: PathBuf,
    /// The ONNX Runtime shared library; empty: the environment variable `ORT_DYLIB_PATH`.
    pub runtime_library: PathBuf,
    /// Inference threads, apart from the async runtime's. Default 1.
    pub workers: u32,
    /// Messages waiting for inference at most; beyond it, `on_failure` applies. Default 1_024.
    pub queue_capacity: u32,
    /// Messages classified in one model run when several wait. Default 64.
    pub max_batch: u32,
    /// Longest wait for a verdict, in milliseconds; beyond it, `on_failure` applies. Default 1_000.
    pub timeout_ms: u32,
    /// What happens when the detector cannot judge a message. Default `open`.
    pub on_failure: OnFailure,
    /// Per-category thresholds; categories not listed warn at the model's recommended threshold.
    pub thresholds: Vec<CategoryThresholds>,
    /// The night window policy. Default `hold`.
    pub night: NightPolicy,
    /// The do-not-contact policy. Default `hold`.
    pub do_not_contact: DoNotContactPolicy,
    /// The weekly contact limit policy. Default `refuse`.
    pub contact_limit: ContactLimitPolicy,
    /// Collection contacts allowed per loan in 7 days. Default 7 (the legal maximum).
    pub max_contacts_per_week: u32,
    /// Longest a held message waits, in seconds; then it expires undelivered (it stays stored
    /// as evidence). Default 86_400.
    pub hold_expiry_secs: u32,
    /// Most messages held at once; beyond it, a message that would be held is refused.
    /// Default 100_000.
    pub max_held_messages: u32,
    /// Most loans whose contact counts are kept in memory. Default 1_000_000.
    pub max_tracked_loans: u32,
}

impl Default for ModerationConfig {
    fn default() -> Self {
        ModerationConfig {
            enabled: true,
            topics: vec!["chat/#".to_owned()],
            model: PathBuf::new(),
            runtime_library: PathBuf::new(),
            workers: 1,
            queue_capacity: 1_024,
            max_batch: 64,
            timeout_ms: 1_000,
            on_failure: OnFailure::Open,
            thresholds: vec![
                CategoryThresholds { category: "threat".into(), warn: None, hold: None, block: Some(0.98) },
                CategoryThresholds { category: "sexual".into(), warn: None, hold: None, block: Some(0.98) },
            ],
            night: NightPolicy::Hold,
            do_not_contact: DoNotContactPolicy::Hold,
            contact_limit: ContactLimitPolicy::Refuse,
            max_contacts_per_week: 7,
            hold_expiry_secs: 86_400,
            max_held_messages: 100_000,
            max_tracked_loans: 1_000_000,
        }
    }
}

/// Documentation of every key of the section, in display order.
pub(crate) const DOCS: &[(&str, &str)] = &[
    (
        "moderation",
        "The harassment and illegal-collection detector: a text model and the legal\n\
         rules of debt collection judge every message of the moderated topics before\n\
         it is stored. Decisions: allow; warn (delivered, the sender warned, the\n\
         recipient told their rights on user/{user}/notices); hold (stored, delivered\n\
         when the rule that held it releases it, or never if it expires); block\n\
         (stored as evidence, not delivered, refused to the sender). The verdict is\n\
         stored with the message and sent to MQTT 5.0 subscribers as user properties.",
    ),
    ("moderation.enabled", "Whether messages are moderated. Off, no model or runtime library is loaded."),
    (
        "moderation.topics",
        "Topic filters whose messages are moderated. The legal rules apply to loan\n\
         rooms (chat/{room}/...); the model to every moderated topic. At most 64.",
    ),
    (
        "moderation.model",
        "The ONNX model file, with its metadata beside it (the same name ending in\n\
         .json, or model.json). Empty: the model built into tallymq. A missing or\n\
         invalid file stops start-up.",
    ),
    (
        "moderation.runtime_library",
        "The ONNX Runtime shared library (libonnxruntime.so, 1.24 or newer). Empty:\n\
         the environment variable ORT_DYLIB_PATH (scripts/run.sh and scripts/test.sh\n\
         set it to the copy scripts/setup.sh installs). Missing stops start-up.",
    ),
    ("moderation.workers", "Inference threads, apart from the async runtime's. Range: 1 to 64 threads."),
    (
        "moderation.queue_capacity",
        "Messages waiting for inference at most; a message beyond it is handled per\n\
         on_failure at once. Range: 1 to 1000000 messages.",
    ),
    (
        "moderation.max_batch",
        "Messages classified in one model run when several are waiting.\n\
         Range: 1 to 1024 messages.",
    ),
    (
        "moderation.timeout_ms",
        "Longest wait for a verdict; beyond it the message is handled per\n\
         on_failure. Range: 1 to 60000 milliseconds.",
    ),
    (
        "moderation.on_failure",
        "When the detector cannot judge a message (runtime error, queue full,\n\
         timeout): \"open\" delivers it with a logged, counted warning and stores the\n\
         failure with it; \"closed\" refuses it (MQTT 5.0 reason 0x80) so the sender\n\
         may retry. The legal rules never fail: they still apply when the model does.",
    ),
    (
        "moderation.thresholds",
        "Per-category thresholds on the model's scores (0 to 1). A category not listed,\n\
         or listed without warn, warns at the model's recommended threshold (or at its\n\
         hold or block threshold, if that is lower). Threats and sexual harassment are\n\
         blocked only when the model is nearly certain (0.98). Categories: threat,\n\
         disclosure_threat, false_legal_threat, coerced_borrowing, third_party_demand,\n\
         insult, sexual. A borrower's messages are at most warned for the collection\n\
         categories (all but insult and sexual): a borrower quoting a threat is not\n\
         the one threatening.",
    ),
    ("moderation.thresholds.category", "The category."),
    ("moderation.thresholds.warn", "Warn at this score or above; absent: the model's recommended threshold."),
    (
        "moderation.thresholds.hold",
        "Hold at this score or above; absent: never. No rule releases a hold by score:\n\
         the message expires undelivered after hold_expiry_secs, and the sender is\n\
         told it is held rather than refused.",
    ),
    ("moderation.thresholds.block", "Block at this score or above; absent: never."),
    (
        "moderation.night",
        "A lender's collection message to the borrower between 21:00 and 08:00\n\
         Asia/Seoul: \"hold\" until 08:00, or \"warn\" and deliver.",
    ),
    (
        "moderation.do_not_contact",
        "A lender's collection message inside one of the borrower's do-not-contact\n\
         slots: \"hold\" until the slot ends, or \"block\".",
    ),
    (
        "moderation.contact_limit",
        "A lender's collection contact beyond max_contacts_per_week within 7 days:\n\
         \"refuse\" (MQTT 5.0 reason 0x97; it does not count) or \"flag\" (warn and\n\
         deliver; it counts). A reply on the same day to the borrower's own message\n\
         does not count.",
    ),
    (
        "moderation.max_contacts_per_week",
        "Collection contacts allowed per loan in any 7 days, lender to borrower.\n\
         7 is the legal maximum. Range: 1 to 7 contacts.",
    ),
    (
        "moderation.hold_expiry_secs",
        "Longest a held message waits for release; then it expires undelivered and\n\
         stays stored as evidence. Range: 60 to 2592000 seconds.",
    ),
    (
        "moderation.max_held_messages",
        "Most messages held at once; a message that would be held beyond it is\n\
         refused to the sender (MQTT 5.0 reason 0x97). Range: 1 to 10000000 messages.",
    ),
    (
        "moderation.max_tracked_loans",
        "Most loans whose contact counts are kept in memory (they are also stored);\n\
         beyond it the least recently used are dropped from memory and read back\n\
         when needed. Range: 16 to 100000000 loans.",
    ),
];

impl ModerationConfig {
    /// The numeric keys with their allowed ranges.
    pub(crate) fn ranges(&self) -> Vec<RangeCheck> {
        vec![
            RangeCheck::new("moderation.workers", self.workers, 1, 64, "threads"),
            RangeCheck::new("moderation.queue_capacity", self.queue_capacity, 1, 1_000_000, "messages"),
            RangeCheck::new("moderation.max_batch", self.max_batch, 1, 1_024, "messages"),
            RangeCheck::new("moderation.timeout_ms", self.timeout_ms, 1, 60_000, "milliseconds"),
            RangeCheck::new("moderation.max_contacts_per_week", self.max_contacts_per_week, 1, 7, "contacts"),
            RangeCheck::new("moderation.hold_expiry_secs", self.hold_expiry_secs, 60, 2_592_000, "seconds"),
            RangeCheck::new("moderation.max_held_messages", self.max_held_messages, 1, 10_000_000, "messages"),
            RangeCheck::new("moderation.max_tracked_loans", self.max_tracked_loans, 16, 100_000_000, "loans"),
        ]
    }

    /// Checks every value of the section.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        check_all(&self.ranges())?;
        if self.topics.len() > MAX_MODERATED_TOPICS {
            return Err(ConfigError::invalid(
                "moderation.topics",
                format!("at most {MAX_MODERATED_TOPICS} filters, got {}", self.topics.len()),
            ));
        }
        for (index, topic) in self.topics.iter().enumerate() {
            check_topic_filter(&format!("moderation.topics[{index}]"), topic)?;
        }
        let mut seen = Vec::new();
        for (index, entry) in self.thresholds.iter().enumerate() {
            let key = |field: &str| format!("moderation.thresholds[{index}].{field}");
            if !MODERATION_CATEGORIES.contains(&entry.category.as_str()) {
                return Err(ConfigError::invalid(
                    key("category"),
                    format!("must be one of {}, got {:?}", MODERATION_CATEGORIES.join(", "), entry.category),
                ));
            }
            if seen.contains(&entry.category.as_str()) {
                return Err(ConfigError::invalid(key("category"), format!("{:?} is listed twice", entry.category)));
            }
            seen.push(entry.category.as_str());
            let levels = [("warn", entry.warn), ("hold", entry.hold), ("block", entry.block)];
            for (field, value) in levels {
                if let Some(value) = value {
                    if !(value > 0.0 && value <= 1.0) {
                        return Err(ConfigError::invalid(key(field), format!("must be above 0 and at most 1, got {value}")));
                    }
                }
            }
            let set: Vec<(&str, f64)> = levels.iter().filter_map(|(f, v)| v.map(|v| (*f, v))).collect();
            if let Some(pair) = set.windows(2).find(|pair| pair[0].1 > pair[1].1) {
                return Err(ConfigError::invalid(
                    key(pair[1].0),
                    format!("must not be below {} ({} > {})", pair[0].0, pair[0].1, pair[1].1),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        ModerationConfig::default().validate().unwrap();
    }

    #[test]
    fn thresholds_are_checked_by_name() {
        let parsed: ModerationConfig =
            toml::from_str("thresholds = [{ category = \"threat\", warn = 0.6, block = 0.5 }]").unwrap();
        let error = parsed.validate().unwrap_err().to_string();
        assert!(error.contains("moderation.thresholds[0].block"), "{error}");
        let parsed: ModerationConfig = toml::from_str("thresholds = [{ category = \"threats\" }]").unwrap();
        assert!(parsed.validate().unwrap_err().to_string().contains("moderation.thresholds[0].category"));
        let parsed: ModerationConfig = toml::from_str("thresholds = [{ category = \"insult\", warn = 1.5 }]").unwrap();
        assert!(parsed.validate().unwrap_err().to_string().contains("moderation.thresholds[0].warn"));
        let parsed: ModerationConfig =
            toml::from_str("thresholds = [{ category = \"insult\" }, { category = \"insult\", warn = 0.7 }]").unwrap();
        assert!(parsed.validate().unwrap_err().to_string().contains("listed twice"));
    }

    #[test]
    fn topics_must_be_filters() {
        let parsed: ModerationConfig = toml::from_str("topics = [\"chat/#/x\"]").unwrap();
        assert!(parsed.validate().unwrap_err().to_string().contains("moderation.topics[0]"));
    }

    #[test]
    fn policies_parse_lowercase() {
        let parsed: ModerationConfig =
            toml::from_str("night = \"warn\"\ndo_not_contact = \"block\"\ncontact_limit = \"flag\"\non_failure = \"closed\"").unwrap();
        assert_eq!(
            (parsed.night, parsed.do_not_contact, parsed.contact_limit, parsed.on_failure),
            (NightPolicy::Warn, DoNotContactPolicy::Block, ContactLimitPolicy::Flag, OnFailure::Closed)
        );
        assert!(toml::from_str::<ModerationConfig>("night = \"ignore\"").is_err());
    }
}
