//! tallymq: an MQTT 3.1.1 and 5.0 broker built around an explicit publish pipeline.
//!
//! Start at [`server::Server`] (listeners), then [`connection`] (one task per client),
//! [`pipeline`] (what every PUBLISH passes through) and [`broker`] (shared state). Who may
//! connect is [`auth`]'s question, what they may touch [`access`]'s, with [`rooms`] managed
//! through the [`admin`] API.

pub mod access;
pub mod admin;
pub mod admission;
pub mod auth;
pub mod broker;
pub mod clock;
pub mod codec;
pub mod connection;
pub mod durable;
pub mod hashing;
pub mod history;
pub mod kick;
pub mod message;
pub mod moderation;
pub mod pipeline;
pub mod read_buffer;
pub mod reload;
pub mod retained;
pub mod rooms;
pub mod router;
pub mod server;
pub mod session;
pub mod signal;
pub mod small_map;
pub mod token_bucket;
pub mod tls;
pub mod topic;
pub mod ws;
