//! The broker's side of the harassment and illegal-collection detector.
//!
//! `tallymq-ai-filter` judges text and facts; this module connects it to MQTT and storage:
//! what a verdict looks like on a message (`verdict`), the per-loan contact counts the legal
//! rules need (`ledgers`), the notices to sender and recipient (`notices`), and the messages
//! held back until a rule releases them (`holds`). The stage itself is
//! [`crate::pipeline::Moderate`].

pub mod holds;
pub mod ledgers;
pub mod notices;
pub mod verdict;

pub use holds::Holds;
pub use ledgers::Ledgers;
pub use verdict::Verdict;
