//! The signal that asks a connection to leave: another connection took its session over, the
//! admin API disconnected it, or the server is shutting down.
//!
//! Every attached connection has one and waits on it for its whole life, so it is kept small:
//! the state and one waker behind an `Arc`, and a wait that holds nothing but a reference.
//! A `tokio::sync::Notify` would cost a waiter node of 64 bytes in the waiting task, and a
//! `tokio::sync::watch` channel some 350 bytes for waiter lists a kick never needs: only the
//! connection's own task waits. A sender that goes away without a reason counts as a kick
//! too, as a closed channel would: its connection no longer owns the session.
//!
//! The server's shutdown is a mark of its own rather than a reason: it does not replace a
//! reason sent before or after it, so a connection that loses its session while the server
//! shuts down still learns that it lost it.

use std::future::{poll_fn, Future};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

use crate::codec::ReasonCode;

/// `state` before anything happened.
const WAITING: u16 = 0;
/// Set in `state` with the reason code in the low byte.
const SENT: u16 = 0x100;
/// Set in `state` once the sender is gone without a reason.
const SENDER_GONE: u16 = 0x200;
/// Set in `state` when the server shuts down.
const SHUTDOWN: u16 = 0x400;

struct Shared {
    state: AtomicU16,
    /// The task waiting in [`KickReceiver::kicked`], if one is.
    waker: AtomicWaker,
}

/// Held by the session's owner record in the broker's registry.
pub struct KickSender {
    shared: Arc<Shared>,
}

/// Held by the connection (and its attachment); clones share the signal.
#[derive(Clone)]
pub struct KickReceiver {
    shared: Arc<Shared>,
}

/// A connected pair, nothing sent yet.
pub fn channel() -> (KickSender, KickReceiver) {
    let shared = Arc::new(Shared { state: AtomicU16::new(WAITING), waker: AtomicWaker::new() });
    (KickSender { shared: shared.clone() }, KickReceiver { shared })
}

impl KickSender {
    /// Asks the connection to leave with `reason`; a later reason replaces one not yet seen.
    pub fn send(&self, reason: ReasonCode) {
        let sent = SENT | u16::from(reason.0);
        let _ = self.shared.state.fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| Some((state & SHUTDOWN) | sent));
        self.shared.waker.wake();
    }

    /// Whether `receiver` is the other end of this signal.
    pub fn reaches(&self, receiver: &KickReceiver) -> bool {
        Arc::ptr_eq(&self.shared, &receiver.shared)
    }

    /// Tells the connection that the server is shutting down. A reason sent before or
    /// after stays what the connection sees first.
    pub fn shut_down(&self) {
        self.shared.state.fetch_or(SHUTDOWN, Ordering::AcqRel);
        self.shared.waker.wake();
    }
}

impl Drop for KickSender {
    fn drop(&mut self) {
        let gone = self.shared.state.fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| {
            (state & SENT == 0).then_some(state | SENDER_GONE)
        });
        if gone.is_ok() {
            self.shared.waker.wake();
        }
    }
}

impl KickReceiver {
    /// The reason sent, if any was (the shutdown mark is not a reason).
    pub fn reason(&self) -> Option<ReasonCode> {
        let state = self.shared.state.load(Ordering::Acquire);
        (state & SENT != 0).then_some(ReasonCode((state & 0xFF) as u8))
    }

    /// Waits until the connection is asked to leave: the reason sent; else
    /// `SESSION_TAKEN_OVER` if the sender went away without one; else
    /// `SERVER_SHUTTING_DOWN` if the server is shutting down. Cancel-safe.
    ///
    /// One task waits at a time: a wait started elsewhere takes the wake-up over from a
    /// pending one, which then sees the kick only when it is polled again.
    pub fn kicked(&self) -> impl Future<Output = ReasonCode> + Send + '_ {
        poll_fn(move |cx| self.poll_kicked(cx))
    }

    /// [`KickReceiver::kicked`] as a poll, for a task that waits on several things at once.
    pub fn poll_kicked(&self, cx: &mut Context<'_>) -> Poll<ReasonCode> {
        // Registered before the state is read, so a send in between still wakes us.
        self.shared.waker.register(cx.waker());
        let state = self.shared.state.load(Ordering::Acquire);
        if state & SENT != 0 {
            Poll::Ready(ReasonCode((state & 0xFF) as u8))
        } else if state & SENDER_GONE != 0 {
            Poll::Ready(ReasonCode::SESSION_TAKEN_OVER)
        } else if state & SHUTDOWN != 0 {
            Poll::Ready(ReasonCode::SERVER_SHUTTING_DOWN)
        } else {
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_waiting_receiver_wakes_with_the_reason() {
        let (sender, receiver) = channel();
        let mut waiter = tokio::spawn({
            let receiver = receiver.clone();
            async move { receiver.kicked().await }
        });
        // Not kicked yet: the waiter is still waiting.
        assert!(tokio::time::timeout(Duration::from_millis(50), &mut waiter).await.is_err());
        assert_eq!(receiver.reason(), None);
        sender.send(ReasonCode::ADMINISTRATIVE_ACTION);
        assert_eq!(waiter.await.unwrap(), ReasonCode::ADMINISTRATIVE_ACTION);
        assert_eq!(receiver.reason(), Some(ReasonCode::ADMINISTRATIVE_ACTION));
        // Sent before the wait started: seen at once.
        assert_eq!(receiver.kicked().await, ReasonCode::ADMINISTRATIVE_ACTION);
        drop(sender);
        assert_eq!(receiver.kicked().await, ReasonCode::ADMINISTRATIVE_ACTION);
    }

    #[tokio::test]
    async fn a_sender_gone_without_a_reason_is_a_takeover() {
        let (sender, receiver) = channel();
        let waiter = tokio::spawn({
            let receiver = receiver.clone();
            async move { receiver.kicked().await }
        });
        tokio::task::yield_now().await;
        drop(sender);
        assert_eq!(waiter.await.unwrap(), ReasonCode::SESSION_TAKEN_OVER);
        assert_eq!(receiver.reason(), None);
    }

    #[tokio::test]
    async fn a_shutdown_wakes_the_waiter_and_gives_way_to_any_reason() {
        let (sender, receiver) = channel();
        let waiter = tokio::spawn({
            let receiver = receiver.clone();
            async move { receiver.kicked().await }
        });
        tokio::task::yield_now().await;
        sender.shut_down();
        assert_eq!(waiter.await.unwrap(), ReasonCode::SERVER_SHUTTING_DOWN);
        // A mark, not a reason: a takeover during the shutdown is still told as one.
        assert_eq!(receiver.reason(), None);
        sender.send(ReasonCode::SESSION_TAKEN_OVER);
        assert_eq!(receiver.kicked().await, ReasonCode::SESSION_TAKEN_OVER);

        let (sender, receiver) = channel();
        sender.shut_down();
        drop(sender);
        assert_eq!(receiver.kicked().await, ReasonCode::SESSION_TAKEN_OVER);
    }

    #[test]
    fn the_signal_and_its_wait_stay_small() {
        // Arc counts, the state and a waker.
        assert!(std::mem::size_of::<Shared>() + 16 <= 64, "{}", std::mem::size_of::<Shared>());
        let (_sender, receiver) = channel();
        let wait = receiver.kicked();
        assert!(std::mem::size_of_val(&wait) <= 8, "{}", std::mem::size_of_val(&wait));
    }
}
