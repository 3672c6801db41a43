//! The publish pipeline: every inbound PUBLISH passes these stages, in this order.
//!
//! ```text
//! authorize -> validate -> moderate -> persist -> acknowledge -> fan out
//! ```
//!
//! [`Pipeline::submit`] runs the first four: it hands the message to the store and returns a
//! [`PendingPersist`] whose `complete` waits for the commit (the broker's `complete` then
//! carries out what moderation decided: holds, notices, a block's refusal). Between moderate and persist the
//! broker plans
//! the fan-out (who gets the message), so that persistent sessions' queue entries are stored
//! with the message. The connection then acknowledges (PUBACK/PUBREC) and hands the admitted
//! message to [`crate::broker::Broker::fan_out`]; nothing is acknowledged that the persist
//! stage has not made durable, and nothing is delivered that was not acknowledged. Any stage may refuse with a [`Refusal`]: 5.0 clients see its reason code and
//! reason string in the acknowledgement, 3.1.1 clients get a notice on their notice topic
//! (see ARCHITECTURE.md). Stages may attach data to the message (`Message::annotations`) that
//! travels to 5.0 subscribers as user properties.

mod authorize;
mod moderate;
mod persist;
mod validate;

use std::sync::Arc;

pub use authorize::Authorize;
pub use moderate::{model_source, policy_of, runtime_library, Moderate, ModerationSetupError, Notices, Review};
pub use persist::{Admitted, FanOutPlan, PendingPersist, Persist, PlannedDelivery, MESSAGE_ID_PROPERTY};
pub use validate::Validate;

use tallymq_storage::Store;

use crate::codec::{ProtocolVersion, ReasonCode};
use crate::message::Message;
use crate::clock::Clock;
use crate::moderation::Holds;
use crate::retained::RetainedStore;
use crate::rooms::Rooms;
use crate::router::ClientKey;

/// Who is publishing or subscribing, as the stages need to know it.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub client_id: ClientKey,
    /// The authenticated user id; `None` for anonymous clients. In open mode, the user name
    /// as sent, unchecked.
    pub username: Option<Arc<str>>,
    /// Roles from the user's token.
    pub roles: Arc<[Arc<str>]>,
    pub protocol: ProtocolVersion,
}

/// A stage's refusal of a message, with a reason the client can see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {reason}")]
pub struct Refusal {
    pub code: ReasonCode,
    pub reason: String,
}

impl Refusal {
    pub fn new(code: ReasonCode, reason: impl Into<String>) -> Refusal {
        Refusal { code, reason: reason.into() }
    }
}

pub struct Pipeline {
    pub authorize: Authorize,
    pub validate: Validate,
    pub moderate: Moderate,
    pub persist: Persist,
}

impl Pipeline {
    /// Builds the stages; fails when moderation is enabled but its runtime or model is missing.
    pub fn new(
        config: &tallymq_config::Config,
        store: Arc<Store>,
        retained: Arc<RetainedStore>,
        rooms: Arc<Rooms>,
        holds: Arc<Holds>,
        clock: Arc<Clock>,
    ) -> Result<Pipeline, ModerationSetupError> {
        Ok(Pipeline {
            authorize: Authorize::new(config, rooms.clone()),
            validate: Validate::new(config),
            moderate: Moderate::new(config, store.clone(), rooms, holds, clock)?,
            persist: Persist::new(store, retained),
        })
    }

    /// Runs authorize -> validate -> moderate -> (plan) -> persist, up to handing the message
    /// to the store. Once [`PendingPersist::complete`] returns success the message is durable
    /// and may be acknowledged, then fanned out along its plan. Not waiting here lets a
    /// connection keep several publishes in flight, completing them in order.
    pub async fn submit(
        &self,
        client: &ClientInfo,
        mut message: Message,
        incoming_packet: Option<u16>,
        plan: impl FnOnce(&Message) -> FanOutPlan,
    ) -> Result<PendingPersist, Refusal> {
        self.authorize.publish(client, &message)?;
        self.validate.check(client, &message)?;
        let review = self.moderate.review(client, &mut message).await?;
        // A held or blocked message is stored for nobody; a release plans it again.
        let plan = if review.withholds() { FanOutPlan::default() } else { plan(&message) };
        self.persist.submit(client, message, incoming_packet, plan, review).await
    }
}
