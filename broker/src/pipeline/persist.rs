//! Stage 4, persist: the message becomes durable before anything acknowledges it.
//!
//! One append to the store writes, in one batch and one WAL sync: the record in its topic
//! log (next sequence number, hash-linked to the previous record), the retained message,
//! the client message id for dedup, the inbound QoS 2 packet id, and a queue entry for each
//! persistent session the message is planned for. So after a crash, an acknowledged message
//! is in its log and in every persistent subscriber's queue, or it was never acknowledged.

use std::sync::Arc;

use tallymq_storage::{Append, Appended, PendingAppend, QueuedDelivery, Store};

use crate::codec::ReasonCode;
use crate::message::Message;
use crate::retained::RetainedStore;
use crate::router::Route;
use crate::session::Session;

use super::{ClientInfo, Refusal, Review};

/// The user property carrying a client's own message id, used to store resends once.
pub const MESSAGE_ID_PROPERTY: &str = "msg-id";

/// One planned delivery of a message, decided before the message is stored.
pub struct PlannedDelivery {
    pub session: Arc<Session>,
    pub route: Route,
    /// Durable queue key, for deliveries to persistent sessions at QoS 1/2.
    pub durable: Option<u64>,
}

/// Who gets a message: computed by the broker from the subscriptions before persist.
#[derive(Default)]
pub struct FanOutPlan(pub Vec<PlannedDelivery>);

/// A message that passed the pipeline.
pub enum Admitted {
    /// Stored with its sequence number; acknowledge, then fan out along the plan.
    Stored { message: Arc<Message>, plan: FanOutPlan },
    /// A resend of a message stored before under the same client message id: acknowledge,
    /// deliver nothing.
    Duplicate { sequence: u64 },
}

pub struct Persist {
    store: Arc<Store>,
    retained: Arc<RetainedStore>,
}

impl Persist {
    pub fn new(store: Arc<Store>, retained: Arc<RetainedStore>) -> Persist {
        Persist { store, retained }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Submits the message to the store; [`PendingPersist::complete`] waits until it is
    /// durable. `incoming_packet` is the QoS 2 packet id to remember until PUBREL
    /// (persistent sessions only). Submissions are committed in submission order.
    pub async fn submit(
        &self,
        client: &ClientInfo,
        message: Message,
        incoming_packet: Option<u16>,
        plan: FanOutPlan,
        mut review: Review,
    ) -> Result<PendingPersist, Refusal> {
        if message.retain && !message.payload.is_empty() {
            self.retained.check_room(&message.topic).map_err(|full| Refusal::new(ReasonCode::QUOTA_EXCEEDED, full.to_string()))?;
        }
        let message_id = message
            .properties
            .user_properties
            .iter()
            .find(|(name, _)| name == MESSAGE_ID_PROPERTY)
            .map(|(_, value)| value.clone());
        let client_id = client.client_id.to_string();
        let deliveries = plan
            .0
            .iter()
            .filter_map(|planned| {
                planned.durable.map(|order| QueuedDelivery {
                    client: planned.session.client_id.to_string(),
                    order,
                    qos: planned.route.qos.min(message.qos) as u8,
                    retain: planned.route.retain_as_published && message.retain,
                    subscription_ids: planned.route.subscription_ids.clone(),
                })
            })
            .collect();
        let append = Append {
            record: message.to_record(client.username.as_deref(), message_id.clone()),
            retain: message.retain,
            dedup: message_id.map(|id| (client_id.clone(), id)),
            incoming: incoming_packet.map(|packet_id| (client_id, packet_id)),
            deliveries,
            hold: review.hold,
            extra: std::mem::take(&mut review.extra),
        };
        let append = self.store.submit(append).await.map_err(unavailable)?;
        Ok(PendingPersist { append, message, plan, retained: self.retained.clone(), review })
    }
}

fn unavailable(error: tallymq_storage::StorageError) -> Refusal {
    Refusal::new(ReasonCode::IMPLEMENTATION_SPECIFIC_ERROR, format!("message not stored, storage unavailable: {error}"))
}

/// A message submitted to the store, not yet known to be durable.
pub struct PendingPersist {
    append: PendingAppend,
    message: Message,
    plan: FanOutPlan,
    retained: Arc<RetainedStore>,
    review: Review,
}

impl PendingPersist {
    /// Waits for the commit: the message is durable (or refused) when this returns. The
    /// review says what moderation still has to do (`Broker::complete` does it).
    pub async fn complete(self) -> Result<(Admitted, Review), Refusal> {
        let PendingPersist { append, mut message, plan, retained, review } = self;
        match append.wait().await.map_err(unavailable)? {
            Appended::Stored { sequence, .. } => {
                message.sequence = sequence;
                let message = Arc::new(message);
                if message.retain {
                    // Room was checked at submission; concurrent publishers can overshoot
                    // the bound by their number at most.
                    retained.apply(&message);
                }
                Ok((Admitted::Stored { message, plan }, review))
            }
            Appended::Duplicate(first) => Ok((Admitted::Duplicate { sequence: first.sequence }, review)),
        }
    }
}
