//! State shared by every connection: sessions, subscriptions, retained messages, the pipeline.
//!
//! A session belongs to at most one connection at a time. A connection attaches to its
//! client id's slot by taking the slot's `attach` lock; a second connection with the same
//! client id first tells the owner to leave (takeover) and then waits for that lock, so the
//! old connection's clean-up (will, session end) always finishes before the new one starts.
//! Timers for delayed wills and session expiry carry the slot's generation and do nothing if
//! a connection attached since they were set.
//!
//! Lock order: the router's lock may be held while taking the registry lock (routing asks who
//! is online), never the other way round.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::{watch, OwnedMutexGuard};

use crate::codec::{LastWill, ProtocolVersion, PublishProperties, QoS, ReasonCode};
use crate::message::Message;
use crate::pipeline::{ClientInfo, Pipeline};
use crate::retained::RetainedStore;
use crate::router::{ClientKey, Router};
use crate::session::{Outgoing, QueueLimits, Session};

/// Why a connection is asked to leave.
pub type KickReceiver = watch::Receiver<Option<ReasonCode>>;

struct Owner {
    connection_id: u64,
    kick: watch::Sender<Option<ReasonCode>>,
}

#[derive(Default)]
struct Slot {
    attach: Arc<tokio::sync::Mutex<()>>,
    owner: Option<Owner>,
    session: Option<Arc<Session>>,
    /// Bumped on every attach; timers set before it compare and stand down.
    generation: u64,
}

/// A connection's hold on its session.
pub struct Attachment {
    pub session: Arc<Session>,
    pub session_present: bool,
    pub connection_id: u64,
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

pub struct Broker {
    pub config: Arc<tallymq_config::Config>,
    pub router: Router,
    pub retained: Arc<RetainedStore>,
    pub pipeline: Pipeline,
    registry: Mutex<HashMap<ClientKey, Slot>>,
    next_connection_id: AtomicU64,
    queue_limits: QueueLimits,
}

impl Broker {
    pub fn new(config: tallymq_config::Config) -> Arc<Broker> {
        let retained = Arc::new(RetainedStore::new(config.mqtt.max_retained_messages as usize));
        let pipeline = Pipeline::new(&config, retained.clone());
        let queue_limits = QueueLimits {
            max_queued: config.mqtt.max_queued_messages as usize,
            queue_qos0_offline: config.mqtt.queue_qos0_offline,
        };
        Arc::new(Broker {
            config: Arc::new(config),
            router: Router::new(),
            retained,
            pipeline,
            registry: Mutex::new(HashMap::new()),
            next_connection_id: AtomicU64::new(1),
            queue_limits,
        })
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

    /// Attaches a new connection to the session of `client_id`, taking it over from a
    /// connection that holds it. Returns `None` if yet another connection with the same id
    /// arrived while this one waited.
    pub async fn attach(
        self: &Arc<Self>,
        client_id: &ClientKey,
        clean_start: bool,
        protocol: ProtocolVersion,
        expiry_interval: u32,
        will: Option<LastWill>,
    ) -> Option<Attachment> {
        let connection_id = self.next_connection_id.fetch_add(1, Ordering::Relaxed);
        let (kick, kicked) = watch::channel(None);
        let attach_lock = {
            let mut registry = self.registry.lock();
            let slot = registry.entry(client_id.clone()).or_default();
            if let Some(previous) = slot.owner.replace(Owner { connection_id, kick }) {
                let _ = previous.kick.send(Some(ReasonCode::SESSION_TAKEN_OVER));
            }
            slot.generation += 1;
            slot.attach.clone()
        };
        let guard = attach_lock.lock_owned().await;
        if kicked.borrow().is_some() {
            return None;
        }
        let (session, session_present, discarded) = {
            let mut registry = self.registry.lock();
            let slot = registry.get_mut(client_id)?;
            match slot.session.take() {
                Some(existing) if !clean_start => {
                    slot.session = Some(existing.clone());
                    (existing, true, None)
                }
                previous => {
                    let fresh = Arc::new(Session::new(client_id.clone(), protocol, expiry_interval));
                    slot.session = Some(fresh.clone());
                    (fresh, false, previous)
                }
            }
        };
        if let Some(old) = discarded {
            // Clean start ends the old session; a will still waiting on its delay goes now.
            let pending_will = old.state.lock().will.take();
            if let Some(will) = pending_will {
                self.publish_will(&old, will).await;
            }
            self.end_session(&old);
        }
        {
            let mut state = session.state.lock();
            state.connected = true;
            state.protocol = protocol;
            state.expiry_interval = expiry_interval;
            state.will = will;
        }
        Some(Attachment { session, session_present, connection_id, kicked, _guard: guard })
    }

    /// Detaches a connection from its session: publishes or schedules the will, ends the
    /// session now if it does not outlive the connection, or schedules its expiry.
    pub async fn detach(self: &Arc<Self>, attachment: Attachment, departure: Departure) {
        let session = attachment.session.clone();
        let generation = {
            let mut registry = self.registry.lock();
            match registry.get_mut(&session.client_id) {
                Some(slot) => {
                    if slot.owner.as_ref().is_some_and(|o| o.connection_id == attachment.connection_id) {
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
            self.forget_session(&session);
        } else {
            self.schedule_expiry(session, generation, expiry, will_delay);
        }
        drop(attachment);
    }

    fn schedule_expiry(self: &Arc<Self>, session: Arc<Session>, generation: u64, expiry: u32, will_delay: u32) {
        let broker = self.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            let has_will = session.state.lock().will.is_some();
            if has_will && will_delay < expiry {
                tokio::time::sleep(Duration::from_secs(u64::from(will_delay))).await;
                if !broker.is_current(&session, generation) {
                    return;
                }
                let will = session.state.lock().will.take();
                if let Some(will) = will {
                    broker.publish_will(&session, will).await;
                }
            }
            if expiry == u32::MAX {
                return;
            }
            let deadline = start + Duration::from_secs(u64::from(expiry));
            tokio::time::sleep_until(deadline.into()).await;
            if broker.is_current(&session, generation) {
                let will = session.state.lock().will.take();
                if let Some(will) = will {
                    broker.publish_will(&session, will).await;
                }
                broker.forget_session(&session);
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
    fn forget_session(&self, session: &Arc<Session>) {
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
    }

    /// Drops an ended session's subscriptions from the router.
    fn end_session(&self, session: &Session) {
        let subscriptions: Vec<_> = session.state.lock().subscriptions.drain().map(|(_, s)| s).collect();
        for sub in subscriptions {
            self.router.unsubscribe(&session.client_id, sub.share_group.as_deref(), &sub.filter);
        }
        let mut state = session.state.lock();
        state.queue.clear();
        state.inflight.clear();
        state.incoming_qos2.clear();
    }

    /// Publishes a will through the pipeline, as its client would have.
    async fn publish_will(&self, session: &Session, will: LastWill) {
        let client = ClientInfo { client_id: session.client_id.clone(), username: None, protocol: session.state.lock().protocol };
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
        match self.pipeline.admit(&client, message).await {
            Ok(message) => {
                self.fan_out(&message);
            }
            Err(refusal) => tracing::info!(client = %session.client_id, %refusal, "will message refused"),
        }
    }

    /// Stage 6: queue an admitted message for every matching session. Returns how many
    /// sessions it was queued for.
    pub fn fan_out(&self, message: &Arc<Message>) -> usize {
        let routes = self.router.route(&message.topic, &message.publisher, |client| self.is_online(client));
        if routes.is_empty() {
            return 0;
        }
        let targets: Vec<_> = {
            let registry = self.registry.lock();
            routes
                .into_iter()
                .filter_map(|route| registry.get(&route.client).and_then(|slot| slot.session.clone()).map(|s| (route, s)))
                .collect()
        };
        let mut queued = 0;
        for (route, session) in targets {
            let outgoing = Outgoing {
                message: message.clone(),
                qos: route.qos.min(message.qos),
                retain: route.retain_as_published && message.retain,
                subscription_ids: route.subscription_ids,
            };
            if session.enqueue(outgoing, self.queue_limits).is_ok() {
                queued += 1;
            }
        }
        queued
    }

    fn is_online(&self, client: &str) -> bool {
        self.registry.lock().get(client).is_some_and(|slot| slot.owner.is_some())
    }

    /// Publishes a message from the server itself (notices), bypassing the client pipeline.
    pub fn publish_server_message(&self, topic: String, payload: Bytes, qos: QoS) -> usize {
        let message = Message::from_publish(Arc::from(topic), qos, false, PublishProperties::default(), payload, Arc::from(""), Instant::now());
        self.fan_out(&Arc::new(message))
    }
}
