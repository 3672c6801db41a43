//! The first byte of the fixed header: packet type numbers and the flag bits each type must carry
//! (MQTT 5.0 section 2.1.2 and 2.1.3; identical in 3.1.1 apart from AUTH).

pub(super) const CONNECT: u8 = 1;
pub(super) const CONNACK: u8 = 2;
pub(super) const PUBLISH: u8 = 3;
pub(super) const PUBACK: u8 = 4;
pub(super) const PUBREC: u8 = 5;
pub(super) const PUBREL: u8 = 6;
pub(super) const PUBCOMP: u8 = 7;
pub(super) const SUBSCRIBE: u8 = 8;
pub(super) const SUBACK: u8 = 9;
pub(super) const UNSUBSCRIBE: u8 = 10;
pub(super) const UNSUBACK: u8 = 11;
pub(super) const PINGREQ: u8 = 12;
pub(super) const PINGRESP: u8 = 13;
pub(super) const DISCONNECT: u8 = 14;
/// MQTT 5.0 only; reserved in 3.1.1.
pub(super) const AUTH: u8 = 15;

/// PUBLISH flag bits.
pub(super) const PUBLISH_DUP: u8 = 0b1000;
pub(super) const PUBLISH_RETAIN: u8 = 0b0001;

/// The flags every type but PUBLISH must carry; anything else is a malformed packet.
pub(super) fn required_flags(kind: u8) -> u8 {
    match kind {
        PUBREL | SUBSCRIBE | UNSUBSCRIBE => 0b0010,
        _ => 0,
    }
}

/// Name of a packet type number, for error messages.
pub(super) fn name(kind: u8) -> &'static str {
    match kind {
        CONNECT => "CONNECT",
        CONNACK => "CONNACK",
        PUBLISH => "PUBLISH",
        PUBACK => "PUBACK",
        PUBREC => "PUBREC",
        PUBREL => "PUBREL",
        PUBCOMP => "PUBCOMP",
        SUBSCRIBE => "SUBSCRIBE",
        SUBACK => "SUBACK",
        UNSUBSCRIBE => "UNSUBSCRIBE",
        UNSUBACK => "UNSUBACK",
        PINGREQ => "PINGREQ",
        PINGRESP => "PINGRESP",
        DISCONNECT => "DISCONNECT",
        AUTH => "AUTH",
        _ => "reserved packet type",
    }
}
