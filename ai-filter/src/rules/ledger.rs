//! The contact ledger of one loan: how often the lender has made collection contact lately.
//!
//! The law allows at most 7 collection contacts per 7 days (a sliding window of 7 × 24 hours)
//! per loan, lender to borrower. A lender's message on the same Seoul day as, and after, a
//! message of the borrower answers the borrower and does not count.
//!
//! Judging a message reads the ledger; only [`ContactLedger::record`], called once the broker
//! has accepted the message, changes it, so evaluation is pure and a refused message leaves no
//! trace. The ledger is plain data (serde) so the broker can persist it or rebuild it by
//! replaying a room's history.

use serde::{Deserialize, Serialize};

use super::kst;
use super::outcome::RuleOutcome;
use super::policy::RulePolicy;

/// Counted collection contacts of one loan and the borrower's last message.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContactLedger {
    /// Instants of counted contacts still inside the window, oldest first; at most the
    /// policy's limit plus one (enough to tell "over the limit").
    contacts: Vec<u64>,
    /// When the borrower last wrote.
    last_borrower_ms: Option<u64>,
}

impl ContactLedger {
    pub fn new() -> ContactLedger {
        ContactLedger::default()
    }

    /// The borrower wrote at `now_ms`: the lender's answers later that day are replies.
    pub fn record_borrower_message(&mut self, now_ms: u64) {
        self.last_borrower_ms = Some(self.last_borrower_ms.map_or(now_ms, |last| last.max(now_ms)));
    }

    /// When the borrower last wrote.
    pub fn last_borrower_message_ms(&self) -> Option<u64> {
        self.last_borrower_ms
    }

    /// The counted contacts kept, oldest first.
    pub fn contacts(&self) -> &[u64] {
        &self.contacts
    }

    /// Whether a lender message at `now_ms` answers the borrower: the borrower wrote earlier
    /// (or at the same millisecond) on the same day in Seoul.
    pub fn is_reply(&self, now_ms: u64) -> bool {
        self.last_borrower_ms.is_some_and(|last| last <= now_ms && kst::local_day_number(last) == kst::local_day_number(now_ms))
    }

    /// Counted contacts within the window ending at `now_ms`: those less than `window_days`
    /// × 24 h old. A contact exactly a window old has left it.
    pub fn counted_in_window(&self, now_ms: u64, policy: &RulePolicy) -> u32 {
        let window = policy.window_ms();
        let count = self.contacts.iter().filter(|&&at| in_window(at, now_ms, window)).count();
        u32::try_from(count).unwrap_or(u32::MAX)
    }

    /// When the number of counted contacts in the window drops below the limit again, if it
    /// is at the limit or above at `now_ms`.
    pub fn next_free_at(&self, now_ms: u64, policy: &RulePolicy) -> Option<u64> {
        let window = policy.window_ms();
        let mut inside: Vec<u64> = self.contacts.iter().copied().filter(|&at| in_window(at, now_ms, window)).collect();
        inside.sort_unstable();
        let limit = usize::try_from(policy.contact_limit()).unwrap_or(usize::MAX);
        // Once the contact at this index has left the window, fewer than `limit` remain.
        let index = inside.len().checked_sub(limit)?;
        inside.get(index).map(|at| at.saturating_add(window))
    }

    /// Applies a verdict the broker has accepted: a counted contact is added at `now_ms`.
    /// Every call drops contacts that have left the window and keeps at most the limit plus
    /// one, the newest.
    pub fn record(&mut self, outcome: &RuleOutcome, now_ms: u64) {
        if outcome.counts_as_contact {
            self.contacts.push(now_ms);
        }
        let bounds = outcome.ledger;
        if bounds.keep == 0 {
            // Not an evaluation's outcome (`RuleOutcome::default()`): nothing to bound by.
            return;
        }
        self.contacts.retain(|&at| in_window(at, now_ms, bounds.window_ms));
        self.contacts.sort_unstable();
        if self.contacts.len() > bounds.keep {
            let excess = self.contacts.len() - bounds.keep;
            self.contacts.drain(..excess);
        }
    }
}

/// Whether a contact at `at` is inside the window of `window_ms` ending at `now_ms`. A
/// contact stamped after `now_ms` (clocks disagree) is inside.
fn in_window(at: u64, now_ms: u64, window_ms: u64) -> bool {
    now_ms.saturating_sub(at) < window_ms
}

#[cfg(test)]
mod tests {
    use super::super::kst::tests::at;
    use super::super::outcome::LedgerBounds;
    use super::*;

    const DAY: u64 = kst::MS_PER_DAY;

    fn counted(policy: &RulePolicy) -> RuleOutcome {
        RuleOutcome {
            collection: true,
            counts_as_contact: true,
            ledger: LedgerBounds { window_ms: policy.window_ms(), keep: policy.contact_limit() as usize + 1 },
            ..RuleOutcome::default()
        }
    }

    #[test]
    fn contacts_leave_the_window_after_exactly_seven_days() {
        let policy = RulePolicy::default();
        let mut ledger = ContactLedger::new();
        let first = at("2025-03-03 10:00");
        ledger.record(&counted(&policy), first);
        ledger.record(&counted(&policy), first + DAY);
        assert_eq!(ledger.counted_in_window(first + DAY, &policy), 2);
        assert_eq!(ledger.counted_in_window(first + 7 * DAY - 1, &policy), 2);
        assert_eq!(ledger.counted_in_window(first + 7 * DAY, &policy), 1);
        assert_eq!(ledger.counted_in_window(first + 8 * DAY, &policy), 0);
    }

    #[test]
    fn the_ledger_stays_bounded() {
        let policy = RulePolicy::default();
        let mut ledger = ContactLedger::new();
        let start = at("2025-03-03 10:00");
        for hour in 0..50 {
            ledger.record(&counted(&policy), start + hour * kst::MS_PER_HOUR);
        }
        assert_eq!(ledger.contacts().len(), 8, "the limit plus one");
        assert_eq!(ledger.contacts()[0], start + 42 * kst::MS_PER_HOUR, "the newest are kept");
        // A later call drops what has expired, even if it does not count itself.
        let quiet = RuleOutcome { counts_as_contact: false, ..counted(&policy) };
        ledger.record(&quiet, start + 49 * kst::MS_PER_HOUR + 7 * DAY);
        assert!(ledger.contacts().is_empty());
    }

    #[test]
    fn the_next_free_moment_is_when_the_oldest_needed_contact_expires() {
        let policy = RulePolicy { max_contacts: 2, ..RulePolicy::default() };
        let mut ledger = ContactLedger::new();
        let start = at("2025-03-03 10:00");
        ledger.record(&counted(&policy), start);
        assert_eq!(ledger.next_free_at(start, &policy), None);
        ledger.record(&counted(&policy), start + DAY);
        assert_eq!(ledger.next_free_at(start + DAY, &policy), Some(start + 7 * DAY));
        ledger.record(&counted(&policy), start + 2 * DAY);
        assert_eq!(ledger.next_free_at(start + 2 * DAY, &policy), Some(start + 8 * DAY));
    }

    #[test]
    fn replies_are_same_day_and_after_the_borrower() {
        let mut ledger = ContactLedger::new();
        assert!(!ledger.is_reply(at("2025-03-03 10:00")));
        ledger.record_borrower_message(at("2025-03-03 10:00"));
        assert!(ledger.is_reply(at("2025-03-03 10:00")));
        assert!(ledger.is_reply(at("2025-03-03 23:59:59.999")));
        assert!(!ledger.is_reply(at("2025-03-03 09:59")), "before the borrower wrote");
        assert!(!ledger.is_reply(at("2025-03-04 00:00")), "the next day in Seoul");
        // An older message does not move the borrower's last one back.
        ledger.record_borrower_message(at("2025-03-02 10:00"));
        assert_eq!(ledger.last_borrower_message_ms(), Some(at("2025-03-03 10:00")));
    }

    #[test]
    fn survives_a_serde_round_trip() {
        let policy = RulePolicy::default();
        let mut ledger = ContactLedger::new();
        ledger.record(&counted(&policy), at("2025-03-03 10:00"));
        ledger.record_borrower_message(at("2025-03-03 11:00"));
        let json = serde_json::to_string(&ledger).expect("serialize");
        let back: ContactLedger = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, ledger);
    }
}
