//! The MQTT wire format for both protocol versions.
pub mod packet;
pub mod reason;
