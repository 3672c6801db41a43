//! The signal that asks a connection to leave: another connection took its session over, or
//! the admin API disconnected it.
//!
//! Every attached connection has one, so it is kept small: the reason and one `Notify`
//! behind an `Arc`, about 60 bytes, where a `tokio::sync::watch` channel costs some 350 for
//! waiter lists a kick never needs. A sender that goes away without a reason counts as a
//! kick too, as a closed channel would: its connection no longer owns the session.

use std::pin::pin;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

use crate::codec::ReasonCode;

/// `state` before anything happened.
const WAITING: u16 = 0;
/// Set in `state` with the reason code in the low byte.
const SENT: u16 = 0x100;
/// `state` once the sender is gone without a reason.
const SENDER_GONE: u16 = 0x200;

struct Shared {
    state: AtomicU16,
    notify: Notify,
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
    let shared = Arc::new(Shared { state: AtomicU16::new(WAITING), notify: Notify::new() });
    (KickSender { shared: shared.clone() }, KickReceiver { shared })
}

impl KickSender {
    /// Asks the connection to leave with `reason`; a later reason replaces one not yet seen.
    pub fn send(&self, reason: ReasonCode) {
        self.shared.state.store(SENT | u16::from(reason.0), Ordering::Release);
        self.shared.notify.notify_waiters();
    }
}

impl Drop for KickSender {
    fn drop(&mut self) {
        let gone = self.shared.state.compare_exchange(WAITING, SENDER_GONE, Ordering::AcqRel, Ordering::Acquire);
        if gone.is_ok() {
            self.shared.notify.notify_waiters();
        }
    }
}

impl KickReceiver {
    /// The reason sent, if any was.
    pub fn reason(&self) -> Option<ReasonCode> {
        let state = self.shared.state.load(Ordering::Acquire);
        (state & SENT != 0).then_some(ReasonCode((state & 0xFF) as u8))
    }

    /// Waits until the connection is asked to leave: the reason sent, or
    /// `SESSION_TAKEN_OVER` if the sender went away without one. Cancel-safe.
    pub async fn kicked(&self) -> ReasonCode {
        let mut notified = pin!(self.shared.notify.notified());
        loop {
            // Registered before the state is read, so a send in between still wakes us.
            notified.as_mut().enable();
            match self.shared.state.load(Ordering::Acquire) {
                WAITING => {}
                SENDER_GONE => return ReasonCode::SESSION_TAKEN_OVER,
                state => return ReasonCode((state & 0xFF) as u8),
            }
            notified.as_mut().await;
            notified.set(self.shared.notify.notified());
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
        let waiter = tokio::spawn({
            let receiver = receiver.clone();
            async move { receiver.kicked().await }
        });
        // Not kicked yet: the waiter is still waiting.
        assert!(tokio::time::timeout(Duration::from_millis(50), receiver.kicked()).await.is_err());
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

    #[test]
    fn the_signal_stays_small() {
        // Arc counts, the state and a Notify.
        assert!(std::mem::size_of::<Shared>() + 16 <= 64, "{}", std::mem::size_of::<Shared>());
    }
}
