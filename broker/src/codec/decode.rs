//! Decoding packets from the bytes a peer sent.
//!
//! The decoder is the broker's first line of defence against hostile or broken clients, so it
//! checks everything the specs let it check without broker state: framing, reserved bits, field
//! lengths, UTF-8, property rules. Each rejection carries the MQTT 5.0 reason code that section
//! 4.13 and the packet's own section assign, for the DISCONNECT (or CONNACK) the broker sends.
//! It never waits for a body it would reject for size, never allocates more than the bytes that
//! have arrived, and hands out payloads as slices of the receive buffer.

use std::borrow::Cow;

use bytes::{Bytes, BytesMut};

use super::header::{self, *};
use super::packet::{
    Auth, ConnAck, Connect, Disconnect, LastWill, Packet, ProtocolVersion, PubResponse, Publish,
    QoS, RetainHandling, SubAck, Subscribe, SubscriptionOptions, UnsubAck, Unsubscribe,
};
use super::properties;
use super::read::{parse_vbi, Reader};
use super::reason::ReasonCode;

/// Why bytes from a client could not be decoded; `reason` is the 5.0 reason code the broker
/// sends in DISCONNECT (or CONNACK when the CONNECT itself is bad).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct DecodeError {
    pub reason: ReasonCode,
    pub message: Cow<'static, str>,
}

impl DecodeError {
    pub(super) fn new(reason: ReasonCode, message: impl Into<Cow<'static, str>>) -> DecodeError {
        DecodeError { reason, message: message.into() }
    }

    pub(super) fn malformed(message: impl Into<Cow<'static, str>>) -> DecodeError {
        DecodeError::new(ReasonCode::MALFORMED_PACKET, message)
    }

    pub(super) fn protocol(message: impl Into<Cow<'static, str>>) -> DecodeError {
        DecodeError::new(ReasonCode::PROTOCOL_ERROR, message)
    }
}

/// Decode one packet from the front of `buf`. Ok(None) = need more bytes (nothing consumed).
/// On Ok(Some) the packet's bytes are consumed; payloads and binary fields are zero-copy slices
/// of them.
///
/// `version`: None before CONNECT (then the first packet must be CONNECT, anything else is a
/// protocol error); CONNECT carries its own version. Some(v) after.
///
/// `max_packet_size`: limit on the whole packet (fixed header + remaining length); a larger
/// packet is PACKET_TOO_LARGE as soon as its fixed header is readable, without waiting for the
/// body.
///
/// On error nothing is consumed either, so the caller can still inspect the offending bytes
/// (e.g. the protocol level of a refused CONNECT); the connection must then be closed.
pub fn decode(
    buf: &mut BytesMut,
    version: Option<ProtocolVersion>,
    max_packet_size: u32,
) -> Result<Option<Packet>, DecodeError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let kind = first >> 4;
    let flags = first & 0x0F;
    check_first_byte(kind, flags, version)?;

    let Some((remaining, len_bytes)) = parse_vbi(buf.get(1..).unwrap_or_default())? else {
        return Ok(None);
    };
    let header_len = 1 + len_bytes;
    let total = header_len as u64 + u64::from(remaining);
    if total > u64::from(max_packet_size) {
        return Err(DecodeError::new(
            ReasonCode::PACKET_TOO_LARGE,
            format!(
                "{} of {total} bytes exceeds the maximum packet size {max_packet_size}",
                header::name(kind)
            ),
        ));
    }
    let total = header_len + remaining as usize;
    if buf.len() < total {
        return Ok(None);
    }
    // Parse a frozen slice so that payloads can be shared without copying; on error the
    // bytes go back into `buf`, so the caller can still look at the offending packet.
    let frame = buf.split_to(total).freeze();
    match packet(frame.slice(header_len..), kind, flags, version) {
        Ok(packet) => Ok(Some(packet)),
        Err(error) => {
            restore(buf, frame);
            Err(error)
        }
    }
}

/// Puts a split-off frame back in front of `buf`.
fn restore(buf: &mut BytesMut, frame: Bytes) {
    let rest = std::mem::take(buf);
    // Nothing else holds the frame once parsing failed, so this normally reuses its memory.
    let mut front = frame.try_into_mut().unwrap_or_else(|shared| BytesMut::from(&shared[..]));
    front.unsplit(rest);
    *buf = front;
}

/// Parses the body of a packet whose fixed header passed `check_first_byte`.
fn packet(
    body: Bytes,
    kind: u8,
    flags: u8,
    version: Option<ProtocolVersion>,
) -> Result<Packet, DecodeError> {
    let mut r = Reader::new(body);
    if kind == CONNECT {
        return connect(&mut r).map(|c| Packet::Connect(Box::new(c)));
    }
    // `check_first_byte` lets nothing but CONNECT through without a version.
    let Some(v) = version else {
        return Err(DecodeError::protocol("the first packet must be CONNECT"));
    };
    Ok(match kind {
        CONNACK => Packet::ConnAck(connack(&mut r, v)?),
        PUBLISH => Packet::Publish(publish(&mut r, flags, v)?),
        PUBACK => Packet::PubAck(pub_response(&mut r, v, "PUBACK")?),
        PUBREC => Packet::PubRec(pub_response(&mut r, v, "PUBREC")?),
        PUBREL => Packet::PubRel(pub_response(&mut r, v, "PUBREL")?),
        PUBCOMP => Packet::PubComp(pub_response(&mut r, v, "PUBCOMP")?),
        SUBSCRIBE => Packet::Subscribe(subscribe(&mut r, v)?),
        SUBACK => Packet::SubAck(suback(&mut r, v)?),
        UNSUBSCRIBE => Packet::Unsubscribe(unsubscribe(&mut r, v)?),
        UNSUBACK => Packet::UnsubAck(unsuback(&mut r, v)?),
        PINGREQ => {
            r.finish("PINGREQ")?;
            Packet::PingReq
        }
        PINGRESP => {
            r.finish("PINGRESP")?;
            Packet::PingResp
        }
        DISCONNECT => Packet::Disconnect(disconnect(&mut r, v)?),
        AUTH => Packet::Auth(auth(&mut r)?),
        _ => return Err(DecodeError::malformed(format!("reserved packet type {kind}"))),
    })
}

/// Everything that can be judged from the first byte alone, so a bad stream is refused before
/// more of it is buffered.
fn check_first_byte(
    kind: u8,
    flags: u8,
    version: Option<ProtocolVersion>,
) -> Result<(), DecodeError> {
    if kind == 0 {
        return Err(DecodeError::malformed("reserved packet type 0"));
    }
    if kind == AUTH && version == Some(ProtocolVersion::V311) {
        return Err(DecodeError::malformed("packet type 15 is reserved in MQTT 3.1.1"));
    }
    if version.is_none() && kind != CONNECT {
        return Err(DecodeError::protocol(format!(
            "the first packet must be CONNECT, not {}",
            header::name(kind)
        )));
    }
    if kind == PUBLISH {
        let qos = (flags >> 1) & 0b11;
        if qos == 3 {
            return Err(DecodeError::malformed("PUBLISH with QoS 3"));
        }
        if qos == 0 && flags & PUBLISH_DUP != 0 {
            return Err(DecodeError::malformed("PUBLISH with QoS 0 and DUP set"));
        }
    } else if flags != required_flags(kind) {
        return Err(DecodeError::malformed(format!(
            "{} with reserved flags {flags:#06b}",
            header::name(kind)
        )));
    }
    Ok(())
}

/// A packet identifier where the spec requires a non-zero one.
fn packet_id(r: &mut Reader) -> Result<u16, DecodeError> {
    match r.u16("packet identifier")? {
        0 => Err(DecodeError::malformed("packet identifier 0")),
        id => Ok(id),
    }
}

/// Topic name rules that hold everywhere (MQTT-3.3.2-2, MQTT-4.7.3-1 for wildcards).
fn check_topic_wildcards(topic: &str, what: &str) -> Result<(), DecodeError> {
    if topic.contains(['+', '#']) {
        return Err(DecodeError::new(
            ReasonCode::TOPIC_NAME_INVALID,
            format!("{what} {topic:?} contains a wildcard"),
        ));
    }
    Ok(())
}

fn connect(r: &mut Reader) -> Result<Connect, DecodeError> {
    // Name and level decide how the rest is laid out, so they are judged before anything else.
    let name = r.string("protocol name")?;
    let level = r.u8("protocol level")?;
    let protocol = match (name.as_str(), level) {
        ("MQTT", 4) => ProtocolVersion::V311,
        ("MQTT", 5) => ProtocolVersion::V5,
        ("MQTT", _) | ("MQIsdp", _) => {
            return Err(DecodeError::new(
                ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
                format!("protocol {name:?} level {level} is not supported"),
            ))
        }
        _ => return Err(DecodeError::malformed(format!("unknown protocol name {name:?}"))),
    };
    let v5 = protocol == ProtocolVersion::V5;

    let flags = r.u8("connect flags")?;
    if flags & 0x01 != 0 {
        return Err(DecodeError::malformed("reserved connect flag is set"));
    }
    let clean_start = flags & 0x02 != 0;
    let will_flag = flags & 0x04 != 0;
    let will_qos_bits = (flags >> 3) & 0b11;
    let will_retain = flags & 0x20 != 0;
    let has_password = flags & 0x40 != 0;
    let has_username = flags & 0x80 != 0;
    let Some(will_qos) = QoS::from_u8(will_qos_bits) else {
        return Err(DecodeError::malformed("will QoS 3"));
    };
    if !will_flag && (will_qos_bits != 0 || will_retain) {
        return Err(DecodeError::malformed("will QoS or will retain set without a will"));
    }
    if !v5 && has_password && !has_username {
        return Err(DecodeError::malformed("password flag set without user name flag"));
    }
    let keep_alive = r.u16("keep alive")?;
    let properties = if v5 { properties::read_connect(r)? } else { Default::default() };

    let client_id = r.string("client identifier")?;
    let will = if will_flag {
        let will_properties = if v5 { properties::read_will(r)? } else { Default::default() };
        let topic = r.string("will topic")?;
        check_topic_wildcards(&topic, "will topic")?;
        if topic.is_empty() {
            return Err(DecodeError::new(ReasonCode::TOPIC_NAME_INVALID, "empty will topic"));
        }
        let payload = r.binary("will payload")?;
        Some(LastWill {
            topic,
            payload,
            qos: will_qos,
            retain: will_retain,
            properties: will_properties,
        })
    } else {
        None
    };
    let username = if has_username { Some(r.string("user name")?) } else { None };
    let password = if has_password { Some(r.binary("password")?) } else { None };
    r.finish("CONNECT")?;

    if properties.authentication_data.is_some() && properties.authentication_method.is_none() {
        return Err(DecodeError::protocol("Authentication Data without Authentication Method"));
    }
    Ok(Connect {
        protocol,
        clean_start,
        keep_alive,
        properties,
        client_id,
        will,
        username,
        password,
    })
}

fn connack(r: &mut Reader, v: ProtocolVersion) -> Result<ConnAck, DecodeError> {
    let flags = r.u8("connect acknowledge flags")?;
    if flags & 0xFE != 0 {
        return Err(DecodeError::malformed("reserved connect acknowledge flags are set"));
    }
    let code = r.u8("reason code")?;
    let (reason, properties) = match v {
        // Return codes 6-255 are reserved (3.1.1 section 3.2.2.3); mapped to a 5.0 reason they
        // would be written back as a different return code.
        ProtocolVersion::V311 if code > 5 => {
            return Err(DecodeError::malformed(format!("reserved CONNACK return code {code}")))
        }
        ProtocolVersion::V311 => (ReasonCode::from_v311_connack(code), Default::default()),
        ProtocolVersion::V5 => (ReasonCode(code), properties::read_connack(r)?),
    };
    r.finish("CONNACK")?;
    Ok(ConnAck { session_present: flags & 0x01 != 0, reason, properties })
}

fn publish(r: &mut Reader, flags: u8, v: ProtocolVersion) -> Result<Publish, DecodeError> {
    let Some(qos) = QoS::from_u8((flags >> 1) & 0b11) else {
        return Err(DecodeError::malformed("PUBLISH with QoS 3"));
    };
    let topic = r.string("topic name")?;
    check_topic_wildcards(&topic, "topic name")?;
    if topic.is_empty() && v == ProtocolVersion::V311 {
        return Err(DecodeError::malformed("PUBLISH with an empty topic name"));
    }
    let packet_id = if qos == QoS::AtMostOnce { 0 } else { packet_id(r)? };
    let properties = match v {
        ProtocolVersion::V311 => Default::default(),
        ProtocolVersion::V5 => properties::read_publish(r)?,
    };
    // 5.0 allows an empty topic only when a Topic Alias names it (MQTT-3.3.2-8).
    if topic.is_empty() && properties.topic_alias.is_none() {
        return Err(DecodeError::protocol("PUBLISH with an empty topic name and no Topic Alias"));
    }
    Ok(Publish {
        dup: flags & PUBLISH_DUP != 0,
        qos,
        retain: flags & PUBLISH_RETAIN != 0,
        topic,
        packet_id,
        properties,
        payload: r.rest(),
    })
}

/// PUBACK, PUBREC, PUBREL, PUBCOMP. In 5.0 the reason code and the properties may each be left
/// off the end (remaining length 2 or 3).
fn pub_response(
    r: &mut Reader,
    v: ProtocolVersion,
    name: &'static str,
) -> Result<PubResponse, DecodeError> {
    let packet_id = packet_id(r)?;
    let mut response = PubResponse::success(packet_id);
    if v == ProtocolVersion::V5 && !r.is_empty() {
        response.reason = ReasonCode(r.u8("reason code")?);
        if !r.is_empty() {
            response.properties = properties::read_ack(r, name)?;
        }
    }
    r.finish(name)?;
    Ok(response)
}

fn subscription_options(byte: u8, v: ProtocolVersion) -> Result<SubscriptionOptions, DecodeError> {
    let reserved = match v {
        ProtocolVersion::V311 => 0xFC,
        ProtocolVersion::V5 => 0xC0,
    };
    if byte & reserved != 0 {
        return Err(DecodeError::malformed(format!(
            "reserved subscription option bits in {byte:#04x}"
        )));
    }
    let Some(qos) = QoS::from_u8(byte & 0b11) else {
        return Err(DecodeError::malformed("subscription with QoS 3"));
    };
    let retain_handling = match (byte >> 4) & 0b11 {
        0 => RetainHandling::SendAlways,
        1 => RetainHandling::SendIfNew,
        2 => RetainHandling::DoNotSend,
        _ => return Err(DecodeError::protocol("retain handling 3")),
    };
    Ok(SubscriptionOptions {
        qos,
        no_local: byte & 0x04 != 0,
        retain_as_published: byte & 0x08 != 0,
        retain_handling,
    })
}

/// The error for a SUBSCRIBE or UNSUBSCRIBE without topic filters: 5.0 calls it a protocol
/// error; 3.1.1 only says "protocol violation", reported as malformed.
fn no_filters(packet: &str, v: ProtocolVersion) -> DecodeError {
    let message = format!("{packet} without topic filters");
    match v {
        ProtocolVersion::V311 => DecodeError::malformed(message),
        ProtocolVersion::V5 => DecodeError::protocol(message),
    }
}

/// A topic filter; its deeper validity (wildcard placement, shares) is the broker's to judge.
fn topic_filter(r: &mut Reader) -> Result<String, DecodeError> {
    let filter = r.string("topic filter")?;
    if filter.is_empty() {
        return Err(DecodeError::malformed("empty topic filter"));
    }
    Ok(filter)
}

fn subscribe(r: &mut Reader, v: ProtocolVersion) -> Result<Subscribe, DecodeError> {
    let packet_id = packet_id(r)?;
    let (subscription_identifier, user_properties) = match v {
        ProtocolVersion::V311 => (None, Vec::new()),
        ProtocolVersion::V5 => properties::read_subscribe(r)?,
    };
    let mut filters = Vec::new();
    while !r.is_empty() {
        let filter = topic_filter(r)?;
        let options = subscription_options(r.u8("subscription options")?, v)?;
        filters.push((filter, options));
    }
    if filters.is_empty() {
        return Err(no_filters("SUBSCRIBE", v));
    }
    Ok(Subscribe { packet_id, subscription_identifier, user_properties, filters })
}

fn suback(r: &mut Reader, v: ProtocolVersion) -> Result<SubAck, DecodeError> {
    let packet_id = packet_id(r)?;
    let properties = match v {
        ProtocolVersion::V311 => Default::default(),
        ProtocolVersion::V5 => properties::read_ack(r, "SUBACK")?,
    };
    let reasons: Vec<ReasonCode> = r.rest().iter().map(|&code| ReasonCode(code)).collect();
    // 3.1.1 has four return codes (MQTT-3.9.3-2); the encoder writes every failure as 0x80.
    if v == ProtocolVersion::V311 {
        if let Some(code) = reasons.iter().find(|code| !matches!(code.0, 0x00..=0x02 | 0x80)) {
            let message = format!("reserved SUBACK return code {:#04x}", code.0);
            return Err(DecodeError::malformed(message));
        }
    }
    Ok(SubAck { packet_id, properties, reasons })
}

fn unsubscribe(r: &mut Reader, v: ProtocolVersion) -> Result<Unsubscribe, DecodeError> {
    let packet_id = packet_id(r)?;
    let user_properties = match v {
        ProtocolVersion::V311 => Vec::new(),
        ProtocolVersion::V5 => properties::read_unsubscribe(r)?,
    };
    let mut filters = Vec::new();
    while !r.is_empty() {
        filters.push(topic_filter(r)?);
    }
    if filters.is_empty() {
        return Err(no_filters("UNSUBSCRIBE", v));
    }
    Ok(Unsubscribe { packet_id, user_properties, filters })
}

fn unsuback(r: &mut Reader, v: ProtocolVersion) -> Result<UnsubAck, DecodeError> {
    let packet_id = packet_id(r)?;
    let mut unsuback = UnsubAck { packet_id, properties: Default::default(), reasons: Vec::new() };
    if v == ProtocolVersion::V5 {
        unsuback.properties = properties::read_ack(r, "UNSUBACK")?;
        unsuback.reasons = r.rest().iter().map(|&code| ReasonCode(code)).collect();
    }
    r.finish("UNSUBACK")?;
    Ok(unsuback)
}

/// In 5.0 the reason code and the properties may each be left off the end.
fn disconnect(r: &mut Reader, v: ProtocolVersion) -> Result<Disconnect, DecodeError> {
    let mut disconnect = Disconnect::new(ReasonCode::NORMAL_DISCONNECTION);
    if v == ProtocolVersion::V5 && !r.is_empty() {
        disconnect.reason = ReasonCode(r.u8("reason code")?);
        if !r.is_empty() {
            disconnect.properties = properties::read_disconnect(r)?;
        }
    }
    r.finish("DISCONNECT")?;
    Ok(disconnect)
}

/// Only reached for 5.0; the reason code and the properties may each be left off the end.
fn auth(r: &mut Reader) -> Result<Auth, DecodeError> {
    let mut auth = Auth { reason: ReasonCode::SUCCESS, properties: Default::default() };
    if !r.is_empty() {
        auth.reason = ReasonCode(r.u8("reason code")?);
        if !r.is_empty() {
            auth.properties = properties::read_auth(r)?;
        }
    }
    r.finish("AUTH")?;
    Ok(auth)
}
