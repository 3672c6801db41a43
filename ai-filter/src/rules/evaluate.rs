//! Judging one message by the rules of collection law: which rules apply, what they decide,
//! and whether the message counts as a collection contact.
//!
//! A message is a *collection message* when the loan's lender writes while the loan is in
//! collection: `Overdue`, or `Active` with the due date already past in Seoul. Collection
//! messages meet the night window, the do-not-contact slots and the contact limit. While
//! collection is stopped (`Paused`, `Discharged`, `Disputed`) the lender's repayment talk is
//! refused and anything else passes. Borrowers, guarantors and others are never collection.
//!
//! Evaluation reads the ledger and never changes it: the broker calls
//! [`ContactLedger::record`] with the outcome once it has accepted the message.

use crate::Decision;

use super::facts::{LoanFacts, LoanState, RuleInput, SenderRole};
use super::kst;
use super::ledger::ContactLedger;
use super::night::is_night;
use super::outcome::{LedgerBounds, Rule, RuleHit, RuleOutcome};
use super::policy::{DoNotContactPolicy, LimitPolicy, NightPolicy, RulePolicy};
use super::release::release_time;
use super::repayment::mentions_repayment;
use super::weekly_window::blocked_until;

/// The verdict of the legal rules on one message.
pub fn evaluate(input: &RuleInput, ledger: &ContactLedger, policy: &RulePolicy) -> RuleOutcome {
    let keep = usize::try_from(policy.contact_limit()).map_or(usize::MAX, |limit| limit.saturating_add(1));
    let mut outcome = RuleOutcome { ledger: LedgerBounds { window_ms: policy.window_ms(), keep }, ..RuleOutcome::default() };
    let Some(loan) = input.loan else {
        return outcome;
    };
    if input.role != SenderRole::Lender {
        return outcome;
    }
    match loan.state {
        LoanState::Paused | LoanState::Discharged | LoanState::Disputed => {
            if mentions_repayment(input.text) {
                outcome.hits.push(stopped(loan.state));
            }
        }
        LoanState::Active if kst::date(input.now_ms) <= loan.due_date => {}
        LoanState::Active | LoanState::Overdue => {
            outcome.collection = true;
            collection_hits(input.now_ms, loan, ledger, policy, &mut outcome.hits);
        }
    }
    outcome.decision = outcome.hits.iter().map(|hit| hit.decision).max().unwrap_or(Decision::Allow);
    if outcome.decision == Decision::Hold {
        outcome.release_at_ms = outcome.hits.iter().find_map(|hit| hit.release_at_ms);
    }
    outcome.counts_as_contact = outcome.collection && outcome.decision != Decision::Block && !ledger.is_reply(input.now_ms);
    outcome
}

/// The refusal of repayment talk while collection is stopped.
fn stopped(state: LoanState) -> RuleHit {
    let (rule, reason) = match state {
        LoanState::Paused => (
            Rule::CollectionPaused,
            "the borrower has paused collection of this loan (state: paused); \
             messages about repayment are not delivered while the pause lasts",
        ),
        LoanState::Disputed => (
            Rule::LoanDisputed,
            "the borrower disputes this loan (state: disputed); \
             messages about repayment are not delivered until the dispute is settled",
        ),
        _ => (
            Rule::LoanDischarged,
            "this loan is discharged, repaid or forgiven (state: discharged); \
             nothing is owed, so messages about repayment are not delivered",
        ),
    };
    RuleHit { rule, decision: Decision::Block, reason: reason.to_string(), release_at_ms: None }
}

/// The hits of the night window, the do-not-contact slots and the contact limit, in that
/// order, for a collection message.
fn collection_hits(now_ms: u64, loan: &LoanFacts, ledger: &ContactLedger, policy: &RulePolicy, hits: &mut Vec<RuleHit>) {
    let night = is_night(now_ms);
    let slot_end = blocked_until(&loan.do_not_contact, now_ms);
    let holds =
        (night && policy.night == NightPolicy::Hold) || (slot_end.is_some() && policy.do_not_contact == DoNotContactPolicy::Hold);
    // A held message is never released into a slot, whatever the slot policy: delivery is
    // the contact.
    let release = if holds { release_time(now_ms, policy.night == NightPolicy::Hold, &loan.do_not_contact) } else { None };
    let held_until = |release: u64| format!("the message is held until {}", kst::format(release));

    if night {
        hits.push(match (policy.night, release) {
            (NightPolicy::Hold, Some(release)) => RuleHit {
                rule: Rule::NightWindow,
                decision: Decision::Hold,
                reason: format!(
                    "collection contact is not allowed between 21:00 and 08:00 (Asia/Seoul); {}",
                    held_until(release)
                ),
                release_at_ms: Some(release),
            },
            // No release within the horizon: the slots refuse it below.
            (NightPolicy::Hold, None) => RuleHit {
                rule: Rule::NightWindow,
                decision: Decision::Hold,
                reason: "collection contact is not allowed between 21:00 and 08:00 (Asia/Seoul)".to_string(),
                release_at_ms: None,
            },
            (NightPolicy::Warn, _) => RuleHit {
                rule: Rule::NightWindow,
                decision: Decision::Warn,
                reason: "collection contact between 21:00 and 08:00 (Asia/Seoul) is prohibited by the \
                         Fair Debt Collection Act; the message is delivered with a warning"
                    .to_string(),
                release_at_ms: None,
            },
        });
    }

    if let Some(end) = slot_end {
        let asked = format!("the borrower has asked not to be contacted until {}", kst::format(end));
        hits.push(match (policy.do_not_contact, release) {
            (DoNotContactPolicy::Hold, Some(release)) => RuleHit {
                rule: Rule::DoNotContact,
                decision: Decision::Hold,
                reason: format!("{asked}; {}", held_until(release)),
                release_at_ms: Some(release),
            },
            (DoNotContactPolicy::Block, _) => RuleHit {
                rule: Rule::DoNotContact,
                decision: Decision::Block,
                reason: format!("{asked}; the message was not delivered"),
                release_at_ms: None,
            },
            (DoNotContactPolicy::Hold, None) => no_free_time(),
        });
    } else if holds && release.is_none() {
        hits.push(no_free_time());
    }

    if !ledger.is_reply(now_ms) {
        if let Some(hit) = over_limit(now_ms, ledger, policy) {
            hits.push(hit);
        }
    }
}

/// The refusal of a held message that no instant within the release horizon could deliver.
fn no_free_time() -> RuleHit {
    RuleHit {
        rule: Rule::DoNotContact,
        decision: Decision::Block,
        reason: "the borrower's do-not-contact times leave no time in the coming week to deliver \
                 a collection message; the message was not delivered"
            .to_string(),
        release_at_ms: None,
    }
}

/// The contact limit's hit, when this message would be one contact too many.
fn over_limit(now_ms: u64, ledger: &ContactLedger, policy: &RulePolicy) -> Option<RuleHit> {
    let limit = policy.contact_limit();
    let counted = ledger.counted_in_window(now_ms, policy);
    if counted < limit {
        return None;
    }
    let days = policy.window_days.min(super::policy::MAX_WINDOW_DAYS);
    let allowed = format!("at most {limit} collection contacts per {days} days are allowed for a loan");
    Some(match policy.contact_limit {
        LimitPolicy::Refuse => {
            let next = ledger
                .next_free_at(now_ms, policy)
                .map(|at| format!("; the next is possible from {}", kst::format(at)))
                .unwrap_or_default();
            RuleHit {
                rule: Rule::ContactLimit,
                decision: Decision::Block,
                reason: format!("{allowed} and {counted} were made in the last {days} days, so this message was refused{next}"),
                release_at_ms: None,
            }
        }
        LimitPolicy::Flag => RuleHit {
            rule: Rule::ContactLimit,
            decision: Decision::Warn,
            reason: format!(
                "this is collection contact {} within {days} days; {allowed} (Fair Debt Collection Act)",
                counted.saturating_add(1)
            ),
            release_at_ms: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::date::Date;
    use super::super::kst::tests::at;
    use super::super::weekly_window::WeeklyWindow;
    use super::*;

    const MON: u8 = 1;
    const FRI: u8 = 1 << 4;
    const SUN: u8 = 1 << 6;
    const HOUR: u64 = kst::MS_PER_HOUR;
    const DAY: u64 = kst::MS_PER_DAY;

    fn loan(state: LoanState, due: &str, do_not_contact: Vec<WeeklyWindow>) -> LoanFacts {
        let due_date: Date = due.parse().expect("due date");
        LoanFacts { state, due_date, do_not_contact }
    }

    fn overdue() -> LoanFacts {
        loan(LoanState::Overdue, "2025-02-28", Vec::new())
    }

    fn judge(now_ms: u64, role: SenderRole, loan: &LoanFacts, ledger: &ContactLedger, policy: &RulePolicy) -> RuleOutcome {
        evaluate(&RuleInput { now_ms, role, loan: Some(loan), text: "오늘 안으로 입금 부탁드립니다" }, ledger, policy)
    }

    fn lender(now_ms: u64, loan: &LoanFacts) -> RuleOutcome {
        judge(now_ms, SenderRole::Lender, loan, &ContactLedger::new(), &RulePolicy::default())
    }

    fn rules(outcome: &RuleOutcome) -> Vec<Rule> {
        outcome.hits.iter().map(|hit| hit.rule).collect()
    }

    #[test]
    fn only_the_lender_collects() {
        let loan = overdue();
        let night = at("2025-03-07 23:00");
        for role in [SenderRole::Borrower, SenderRole::Guarantor, SenderRole::Other] {
            let outcome = judge(night, role, &loan, &ContactLedger::new(), &RulePolicy::default());
            assert_eq!(outcome.decision, Decision::Allow, "{role:?}");
            assert!(outcome.hits.is_empty() && !outcome.collection && !outcome.counts_as_contact, "{role:?}");
        }
        let no_loan = RuleInput { now_ms: night, role: SenderRole::Lender, loan: None, text: "갚아" };
        let outcome = evaluate(&no_loan, &ContactLedger::new(), &RulePolicy::default());
        assert_eq!((outcome.decision, outcome.collection), (Decision::Allow, false));
        let outcome = lender(night, &loan);
        assert_eq!((outcome.decision, outcome.collection, outcome.counts_as_contact), (Decision::Hold, true, true));
    }

    #[test]
    fn collection_starts_the_day_after_the_due_date_in_seoul() {
        let loan = loan(LoanState::Active, "2025-03-07", Vec::new());
        // Before and on the due date no rule applies, not even at night.
        for now in [at("2025-03-06 23:59"), at("2025-03-07 00:00"), at("2025-03-07 23:59:59.999")] {
            let outcome = lender(now, &loan);
            assert_eq!((outcome.decision, outcome.collection, outcome.counts_as_contact), (Decision::Allow, false, false));
        }
        // 00:00 on 8 March in Seoul is still 7 March in UTC: the date is taken in Seoul.
        let midnight = at("2025-03-08 00:00");
        assert_eq!(midnight % DAY, 15 * HOUR);
        let outcome = lender(midnight, &loan);
        assert!(outcome.collection && outcome.counts_as_contact);
        assert_eq!((outcome.decision, outcome.release_at_ms), (Decision::Hold, Some(at("2025-03-08 08:00"))));
        let outcome = lender(at("2025-03-08 12:00"), &loan);
        assert_eq!((outcome.decision, outcome.collection), (Decision::Allow, true));
    }

    #[test]
    fn night_edges() {
        let loan = overdue();
        let day = lender(at("2025-03-07 20:59:59.999"), &loan);
        assert_eq!((day.decision, day.collection, day.counts_as_contact, day.release_at_ms), (Decision::Allow, true, true, None));
        let evening = lender(at("2025-03-07 21:00"), &loan);
        assert_eq!((evening.decision, evening.release_at_ms), (Decision::Hold, Some(at("2025-03-08 08:00"))));
        assert_eq!(rules(&evening), [Rule::NightWindow]);
        assert_eq!(evening.hits[0].release_at_ms, Some(at("2025-03-08 08:00")));
        assert!(evening.hits[0].reason.contains("held until 2025-03-08 08:00 KST"), "{}", evening.hits[0].reason);
        assert!(evening.counts_as_contact, "a held message is delivered, so it counts");
        let morning = lender(at("2025-03-08 07:59:59.999"), &loan);
        assert_eq!((morning.decision, morning.release_at_ms), (Decision::Hold, Some(at("2025-03-08 08:00"))));
        let eight = lender(at("2025-03-08 08:00"), &loan);
        assert_eq!((eight.decision, eight.hits.len()), (Decision::Allow, 0));
    }

    #[test]
    fn the_night_releases_across_month_and_year_ends() {
        let loan = overdue();
        for (now, release) in [
            ("2025-03-31 21:00", "2025-04-01 08:00"),
            ("2025-12-31 23:30", "2026-01-01 08:00"),
            ("2028-02-28 21:00", "2028-02-29 08:00"),
            ("2100-02-28 22:00", "2100-03-01 08:00"),
        ] {
            assert_eq!(lender(at(now), &loan).release_at_ms, Some(at(release)), "{now}");
        }
    }

    #[test]
    fn the_night_may_warn_instead() {
        let policy = RulePolicy { night: NightPolicy::Warn, ..RulePolicy::default() };
        let outcome = judge(at("2025-03-07 21:00"), SenderRole::Lender, &overdue(), &ContactLedger::new(), &policy);
        assert_eq!((outcome.decision, outcome.release_at_ms, outcome.counts_as_contact), (Decision::Warn, None, true));
        assert_eq!(rules(&outcome), [Rule::NightWindow]);
    }

    #[test]
    fn an_overnight_slot_after_the_night_releases_at_its_end() {
        // 2025-03-07 is a Friday.
        let friday_night = WeeklyWindow { days: FRI, start_minute: 22 * 60, end_minute: 9 * 60 };
        let loan = loan(LoanState::Overdue, "2025-02-28", vec![friday_night]);
        let inside = lender(at("2025-03-07 22:30"), &loan);
        assert_eq!(rules(&inside), [Rule::NightWindow, Rule::DoNotContact]);
        assert_eq!((inside.decision, inside.release_at_ms), (Decision::Hold, Some(at("2025-03-08 09:00"))));
        assert!(inside.hits.iter().all(|hit| hit.release_at_ms == Some(at("2025-03-08 09:00"))));
        assert!(inside.hits[1].reason.contains("not to be contacted until 2025-03-08 09:00 KST"), "{}", inside.hits[1].reason);
        // Held by the night before the slot starts: still not released into the slot.
        let before = lender(at("2025-03-07 21:30"), &loan);
        assert_eq!((rules(&before), before.release_at_ms), (vec![Rule::NightWindow], Some(at("2025-03-08 09:00"))));
        // Between the night's end and the slot's end only the slot holds.
        let after_eight = lender(at("2025-03-08 08:30"), &loan);
        assert_eq!((rules(&after_eight), after_eight.release_at_ms), (vec![Rule::DoNotContact], Some(at("2025-03-08 09:00"))));
        assert_eq!(lender(at("2025-03-08 09:00"), &loan).decision, Decision::Allow);
    }

    #[test]
    fn slot_edges_and_the_block_policy() {
        let lunch = WeeklyWindow { days: MON, start_minute: 12 * 60, end_minute: 13 * 60 };
        let loan = loan(LoanState::Overdue, "2025-02-28", vec![lunch]);
        // 2025-03-10 is a Monday.
        assert_eq!(lender(at("2025-03-10 11:59:59.999"), &loan).decision, Decision::Allow);
        let noon = lender(at("2025-03-10 12:00"), &loan);
        assert_eq!((noon.decision, noon.release_at_ms), (Decision::Hold, Some(at("2025-03-10 13:00"))));
        assert_eq!(lender(at("2025-03-10 13:00"), &loan).decision, Decision::Allow);
        assert_eq!(lender(at("2025-03-11 12:30"), &loan).decision, Decision::Allow, "Tuesday is free");

        let block = RulePolicy { do_not_contact: DoNotContactPolicy::Block, ..RulePolicy::default() };
        let refused = judge(at("2025-03-10 12:30"), SenderRole::Lender, &loan, &ContactLedger::new(), &block);
        assert_eq!((refused.decision, refused.release_at_ms), (Decision::Block, None));
        assert!(!refused.counts_as_contact && refused.collection);
    }

    #[test]
    fn a_sunday_slot_wraps_to_monday() {
        let sunday_late = WeeklyWindow { days: SUN, start_minute: 23 * 60, end_minute: 9 * 60 };
        let loan = loan(LoanState::Overdue, "2025-02-28", vec![sunday_late]);
        let outcome = lender(at("2025-03-10 03:00"), &loan);
        assert_eq!(rules(&outcome), [Rule::NightWindow, Rule::DoNotContact]);
        assert_eq!(outcome.release_at_ms, Some(at("2025-03-10 09:00")));
        let sunday_evening = lender(at("2025-03-09 21:30"), &loan);
        assert_eq!(sunday_evening.release_at_ms, Some(at("2025-03-10 09:00")));
    }

    #[test]
    fn slots_without_any_free_time_refuse() {
        let always = WeeklyWindow { days: 0x7f, start_minute: 0, end_minute: 0 };
        let loan = loan(LoanState::Overdue, "2025-02-28", vec![always]);
        let outcome = lender(at("2025-03-10 12:00"), &loan);
        assert_eq!((outcome.decision, outcome.release_at_ms, outcome.counts_as_contact), (Decision::Block, None, false));
    }

    /// A ledger with a counted contact every hour from `first`.
    fn ledger_with(contacts: u64, first: u64, loan: &LoanFacts, policy: &RulePolicy) -> ContactLedger {
        let mut ledger = ContactLedger::new();
        for n in 0..contacts {
            let now = first + n * HOUR;
            let outcome = judge(now, SenderRole::Lender, loan, &ledger, policy);
            assert_eq!((outcome.decision, outcome.counts_as_contact), (Decision::Allow, true), "contact {}", n + 1);
            ledger.record(&outcome, now);
        }
        ledger
    }

    #[test]
    fn the_eighth_contact_in_seven_days_is_refused() {
        let (loan, policy) = (overdue(), RulePolicy::default());
        let first = at("2025-03-03 10:00");
        let mut ledger = ledger_with(7, first, &loan, &policy);
        assert_eq!(ledger.counted_in_window(first + 7 * HOUR, &policy), 7);

        let eighth = judge(first + 7 * HOUR, SenderRole::Lender, &loan, &ledger, &policy);
        assert_eq!((eighth.decision, eighth.counts_as_contact), (Decision::Block, false));
        assert_eq!(rules(&eighth), [Rule::ContactLimit]);
        assert!(eighth.hits[0].reason.contains("next is possible from 2025-03-10 10:00 KST"), "{}", eighth.hits[0].reason);
        ledger.record(&eighth, first + 7 * HOUR);
        assert_eq!(ledger.counted_in_window(first + 7 * HOUR, &policy), 7, "a refused message does not count");

        // A millisecond before the first contact is 7 × 24 h old it still counts; then not.
        let early = judge(first + 7 * DAY - 1, SenderRole::Lender, &loan, &ledger, &policy);
        assert_eq!(early.decision, Decision::Block);
        let on_time = judge(first + 7 * DAY, SenderRole::Lender, &loan, &ledger, &policy);
        assert_eq!((on_time.decision, on_time.counts_as_contact), (Decision::Allow, true));
    }

    #[test]
    fn the_eighth_contact_may_be_flagged_and_counts() {
        let (loan, policy) = (overdue(), RulePolicy { contact_limit: LimitPolicy::Flag, ..RulePolicy::default() });
        let first = at("2025-03-03 10:00");
        let mut ledger = ledger_with(7, first, &loan, &policy);
        let eighth = judge(first + 7 * HOUR, SenderRole::Lender, &loan, &ledger, &policy);
        assert_eq!((eighth.decision, eighth.counts_as_contact), (Decision::Warn, true));
        assert!(eighth.hits[0].reason.contains("contact 8 within 7 days"), "{}", eighth.hits[0].reason);
        ledger.record(&eighth, first + 7 * HOUR);
        assert_eq!(ledger.counted_in_window(first + 7 * HOUR, &policy), 8);
    }

    #[test]
    fn a_same_day_reply_to_the_borrower_does_not_count() {
        let (loan, policy) = (overdue(), RulePolicy::default());
        let first = at("2025-03-03 10:00");
        let mut ledger = ledger_with(7, first, &loan, &policy);
        ledger.record_borrower_message(at("2025-03-03 18:00"));

        let reply = judge(at("2025-03-03 18:30"), SenderRole::Lender, &loan, &ledger, &policy);
        assert_eq!((reply.decision, reply.collection, reply.counts_as_contact), (Decision::Allow, true, false));
        ledger.record(&reply, at("2025-03-03 18:30"));
        assert_eq!(ledger.counted_in_window(at("2025-03-03 18:30"), &policy), 7);

        // A reply at night is still held: it is collection, it just does not count.
        let late = judge(at("2025-03-03 22:00"), SenderRole::Lender, &loan, &ledger, &policy);
        assert_eq!((late.decision, late.counts_as_contact), (Decision::Hold, false));

        // The next day in Seoul it is a contact again, and the eighth.
        let next_day = judge(at("2025-03-04 09:00"), SenderRole::Lender, &loan, &ledger, &policy);
        assert_eq!((next_day.decision, next_day.counts_as_contact), (Decision::Block, false));
        let fresh = ContactLedger::new();
        let mut replied = fresh.clone();
        replied.record_borrower_message(at("2025-03-03 23:00"));
        let after_midnight = judge(at("2025-03-04 00:30"), SenderRole::Lender, &loan, &replied, &policy);
        assert!(after_midnight.counts_as_contact, "00:30 is the next day in Seoul");
    }

    #[test]
    fn stopped_collection_refuses_repayment_talk_only() {
        for (state, rule, name) in [
            (LoanState::Paused, Rule::CollectionPaused, "paused"),
            (LoanState::Discharged, Rule::LoanDischarged, "discharged"),
            (LoanState::Disputed, Rule::LoanDisputed, "disputed"),
        ] {
            let loan = loan(state, "2025-02-28", Vec::new());
            let talk = |text: &str, now: u64| {
                evaluate(
                    &RuleInput { now_ms: now, role: SenderRole::Lender, loan: Some(&loan), text },
                    &ContactLedger::new(),
                    &RulePolicy::default(),
                )
            };
            let repayment = talk("남은 돈 언제 갚을 거야?", at("2025-03-10 12:00"));
            assert_eq!((repayment.decision, rules(&repayment)), (Decision::Block, vec![rule]), "{name}");
            assert!(repayment.hits[0].reason.contains(name), "{}", repayment.hits[0].reason);
            assert!(!repayment.collection && !repayment.counts_as_contact);
            assert_eq!(talk("please repay the loan", at("2025-03-10 12:00")).decision, Decision::Block, "{name}");

            for small_talk in ["고마워, 잘 지내?", "see you at the wedding"] {
                for now in [at("2025-03-10 12:00"), at("2025-03-10 23:00")] {
                    let outcome = talk(small_talk, now);
                    assert_eq!(
                        (outcome.decision, outcome.collection, outcome.counts_as_contact),
                        (Decision::Allow, false, false),
                        "{name}: {small_talk}"
                    );
                }
            }
            // The borrower may talk about repayment.
            let borrower = evaluate(
                &RuleInput {
                    now_ms: at("2025-03-10 12:00"),
                    role: SenderRole::Borrower,
                    loan: Some(&loan),
                    text: "다음 주에 갚을게",
                },
                &ContactLedger::new(),
                &RulePolicy::default(),
            );
            assert_eq!(borrower.decision, Decision::Allow);
        }
    }

    #[test]
    fn a_default_outcome_leaves_the_ledger_alone() {
        let (loan, policy) = (overdue(), RulePolicy::default());
        let mut ledger = ledger_with(3, at("2025-03-03 10:00"), &loan, &policy);
        let before = ledger.clone();
        ledger.record(&RuleOutcome::default(), at("2025-04-03 10:00"));
        assert_eq!(ledger, before);
    }
}
