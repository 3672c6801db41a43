//! The facts the legal rules judge by: who sends, about which loan, and when.
//!
//! The rules never read the wording of a message except for one question — whether it talks
//! about repayment while collection is stopped — so these facts are all they need.

use super::date::Date;
use super::weekly_window::WeeklyWindow;

/// The sender's part in the loan of the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SenderRole {
    /// Lent the money; the only role whose messages can be collection.
    Lender,
    Borrower,
    /// Guarantees the loan; never collects through the chat.
    Guarantor,
    /// Anyone else in the room (support staff, an observer).
    Other,
}

/// Where the loan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoanState {
    /// Running; collection starts once the due date has passed in Seoul.
    Active,
    /// Overdue: in collection.
    Overdue,
    /// The borrower has paused collection (개인채무자보호법, up to 3 months).
    Paused,
    /// Repaid or forgiven: nothing is owed.
    Discharged,
    /// The borrower disputes the debt.
    Disputed,
}

impl LoanState {
    pub fn as_str(self) -> &'static str {
        match self {
            LoanState::Active => "active",
            LoanState::Overdue => "overdue",
            LoanState::Paused => "paused",
            LoanState::Discharged => "discharged",
            LoanState::Disputed => "disputed",
        }
    }
}

/// The loan behind a room, as far as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanFacts {
    pub state: LoanState,
    /// A calendar day in Seoul; collection may start the day after.
    pub due_date: Date,
    /// The borrower's weekly do-not-contact slots.
    pub do_not_contact: Vec<WeeklyWindow>,
}

/// One message to judge.
#[derive(Debug, Clone, Copy)]
pub struct RuleInput<'a> {
    /// When the message is sent, in milliseconds since the Unix epoch (UTC).
    pub now_ms: u64,
    pub role: SenderRole,
    /// The room's loan; a room without one has no collection.
    pub loan: Option<&'a LoanFacts>,
    /// The message text as sent.
    pub text: &'a str,
}
