//! A wake-up for the one task that serves a session: publishers ring it when they queue a
//! message, the session's connection task waits on it between packets.
//!
//! `tokio::sync::Notify` would do, but its wait holds a waiter node of 64 bytes, and that
//! wait is part of every connection's task for as long as the connection idles. Here the
//! waker is kept in the signal itself, which is possible because only one task waits: the
//! wait holds nothing but a reference. A ring while nobody waits is remembered (as
//! `Notify::notify_one` remembers it), so a message queued between two waits is not missed.

use std::future::{poll_fn, Future};
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

#[derive(Debug, Default)]
pub struct Signal {
    /// Rung and not waited for yet.
    rung: AtomicBool,
    waker: AtomicWaker,
}

impl Signal {
    pub fn new() -> Signal {
        Signal::default()
    }

    /// Wakes the waiting task, or the next one to wait.
    pub fn notify(&self) {
        self.rung.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// Waits until the signal is rung (at once if it was rung since the last wait returned).
    /// Cancel-safe: a ring is consumed only by the wait that returns it.
    ///
    /// One task waits at a time: a wait started elsewhere takes the wake-up over from a
    /// pending one, which then sees the ring only when it is polled again.
    pub fn notified(&self) -> impl Future<Output = ()> + Send + '_ {
        poll_fn(move |cx| self.poll_notified(cx))
    }

    /// [`Signal::notified`] as a poll, for a task that waits on several things at once.
    pub fn poll_notified(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.rung.swap(false, Ordering::AcqRel) {
            return Poll::Ready(());
        }
        // Registered before the flag is read again, so a ring in between still wakes us.
        self.waker.register(cx.waker());
        if self.rung.swap(false, Ordering::AcqRel) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn a_ring_wakes_the_waiter_or_waits_for_the_next_wait() {
        let signal = Arc::new(Signal::new());
        let mut waiter = tokio::spawn({
            let signal = signal.clone();
            async move { signal.notified().await }
        });
        assert!(tokio::time::timeout(Duration::from_millis(50), &mut waiter).await.is_err(), "woken without a ring");
        signal.notify();
        waiter.await.unwrap();

        // Rung twice while nobody waited: one wait returns at once, the next waits again.
        signal.notify();
        signal.notify();
        signal.notified().await;
        assert!(tokio::time::timeout(Duration::from_millis(50), signal.notified()).await.is_err());
    }

    #[test]
    fn the_wait_holds_only_a_reference() {
        let signal = Signal::new();
        let wait = signal.notified();
        assert!(std::mem::size_of_val(&wait) <= 8, "{}", std::mem::size_of_val(&wait));
    }
}
