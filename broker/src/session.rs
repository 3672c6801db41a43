//! A client's session: what survives a dropped connection.
//!
//! The session owns the subscriptions, the bounded queue of messages waiting for delivery,
//! the outbound messages in flight and the inbound QoS 2 packet ids awaiting PUBREL. Publishers
//! push into the queue under the session's lock and wake the connection task with `notify`;
//! the connection task, when there is one, moves messages from the queue to the wire. Without
//! a connection the queue simply waits, bounded, for the client to come back.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use crate::codec::{LastWill, ProtocolVersion, QoS};
use crate::hashing::{HashMap, HashSet};
use crate::message::Message;
use crate::router::{ClientKey, Subscription};
use crate::signal::Signal;
use crate::small_map::SmallMap;

/// One message on its way to one session.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub message: Arc<Message>,
    /// Delivery QoS: the lower of the subscription's and the message's.
    pub qos: QoS,
    pub retain: bool,
    pub subscription_ids: Vec<u32>,
    /// Key of this delivery in the session's durable queue (persistent sessions, QoS 1/2).
    pub durable: Option<u64>,
}

impl Outgoing {
    /// The durable queue entry for this delivery.
    pub fn queue_entry(&self, delivery: Option<tallymq_storage::Delivery>) -> tallymq_storage::QueueEntry {
        tallymq_storage::QueueEntry {
            topic: self.message.topic.to_string(),
            sequence: self.message.sequence,
            qos: self.qos as u8,
            retain: self.retain,
            subscription_ids: self.subscription_ids.clone(),
            delivery,
        }
    }
}

/// Where an outbound QoS 1/2 message stands in its acknowledgement flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InflightStage {
    /// QoS 1 sent, waiting for PUBACK; or QoS 2 sent, waiting for PUBREC.
    AwaitingAck,
    /// QoS 2: PUBREC received and PUBREL sent, waiting for PUBCOMP.
    AwaitingComp,
}

#[derive(Debug, Clone)]
pub struct Inflight {
    pub outgoing: Outgoing,
    pub stage: InflightStage,
    /// Send order, so that a resumed session resends in the original order.
    pub order: u64,
}

/// Inbound QoS 2 packet ids awaiting PUBREL (at most `mqtt.receive_maximum`).
///
/// Boxed, and made with the first id: most clients never publish at QoS 2, and every
/// session, connected or not, would otherwise carry an empty set.
#[derive(Debug, Default)]
pub struct IncomingQos2(Option<Box<HashSet<u16>>>);

impl IncomingQos2 {
    pub fn contains(&self, packet_id: u16) -> bool {
        self.0.as_ref().is_some_and(|ids| ids.contains(&packet_id))
    }

    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |ids| ids.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn insert(&mut self, packet_id: u16) {
        self.0.get_or_insert_default().insert(packet_id);
    }

    /// Whether the id was there.
    pub fn remove(&mut self, packet_id: u16) -> bool {
        self.0.as_mut().is_some_and(|ids| ids.remove(&packet_id))
    }

    pub fn extend(&mut self, packet_ids: impl IntoIterator<Item = u16>) {
        let mut packet_ids = packet_ids.into_iter().peekable();
        if packet_ids.peek().is_some() {
            self.0.get_or_insert_default().extend(packet_ids);
        }
    }

    /// Forgets every id, and the set's memory.
    pub fn clear(&mut self) {
        self.0 = None;
    }
}

/// Why a message did not enter a session's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    QueueFull,
    OfflineQos0,
}

/// Queue bounds, taken from config.
#[derive(Debug, Clone, Copy)]
pub struct QueueLimits {
    pub max_queued: usize,
    pub queue_qos0_offline: bool,
}

#[derive(Debug)]
pub struct SessionState {
    /// Subscriptions keyed by the filter exactly as subscribed (including `$share/g/`);
    /// `topic::split_subscription` finds the share group and the filter in it when the
    /// subscription is stored, restored or removed, so it is kept once, not three times.
    pub subscriptions: SmallMap<Box<str>, Subscription>,
    pub queue: VecDeque<Outgoing>,
    pub inflight: HashMap<u16, Inflight>,
    pub incoming_qos2: IncomingQos2,
    /// Boxed: most sessions have none, and the state of every session would otherwise carry
    /// its room.
    pub will: Option<Box<LastWill>>,
    /// Seconds the session outlives its connection; `u32::MAX` never expires.
    pub expiry_interval: u32,
    pub protocol: ProtocolVersion,
    /// The authenticated user of the last connection (the user name as sent in open mode),
    /// stored with the session; `None`: anonymous.
    pub user: Option<Arc<str>>,
    /// The user's roles (from the JWT), stored with the session.
    pub roles: Arc<[Arc<str>]>,
    pub connected: bool,
    next_packet_id: u16,
    next_order: u64,
    last_drop_logged: Option<Instant>,
}

impl SessionState {
    /// A free packet id for an outbound QoS 1/2 publish; `None` when all 65535 are in use.
    pub fn allocate_packet_id(&mut self) -> Option<u16> {
        for _ in 0..u16::MAX {
            self.next_packet_id = self.next_packet_id.checked_add(1).unwrap_or(1);
            if !self.inflight.contains_key(&self.next_packet_id) {
                return Some(self.next_packet_id);
            }
        }
        None
    }

    pub fn next_order(&mut self) -> u64 {
        self.next_order += 1;
        self.next_order
    }

    /// In-flight messages in the order they were first sent.
    pub fn inflight_in_order(&self) -> Vec<(u16, Inflight)> {
        let mut entries: Vec<(u16, Inflight)> = self.inflight.iter().map(|(id, f)| (*id, f.clone())).collect();
        entries.sort_by_key(|(_, f)| f.order);
        entries
    }
}

pub struct Session {
    pub client_id: ClientKey,
    pub state: Mutex<SessionState>,
    /// Wakes the connection task when the queue grows.
    pub notify: Signal,
    dropped: AtomicU64,
    /// Next key in the durable queue.
    next_durable_order: AtomicU64,
    /// First durable queue key of this session; lower keys belong to earlier sessions.
    first_durable_order: u64,
}

impl Session {
    /// A session whose durable queue keys start at `first_durable_order`: above any key an
    /// earlier session of the same client id could have used.
    pub fn new(client_id: ClientKey, protocol: ProtocolVersion, expiry_interval: u32, first_durable_order: u64) -> Session {
        Session {
            client_id,
            state: Mutex::new(SessionState {
                subscriptions: SmallMap::new(),
                queue: VecDeque::new(),
                inflight: HashMap::default(),
                incoming_qos2: IncomingQos2::default(),
                will: None,
                expiry_interval,
                protocol,
                user: None,
                roles: Arc::from([]),
                connected: false,
                next_packet_id: 0,
                next_order: 0,
                last_drop_logged: None,
            }),
            notify: Signal::new(),
            dropped: AtomicU64::new(0),
            next_durable_order: AtomicU64::new(first_durable_order),
            first_durable_order,
        }
    }

    pub fn first_durable_order(&self) -> u64 {
        self.first_durable_order
    }

    /// The durable queue key the next delivery will get.
    pub fn peek_durable_order(&self) -> u64 {
        self.next_durable_order.load(Ordering::Relaxed)
    }

    /// A session outlives its connection when its expiry interval is above zero; only such
    /// sessions are stored.
    pub fn is_persistent(&self) -> bool {
        self.state.lock().expiry_interval > 0
    }

    /// Reserves the next durable queue key.
    pub fn next_durable_order(&self) -> u64 {
        self.next_durable_order.fetch_add(1, Ordering::Relaxed)
    }

    /// Continues durable queue keys after those found on disk.
    pub fn resume_durable_order_after(&self, order: u64) {
        self.next_durable_order.fetch_max(order + 1, Ordering::Relaxed);
    }

    /// Queues a message for delivery, or drops it by the queue policy: QoS 0 is not queued for
    /// an offline session unless configured, and nothing is queued past `max_queued`.
    pub fn enqueue(&self, outgoing: Outgoing, limits: QueueLimits) -> Result<(), Dropped> {
        let mut state = self.state.lock();
        let verdict = if !state.connected && outgoing.qos == QoS::AtMostOnce && !limits.queue_qos0_offline {
            Err(Dropped::OfflineQos0)
        } else if state.queue.len() >= limits.max_queued {
            Err(Dropped::QueueFull)
        } else {
            state.queue.push_back(outgoing);
            Ok(())
        };
        if let Err(reason) = verdict {
            let total = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            let now = Instant::now();
            let quiet = state.last_drop_logged.is_some_and(|at| now.duration_since(at).as_secs() < 10);
            if reason == Dropped::QueueFull && !quiet {
                state.last_drop_logged = Some(now);
                tracing::warn!(client = %self.client_id, total, limit = limits.max_queued, "session queue full; dropping messages");
            }
            return Err(reason);
        }
        drop(state);
        self.notify.notify();
        Ok(())
    }

    /// Whether the queue has room for one more message.
    pub fn has_room(&self, limits: QueueLimits) -> bool {
        self.state.lock().queue.len() < limits.max_queued
    }

    /// Messages this session did not get because of the queue policy.
    pub fn dropped_count(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn outgoing(qos: QoS) -> Outgoing {
        let message = Message::from_publish(
            Arc::from("t"),
            qos,
            false,
            Default::default(),
            Bytes::from_static(b"x"),
            Arc::from("p"),
            Instant::now(),
        );
        Outgoing { message: Arc::new(message), qos, retain: false, subscription_ids: vec![], durable: None }
    }

    #[test]
    fn queue_is_bounded_and_counts_drops() {
        let session = Session::new(Arc::from("c"), ProtocolVersion::V5, 0, 1);
        session.state.lock().connected = true;
        let limits = QueueLimits { max_queued: 2, queue_qos0_offline: false };
        assert_eq!(session.enqueue(outgoing(QoS::AtLeastOnce), limits), Ok(()));
        assert_eq!(session.enqueue(outgoing(QoS::AtMostOnce), limits), Ok(()));
        assert_eq!(session.enqueue(outgoing(QoS::AtLeastOnce), limits), Err(Dropped::QueueFull));
        assert_eq!(session.dropped_count(), 1);
        assert_eq!(session.state.lock().queue.len(), 2);
    }

    #[test]
    fn offline_sessions_skip_qos0_unless_configured() {
        let session = Session::new(Arc::from("c"), ProtocolVersion::V311, 60, 1);
        let strict = QueueLimits { max_queued: 10, queue_qos0_offline: false };
        assert_eq!(session.enqueue(outgoing(QoS::AtMostOnce), strict), Err(Dropped::OfflineQos0));
        assert_eq!(session.enqueue(outgoing(QoS::AtLeastOnce), strict), Ok(()));
        let lenient = QueueLimits { max_queued: 10, queue_qos0_offline: true };
        assert_eq!(session.enqueue(outgoing(QoS::AtMostOnce), lenient), Ok(()));
    }

    #[test]
    fn inbound_qos2_ids_take_memory_only_once_there_is_one() {
        let mut ids = IncomingQos2::default();
        ids.extend([]);
        assert!(ids.0.is_none() && !ids.remove(7) && ids.is_empty());
        ids.insert(7);
        assert!(ids.contains(7) && ids.len() == 1);
        assert!(ids.remove(7) && !ids.contains(7));
        ids.extend([1, 2]);
        assert_eq!(ids.len(), 2);
        ids.clear();
        assert!(ids.0.is_none());
    }

    #[test]
    fn packet_ids_skip_those_in_flight_and_wrap() {
        let session = Session::new(Arc::from("c"), ProtocolVersion::V5, 0, 1);
        let mut state = session.state.lock();
        state.next_packet_id = u16::MAX - 1;
        let entry = Inflight { outgoing: outgoing(QoS::AtLeastOnce), stage: InflightStage::AwaitingAck, order: 0 };
        state.inflight.insert(u16::MAX, entry.clone());
        state.inflight.insert(1, entry);
        assert_eq!(state.allocate_packet_id(), Some(2));
    }
}
