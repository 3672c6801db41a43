//! Encoding packets in the layout of a connection's protocol version.
//!
//! The packet model is 5.0-shaped; for 3.1.1 the encoder drops what that version cannot carry
//! (properties, most reason codes) and maps what it can (CONNACK return codes, SUBACK failures).
//! It refuses values the peer would have to reject as malformed or a protocol error, so a bug
//! upstream shows as an error here rather than as a disconnected client.

use std::borrow::Cow;

use bytes::{BufMut, BytesMut};

use super::header::{PUBLISH_DUP, PUBLISH_RETAIN};
use super::packet::{
    Auth, ConnAck, Connect, Disconnect, Packet, ProtocolVersion, PubResponse, Publish, QoS, SubAck,
    Subscribe, UnsubAck, Unsubscribe,
};
use super::properties;
use super::read::VBI_MAX;
use super::write::{measure, put_binary, put_string, put_vbi, Fault, Sink};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode {packet}: {message}")]
pub struct EncodeError {
    pub packet: &'static str,
    pub message: Cow<'static, str>,
}

/// Append the packet's wire form for `version` to `buf`. On error nothing is appended.
///
/// 3.1.1: properties are omitted; the CONNACK reason is mapped with
/// [`ReasonCode::to_v311_connack`](super::ReasonCode::to_v311_connack); SUBACK failure codes
/// (>= 0x80) become 0x80; UNSUBACK has no reasons; PUBACK etc. have no reason code; DISCONNECT
/// has no body; AUTH does not exist and is an error.
///
/// 5.0: the reason code and properties are omitted when the reason is 0 and there are no
/// properties (PUBACK/PUBREC/PUBREL/PUBCOMP/DISCONNECT/AUTH short forms).
///
/// Both: a QoS 0 PUBLISH has no packet identifier and its DUP flag is always written as 0.
pub fn encode(
    packet: &Packet,
    version: ProtocolVersion,
    buf: &mut BytesMut,
) -> Result<(), EncodeError> {
    let fail = |message: Fault| EncodeError { packet: packet.name(), message };
    if version == ProtocolVersion::V311 && matches!(packet, Packet::Auth(_)) {
        return Err(fail("AUTH does not exist in MQTT 3.1.1".into()));
    }
    // First pass counts, and finds every error before anything is written.
    let remaining = measure(&|s| body(packet, version, s)).map_err(fail)?;
    if remaining > VBI_MAX as usize {
        return Err(fail(format!("remaining length {remaining} exceeds {VBI_MAX}").into()));
    }
    buf.reserve(1 + 4 + remaining);
    BufMut::put_u8(buf, first_byte(packet));
    put_vbi(buf, remaining, "remaining length").map_err(fail)?;
    body(packet, version, buf).map_err(fail)
}

/// Packet type and flags.
fn first_byte(packet: &Packet) -> u8 {
    match packet {
        Packet::Connect(_) => 0x10,
        Packet::ConnAck(_) => 0x20,
        Packet::Publish(p) => {
            let mut byte = 0x30 | (p.qos as u8) << 1;
            if p.dup && p.qos != QoS::AtMostOnce {
                byte |= PUBLISH_DUP;
            }
            if p.retain {
                byte |= PUBLISH_RETAIN;
            }
            byte
        }
        Packet::PubAck(_) => 0x40,
        Packet::PubRec(_) => 0x50,
        Packet::PubRel(_) => 0x62,
        Packet::PubComp(_) => 0x70,
        Packet::Subscribe(_) => 0x82,
        Packet::SubAck(_) => 0x90,
        Packet::Unsubscribe(_) => 0xA2,
        Packet::UnsubAck(_) => 0xB0,
        Packet::PingReq => 0xC0,
        Packet::PingResp => 0xD0,
        Packet::Disconnect(_) => 0xE0,
        Packet::Auth(_) => 0xF0,
    }
}

/// Everything after the remaining length.
fn body(packet: &Packet, v: ProtocolVersion, s: &mut dyn Sink) -> Result<(), Fault> {
    match packet {
        Packet::Connect(c) => connect(c, v, s),
        Packet::ConnAck(c) => connack(c, v, s),
        Packet::Publish(p) => publish(p, v, s),
        Packet::PubAck(p) | Packet::PubRec(p) | Packet::PubRel(p) | Packet::PubComp(p) => {
            pub_response(p, v, s)
        }
        Packet::Subscribe(p) => subscribe(p, v, s),
        Packet::SubAck(p) => suback(p, v, s),
        Packet::Unsubscribe(p) => unsubscribe(p, v, s),
        Packet::UnsubAck(p) => unsuback(p, v, s),
        Packet::PingReq | Packet::PingResp => Ok(()),
        Packet::Disconnect(d) => disconnect(d, v, s),
        Packet::Auth(a) => auth(a, v, s),
    }
}

fn connect(c: &Connect, v: ProtocolVersion, s: &mut dyn Sink) -> Result<(), Fault> {
    if c.protocol != v {
        return Err(format!("CONNECT for {:?} encoded as {v:?}", c.protocol).into());
    }
    if v == ProtocolVersion::V311 && c.password.is_some() && c.username.is_none() {
        return Err("MQTT 3.1.1 does not allow a password without a user name".into());
    }
    put_string(s, "MQTT", "protocol name")?;
    s.put_u8(v.level());
    let mut flags = 0u8;
    if c.username.is_some() {
        flags |= 0x80;
    }
    if c.password.is_some() {
        flags |= 0x40;
    }
    if let Some(will) = &c.will {
        flags |= 0x04 | (will.qos as u8) << 3;
        if will.retain {
            flags |= 0x20;
        }
    }
    if c.clean_start {
        flags |= 0x02;
    }
    s.put_u8(flags);
    s.put_u16(c.keep_alive);
    if v == ProtocolVersion::V5 {
        properties::write_connect(s, &c.properties)?;
    }
    put_string(s, &c.client_id, "client identifier")?;
    if let Some(will) = &c.will {
        if v == ProtocolVersion::V5 {
            properties::write_will(s, &will.properties)?;
        }
        put_string(s, &will.topic, "will topic")?;
        put_binary(s, &will.payload, "will payload")?;
    }
    if let Some(username) = &c.username {
        put_string(s, username, "user name")?;
    }
    if let Some(password) = &c.password {
        put_binary(s, password, "password")?;
    }
    Ok(())
}

fn connack(c: &ConnAck, v: ProtocolVersion, s: &mut dyn Sink) -> Result<(), Fault> {
    s.put_u8(u8::from(c.session_present));
    match v {
        ProtocolVersion::V311 => s.put_u8(c.reason.to_v311_connack()),
        ProtocolVersion::V5 => {
            s.put_u8(c.reason.0);
            properties::write_connack(s, &c.properties)?;
        }
    }
    Ok(())
}

fn publish(p: &Publish, v: ProtocolVersion, s: &mut dyn Sink) -> Result<(), Fault> {
    if v == ProtocolVersion::V311 && p.topic.is_empty() {
        return Err("MQTT 3.1.1 does not allow an empty topic name".into());
    }
    // A topic built from client input (a client id, a response topic) must not reach the
    // wire with a wildcard: the receiver would take the PUBLISH as malformed (MQTT-3.3.2-2).
    if p.topic.contains(['+', '#']) {
        return Err(format!("topic name {:?} contains a wildcard", p.topic).into());
    }
    put_string(s, &p.topic, "topic name")?;
    if p.qos != QoS::AtMostOnce {
        s.put_u16(p.packet_id);
    }
    if v == ProtocolVersion::V5 {
        properties::write_publish(s, &p.properties)?;
    }
    s.put_slice(&p.payload);
    Ok(())
}

/// Reason code and properties for the 5.0 packets that may leave both off when there is nothing
/// to say.
fn reason_and_properties(
    s: &mut dyn Sink,
    reason: u8,
    empty: bool,
    properties: &dyn Fn(&mut dyn Sink) -> Result<(), Fault>,
) -> Result<(), Fault> {
    if reason == 0 && empty {
        return Ok(());
    }
    s.put_u8(reason);
    properties(s)
}

fn pub_response(p: &PubResponse, v: ProtocolVersion, s: &mut dyn Sink) -> Result<(), Fault> {
    s.put_u16(p.packet_id);
    if v == ProtocolVersion::V5 {
        let empty = p.properties == Default::default();
        reason_and_properties(s, p.reason.0, empty, &|s| properties::write_ack(s, &p.properties))?;
    }
    Ok(())
}

fn subscribe(p: &Subscribe, v: ProtocolVersion, s: &mut dyn Sink) -> Result<(), Fault> {
    s.put_u16(p.packet_id);
    if v == ProtocolVersion::V5 {
        properties::write_subscribe(s, p.subscription_identifier, &p.user_properties)?;
    }
    for (filter, options) in &p.filters {
        put_string(s, filter, "topic filter")?;
        let mut byte = options.qos as u8;
        if v == ProtocolVersion::V5 {
            byte |= u8::from(options.no_local) << 2
                | u8::from(options.retain_as_published) << 3
                | (options.retain_handling as u8) << 4;
        }
        s.put_u8(byte);
    }
    Ok(())
}

fn suback(p: &SubAck, v: ProtocolVersion, s: &mut dyn Sink) -> Result<(), Fault> {
    s.put_u16(p.packet_id);
    match v {
        ProtocolVersion::V311 => {
            for reason in &p.reasons {
                s.put_u8(if reason.is_error() { 0x80 } else { reason.0 });
            }
        }
        ProtocolVersion::V5 => {
            properties::write_ack(s, &p.properties)?;
            for reason in &p.reasons {
                s.put_u8(reason.0);
            }
        }
    }
    Ok(())
}

fn unsubscribe(p: &Unsubscribe, v: ProtocolVersion, s: &mut dyn Sink) -> Result<(), Fault> {
    s.put_u16(p.packet_id);
    if v == ProtocolVersion::V5 {
        properties::write_unsubscribe(s, &p.user_properties)?;
    }
    for filter in &p.filters {
        put_string(s, filter, "topic filter")?;
    }
    Ok(())
}

fn unsuback(p: &UnsubAck, v: ProtocolVersion, s: &mut dyn Sink) -> Result<(), Fault> {
    s.put_u16(p.packet_id);
    if v == ProtocolVersion::V5 {
        properties::write_ack(s, &p.properties)?;
        for reason in &p.reasons {
            s.put_u8(reason.0);
        }
    }
    Ok(())
}

fn disconnect(d: &Disconnect, v: ProtocolVersion, s: &mut dyn Sink) -> Result<(), Fault> {
    if v == ProtocolVersion::V5 {
        let empty = d.properties == Default::default();
        reason_and_properties(s, d.reason.0, empty, &|s| {
            properties::write_disconnect(s, &d.properties)
        })?;
    }
    Ok(())
}

fn auth(a: &Auth, v: ProtocolVersion, s: &mut dyn Sink) -> Result<(), Fault> {
    if v == ProtocolVersion::V5 {
        let empty = a.properties == Default::default();
        reason_and_properties(s, a.reason.0, empty, &|s| properties::write_auth(s, &a.properties))?;
    }
    Ok(())
}
