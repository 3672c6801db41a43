//! Writes nobody waits for ride along with the next commit.
//!
//! `Store::apply_later` changes (a delivered message leaving a session's queue, a session's
//! last-seen time) need no sync and no reply. Sent one by one, each would wake the commit
//! thread for a batch of its own: at human chat rates that is one more thread hand-off per
//! message. Instead they wait here and the commit thread takes them into its next batch,
//! which at such rates is the next message's. If no batch takes a change within
//! `storage.later_writes_delay_ms`, a timer wakes the commit thread for it (a timer that
//! finds only younger changes, the older ones taken meanwhile, waits for the oldest); past
//! `storage.max_later_writes` changes, `apply_later` sends its changes through the queue as
//! before, waiting while it is full.
//!
//! Order: every write through the queue and every waiting change takes a ticket from one
//! counter. The commit thread takes a waiting change only into a batch that holds a queued
//! write with a later ticket (or a wake-up, which takes its ticket when it is sent), and
//! stages it ahead of the writes with later tickets. A change made before a write was sent
//! is therefore committed before it (or with it, ahead of it in the batch), and a change made
//! after a write was sent is committed with it or after it, as through the queue.
//!
//! What is lost with them: changes still waiting when the process dies (at most the delay's
//! worth), where before they were in the operating system's copy of the log. Only changes
//! that are safe to lose come here, as an unsynced write always was on power loss: a finished
//! delivery is delivered again (QoS 1 allows duplicates; QoS 2 resends only PUBREL), a
//! session's record keeps its previous state.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::commit::{Op, Queued, Request};

/// Changes waiting for the next commit, in ticket order. The bound counts single writes
/// (`Op`s), not calls.
pub(crate) struct LaterWrites {
    waiting: Mutex<Waiting>,
    tickets: AtomicU64,
    max_ops: usize,
    delay: Duration,
}

#[derive(Default)]
struct Waiting {
    /// Ticket, when it was made, the writes.
    changes: VecDeque<(u64, Instant, Vec<Op>)>,
    ops: usize,
    /// A timer will wake the commit thread; no other is started meanwhile.
    timer_running: bool,
}

/// What `apply_later` should do with its changes.
pub(crate) enum Deferral {
    /// They wait; nothing else to do.
    Waiting,
    /// They wait; start the timer that wakes the commit thread after the delay.
    StartTimer,
    /// Too many are waiting: send these through the queue.
    Full(Vec<Op>),
}

impl LaterWrites {
    pub(crate) fn new(max_ops: usize, delay: Duration) -> LaterWrites {
        LaterWrites { waiting: Mutex::new(Waiting::default()), tickets: AtomicU64::new(0), max_ops, delay }
    }

    /// The ticket of a write about to be sent through the queue.
    pub(crate) fn ticket(&self) -> u64 {
        self.tickets.fetch_add(1, Ordering::Relaxed)
    }

    /// Keeps `ops` for the next commit, unless `storage.max_later_writes` are waiting.
    pub(crate) fn defer(&self, ops: Vec<Op>) -> Deferral {
        let mut waiting = self.waiting.lock();
        if waiting.ops + ops.len() > self.max_ops {
            return Deferral::Full(ops);
        }
        // Taken under the lock, so waiting changes stay in ticket order.
        let ticket = self.ticket();
        waiting.ops += ops.len();
        waiting.changes.push_back((ticket, Instant::now(), ops));
        if waiting.timer_running {
            Deferral::Waiting
        } else {
            waiting.timer_running = true;
            Deferral::StartTimer
        }
    }

    /// The changes waiting with a ticket below `newest` (every one if `None`: the store is
    /// closing), oldest first; for the commit thread's next batch.
    pub(crate) fn take_before(&self, newest: Option<u64>) -> Vec<(u64, Vec<Op>)> {
        let mut waiting = self.waiting.lock();
        let mut taken = Vec::new();
        while let Some((ticket, _, _)) = waiting.changes.front() {
            if newest.is_some_and(|newest| *ticket >= newest) {
                break;
            }
            if let Some((ticket, _, ops)) = waiting.changes.pop_front() {
                waiting.ops -= ops.len();
                taken.push((ticket, ops));
            }
        }
        taken
    }

    /// The timer has fired at `now`: what it should do next.
    fn timer_fired(&self, now: Instant) -> TimerNext {
        let mut waiting = self.waiting.lock();
        match waiting.changes.front().map(|(_, made, _)| *made) {
            Some(oldest) if now < oldest + self.delay => TimerNext::WaitUntil(oldest + self.delay),
            Some(_) => {
                waiting.timer_running = false;
                TimerNext::WakeCommitThread
            }
            None => {
                waiting.timer_running = false;
                TimerNext::Stop
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum TimerNext {
    /// Nothing waits: the next change starts a timer again.
    Stop,
    /// The oldest change has waited the whole delay.
    WakeCommitThread,
    /// Only younger changes wait (the older ones were committed): wait for the oldest.
    WaitUntil(Instant),
}

/// After the delay, wakes the commit thread if changes still wait. Holds the queue only
/// weakly, so a store that is closing is not kept open by its timer.
pub(crate) fn start_timer(later: std::sync::Arc<LaterWrites>, queue: mpsc::WeakSender<Queued>) {
    tokio::spawn(async move {
        let mut until = tokio::time::Instant::now() + later.delay;
        loop {
            tokio::time::sleep_until(until).await;
            match later.timer_fired(tokio::time::Instant::now().into_std()) {
                TimerNext::Stop => return,
                TimerNext::WaitUntil(at) => until = at.into(),
                TimerNext::WakeCommitThread => {
                    if let Some(queue) = queue.upgrade() {
                        // A full queue means the commit thread is busy and takes them with its
                        // next batch.
                        let _ = queue.try_send(Queued { ticket: later.ticket(), request: Request::Wake });
                    }
                    return;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(n: u8) -> Op {
        Op::Delete { cf: "queue", key: vec![n] }
    }

    #[test]
    fn one_timer_at_a_time_and_a_bound() {
        let later = LaterWrites::new(3, Duration::from_millis(5));
        assert!(matches!(later.defer(vec![op(1)]), Deferral::StartTimer));
        assert!(matches!(later.defer(vec![op(2)]), Deferral::Waiting));
        assert!(matches!(later.defer(vec![op(3), op(4)]), Deferral::Full(ops) if ops.len() == 2));
        assert!(matches!(later.defer(vec![op(3)]), Deferral::Waiting));
        let taken = later.take_before(None);
        assert_eq!(taken.len(), 3);
        assert!(taken.windows(2).all(|pair| pair[0].0 < pair[1].0), "ticket order");
        // Room again after the commit thread took them; the timer is still running.
        assert!(matches!(later.defer(vec![op(5), op(6), op(7)]), Deferral::Waiting));
        let made = later.waiting.lock().changes.front().map(|(_, made, _)| *made).expect("changes wait");
        // Fired before the oldest change has waited the delay: it waits for that change.
        assert_eq!(later.timer_fired(made), TimerNext::WaitUntil(made + Duration::from_millis(5)));
        assert_eq!(later.timer_fired(made + Duration::from_millis(5)), TimerNext::WakeCommitThread);
        assert!(matches!(later.defer(vec![]), Deferral::StartTimer));
        later.take_before(None);
        assert_eq!(later.timer_fired(made + Duration::from_secs(1)), TimerNext::Stop);
        assert!(matches!(later.defer(vec![op(8)]), Deferral::StartTimer));
    }

    #[test]
    fn tickets_of_queued_writes_and_waiting_changes_share_one_order() {
        let later = LaterWrites::new(10, Duration::from_millis(5));
        let before = later.ticket();
        later.defer(vec![op(1)]);
        let after = later.ticket();
        later.defer(vec![op(2)]);
        // A batch whose newest write was sent before a change was made leaves it waiting.
        assert!(later.take_before(Some(before)).is_empty());
        let taken = later.take_before(Some(after));
        assert_eq!(taken.len(), 1);
        assert!(before < taken[0].0 && taken[0].0 < after);
        assert_eq!(later.take_before(None).len(), 1);
        assert_eq!(later.waiting.lock().ops, 0);
    }
}
