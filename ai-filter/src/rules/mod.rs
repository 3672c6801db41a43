//! The legal rules of debt collection in Korea, as product policy: facts in, verdict out.
//!
//! The model judges *how* something is said; these rules judge *when* and *how often* a
//! lender may make collection contact at all, which no wording changes: not at night
//! (21:00–08:00 in Seoul), not in the borrower's do-not-contact slots, at most 7 times in 7
//! days, and not about repayment while collection is paused, the loan discharged or disputed.
//! They also hold the legal maximum of interest (20 % a year).
//!
//! Everything here is pure: the time is an input, nothing is read from a clock, a disk or the
//! network, and the contact ledger changes only when the broker records an accepted message.
//! So the broker can evaluate, persist, replay and test the rules deterministically.
//!
//! - `date`, `kst` — calendar arithmetic and Seoul local time;
//! - `night`, `weekly_window`, `release` — the night window, do-not-contact slots and when a
//!   held message is released;
//! - `ledger` — counted contacts of a loan; `repayment` — the repayment keyword test;
//! - `facts`, `policy`, `outcome` — what is judged, how strictly, and the verdict;
//! - `evaluate` — the rules applied to one message; `rate` — the interest ceiling.

mod date;
mod evaluate;
mod facts;
pub mod kst;
mod ledger;
mod night;
mod outcome;
mod policy;
mod rate;
mod release;
mod repayment;
mod weekly_window;

pub use date::{Date, DateError};
pub use evaluate::evaluate;
pub use facts::{LoanFacts, LoanState, RuleInput, SenderRole};
pub use ledger::ContactLedger;
pub use night::is_night;
pub use outcome::{Rule, RuleHit, RuleOutcome};
pub use policy::{DoNotContactPolicy, LimitPolicy, NightPolicy, PolicyError, RulePolicy, MAX_CONTACTS_LIMIT, MAX_WINDOW_DAYS};
pub use rate::{check_annual_rate_bp, parse_annual_rate, AnnualRate, RateError, MAX_ANNUAL_RATE_BP};
pub use release::{release_time, RELEASE_HORIZON_MS};
pub use repayment::mentions_repayment;
pub use weekly_window::WeeklyWindow;
