//! MQTT 5.0 properties (section 2.2.2): reading a property block into the packet's property
//! struct, and writing the struct back.
//!
//! Reading enforces the rules of section 2.2.2.2 that do not depend on broker state: unknown
//! identifiers are malformed, a property in the wrong packet or repeated when it may appear only
//! once is a protocol error, and so are out-of-range values such as a zero Receive Maximum.
//! Writing refuses the same out-of-range values so that the broker never sends what it would
//! itself reject.

use bytes::Bytes;

use super::decode::DecodeError;
use super::packet::{
    AckProperties, AuthProperties, ConnAckProperties, ConnectProperties, DisconnectProperties,
    PublishProperties, QoS, UserProperty, WillProperties,
};
use super::read::{Reader, VBI_MAX};
use super::write::{measure, put_binary, put_string, put_vbi, Fault, Sink};

const PAYLOAD_FORMAT_INDICATOR: u8 = 0x01;
const MESSAGE_EXPIRY_INTERVAL: u8 = 0x02;
const CONTENT_TYPE: u8 = 0x03;
const RESPONSE_TOPIC: u8 = 0x08;
const CORRELATION_DATA: u8 = 0x09;
const SUBSCRIPTION_IDENTIFIER: u8 = 0x0B;
const SESSION_EXPIRY_INTERVAL: u8 = 0x11;
const ASSIGNED_CLIENT_IDENTIFIER: u8 = 0x12;
const SERVER_KEEP_ALIVE: u8 = 0x13;
const AUTHENTICATION_METHOD: u8 = 0x15;
const AUTHENTICATION_DATA: u8 = 0x16;
const REQUEST_PROBLEM_INFORMATION: u8 = 0x17;
const WILL_DELAY_INTERVAL: u8 = 0x18;
const REQUEST_RESPONSE_INFORMATION: u8 = 0x19;
const RESPONSE_INFORMATION: u8 = 0x1A;
const SERVER_REFERENCE: u8 = 0x1C;
const REASON_STRING: u8 = 0x1F;
const RECEIVE_MAXIMUM: u8 = 0x21;
const TOPIC_ALIAS_MAXIMUM: u8 = 0x22;
const TOPIC_ALIAS: u8 = 0x23;
const MAXIMUM_QOS: u8 = 0x24;
const RETAIN_AVAILABLE: u8 = 0x25;
const USER_PROPERTY: u8 = 0x26;
const MAXIMUM_PACKET_SIZE: u8 = 0x27;
const WILDCARD_SUBSCRIPTION_AVAILABLE: u8 = 0x28;
const SUBSCRIPTION_IDENTIFIER_AVAILABLE: u8 = 0x29;
const SHARED_SUBSCRIPTION_AVAILABLE: u8 = 0x2A;

/// The specification's name of a property, for error messages.
fn name(id: u8) -> &'static str {
    match id {
        PAYLOAD_FORMAT_INDICATOR => "Payload Format Indicator",
        MESSAGE_EXPIRY_INTERVAL => "Message Expiry Interval",
        CONTENT_TYPE => "Content Type",
        RESPONSE_TOPIC => "Response Topic",
        CORRELATION_DATA => "Correlation Data",
        SUBSCRIPTION_IDENTIFIER => "Subscription Identifier",
        SESSION_EXPIRY_INTERVAL => "Session Expiry Interval",
        ASSIGNED_CLIENT_IDENTIFIER => "Assigned Client Identifier",
        SERVER_KEEP_ALIVE => "Server Keep Alive",
        AUTHENTICATION_METHOD => "Authentication Method",
        AUTHENTICATION_DATA => "Authentication Data",
        REQUEST_PROBLEM_INFORMATION => "Request Problem Information",
        WILL_DELAY_INTERVAL => "Will Delay Interval",
        REQUEST_RESPONSE_INFORMATION => "Request Response Information",
        RESPONSE_INFORMATION => "Response Information",
        SERVER_REFERENCE => "Server Reference",
        REASON_STRING => "Reason String",
        RECEIVE_MAXIMUM => "Receive Maximum",
        TOPIC_ALIAS_MAXIMUM => "Topic Alias Maximum",
        TOPIC_ALIAS => "Topic Alias",
        MAXIMUM_QOS => "Maximum QoS",
        RETAIN_AVAILABLE => "Retain Available",
        USER_PROPERTY => "User Property",
        MAXIMUM_PACKET_SIZE => "Maximum Packet Size",
        WILDCARD_SUBSCRIPTION_AVAILABLE => "Wildcard Subscription Available",
        SUBSCRIPTION_IDENTIFIER_AVAILABLE => "Subscription Identifier Available",
        SHARED_SUBSCRIPTION_AVAILABLE => "Shared Subscription Available",
        _ => "unknown property",
    }
}

/// One decoded property, value already range checked.
enum Property {
    PayloadFormatIndicator(u8),
    MessageExpiryInterval(u32),
    ContentType(String),
    ResponseTopic(String),
    CorrelationData(Bytes),
    SubscriptionIdentifier(u32),
    SessionExpiryInterval(u32),
    AssignedClientIdentifier(String),
    ServerKeepAlive(u16),
    AuthenticationMethod(String),
    AuthenticationData(Bytes),
    RequestProblemInformation(bool),
    WillDelayInterval(u32),
    RequestResponseInformation(bool),
    ResponseInformation(String),
    ServerReference(String),
    ReasonString(String),
    ReceiveMaximum(u16),
    TopicAliasMaximum(u16),
    TopicAlias(u16),
    MaximumQos(QoS),
    RetainAvailable(bool),
    User(String, String),
    MaximumPacketSize(u32),
    WildcardSubscriptionAvailable(bool),
    SubscriptionIdentifierAvailable(bool),
    SharedSubscriptionAvailable(bool),
}

impl Property {
    fn id(&self) -> u8 {
        match self {
            Property::PayloadFormatIndicator(_) => PAYLOAD_FORMAT_INDICATOR,
            Property::MessageExpiryInterval(_) => MESSAGE_EXPIRY_INTERVAL,
            Property::ContentType(_) => CONTENT_TYPE,
            Property::ResponseTopic(_) => RESPONSE_TOPIC,
            Property::CorrelationData(_) => CORRELATION_DATA,
            Property::SubscriptionIdentifier(_) => SUBSCRIPTION_IDENTIFIER,
            Property::SessionExpiryInterval(_) => SESSION_EXPIRY_INTERVAL,
            Property::AssignedClientIdentifier(_) => ASSIGNED_CLIENT_IDENTIFIER,
            Property::ServerKeepAlive(_) => SERVER_KEEP_ALIVE,
            Property::AuthenticationMethod(_) => AUTHENTICATION_METHOD,
            Property::AuthenticationData(_) => AUTHENTICATION_DATA,
            Property::RequestProblemInformation(_) => REQUEST_PROBLEM_INFORMATION,
            Property::WillDelayInterval(_) => WILL_DELAY_INTERVAL,
            Property::RequestResponseInformation(_) => REQUEST_RESPONSE_INFORMATION,
            Property::ResponseInformation(_) => RESPONSE_INFORMATION,
            Property::ServerReference(_) => SERVER_REFERENCE,
            Property::ReasonString(_) => REASON_STRING,
            Property::ReceiveMaximum(_) => RECEIVE_MAXIMUM,
            Property::TopicAliasMaximum(_) => TOPIC_ALIAS_MAXIMUM,
            Property::TopicAlias(_) => TOPIC_ALIAS,
            Property::MaximumQos(_) => MAXIMUM_QOS,
            Property::RetainAvailable(_) => RETAIN_AVAILABLE,
            Property::User(_, _) => USER_PROPERTY,
            Property::MaximumPacketSize(_) => MAXIMUM_PACKET_SIZE,
            Property::WildcardSubscriptionAvailable(_) => WILDCARD_SUBSCRIPTION_AVAILABLE,
            Property::SubscriptionIdentifierAvailable(_) => SUBSCRIPTION_IDENTIFIER_AVAILABLE,
            Property::SharedSubscriptionAvailable(_) => SHARED_SUBSCRIPTION_AVAILABLE,
        }
    }

    fn read(r: &mut Reader) -> Result<Property, DecodeError> {
        // The identifier is formally a variable byte integer; every defined one fits in a byte.
        let raw = r.vbi("property identifier")?;
        let id = u8::try_from(raw).unwrap_or(0);
        let what = name(id);
        Ok(match id {
            PAYLOAD_FORMAT_INDICATOR => match r.u8(what)? {
                value @ (0 | 1) => Property::PayloadFormatIndicator(value),
                value => return Err(out_of_range(what, value, "0 or 1")),
            },
            MESSAGE_EXPIRY_INTERVAL => Property::MessageExpiryInterval(r.u32(what)?),
            CONTENT_TYPE => Property::ContentType(r.string(what)?),
            RESPONSE_TOPIC => Property::ResponseTopic(r.string(what)?),
            CORRELATION_DATA => Property::CorrelationData(r.binary(what)?),
            SUBSCRIPTION_IDENTIFIER => match r.vbi(what)? {
                0 => return Err(out_of_range(what, 0, "1 to 268435455")),
                value => Property::SubscriptionIdentifier(value),
            },
            SESSION_EXPIRY_INTERVAL => Property::SessionExpiryInterval(r.u32(what)?),
            ASSIGNED_CLIENT_IDENTIFIER => Property::AssignedClientIdentifier(r.string(what)?),
            SERVER_KEEP_ALIVE => Property::ServerKeepAlive(r.u16(what)?),
            AUTHENTICATION_METHOD => Property::AuthenticationMethod(r.string(what)?),
            AUTHENTICATION_DATA => Property::AuthenticationData(r.binary(what)?),
            REQUEST_PROBLEM_INFORMATION => Property::RequestProblemInformation(boolean(r, what)?),
            WILL_DELAY_INTERVAL => Property::WillDelayInterval(r.u32(what)?),
            REQUEST_RESPONSE_INFORMATION => Property::RequestResponseInformation(boolean(r, what)?),
            RESPONSE_INFORMATION => Property::ResponseInformation(r.string(what)?),
            SERVER_REFERENCE => Property::ServerReference(r.string(what)?),
            REASON_STRING => Property::ReasonString(r.string(what)?),
            RECEIVE_MAXIMUM => match r.u16(what)? {
                0 => return Err(out_of_range(what, 0, "1 to 65535")),
                value => Property::ReceiveMaximum(value),
            },
            TOPIC_ALIAS_MAXIMUM => Property::TopicAliasMaximum(r.u16(what)?),
            TOPIC_ALIAS => match r.u16(what)? {
                0 => return Err(out_of_range(what, 0, "1 to 65535")),
                value => Property::TopicAlias(value),
            },
            MAXIMUM_QOS => match r.u8(what)? {
                0 => Property::MaximumQos(QoS::AtMostOnce),
                1 => Property::MaximumQos(QoS::AtLeastOnce),
                value => return Err(out_of_range(what, value, "0 or 1")),
            },
            RETAIN_AVAILABLE => Property::RetainAvailable(boolean(r, what)?),
            USER_PROPERTY => {
                let key = r.string("User Property name")?;
                let value = r.string("User Property value")?;
                Property::User(key, value)
            }
            MAXIMUM_PACKET_SIZE => match r.u32(what)? {
                0 => return Err(out_of_range(what, 0, "1 to 4294967295")),
                value => Property::MaximumPacketSize(value),
            },
            WILDCARD_SUBSCRIPTION_AVAILABLE => {
                Property::WildcardSubscriptionAvailable(boolean(r, what)?)
            }
            SUBSCRIPTION_IDENTIFIER_AVAILABLE => {
                Property::SubscriptionIdentifierAvailable(boolean(r, what)?)
            }
            SHARED_SUBSCRIPTION_AVAILABLE => {
                Property::SharedSubscriptionAvailable(boolean(r, what)?)
            }
            // The length of an unknown property's value is unknowable, so the rest of the
            // packet cannot be parsed: malformed, not merely a protocol error.
            _ => {
                return Err(DecodeError::malformed(format!(
                    "unknown property identifier {raw:#04x}"
                )))
            }
        })
    }
}

fn out_of_range(what: &str, value: impl std::fmt::Display, allowed: &str) -> DecodeError {
    DecodeError::protocol(format!("{what} is {value}, must be {allowed}"))
}

fn boolean(r: &mut Reader, what: &str) -> Result<bool, DecodeError> {
    match r.u8(what)? {
        0 => Ok(false),
        1 => Ok(true),
        value => Err(out_of_range(what, value, "0 or 1")),
    }
}

/// Stores a property that may appear at most once.
fn once<T>(slot: &mut Option<T>, value: T, id: u8) -> Result<(), DecodeError> {
    if slot.is_some() {
        return Err(DecodeError::protocol(format!("{} appears more than once", name(id))));
    }
    *slot = Some(value);
    Ok(())
}

/// A Response Topic is a topic name: no wildcards (MQTT-3.3.2-14, MQTT-3.1.3-11).
fn response_topic(topic: String) -> Result<String, DecodeError> {
    if topic.contains(['+', '#']) {
        return Err(DecodeError::protocol(format!("Response Topic {topic:?} contains a wildcard")));
    }
    Ok(topic)
}

fn not_allowed(property: &Property, packet: &str) -> DecodeError {
    DecodeError::protocol(format!("{} is not allowed in {packet}", name(property.id())))
}

/// Reads the property length and hands each property of the block to `each`.
fn read_block(
    r: &mut Reader,
    mut each: impl FnMut(Property) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let len = r.vbi("property length")?;
    let mut block = Reader::new(r.take(len as usize, "properties")?);
    while !block.is_empty() {
        each(Property::read(&mut block)?)?;
    }
    Ok(())
}

pub(super) fn read_connect(r: &mut Reader) -> Result<ConnectProperties, DecodeError> {
    let mut p = ConnectProperties::default();
    read_block(r, |property| match property {
        Property::SessionExpiryInterval(v) => {
            once(&mut p.session_expiry_interval, v, SESSION_EXPIRY_INTERVAL)
        }
        Property::ReceiveMaximum(v) => once(&mut p.receive_maximum, v, RECEIVE_MAXIMUM),
        Property::MaximumPacketSize(v) => once(&mut p.maximum_packet_size, v, MAXIMUM_PACKET_SIZE),
        Property::TopicAliasMaximum(v) => once(&mut p.topic_alias_maximum, v, TOPIC_ALIAS_MAXIMUM),
        Property::RequestResponseInformation(v) => {
            once(&mut p.request_response_information, v, REQUEST_RESPONSE_INFORMATION)
        }
        Property::RequestProblemInformation(v) => {
            once(&mut p.request_problem_information, v, REQUEST_PROBLEM_INFORMATION)
        }
        Property::User(k, v) => {
            p.user_properties.push((k, v));
            Ok(())
        }
        Property::AuthenticationMethod(v) => {
            once(&mut p.authentication_method, v, AUTHENTICATION_METHOD)
        }
        Property::AuthenticationData(v) => once(&mut p.authentication_data, v, AUTHENTICATION_DATA),
        other => Err(not_allowed(&other, "CONNECT")),
    })?;
    Ok(p)
}

pub(super) fn read_will(r: &mut Reader) -> Result<WillProperties, DecodeError> {
    let mut p = WillProperties::default();
    read_block(r, |property| match property {
        Property::WillDelayInterval(v) => once(&mut p.will_delay_interval, v, WILL_DELAY_INTERVAL),
        Property::PayloadFormatIndicator(v) => {
            once(&mut p.payload_format_indicator, v, PAYLOAD_FORMAT_INDICATOR)
        }
        Property::MessageExpiryInterval(v) => {
            once(&mut p.message_expiry_interval, v, MESSAGE_EXPIRY_INTERVAL)
        }
        Property::ContentType(v) => once(&mut p.content_type, v, CONTENT_TYPE),
        Property::ResponseTopic(v) => once(&mut p.response_topic, response_topic(v)?, RESPONSE_TOPIC),
        Property::CorrelationData(v) => once(&mut p.correlation_data, v, CORRELATION_DATA),
        Property::User(k, v) => {
            p.user_properties.push((k, v));
            Ok(())
        }
        other => Err(not_allowed(&other, "the will properties")),
    })?;
    Ok(p)
}

pub(super) fn read_connack(r: &mut Reader) -> Result<ConnAckProperties, DecodeError> {
    let mut p = ConnAckProperties::default();
    read_block(r, |property| match property {
        Property::SessionExpiryInterval(v) => {
            once(&mut p.session_expiry_interval, v, SESSION_EXPIRY_INTERVAL)
        }
        Property::ReceiveMaximum(v) => once(&mut p.receive_maximum, v, RECEIVE_MAXIMUM),
        Property::MaximumQos(v) => once(&mut p.maximum_qos, v, MAXIMUM_QOS),
        Property::RetainAvailable(v) => once(&mut p.retain_available, v, RETAIN_AVAILABLE),
        Property::MaximumPacketSize(v) => once(&mut p.maximum_packet_size, v, MAXIMUM_PACKET_SIZE),
        Property::AssignedClientIdentifier(v) => {
            once(&mut p.assigned_client_identifier, v, ASSIGNED_CLIENT_IDENTIFIER)
        }
        Property::TopicAliasMaximum(v) => once(&mut p.topic_alias_maximum, v, TOPIC_ALIAS_MAXIMUM),
        Property::ReasonString(v) => once(&mut p.reason_string, v, REASON_STRING),
        Property::User(k, v) => {
            p.user_properties.push((k, v));
            Ok(())
        }
        Property::WildcardSubscriptionAvailable(v) => {
            once(&mut p.wildcard_subscription_available, v, WILDCARD_SUBSCRIPTION_AVAILABLE)
        }
        Property::SubscriptionIdentifierAvailable(v) => {
            once(&mut p.subscription_identifiers_available, v, SUBSCRIPTION_IDENTIFIER_AVAILABLE)
        }
        Property::SharedSubscriptionAvailable(v) => {
            once(&mut p.shared_subscription_available, v, SHARED_SUBSCRIPTION_AVAILABLE)
        }
        Property::ServerKeepAlive(v) => once(&mut p.server_keep_alive, v, SERVER_KEEP_ALIVE),
        Property::ResponseInformation(v) => {
            once(&mut p.response_information, v, RESPONSE_INFORMATION)
        }
        Property::ServerReference(v) => once(&mut p.server_reference, v, SERVER_REFERENCE),
        Property::AuthenticationMethod(v) => {
            once(&mut p.authentication_method, v, AUTHENTICATION_METHOD)
        }
        Property::AuthenticationData(v) => once(&mut p.authentication_data, v, AUTHENTICATION_DATA),
        other => Err(not_allowed(&other, "CONNACK")),
    })?;
    Ok(p)
}

pub(super) fn read_publish(r: &mut Reader) -> Result<PublishProperties, DecodeError> {
    let mut p = PublishProperties::default();
    read_block(r, |property| match property {
        Property::PayloadFormatIndicator(v) => {
            once(&mut p.payload_format_indicator, v, PAYLOAD_FORMAT_INDICATOR)
        }
        Property::MessageExpiryInterval(v) => {
            once(&mut p.message_expiry_interval, v, MESSAGE_EXPIRY_INTERVAL)
        }
        Property::TopicAlias(v) => once(&mut p.topic_alias, v, TOPIC_ALIAS),
        Property::ResponseTopic(v) => once(&mut p.response_topic, response_topic(v)?, RESPONSE_TOPIC),
        Property::CorrelationData(v) => once(&mut p.correlation_data, v, CORRELATION_DATA),
        Property::User(k, v) => {
            p.user_properties.push((k, v));
            Ok(())
        }
        // May repeat here (one per matching subscription); whether a client may send it at
        // all is for the broker to decide.
        Property::SubscriptionIdentifier(v) => {
            p.subscription_identifiers.push(v);
            Ok(())
        }
        Property::ContentType(v) => once(&mut p.content_type, v, CONTENT_TYPE),
        other => Err(not_allowed(&other, "PUBLISH")),
    })?;
    Ok(p)
}

/// Properties of PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK.
pub(super) fn read_ack(r: &mut Reader, packet: &str) -> Result<AckProperties, DecodeError> {
    let mut p = AckProperties::default();
    read_block(r, |property| match property {
        Property::ReasonString(v) => once(&mut p.reason_string, v, REASON_STRING),
        Property::User(k, v) => {
            p.user_properties.push((k, v));
            Ok(())
        }
        other => Err(not_allowed(&other, packet)),
    })?;
    Ok(p)
}

/// SUBSCRIBE's subscription identifier and user properties.
pub(super) fn read_subscribe(
    r: &mut Reader,
) -> Result<(Option<u32>, Vec<UserProperty>), DecodeError> {
    let mut subscription_identifier = None;
    let mut user_properties = Vec::new();
    read_block(r, |property| match property {
        Property::SubscriptionIdentifier(v) => {
            once(&mut subscription_identifier, v, SUBSCRIPTION_IDENTIFIER)
        }
        Property::User(k, v) => {
            user_properties.push((k, v));
            Ok(())
        }
        other => Err(not_allowed(&other, "SUBSCRIBE")),
    })?;
    Ok((subscription_identifier, user_properties))
}

/// UNSUBSCRIBE carries only user properties.
pub(super) fn read_unsubscribe(r: &mut Reader) -> Result<Vec<UserProperty>, DecodeError> {
    let mut user_properties = Vec::new();
    read_block(r, |property| match property {
        Property::User(k, v) => {
            user_properties.push((k, v));
            Ok(())
        }
        other => Err(not_allowed(&other, "UNSUBSCRIBE")),
    })?;
    Ok(user_properties)
}

pub(super) fn read_disconnect(r: &mut Reader) -> Result<DisconnectProperties, DecodeError> {
    let mut p = DisconnectProperties::default();
    read_block(r, |property| match property {
        Property::SessionExpiryInterval(v) => {
            once(&mut p.session_expiry_interval, v, SESSION_EXPIRY_INTERVAL)
        }
        Property::ReasonString(v) => once(&mut p.reason_string, v, REASON_STRING),
        Property::User(k, v) => {
            p.user_properties.push((k, v));
            Ok(())
        }
        Property::ServerReference(v) => once(&mut p.server_reference, v, SERVER_REFERENCE),
        other => Err(not_allowed(&other, "DISCONNECT")),
    })?;
    Ok(p)
}

pub(super) fn read_auth(r: &mut Reader) -> Result<AuthProperties, DecodeError> {
    let mut p = AuthProperties::default();
    read_block(r, |property| match property {
        Property::AuthenticationMethod(v) => {
            once(&mut p.authentication_method, v, AUTHENTICATION_METHOD)
        }
        Property::AuthenticationData(v) => once(&mut p.authentication_data, v, AUTHENTICATION_DATA),
        Property::ReasonString(v) => once(&mut p.reason_string, v, REASON_STRING),
        Property::User(k, v) => {
            p.user_properties.push((k, v));
            Ok(())
        }
        other => Err(not_allowed(&other, "AUTH")),
    })?;
    Ok(p)
}

// ---- writing ----

/// Writes the property length followed by the properties `body` writes.
fn block(s: &mut dyn Sink, body: &dyn Fn(&mut dyn Sink) -> Result<(), Fault>) -> Result<(), Fault> {
    let len = measure(body)?;
    put_vbi(s, len, "property length")?;
    body(s)
}

fn put_byte(s: &mut dyn Sink, id: u8, value: Option<u8>) {
    if let Some(v) = value {
        s.put_u8(id);
        s.put_u8(v);
    }
}

fn put_bool(s: &mut dyn Sink, id: u8, value: Option<bool>) {
    put_byte(s, id, value.map(u8::from));
}

fn put_two(s: &mut dyn Sink, id: u8, value: Option<u16>) {
    if let Some(v) = value {
        s.put_u8(id);
        s.put_u16(v);
    }
}

fn put_four(s: &mut dyn Sink, id: u8, value: Option<u32>) {
    if let Some(v) = value {
        s.put_u8(id);
        s.put_u32(v);
    }
}

fn put_str(s: &mut dyn Sink, id: u8, value: Option<&String>) -> Result<(), Fault> {
    if let Some(v) = value {
        s.put_u8(id);
        put_string(s, v, name(id))?;
    }
    Ok(())
}

fn put_bin(s: &mut dyn Sink, id: u8, value: Option<&Bytes>) -> Result<(), Fault> {
    if let Some(v) = value {
        s.put_u8(id);
        put_binary(s, v, name(id))?;
    }
    Ok(())
}

fn put_users(s: &mut dyn Sink, users: &[UserProperty]) -> Result<(), Fault> {
    for (key, value) in users {
        s.put_u8(USER_PROPERTY);
        put_string(s, key, "User Property name")?;
        put_string(s, value, "User Property value")?;
    }
    Ok(())
}

fn put_subscription_identifier(s: &mut dyn Sink, value: u32) -> Result<(), Fault> {
    if value == 0 || value > VBI_MAX {
        return Err(format!("Subscription Identifier {value} is outside 1 to {VBI_MAX}").into());
    }
    s.put_u8(SUBSCRIPTION_IDENTIFIER);
    put_vbi(s, value as usize, "Subscription Identifier")
}

/// Refuses a zero where the spec makes zero a protocol error.
fn nonzero<T: Copy + Default + PartialEq>(value: Option<T>, id: u8) -> Result<Option<T>, Fault> {
    match value {
        Some(v) if v == T::default() => Err(format!("{} must not be 0", name(id)).into()),
        other => Ok(other),
    }
}

fn payload_format(value: Option<u8>) -> Result<Option<u8>, Fault> {
    match value {
        Some(v) if v > 1 => Err(format!("Payload Format Indicator {v} is not 0 or 1").into()),
        other => Ok(other),
    }
}

pub(super) fn write_connect(s: &mut dyn Sink, p: &ConnectProperties) -> Result<(), Fault> {
    block(s, &|s| {
        put_four(s, SESSION_EXPIRY_INTERVAL, p.session_expiry_interval);
        put_two(s, RECEIVE_MAXIMUM, nonzero(p.receive_maximum, RECEIVE_MAXIMUM)?);
        put_four(s, MAXIMUM_PACKET_SIZE, nonzero(p.maximum_packet_size, MAXIMUM_PACKET_SIZE)?);
        put_two(s, TOPIC_ALIAS_MAXIMUM, p.topic_alias_maximum);
        put_bool(s, REQUEST_RESPONSE_INFORMATION, p.request_response_information);
        put_bool(s, REQUEST_PROBLEM_INFORMATION, p.request_problem_information);
        put_users(s, &p.user_properties)?;
        put_str(s, AUTHENTICATION_METHOD, p.authentication_method.as_ref())?;
        put_bin(s, AUTHENTICATION_DATA, p.authentication_data.as_ref())
    })
}

pub(super) fn write_will(s: &mut dyn Sink, p: &WillProperties) -> Result<(), Fault> {
    block(s, &|s| {
        put_four(s, WILL_DELAY_INTERVAL, p.will_delay_interval);
        put_byte(s, PAYLOAD_FORMAT_INDICATOR, payload_format(p.payload_format_indicator)?);
        put_four(s, MESSAGE_EXPIRY_INTERVAL, p.message_expiry_interval);
        put_str(s, CONTENT_TYPE, p.content_type.as_ref())?;
        put_str(s, RESPONSE_TOPIC, p.response_topic.as_ref())?;
        put_bin(s, CORRELATION_DATA, p.correlation_data.as_ref())?;
        put_users(s, &p.user_properties)
    })
}

pub(super) fn write_connack(s: &mut dyn Sink, p: &ConnAckProperties) -> Result<(), Fault> {
    block(s, &|s| {
        put_four(s, SESSION_EXPIRY_INTERVAL, p.session_expiry_interval);
        put_two(s, RECEIVE_MAXIMUM, nonzero(p.receive_maximum, RECEIVE_MAXIMUM)?);
        let maximum_qos = match p.maximum_qos {
            Some(QoS::ExactlyOnce) => {
                return Err("Maximum QoS must be 0 or 1 (omit it to allow QoS 2)".into())
            }
            other => other.map(|q| q as u8),
        };
        put_byte(s, MAXIMUM_QOS, maximum_qos);
        put_bool(s, RETAIN_AVAILABLE, p.retain_available);
        put_four(s, MAXIMUM_PACKET_SIZE, nonzero(p.maximum_packet_size, MAXIMUM_PACKET_SIZE)?);
        put_str(s, ASSIGNED_CLIENT_IDENTIFIER, p.assigned_client_identifier.as_ref())?;
        put_two(s, TOPIC_ALIAS_MAXIMUM, p.topic_alias_maximum);
        put_str(s, REASON_STRING, p.reason_string.as_ref())?;
        put_users(s, &p.user_properties)?;
        put_bool(s, WILDCARD_SUBSCRIPTION_AVAILABLE, p.wildcard_subscription_available);
        put_bool(s, SUBSCRIPTION_IDENTIFIER_AVAILABLE, p.subscription_identifiers_available);
        put_bool(s, SHARED_SUBSCRIPTION_AVAILABLE, p.shared_subscription_available);
        put_two(s, SERVER_KEEP_ALIVE, p.server_keep_alive);
        put_str(s, RESPONSE_INFORMATION, p.response_information.as_ref())?;
        put_str(s, SERVER_REFERENCE, p.server_reference.as_ref())?;
        put_str(s, AUTHENTICATION_METHOD, p.authentication_method.as_ref())?;
        put_bin(s, AUTHENTICATION_DATA, p.authentication_data.as_ref())
    })
}

pub(super) fn write_publish(s: &mut dyn Sink, p: &PublishProperties) -> Result<(), Fault> {
    block(s, &|s| {
        put_byte(s, PAYLOAD_FORMAT_INDICATOR, payload_format(p.payload_format_indicator)?);
        put_four(s, MESSAGE_EXPIRY_INTERVAL, p.message_expiry_interval);
        put_two(s, TOPIC_ALIAS, nonzero(p.topic_alias, TOPIC_ALIAS)?);
        put_str(s, RESPONSE_TOPIC, p.response_topic.as_ref())?;
        put_bin(s, CORRELATION_DATA, p.correlation_data.as_ref())?;
        put_users(s, &p.user_properties)?;
        for &id in &p.subscription_identifiers {
            put_subscription_identifier(s, id)?;
        }
        put_str(s, CONTENT_TYPE, p.content_type.as_ref())
    })
}

pub(super) fn write_ack(s: &mut dyn Sink, p: &AckProperties) -> Result<(), Fault> {
    block(s, &|s| {
        put_str(s, REASON_STRING, p.reason_string.as_ref())?;
        put_users(s, &p.user_properties)
    })
}

pub(super) fn write_subscribe(
    s: &mut dyn Sink,
    subscription_identifier: Option<u32>,
    user_properties: &[UserProperty],
) -> Result<(), Fault> {
    block(s, &|s| {
        if let Some(id) = subscription_identifier {
            put_subscription_identifier(s, id)?;
        }
        put_users(s, user_properties)
    })
}

pub(super) fn write_unsubscribe(
    s: &mut dyn Sink,
    user_properties: &[UserProperty],
) -> Result<(), Fault> {
    block(s, &|s| put_users(s, user_properties))
}

pub(super) fn write_disconnect(s: &mut dyn Sink, p: &DisconnectProperties) -> Result<(), Fault> {
    block(s, &|s| {
        put_four(s, SESSION_EXPIRY_INTERVAL, p.session_expiry_interval);
        put_str(s, REASON_STRING, p.reason_string.as_ref())?;
        put_users(s, &p.user_properties)?;
        put_str(s, SERVER_REFERENCE, p.server_reference.as_ref())
    })
}

pub(super) fn write_auth(s: &mut dyn Sink, p: &AuthProperties) -> Result<(), Fault> {
    block(s, &|s| {
        put_str(s, AUTHENTICATION_METHOD, p.authentication_method.as_ref())?;
        put_bin(s, AUTHENTICATION_DATA, p.authentication_data.as_ref())?;
        put_str(s, REASON_STRING, p.reason_string.as_ref())?;
        put_users(s, &p.user_properties)
    })
}
