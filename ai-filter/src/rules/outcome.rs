//! What the legal rules decided about one message, and why.

use std::fmt;

use crate::Decision;

/// A rule of collection law that can apply to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// No collection contact 21:00–08:00 KST.
    NightWindow,
    /// Not inside the borrower's do-not-contact slots.
    DoNotContact,
    /// At most `max_contacts` collection contacts per `window_days`.
    ContactLimit,
    /// The borrower paused collection: no repayment talk.
    CollectionPaused,
    /// Nothing is owed any more: no repayment talk.
    LoanDischarged,
    /// The debt is disputed: no repayment talk.
    LoanDisputed,
}

impl Rule {
    /// The rule's name in verdicts, notices and stored evidence.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::NightWindow => "night_window",
            Rule::DoNotContact => "do_not_contact",
            Rule::ContactLimit => "contact_limit",
            Rule::CollectionPaused => "collection_paused",
            Rule::LoanDischarged => "loan_discharged",
            Rule::LoanDisputed => "loan_disputed",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule that applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleHit {
    pub rule: Rule,
    pub decision: Decision,
    /// Why, in English, addressed to the sender.
    pub reason: String,
    /// For a hold: when the message is released (the same instant for every holding rule,
    /// the first at which none of them applies).
    pub release_at_ms: Option<u64>,
}

/// How many counted contacts the ledger keeps, and for how long; set by the evaluation so
/// that [`ContactLedger::record`](super::ContactLedger::record) stays bounded by the policy
/// it was judged under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct LedgerBounds {
    pub(crate) window_ms: u64,
    pub(crate) keep: usize,
}

/// The verdict of the legal rules on one message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleOutcome {
    /// Every rule that applied, in the order of [`Rule`].
    pub hits: Vec<RuleHit>,
    /// The strictest decision among the hits; `Allow` without hits.
    pub decision: Decision,
    /// When `decision` is `Hold`: the instant the message is released.
    pub release_at_ms: Option<u64>,
    /// Whether the message is a collection message (the lender writing while the loan is in
    /// collection). Repayment talk while collection is stopped is refused, not collection.
    pub collection: bool,
    /// Whether the message counts against the contact limit once the broker accepts it: a
    /// collection message that is not refused and not a same-day reply to the borrower.
    pub counts_as_contact: bool,
    pub(crate) ledger: LedgerBounds,
}

impl RuleOutcome {
    /// The hit of `rule`, if it applied.
    pub fn hit(&self, rule: Rule) -> Option<&RuleHit> {
        self.hits.iter().find(|hit| hit.rule == rule)
    }
}
