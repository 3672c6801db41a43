//! Stage 3, moderate: what does the content say, and may it be said now?
//!
//! On the moderated topics (`moderation.topics`, chat rooms by default) two judges see every
//! message before it is stored. The model (`tallymq-ai-filter`, on its own bounded thread
//! pool, never on the async runtime) scores the text per category against the configured
//! thresholds; the legal rules judge the facts: the sender's role in the room, the loan's
//! state, the time in Asia/Seoul and the loan's contact ledger. The strictest decision wins:
//!
//! - allow and warn: stored and delivered (warn also notifies both sides after the commit);
//! - hold: stored with a hold, delivered when the rule releases it (see `moderation::holds`);
//! - block: stored as evidence, not delivered, refused to the sender.
//!
//! The verdict is attached to the message as annotations, so it is stored with it (inside the
//! hash chain) and reaches MQTT 5.0 subscribers as user properties.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tallymq_ai_filter::{
    evaluate, Category, ContactLedger, Date, Decision, DoNotContactPolicy, FilterError, LimitPolicy, LoanFacts,
    LoanState, ModelInfo, ModelSource, ModerationPool, NightPolicy, Policy, PoolConfig, Rule, RuleInput, RuleOutcome, RulePolicy,
    Scores, SenderRole, Thresholds, WeeklyWindow,
};
use tallymq_config::{ModerationConfig, OnFailure};
use tallymq_storage::{ops, HoldRecord, LoanRecord, Op, RoomRecord, Store};

use crate::access::namespace::{classify, Family};
use crate::clock::Clock;
use crate::codec::ReasonCode;
use crate::message::Message;
use crate::moderation::{Holds, Ledgers, Verdict};
use crate::rooms::{Role, Rooms};
use crate::topic;

use super::{ClientInfo, Refusal, MESSAGE_ID_PROPERTY};

/// Bytes of a payload the model reads at most (the features read 1,000 characters).
const MAX_TEXT_BYTES: usize = 4_096;

/// Why moderation could not start.
#[derive(Debug, thiserror::Error)]
#[error("moderation is enabled but cannot start (set moderation.enabled = false to run without it)")]
pub struct ModerationSetupError(#[from] pub FilterError);

/// What moderation decided about one message, and what must happen once it is stored.
#[derive(Debug, Default)]
pub struct Review {
    /// `None` for a message outside the moderated topics.
    pub verdict: Option<Verdict>,
    /// For a blocked message: the refusal the sender gets once it is stored.
    pub refusal: Option<Refusal>,
    /// For a held message: stored with it.
    pub hold: Option<HoldRecord>,
    /// Changes stored in the message's batch (the loan's contact ledger).
    pub extra: Vec<Op>,
    /// Who is told about a warned, held or blocked message, and why.
    pub notices: Option<Notices>,
}

impl Review {
    /// Whether the message must not be delivered now.
    pub fn withholds(&self) -> bool {
        self.verdict.as_ref().is_some_and(|v| v.decision >= Decision::Hold)
    }
}

/// The users to notify after the commit.
#[derive(Debug, Clone)]
pub struct Notices {
    /// The sender's user id, when signed in.
    pub sender: Option<String>,
    /// The other members of the room.
    pub recipients: Vec<String>,
    /// Why, in words for the sender.
    pub reasons: Vec<String>,
}

/// The detector as the pipeline runs it.
struct Detector {
    pool: ModerationPool,
    topics: Vec<String>,
    policy: Policy,
    rules: RulePolicy,
    on_failure: OnFailure,
    timeout: Duration,
    hold_expiry_ms: u64,
    rooms: Arc<Rooms>,
    store: Arc<Store>,
    ledgers: Ledgers,
    holds: Arc<Holds>,
    clock: Arc<Clock>,
    notice_prefix: String,
    failures: AtomicU64,
}

pub struct Moderate {
    detector: Option<Detector>,
}

impl Moderate {
    /// A stage that passes everything (moderation disabled).
    pub fn disabled() -> Moderate {
        Moderate { detector: None }
    }

    /// Loads the runtime and the model and starts the inference threads, unless moderation
    /// is disabled. A missing runtime library or model is an error naming it.
    pub fn new(
        config: &tallymq_config::Config,
        store: Arc<Store>,
        rooms: Arc<Rooms>,
        holds: Arc<Holds>,
        clock: Arc<Clock>,
    ) -> Result<Moderate, ModerationSetupError> {
        let settings = &config.moderation;
        if !settings.enabled {
            return Ok(Moderate::disabled());
        }
        tallymq_ai_filter::init_runtime(runtime_library(settings))?;
        let pool = ModerationPool::start(
            model_source(settings),
            PoolConfig {
                workers: settings.workers as usize,
                queue_capacity: settings.queue_capacity as usize,
                max_batch: settings.max_batch as usize,
            },
        )?;
        let policy = policy_of(settings, pool.info());
        tracing::info!(model = %pool.info().version, workers = settings.workers, topics = ?settings.topics, "moderation started");
        Ok(Moderate {
            detector: Some(Detector {
                pool,
                topics: settings.topics.clone(),
                policy,
                rules: rule_policy_of(settings),
                on_failure: settings.on_failure,
                timeout: Duration::from_millis(u64::from(settings.timeout_ms)),
                hold_expiry_ms: u64::from(settings.hold_expiry_secs) * 1_000,
                rooms,
                ledgers: Ledgers::new(store.clone(), settings.max_tracked_loans as usize),
                store,
                holds,
                clock,
                notice_prefix: config.mqtt.notice_topic_prefix.clone(),
                failures: AtomicU64::new(0),
            }),
        })
    }

    pub fn is_enabled(&self) -> bool {
        self.detector.is_some()
    }

    /// The model version in use, when enabled.
    pub fn model_version(&self) -> Option<&str> {
        self.detector.as_ref().map(|d| d.pool.info().version.as_str())
    }

    /// Messages passed without a model verdict (`on_failure = "open"`) or refused for lack of
    /// one (`"closed"`).
    pub fn failures(&self) -> u64 {
        self.detector.as_ref().map_or(0, |d| d.failures.load(Ordering::Relaxed))
    }

    /// Judges a message, attaches the verdict as annotations and says what happens to it.
    /// Refuses at once only when the message cannot be judged or held (it is not stored
    /// then); a block is stored first and refused after the commit.
    pub async fn review(&self, client: &ClientInfo, message: &mut Message) -> Result<Review, Refusal> {
        let Some(detector) = &self.detector else { return Ok(Review::default()) };
        if !detector.topics.iter().any(|filter| topic::matches(filter, &message.topic)) {
            return Ok(Review::default());
        }
        let text = message_text(&message.payload);
        let (scores, failure) = detector.score(&text).await;
        if let Some(failure) = &failure {
            detector.failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(client = %client.client_id, topic = %message.topic, %failure, on_failure = ?detector.on_failure, "message not scored");
            if detector.on_failure == OnFailure::Closed {
                return Err(Refusal::new(
                    ReasonCode::UNSPECIFIED_ERROR,
                    format!("message not accepted: moderation is unavailable ({failure}); send it again later"),
                ));
            }
        }
        let now = detector.clock.now_ms();
        let room = match classify(&message.topic, &detector.notice_prefix) {
            Family::Chat { room } => detector.rooms.record(room),
            _ => None,
        };
        let role = sender_role(room.as_deref(), client.username.as_deref());
        let (model_decision, categories) = match &scores {
            Some(scores) => detector.model_decision(scores, role),
            None => (Decision::Allow, Vec::new()),
        };

        // The legal rules, for a room with a loan: judged and recorded under the loan's ledger
        // lock, so two messages of one loan are counted one after the other.
        let loan = room.as_deref().and_then(|record| Some((record.id.as_str(), record.loan.as_ref()?)));
        let ledger = match loan {
            Some((room_id, _)) => Some(detector.ledgers.get(room_id).map_err(storage_unavailable)?),
            None => None,
        };
        let mut ledger = ledger.as_ref().map(|ledger| ledger.lock());
        let outcome = loan.zip(ledger.as_deref()).map(|((_, loan), ledger)| {
            let facts = loan_facts(loan);
            evaluate(&RuleInput { now_ms: now, role, loan: Some(&facts), text: &text }, ledger, &detector.rules)
        });
        let decision = model_decision.max(outcome.as_ref().map_or(Decision::Allow, |o| o.decision));
        if decision == Decision::Hold && !detector.holds.has_room() {
            return Err(too_many_held());
        }
        let mut extra = Vec::new();
        if let (Some((room_id, _)), Some(ledger), Some(judged)) = (loan, ledger.as_deref_mut(), &outcome) {
            // A resend of a stored message (same msg-id) is judged again but counted once; the
            // store is asked only when the message would change the ledger.
            if changes_ledger(role, decision, judged) && !detector.was_stored(client, message)? {
                record_in_ledger(ledger, role, judged, now);
                extra.push(ops::put_contacts(room_id, &*ledger));
            }
        }
        drop(ledger);
        // A hold by score has no release (it expires); a hold by a rule only waits for the rule.
        let release_at_ms = match (decision, model_decision) {
            (Decision::Hold, Decision::Hold) => None,
            (Decision::Hold, _) => outcome.as_ref().and_then(|o| o.release_at_ms),
            _ => None,
        };
        let hits = outcome.as_ref().map(|o| o.hits.as_slice()).unwrap_or_default();
        let verdict = Verdict {
            decision,
            categories,
            scores,
            model_version: detector.pool.info().version.clone(),
            rules: hits.iter().map(|hit| hit.rule.as_str()).collect(),
            release_at_ms,
            failure,
        };
        message.annotations.extend(verdict.annotations());

        let mut reasons: Vec<String> = hits.iter().map(|hit| hit.reason.clone()).collect();
        if !verdict.categories.is_empty() {
            let named: Vec<String> = match &verdict.scores {
                Some(scores) => verdict.categories.iter().map(|c| format!("{c} ({:.2})", scores.get(*c))).collect(),
                None => Vec::new(),
            };
            reasons.push(format!("Flagged by the detector as {}.", named.join(", ")));
        }
        let refusal = (decision == Decision::Block).then(|| {
            let limit_blocked = hits.iter().any(|hit| hit.rule == Rule::ContactLimit && hit.decision == Decision::Block);
            let code = if limit_blocked { ReasonCode::QUOTA_EXCEEDED } else { ReasonCode::NOT_AUTHORIZED };
            Refusal::new(code, format!("message stored as evidence and not delivered: {}", reasons.join(" ")))
        });
        let hold = (decision == Decision::Hold).then(|| HoldRecord { release_at_ms, expires_at_ms: now + detector.hold_expiry_ms, expired: false });
        let notices = (decision >= Decision::Warn).then(|| Notices {
            sender: client.username.as_deref().map(str::to_owned),
            recipients: room
                .as_deref()
                .map(|record| {
                    let sender = client.username.as_deref();
                    record.members.keys().filter(|member| Some(member.as_str()) != sender).cloned().collect()
                })
                .unwrap_or_default(),
            reasons,
        });
        Ok(Review { verdict: Some(verdict), refusal, hold, extra, notices })
    }
}

impl Detector {
    /// The model's scores, or why there are none.
    async fn score(&self, text: &str) -> (Option<Scores>, Option<String>) {
        match tokio::time::timeout(self.timeout, self.pool.classify(text.to_owned())).await {
            Ok(Ok(scores)) => (Some(scores), None),
            Ok(Err(error)) => (None, Some(error.to_string())),
            Err(_) => (None, Some(format!("no verdict within {} ms", self.timeout.as_millis()))),
        }
    }

    /// Whether this client stored a message with the same `msg-id` before (a resend).
    fn was_stored(&self, client: &ClientInfo, message: &Message) -> Result<bool, Refusal> {
        match message_id(message) {
            Some(id) => self.store.was_stored(&client.client_id, id, crate::message::now_ms()).map_err(storage_unavailable),
            None => Ok(false),
        }
    }

    /// The strictest decision the scores reach, and the categories that reached a threshold.
    /// A borrower is at most warned for the collection categories: a borrower quoting or
    /// reporting a threat is not the one threatening.
    fn model_decision(&self, scores: &Scores, role: SenderRole) -> (Decision, Vec<Category>) {
        let mut decision = Decision::Allow;
        let mut categories = Vec::new();
        for category in Category::ALL {
            let mut reached = self.policy.get(category).decide(scores.get(category));
            if reached == Decision::Allow {
                continue;
            }
            categories.push(category);
            if role == SenderRole::Borrower && category.is_collection() {
                reached = reached.min(Decision::Warn);
            }
            decision = decision.max(reached);
        }
        (decision, categories)
    }
}

/// Whether the message changes the loan's ledger: a borrower's message opens the same-day
/// reply allowance; a lender's collection contact counts unless blocked.
fn changes_ledger(role: SenderRole, decision: Decision, outcome: &RuleOutcome) -> bool {
    match role {
        SenderRole::Borrower => true,
        SenderRole::Lender => outcome.counts_as_contact && decision < Decision::Block,
        SenderRole::Guarantor | SenderRole::Other => false,
    }
}

/// Records a message for which [`changes_ledger`] holds.
fn record_in_ledger(ledger: &mut ContactLedger, role: SenderRole, outcome: &RuleOutcome, now: u64) {
    if role == SenderRole::Borrower {
        ledger.record_borrower_message(now);
    } else {
        ledger.record(outcome, now);
    }
}

fn storage_unavailable(error: tallymq_storage::StorageError) -> Refusal {
    Refusal::new(ReasonCode::IMPLEMENTATION_SPECIFIC_ERROR, format!("message not stored, storage unavailable: {error}"))
}

/// The client's own message id (`msg-id` user property), if any.
fn message_id(message: &Message) -> Option<&str> {
    message.properties.user_properties.iter().find(|(name, _)| name == MESSAGE_ID_PROPERTY).map(|(_, value)| value.as_str())
}

fn too_many_held() -> Refusal {
    Refusal::new(ReasonCode::QUOTA_EXCEEDED, "message not accepted: too many messages are held right now; send it again later")
}

/// The text the model reads: the `text` field of a JSON object payload, or the payload as
/// UTF-8 (invalid sequences replaced), cut to [`MAX_TEXT_BYTES`].
fn message_text(payload: &[u8]) -> String {
    if payload.first() == Some(&b'{') {
        if let Ok(serde_json::Value::Object(object)) = serde_json::from_slice::<serde_json::Value>(payload) {
            if let Some(serde_json::Value::String(text)) = object.get("text") {
                return cut(text, MAX_TEXT_BYTES).to_owned();
            }
        }
    }
    let head = String::from_utf8_lossy(&payload[..payload.len().min(MAX_TEXT_BYTES)]);
    // A character cut in two became U+FFFD, which may be longer than the bytes it replaced.
    cut(&head, MAX_TEXT_BYTES).to_owned()
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn sender_role(room: Option<&RoomRecord>, user: Option<&str>) -> SenderRole {
    match room.zip(user).and_then(|(room, user)| room.members.get(user)) {
        Some(Role::Lender) => SenderRole::Lender,
        Some(Role::Borrower) => SenderRole::Borrower,
        Some(Role::Guarantor) => SenderRole::Guarantor,
        None => SenderRole::Other,
    }
}

fn loan_facts(loan: &LoanRecord) -> LoanFacts {
    use tallymq_storage::LoanState as Stored;
    LoanFacts {
        state: match loan.state {
            Stored::Active => LoanState::Active,
            Stored::Overdue => LoanState::Overdue,
            Stored::Paused => LoanState::Paused,
            Stored::Discharged => LoanState::Discharged,
            Stored::Disputed => LoanState::Disputed,
        },
        // The admin API validated the date when the loan was set.
        due_date: loan.due_date.parse::<Date>().unwrap_or(Date { year: 9999, month: 12, day: 31 }),
        do_not_contact: loan
            .do_not_contact
            .iter()
            .map(|w| WeeklyWindow { days: w.days, start_minute: w.start_minute, end_minute: w.end_minute })
            .collect(),
    }
}

/// `moderation.runtime_library`, or `None` for `ORT_DYLIB_PATH`.
pub fn runtime_library(settings: &ModerationConfig) -> Option<&std::path::Path> {
    (!settings.runtime_library.as_os_str().is_empty()).then_some(settings.runtime_library.as_path())
}

/// `moderation.model`, or the built-in model when it is empty.
pub fn model_source(settings: &ModerationConfig) -> ModelSource {
    if settings.model.as_os_str().is_empty() {
        ModelSource::Embedded
    } else {
        ModelSource::File(settings.model.clone())
    }
}

/// The model's recommended thresholds with `moderation.thresholds` applied: what the stage
/// (and `tallymq moderate`) decides on a score.
pub fn policy_of(settings: &ModerationConfig, model: &ModelInfo) -> Policy {
    let mut policy = Policy::from_model(model);
    for entry in &settings.thresholds {
        // Validated against the category names when the configuration was loaded.
        let Ok(category) = entry.category.parse::<Category>() else { continue };
        let recommended = policy.get(category).warn;
        let hold = entry.hold.map(|t| t as f32);
        let block = entry.block.map(|t| t as f32);
        // The recommended warning threshold never sits above a configured hold or block.
        let ceiling = hold.or(block);
        let warn = match (entry.warn.map(|t| t as f32), recommended, ceiling) {
            (Some(configured), _, _) => Some(configured),
            (None, Some(recommended), Some(ceiling)) => Some(recommended.min(ceiling)),
            (None, recommended, _) => recommended,
        };
        policy.set(category, Thresholds { warn, hold, block });
    }
    policy
}

fn rule_policy_of(settings: &ModerationConfig) -> RulePolicy {
    use tallymq_config::{ContactLimitPolicy, DoNotContactPolicy as DncConfig, NightPolicy as NightConfig};
    RulePolicy {
        night: match settings.night {
            NightConfig::Hold => NightPolicy::Hold,
            NightConfig::Warn => NightPolicy::Warn,
        },
        do_not_contact: match settings.do_not_contact {
            DncConfig::Hold => DoNotContactPolicy::Hold,
            DncConfig::Block => DoNotContactPolicy::Block,
        },
        contact_limit: match settings.contact_limit {
            ContactLimitPolicy::Refuse => LimitPolicy::Refuse,
            ContactLimitPolicy::Flag => LimitPolicy::Flag,
        },
        max_contacts: settings.max_contacts_per_week,
        ..RulePolicy::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_knows_the_model_categories_in_order() {
        let names: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names, tallymq_config::MODERATION_CATEGORIES);
    }

    #[test]
    fn text_is_the_json_text_field_or_the_payload() {
        assert_eq!(message_text(br#"{"text":"hello","id":3}"#), "hello");
        assert_eq!(message_text(b"{not json"), "{not json");
        assert_eq!(message_text(b"plain \xff text"), "plain \u{fffd} text");
        let long = "가".repeat(MAX_TEXT_BYTES);
        assert!(message_text(long.as_bytes()).len() <= MAX_TEXT_BYTES);
        assert_eq!(cut("가나", 4), "가");
    }
}
