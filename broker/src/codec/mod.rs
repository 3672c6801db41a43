//! The MQTT wire format for both protocol versions.
//!
//! [`decode`] turns bytes from a client into a [`Packet`], rejecting anything the specs call
//! malformed or a protocol error with the reason code the broker should answer with;
//! [`encode`] writes a [`Packet`] in the layout of the connection's protocol version.
pub mod packet;
pub mod reason;

mod decode;
mod encode;
mod header;
mod properties;
mod read;
mod write;

pub use decode::{decode, DecodeError};
pub use encode::{encode, EncodeError};
pub use packet::*;
pub use reason::ReasonCode;
