//! Messages that moderation holds back: stored, not delivered until a rule releases them (the
//! night window or a do-not-contact slot ends) or they expire.
//!
//! A hold is written with its message (`held` column family), so it survives a restart;
//! [`crate::broker::Broker::open`] reschedules every stored hold. One task sleeps until the
//! earliest due hold. At release the message is read back, planned like a new message (so
//! persistent sessions get durable queue entries, written together with the removal of the
//! hold) and fanned out. A hold that expires, or whose room closed meanwhile, is marked
//! expired: the message stays in the log as evidence, withheld from readers for good. At most `moderation.max_held_messages`
//! holds exist at once; the moderate stage refuses a message that would exceed it.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use tallymq_storage::{ops, HoldRecord, QueueEntry};
use tokio::sync::Notify;

use crate::access::namespace::{classify, Family};
use crate::broker::Broker;
use crate::message::Message;

/// One scheduled hold: due time first, so the set is ordered by it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    at_ms: u64,
    topic: Arc<str>,
    sequence: u64,
    hold: HoldRecord,
}

/// Whether a hold ends in a release (a rule's time before the expiry) rather than an expiry.
fn releases(hold: &HoldRecord) -> bool {
    hold.release_at_ms.is_some_and(|at| at < hold.expires_at_ms)
}

pub struct Holds {
    due: Mutex<BTreeSet<Due>>,
    wake: Notify,
    max: usize,
    released: AtomicU64,
    expired: AtomicU64,
}

impl Holds {
    pub fn new(max: usize) -> Holds {
        Holds { due: Mutex::new(BTreeSet::new()), wake: Notify::new(), max, released: AtomicU64::new(0), expired: AtomicU64::new(0) }
    }

    /// Whether another hold fits.
    pub fn has_room(&self) -> bool {
        self.due.lock().len() < self.max
    }

    /// Holds waiting now.
    pub fn len(&self) -> usize {
        self.due.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Holds released and expired so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.released.load(Ordering::Relaxed), self.expired.load(Ordering::Relaxed))
    }

    /// Schedules a stored message's hold: release at `release_at_ms` if it comes before the
    /// expiry, otherwise expire.
    pub fn schedule(&self, topic: Arc<str>, sequence: u64, hold: HoldRecord) {
        let at_ms = match hold.release_at_ms {
            Some(at) if releases(&hold) => at,
            _ => hold.expires_at_ms,
        };
        self.due.lock().insert(Due { at_ms, topic, sequence, hold });
        self.wake.notify_one();
    }

    /// Looks at the due times again (after the clock was set).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Takes every hold due at `now_ms`, and the time of the next one.
    fn take_due(&self, now_ms: u64) -> (Vec<Due>, Option<u64>) {
        let mut due = self.due.lock();
        let mut taken = Vec::new();
        while let Some(first) = due.first() {
            if first.at_ms > now_ms {
                break;
            }
            taken.extend(due.pop_first());
        }
        (taken, due.first().map(|d| d.at_ms))
    }

    /// Runs until the broker is dropped: releases and expires holds as they fall due.
    pub async fn run(broker: Weak<Broker>) {
        loop {
            let Some(strong) = broker.upgrade() else { return };
            let holds = strong.holds.clone();
            let notified = holds.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (taken, next) = holds.take_due(strong.clock.now_ms());
            for due in taken {
                let release = releases(&due.hold);
                strong.settle_hold(&due.topic, due.sequence, release, due.hold).await;
                if release {
                    holds.released.fetch_add(1, Ordering::Relaxed);
                } else {
                    holds.expired.fetch_add(1, Ordering::Relaxed);
                }
            }
            let wait = next.map(|at| Duration::from_millis(at.saturating_sub(strong.clock.now_ms())));
            // Not kept while waiting: a dropped broker ends this task at its next wake-up.
            drop(strong);
            match wait {
                Some(wait) => {
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = &mut notified => {}
                    }
                }
                None => notified.await,
            }
        }
    }
}

impl Broker {
    /// Releases (delivers) or expires one held message, and forgets its hold.
    async fn settle_hold(&self, topic: &str, sequence: u64, release: bool, hold: HoldRecord) {
        let forget = ops::delete_held(topic, sequence);
        let room_open = match classify(topic, &self.config.mqtt.notice_topic_prefix) {
            Family::Chat { room } => self.rooms.is_open(room),
            _ => true,
        };
        if !release || !room_open {
            tracing::info!(%topic, sequence, release, room_open, "held message expires undelivered");
            if let Err(error) = self.store.apply(vec![ops::expire_held(topic, sequence, hold)]).await {
                tracing::warn!(%topic, sequence, %error, "could not mark a hold expired; it is retried at the next start");
            }
            return;
        }
        let store = self.store.clone();
        let name = topic.to_owned();
        let stored = match tokio::task::spawn_blocking(move || store.message(&name, sequence)).await {
            Ok(Ok(Some(stored))) => stored,
            Ok(Ok(None)) => {
                tracing::warn!(%topic, sequence, "held message is gone from the log (retention); forgetting its hold");
                let _ = self.store.apply(vec![forget]).await;
                return;
            }
            Ok(Err(error)) => {
                tracing::warn!(%topic, sequence, %error, "could not read a held message; it is retried at the next start");
                return;
            }
            Err(_) => return,
        };
        let message = Arc::new(Message::from_stored(&stored));
        let plan = self.plan(&message);
        let mut changes = vec![forget];
        for planned in &plan.0 {
            if let Some(order) = planned.durable {
                let entry = QueueEntry {
                    topic: topic.to_owned(),
                    sequence,
                    qos: planned.route.qos.min(message.qos) as u8,
                    retain: planned.route.retain_as_published && message.retain,
                    subscription_ids: planned.route.subscription_ids.clone(),
                    delivery: None,
                };
                changes.push(ops::put_queue_entry(&planned.session.client_id, order, &entry));
            }
        }
        if let Err(error) = self.store.apply(changes).await {
            tracing::warn!(%topic, sequence, %error, "could not release a held message; it is retried at the next start");
            return;
        }
        let queued = self.fan_out(&message, plan);
        tracing::info!(%topic, sequence, queued, "held message released");
    }
}
