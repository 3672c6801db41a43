//! State shared by every connection: sessions, subscriptions, retained messages, the
//! pipeline and the store.
//!
//! A session belongs to at most one connection at a time. A connection attaches to its
//! client id's slot by taking the slot's `attach` lock; a second connection with the same
//! client id first tells the owner to leave (takeover) and then waits for that lock, so the
//! old connection's clean-up (will, session end) always finishes before the new one starts.
//! Timers for delayed wills and session expiry carry the slot's generation and do nothing if
//! a connection attached since they were set.
//!
//! Persistent sessions (expiry above zero) are written to the store when they start, when
//! their subscriptions change, and when their connection ends, and are restored by
//! [`Broker::open`] after a restart.
//!
//! Lock order: the router's lock may be held while taking the registry lock (routing asks who
//! is online), never the other way round. Session locks are leaf locks.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use tallymq_storage::{ops, DeliveryStage, Op, Recovered, Store, StorageError};
use tokio::sync::OwnedMutexGuard;

use crate::access::Principal;
use crate::clock::Clock;
use crate::auth::{AuthSetupError, Authenticator};
use crate::admission::AddressTracker;
use crate::codec::{LastWill, PublishProperties, QoS, ReasonCode};
use crate::durable;
use crate::message::{now_ms, Message};
use crate::moderation::{notices, Holds};
use crate::pipeline::{
    Admitted, ClientInfo, FanOutPlan, ModerationSetupError, PendingPersist, Pipeline, PlannedDelivery, Refusal, Review,
};
use crate::retained::RetainedStore;
use crate::rooms::{RoomLimits, Rooms};
use crate::router::{ClientKey, Router};
use crate::session::{Inflight, InflightStage, Outgoing, QueueLimits, Session};
use crate::topic;

/// Microseconds since the Unix epoch: where a new session's durable queue keys start, above
/// any key of an earlier session with the same client id.
fn micros_since_epoch() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// Why a connection is asked to leave.
pub use crate::kick::KickReceiver;

struct Owner {
    /// Also tells the owner apart: only its attachment holds the other end.
    kick: crate::kick::KickSender,
    /// Where the connection comes from, and since when (milliseconds since the epoch).
    peer: SocketAddr,
    since_ms: u64,
}

#[derive(Default)]
struct Slot {
    attach: Arc<tokio::sync::Mutex<()>>,
    owner: Option<Owner>,
    session: Option<Arc<Session>>,
    /// Bumped on every attach; timers set before it compare and stand down.
    generation: u64,
}

/// A connection's hold on its session, for as long as the connection lasts: kept small, as
/// every connection's task carries one.
pub struct Attachment {
    pub session: Arc<Session>,
    pub kicked: KickReceiver,
    _guard: OwnedMutexGuard<()>,
}

/// How the connection ended, which decides what happens to the will and the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Departure {
    /// DISCONNECT with reason 0x00: the will is discarded.
    Normal,
    /// DISCONNECT 0x04, or any loss of the connection: the will is published (after its delay).
    WithWill,
}

/// Why a connection could not attach to its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachError {
    /// Another connection with the same client id arrived meanwhile; this one just closes.
    Superseded,
    /// The client id's session belongs to another user.
    ClientIdTaken,
}

/// Why the broker could not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Auth(#[from] AuthSetupError),
    #[error(transparent)]
    Moderation(#[from] ModerationSetupError),
}

pub struct Broker {
    pub config: Arc<tallymq_config::Config>,
    pub router: Router,
    pub retained: Arc<RetainedStore>,
    pub pipeline: Pipeline,
    pub store: Arc<Store>,
    /// Connection limits at accept and authentication failures, per source address.
    pub admission: Arc<AddressTracker>,
    /// Loan rooms and their members; access control reads it on every check.
    pub rooms: Arc<Rooms>,
    /// Checks credentials at CONNECT.
    pub auth: Authenticator,
    /// Messages moderation holds back until a rule releases them.
    pub holds: Arc<Holds>,
    /// The wall clock of the legal rules and holds.
    pub clock: Arc<Clock>,
    registry: Mutex<HashMap<ClientKey, Slot>>,
    /// Set (under the registry lock) when the server shuts down: connections that attach
    /// later are told at once.
    shutting_down: AtomicBool,
    queue_limits: QueueLimits,
}

impl Broker {
    /// Opens the store in the configured data directory and restores persistent sessions and
    /// retained messages. Must run inside the async runtime (it schedules session timers).
    pub fn open(config: tallymq_config::Config) -> Result<Arc<Broker>, OpenError> {
        let started = Instant::now();
        let auth = Authenticator::from_config(&config.auth)?;
        let store = Arc::new(Store::open(&config.storage)?);
        let mut recovered = store.recover()?;
        let retained = Arc::new(RetainedStore::new(config.mqtt.max_retained_messages as usize));
        let admission = Arc::new(AddressTracker::new(&config.limits));
        let rooms = Arc::new(Rooms::with_limits(RoomLimits::of(&config.admin)));
        rooms.restore(std::mem::take(&mut recovered.rooms));
        let holds = Arc::new(Holds::new(config.moderation.max_held_messages as usize));
        let clock = Arc::new(Clock::default());
        let pipeline =
            Pipeline::new(&config, store.clone(), retained.clone(), rooms.clone(), holds.clone(), clock.clone())?;
        let queue_limits = QueueLimits {
            max_queued: config.mqtt.max_queued_messages as usize,
            queue_qos0_offline: config.mqtt.queue_qos0_offline,
        };
        let broker = Arc::new(Broker {
            config: Arc::new(config),
            router: Router::new(),
            retained,
            pipeline,
            store,
            admission,
            rooms,
            auth,
            holds,
            clock,
            registry: Mutex::new(HashMap::new()),
            shutting_down: AtomicBool::new(false),
            queue_limits,
        });
        let (sessions, retained) = (recovered.sessions.len(), recovered.retained.len());
        for (topic, sequence, hold) in std::mem::take(&mut recovered.held) {
            broker.holds.schedule(Arc::from(topic), sequence, hold);
        }
        tokio::spawn(Holds::run(Arc::downgrade(&broker)));
        broker.restore(recovered);
        tracing::info!(sessions, retained, elapsed = ?started.elapsed(), "state restored");
        Ok(broker)
    }

    /// Stops the wall clock of the legal rules and holds at `at_ms` (see [`Clock`]), and lets
    /// the holds see the new time at once.
    pub fn set_clock(&self, at_ms: u64) {
        self.clock.set_now_ms(at_ms);
        self.holds.wake();
    }

    pub fn queue_limits(&self) -> QueueLimits {
        self.queue_limits
    }

    /// Number of client ids with a session or a connection.
    pub fn session_count(&self) -> usize {
        self.registry.lock().values().filter(|slot| slot.session.is_some()).count()
    }

    /// Number of connected clients.
    pub fn connected_count(&self) -> usize {
        self.registry.lock().values().filter(|slot| slot.owner.is_some()).count()
    }

    /// Rebuilds persistent sessions and retained messages from what the store recovered.
    fn restore(self: &Arc<Self>, recovered: Recovered) {
        for stored in &recovered.retained {
            self.retained.apply(&Arc::new(Message::from_stored(stored)));
        }
        let now = now_ms();
        let mut stale = Vec::new();
        for found in recovered.sessions {
            let client: ClientKey = Arc::from(found.client_id.as_str());
            let record = &found.record;
            let protocol = durable::protocol_from_level(record.protocol);
            let session = Arc::new(Session::new(client.clone(), protocol, record.expiry_secs, record.first_order));
            let subscriptions: Vec<_> =
                record.subscriptions.iter().map(|s| (s.raw_filter.as_str(), durable::subscription_from_record(s))).collect();
            {
                let mut state = session.state.lock();
                state.user = durable::user_of(record);
                state.roles = durable::roles_of(record);
                state.will = record.will.as_ref().map(|will| Box::new(durable::will_from_record(will)));
                for (order, entry, message) in found.queue {
                    if order < record.first_order {
                        // Written for an earlier session of this client id, after it ended.
                        stale.push(ops::delete_queue_entry(&found.client_id, order));
                        continue;
                    }
                    session.resume_durable_order_after(order);
                    let message = message.map(|m| Message::from_stored(&m)).filter(|m| !m.is_expired(Instant::now()));
                    let Some(message) = message else {
                        stale.push(ops::delete_queue_entry(&found.client_id, order));
                        continue;
                    };
                    let outgoing = Outgoing {
                        message: Arc::new(message),
                        qos: QoS::from_u8(entry.qos).unwrap_or(QoS::AtLeastOnce),
                        retain: entry.retain,
                        subscription_ids: entry.subscription_ids.clone(),
                        durable: Some(order),
                    };
                    match entry.delivery {
                        Some(delivery) => {
                            let stage = match delivery.stage {
                                DeliveryStage::AwaitingAck => InflightStage::AwaitingAck,
                                DeliveryStage::AwaitingComp => InflightStage::AwaitingComp,
                            };
                            let order = state.next_order();
                            state.inflight.insert(delivery.packet_id, Inflight { outgoing, stage, order });
                        }
                        None => state.queue.push_back(outgoing),
                    }
                }
                state.incoming_qos2.extend(found.incoming);
                for (raw, subscription) in &subscriptions {
                    state.subscriptions.insert(Box::from(*raw), *subscription);
                }
            }
            for (raw, subscription) in subscriptions {
                let parsed = topic::split_subscription(raw);
                self.router.subscribe(&client, parsed.share_group, parsed.filter, subscription);
            }
            let generation = 1;
            self.registry.lock().insert(client, Slot { session: Some(session.clone()), generation, ..Slot::default() });
            // A session whose connection was live at the crash lost it now.
            let elapsed = now.saturating_sub(record.disconnected_at_ms.unwrap_or(now)) / 1000;
            let elapsed = u32::try_from(elapsed).unwrap_or(u32::MAX);
            let will_delay = record.will.as_ref().map(|w| w.delay_secs).unwrap_or(0).saturating_sub(elapsed);
            let expiry = if record.expiry_secs == u32::MAX { u32::MAX } else { record.expiry_secs.saturating_sub(elapsed) };
            self.schedule_expiry(session, generation, expiry, will_delay);
        }
        if !stale.is_empty() {
            self.store_later(stale);
        }
    }

    /// Attaches a new connection to the session of `client_id`, taking it over from a
    /// connection that holds it. Returns `Superseded` if yet another connection with the same
    /// id arrived while this one waited, and `ClientIdTaken` if (with access control on) the
    /// session belongs to another user: a client id never hands one user's session to another.
    pub async fn attach(
        self: &Arc<Self>,
        client: &ClientInfo,
        peer: SocketAddr,
        clean_start: bool,
        expiry_interval: u32,
        will: Option<LastWill>,
    ) -> Result<(Attachment, bool), AttachError> {
        let client_id = &client.client_id;
        let (kick, kicked) = crate::kick::channel();
        let attach_lock = {
            let mut registry = self.registry.lock();
            if !self.pipeline.authorize.access.is_open() {
                let owner = registry.get(client_id).and_then(|slot| slot.session.as_ref()).map(|s| s.state.lock().user.clone());
                if owner.is_some_and(|user| user != client.username) {
                    return Err(AttachError::ClientIdTaken);
                }
            }
            let slot = registry.entry(client_id.clone()).or_default();
            if self.shutting_down.load(Ordering::Relaxed) {
                kick.shut_down();
            }
            if let Some(previous) = slot.owner.replace(Owner { kick, peer, since_ms: now_ms() }) {
                previous.kick.send(ReasonCode::SESSION_TAKEN_OVER);
            }
            slot.generation += 1;
            slot.attach.clone()
        };
        let guard = attach_lock.lock_owned().await;
        if kicked.reason().is_some() {
            return Err(AttachError::Superseded);
        }
        let existing = self.registry.lock().get(client_id).ok_or(AttachError::Superseded)?.session.clone();
        let mut changes = Vec::new();
        let (session, session_present) = match existing {
            Some(existing) if !clean_start => (existing, true),
            previous => {
                let mut first_order = micros_since_epoch();
                if let Some(old) = previous {
                    // Clean start ends the old session. Its subscriptions leave the router
                    // before the new session is registered, so no fan-out can hand the new
                    // session a message meant for the old one.
                    self.end_session(&old);
                    let pending_will = old.state.lock().will.take();
                    if let Some(will) = pending_will {
                        // A will still waiting on its delay goes when its session ends.
                        self.publish_will(&old, will).await;
                    }
                    changes.extend(ops::delete_session(client_id));
                    first_order = first_order.max(old.peek_durable_order());
                }
                let fresh = Arc::new(Session::new(client_id.clone(), client.protocol, expiry_interval, first_order));
                self.registry.lock().get_mut(client_id).ok_or(AttachError::Superseded)?.session = Some(fresh.clone());
                (fresh, false)
            }
        };
        let record = {
            let mut state = session.state.lock();
            state.connected = true;
            state.protocol = client.protocol;
            state.user = client.username.clone();
            state.roles = client.roles.clone();
            state.expiry_interval = expiry_interval;
            state.will = will.map(Box::new);
            (expiry_interval > 0).then(|| durable::session_record(&state, session.first_durable_order(), None))
        };
        match record {
            Some(record) => changes.push(ops::put_session(client_id, &record)),
            None if session_present => changes.extend(ops::delete_session(client_id)),
            None => {}
        }
        if !changes.is_empty() {
            if let Err(error) = self.store.apply(changes).await {
                tracing::warn!(client = %client_id, %error, "session not stored; it lives in memory only");
            }
        }
        Ok((Attachment { session, kicked, _guard: guard }, session_present))
    }

    /// Writes a persistent session's record (after a subscription change); returns once
    /// durable.
    pub async fn save_session(&self, session: &Session) -> Result<(), StorageError> {
        let record = {
            let state = session.state.lock();
            if state.expiry_interval == 0 {
                return Ok(());
            }
            durable::session_record(&state, session.first_durable_order(), None)
        };
        self.store.apply(vec![ops::put_session(&session.client_id, &record)]).await
    }

    /// Detaches a connection from its session: publishes or schedules the will, ends the
    /// session now if it does not outlive the connection, or schedules its expiry.
    pub async fn detach(self: &Arc<Self>, attachment: Attachment, departure: Departure) {
        let session = attachment.session.clone();
        let generation = {
            let mut registry = self.registry.lock();
            match registry.get_mut(&session.client_id) {
                Some(slot) => {
                    if slot.owner.as_ref().is_some_and(|o| o.kick.reaches(&attachment.kicked)) {
                        slot.owner = None;
                    }
                    slot.generation
                }
                None => 0,
            }
        };
        let (will_now, expiry, will_delay) = {
            let mut state = session.state.lock();
            state.connected = false;
            if departure == Departure::Normal {
                state.will = None;
            }
            let delay = state.will.as_ref().and_then(|w| w.properties.will_delay_interval).unwrap_or(0);
            let will_now = if state.expiry_interval == 0 || delay == 0 { state.will.take() } else { None };
            (will_now, state.expiry_interval, delay)
        };
        if let Some(will) = will_now {
            self.publish_will(&session, will).await;
        }
        if expiry == 0 {
            self.forget_session(&session).await;
        } else {
            let record = durable::session_record(&session.state.lock(), session.first_durable_order(), Some(now_ms()));
            let _ = self.store.apply_later(vec![ops::put_session(&session.client_id, &record)]).await;
            self.schedule_expiry(session, generation, expiry, will_delay);
        }
        drop(attachment);
    }

    fn schedule_expiry(self: &Arc<Self>, session: Arc<Session>, generation: u64, expiry: u32, will_delay: u32) {
        // Held weakly: a timer must not keep a shut-down broker (and its store) alive. After
        // a shutdown the session's record decides again at the next start.
        let broker = Arc::downgrade(self);
        tokio::spawn(async move {
            let start = Instant::now();
            let has_will = session.state.lock().will.is_some();
            if has_will && will_delay < expiry {
                tokio::time::sleep(Duration::from_secs(u64::from(will_delay))).await;
                let Some(broker) = broker.upgrade() else { return };
                if !broker.is_current(&session, generation) {
                    return;
                }
                let will = session.state.lock().will.take();
                if let Some(will) = will {
                    broker.publish_will(&session, will).await;
                    let record = durable::session_record(&session.state.lock(), session.first_durable_order(), Some(now_ms()));
                    let _ = broker.store.apply_later(vec![ops::put_session(&session.client_id, &record)]).await;
                }
            }
            if expiry == u32::MAX {
                return;
            }
            let deadline = start + Duration::from_secs(u64::from(expiry));
            tokio::time::sleep_until(deadline.into()).await;
            let Some(broker) = broker.upgrade() else { return };
            if broker.is_current(&session, generation) {
                let will = session.state.lock().will.take();
                if let Some(will) = will {
                    broker.publish_will(&session, will).await;
                }
                broker.forget_session(&session).await;
            }
        });
    }

    /// True while no connection attached to the session's slot since `generation`.
    fn is_current(&self, session: &Arc<Session>, generation: u64) -> bool {
        let registry = self.registry.lock();
        registry.get(&session.client_id).is_some_and(|slot| {
            slot.generation == generation
                && slot.owner.is_none()
                && slot.session.as_ref().is_some_and(|s| Arc::ptr_eq(s, session))
        })
    }

    /// Removes the session from the registry (if it is still the slot's) and ends it.
    async fn forget_session(&self, session: &Arc<Session>) {
        {
            let mut registry = self.registry.lock();
            if let Some(slot) = registry.get_mut(&session.client_id) {
                if slot.session.as_ref().is_some_and(|s| Arc::ptr_eq(s, session)) {
                    slot.session = None;
                }
                // A connection waiting to attach has set itself as owner, so the slot stays.
                if slot.session.is_none() && slot.owner.is_none() {
                    registry.remove(&session.client_id);
                }
            }
        }
        self.end_session(session);
        // Not left waiting for a later commit: lost in a crash, the ended session would come back.
        let _ = self.store.apply_unawaited(ops::delete_session(&session.client_id)).await;
    }

    /// Drops an ended session's subscriptions from the router and its state from memory.
    fn end_session(&self, session: &Session) {
        let subscriptions: Vec<_> = session.state.lock().subscriptions.drain().map(|(raw, _)| raw).collect();
        for raw in subscriptions {
            let parsed = topic::split_subscription(&raw);
            self.router.unsubscribe(&session.client_id, parsed.share_group, parsed.filter);
        }
        let mut state = session.state.lock();
        state.queue.clear();
        state.inflight.clear();
        state.incoming_qos2.clear();
    }

    /// The pipeline, with the broker's fan-out plan: authorize -> validate -> moderate ->
    /// persist. `incoming_packet` is an inbound QoS 2 packet id for a persistent session.
    pub async fn publish(
        &self,
        client: &ClientInfo,
        message: Message,
        incoming_packet: Option<u16>,
    ) -> Result<Admitted, Refusal> {
        let pending = self.submit(client, message, incoming_packet).await?;
        self.complete(pending).await
    }

    /// Waits for a submitted message's commit, then carries out what moderation decided:
    /// schedules a hold, sends the notices, and refuses a blocked message to its sender.
    pub async fn complete(&self, pending: PendingPersist) -> Result<Admitted, Refusal> {
        let (admitted, review) = pending.complete().await?;
        if let Admitted::Stored { message, .. } = &admitted {
            if let Some(hold) = review.hold {
                self.holds.schedule(message.topic.clone(), message.sequence, hold);
            }
            self.send_notices(&review, &message.topic, message.sequence);
        }
        match review.refusal {
            Some(refusal) => Err(refusal),
            None => Ok(admitted),
        }
    }

    /// Tells the sender of a flagged message, and the other members of its room, on their
    /// notice topics.
    fn send_notices(&self, review: &Review, topic: &str, sequence: u64) {
        let (Some(verdict), Some(plan)) = (&review.verdict, &review.notices) else { return };
        let notice = |kind, message| notices::Notice {
            kind,
            topic,
            sequence,
            decision: verdict.decision.as_str(),
            categories: verdict.categories.iter().map(|c| c.as_str()).collect(),
            rules: &verdict.rules,
            release_at_ms: verdict.release_at_ms,
            message,
        };
        if let Some(sender) = &plan.sender {
            // A blocked message's sender is told by the refusal itself.
            if verdict.decision < tallymq_ai_filter::Decision::Block {
                let kind = if verdict.decision == tallymq_ai_filter::Decision::Hold { "moderation_held" } else { "moderation_warning" };
                self.publish_notice(sender, &notice(kind, notices::sender_text(verdict.decision, &plan.reasons)));
            }
        }
        for recipient in &plan.recipients {
            self.publish_notice(recipient, &notice("rights_notice", notices::RIGHTS_TEXT.to_owned()));
        }
    }

    fn publish_notice(&self, user: &str, notice: &impl serde::Serialize) {
        match serde_json::to_vec(notice) {
            Ok(body) => {
                self.publish_server_message(notices::topic(user), Bytes::from(body), QoS::AtLeastOnce);
            }
            Err(error) => tracing::warn!(%user, %error, "notice not encoded"),
        }
    }

    /// [`Broker::publish`] without waiting for the commit.
    pub async fn submit(
        &self,
        client: &ClientInfo,
        message: Message,
        incoming_packet: Option<u16>,
    ) -> Result<PendingPersist, Refusal> {
        self.pipeline.submit(client, message, incoming_packet, |message| self.plan(message)).await
    }

    /// Publishes a will through the pipeline, as its client would have.
    async fn publish_will(&self, session: &Session, will: Box<LastWill>) {
        let will = *will;
        let (protocol, username, roles) = {
            let state = session.state.lock();
            (state.protocol, state.user.clone(), state.roles.clone())
        };
        let client = ClientInfo { client_id: session.client_id.clone(), username, roles, protocol };
        let properties = PublishProperties {
            payload_format_indicator: will.properties.payload_format_indicator,
            message_expiry_interval: will.properties.message_expiry_interval,
            content_type: will.properties.content_type,
            response_topic: will.properties.response_topic,
            correlation_data: will.properties.correlation_data,
            user_properties: will.properties.user_properties,
            ..Default::default()
        };
        let message = Message::from_publish(
            Arc::from(will.topic.as_str()),
            will.qos,
            will.retain,
            properties,
            will.payload,
            session.client_id.clone(),
            Instant::now(),
        );
        match self.publish(&client, message, None).await {
            Ok(Admitted::Stored { message, plan }) => {
                self.fan_out(&message, plan);
            }
            Ok(Admitted::Duplicate { .. }) => {}
            Err(refusal) => tracing::info!(client = %session.client_id, %refusal, "will message refused"),
        }
    }

    /// Who receives a message, decided before it is stored: persistent sessions' QoS 1/2
    /// deliveries get a durable queue key and are stored with the message.
    pub fn plan(&self, message: &Message) -> FanOutPlan {
        self.plan_deliveries(message, true)
    }

    fn plan_deliveries(&self, message: &Message, durable_for_persistent: bool) -> FanOutPlan {
        // Sessions are looked up while the router still holds the subscriptions (allowed by
        // the lock order), so a route never reaches a session that replaced its subscriber.
        // One registry lock for all routes: the router asks `is_online` (shared groups) before
        // it resolves any route, so the guard taken at the first resolution is never needed
        // by `is_online` again.
        // Access is checked per subscriber and topic: subscriptions were checked when made,
        // but room membership may have changed since.
        let access = &self.pipeline.authorize.access;
        let checked = !access.is_open();
        // The rooms lock is read under the session lock (the lock order allows it).
        let may_read = |session: &Session| {
            let state = session.state.lock();
            let principal = Principal { client_id: &session.client_id, user: state.user.as_deref(), roles: &state.roles };
            access.may_read(&principal, &message.topic)
        };
        let mut registry = None;
        let targets = self.router.route_with(
            &message.topic,
            &message.publisher,
            // Shared groups pick among members that are online and may read the message.
            |client| match self.registry.lock().get(client) {
                Some(slot) => slot.owner.is_some() && (!checked || slot.session.as_deref().is_some_and(may_read)),
                None => false,
            },
            |route| {
                let registry = registry.get_or_insert_with(|| self.registry.lock());
                let session = registry.get(&route.client).and_then(|slot| slot.session.clone())?;
                if checked && !may_read(&session) {
                    return None;
                }
                Some((route, session))
            },
        );
        let planned = targets
            .into_iter()
            .map(|(route, session)| {
                let qos = route.qos.min(message.qos);
                let stored = durable_for_persistent
                    && qos != QoS::AtMostOnce
                    && session.is_persistent()
                    && session.has_room(self.queue_limits);
                let durable = stored.then(|| session.next_durable_order());
                PlannedDelivery { session, route, durable }
            })
            .collect();
        FanOutPlan(planned)
    }

    /// Stage 6: queue an admitted message for every session in its plan. Returns how many
    /// sessions it was queued for.
    pub fn fan_out(&self, message: &Arc<Message>, plan: FanOutPlan) -> usize {
        let mut queued = 0;
        let mut stale = Vec::new();
        for planned in plan.0 {
            let outgoing = Outgoing {
                message: message.clone(),
                qos: planned.route.qos.min(message.qos),
                retain: planned.route.retain_as_published && message.retain,
                subscription_ids: planned.route.subscription_ids,
                durable: planned.durable,
            };
            match planned.session.enqueue(outgoing, self.queue_limits) {
                Ok(()) => queued += 1,
                Err(_) => {
                    if let Some(order) = planned.durable {
                        stale.push(ops::delete_queue_entry(&planned.session.client_id, order));
                    }
                }
            }
        }
        if !stale.is_empty() {
            self.store_later(stale);
        }
        queued
    }

    /// Queues store changes from code that cannot wait (the rare paths of fan-out and
    /// recovery); they are written with the next commit.
    fn store_later(&self, changes: Vec<Op>) {
        let store = self.store.clone();
        tokio::spawn(async move {
            let _ = store.apply_later(changes).await;
        });
    }

    /// Publishes a message from the server itself (notices), bypassing the client pipeline.
    /// Such messages are not stored.
    pub fn publish_server_message(&self, topic: String, payload: Bytes, qos: QoS) -> usize {
        let message = Message::from_publish(Arc::from(topic), qos, false, PublishProperties::default(), payload, Arc::from(""), Instant::now());
        let plan = self.plan_deliveries(&message, false);
        self.fan_out(&Arc::new(message), plan)
    }

    /// Flushes and closes the store.
    pub fn close(&self) {
        self.store.close();
    }
}

/// A connected client, as the admin API lists it.
#[derive(Debug, Clone)]
pub struct ConnectedClient {
    pub client_id: ClientKey,
    pub user: Option<Arc<str>>,
    pub peer: SocketAddr,
    pub protocol: crate::codec::ProtocolVersion,
    /// Milliseconds since the epoch.
    pub connected_since_ms: u64,
    pub subscriptions: usize,
    /// Messages waiting in the session's queue.
    pub queued_messages: usize,
    /// Messages sent and not yet acknowledged.
    pub inflight_messages: usize,
}

/// Operators' view of the registry: who is connected, and asking one to leave.
impl Broker {
    /// Up to `limit` connected clients with ids after `after` (from the first without it),
    /// in client id order, and whether more follow.
    pub fn connected_clients(&self, after: Option<&str>, limit: usize) -> (Vec<ConnectedClient>, bool) {
        let selected = {
            let registry = self.registry.lock();
            // The `limit + 1` smallest ids after `after`, kept in a bounded max-heap: one pass
            // over the registry, whatever its size, with memory for one page.
            let mut smallest = std::collections::BinaryHeap::with_capacity(limit + 2);
            for (id, slot) in registry.iter() {
                if slot.owner.is_none() || slot.session.is_none() || after.is_some_and(|after| &**id <= after) {
                    continue;
                }
                smallest.push(id.clone());
                if smallest.len() > limit + 1 {
                    smallest.pop();
                }
            }
            let mut ids = smallest.into_sorted_vec();
            let more = ids.len() > limit;
            ids.truncate(limit);
            let found: Vec<_> = ids
                .into_iter()
                .filter_map(|id| {
                    let slot = registry.get(&id)?;
                    let owner = slot.owner.as_ref()?;
                    Some((id, slot.session.clone()?, owner.peer, owner.since_ms))
                })
                .collect();
            (found, more)
        };
        let (found, more) = selected;
        let clients = found
            .into_iter()
            .map(|(client_id, session, peer, connected_since_ms)| {
                let state = session.state.lock();
                ConnectedClient {
                    client_id,
                    user: state.user.clone(),
                    peer,
                    protocol: state.protocol,
                    connected_since_ms,
                    subscriptions: state.subscriptions.len(),
                    queued_messages: state.queue.len(),
                    inflight_messages: state.inflight.len(),
                }
            })
            .collect();
        (clients, more)
    }

    /// Asks every connection to leave because the server shuts down (5.0 clients receive
    /// DISCONNECT 0x8B), also those that attach from now on. Unlike a reason sent to one
    /// client, this does not stop a connection that is waiting to take a session over from
    /// attaching; it leaves right after its CONNACK.
    pub fn shut_down_connections(&self) {
        let registry = self.registry.lock();
        self.shutting_down.store(true, Ordering::Relaxed);
        for owner in registry.values().filter_map(|slot| slot.owner.as_ref()) {
            owner.kick.shut_down();
        }
    }

    /// Asks every connected client to leave with `reason`, as [`Broker::disconnect`] does
    /// for one; returns how many were asked.
    pub fn disconnect_all(&self, reason: ReasonCode) -> usize {
        let registry = self.registry.lock();
        let owners = registry.values().filter_map(|slot| slot.owner.as_ref());
        owners.map(|owner| owner.kick.send(reason)).count()
    }

    /// Asks the connection of `client_id` to leave with `reason`, which MQTT 5.0 clients
    /// receive in a DISCONNECT; the connection ends as after any server-side disconnect (the
    /// will is published, a persistent session stays). False if the client is not connected.
    pub fn disconnect(&self, client_id: &str, reason: ReasonCode) -> bool {
        let registry = self.registry.lock();
        match registry.get(client_id).and_then(|slot| slot.owner.as_ref()) {
            Some(owner) => {
                owner.kick.send(reason);
                true
            }
            None => false,
        }
    }
}
