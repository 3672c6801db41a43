//! Harassment and illegal-collection detection for loan chats: text in, verdict out.
//!
//! Two independent judges look at every message. The *model* (`model`, `features`) scores
//! the text for seven categories of abusive or unlawful collection language. The *legal rules*
//! (`rules`) look only at facts — who sends, the loan's state, the time in Asia/Seoul, how
//! often the lender has made contact — and read the wording only to tell whether a lender
//! talks about repayment while collection is stopped. A [`Decision`] combines them.
//!
//! This crate knows nothing about MQTT: the broker's moderate stage feeds it text and facts
//! and turns the verdict into delivery, notices and stored evidence.

mod category;
mod chars;
pub mod classifier;
pub mod cli;
mod decision;
pub mod error;
pub mod features;
pub mod hash;
pub mod jamo;
pub mod model;
pub mod normalize;
pub mod policy;
pub mod pool;
mod rules;
mod runtime;
pub mod scores;

pub use category::{Category, CategoryError};
pub use classifier::Classifier;
pub use decision::Decision;
pub use error::FilterError;
pub use features::{features, FeatureExtractor, FeatureVector};
pub use model::{init_runtime, ModelInfo, ModelSource};
pub use normalize::normalize;
pub use policy::{ModelVerdict, Policy, ThresholdError, Thresholds};
pub use pool::{ModerationPool, PoolConfig, PoolStats};
pub use rules::{
    check_annual_rate_bp, evaluate, is_night, kst, mentions_repayment, parse_annual_rate, release_time, AnnualRate,
    ContactLedger, Date, DateError, DoNotContactPolicy, LimitPolicy, LoanFacts, LoanState, NightPolicy, PolicyError,
    RateError, Rule, RuleHit, RuleInput, RuleOutcome, RulePolicy, SenderRole, WeeklyWindow, MAX_ANNUAL_RATE_BP,
    MAX_CONTACTS_LIMIT, MAX_WINDOW_DAYS, RELEASE_HORIZON_MS,
};
pub use scores::Scores;
