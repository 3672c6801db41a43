//! tallymq's on-disk state, in RocksDB.
//!
//! One data directory holds everything a restart needs, in named column families (see
//! [`keys`]): per-topic message logs that are hash-chained as evidence, topic heads, retained
//! messages, persistent sessions with their queues and inbound QoS 2 state, the dedup
//! index, and the loan chat rooms. All writes go through one commit path ([`commit`]) that
//! groups whatever is waiting into one batch and one WAL sync, so a write is durable when its
//! future resolves, and throughput does not pay one fsync per message.
//!
//! This crate knows nothing of MQTT connections: it stores records the broker hands it.

pub mod chain;
pub mod commit;
mod error;
pub mod keys;
pub mod record;
mod retention;
mod later;
mod store;

pub use chain::{BrokenLink, Problem, VerifyReport};
pub use commit::{Append, Appended, Op, QueuedDelivery};
pub use error::StorageError;
pub use record::{
    ContactWindow, Delivery, DeliveryStage, HoldRecord, LoanRecord, LoanState, MemberRole, MessageRecord, Principal, Properties,
    QueueEntry, RoomRecord, RoomState, Sender, SessionRecord, StoredMessage, SubscriptionRecord, TopicHead, WillRecord,
};
pub use store::{ops, PendingAppend, Recovered, RecoveredSession, Store, SCHEMA_VERSION};
