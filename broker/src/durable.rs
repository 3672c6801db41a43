//! How a session's state maps to the records the store keeps, and back.
//!
//! The store knows records, not MQTT: this file is the one place that translates wills,
//! subscriptions and session settings between the two.

use std::sync::Arc;

use bytes::Bytes;
use tallymq_storage::{Properties, SessionRecord, SubscriptionRecord, WillRecord};

use crate::codec::{LastWill, ProtocolVersion, QoS, RetainHandling, SubscriptionOptions, WillProperties};
use crate::router::Subscription;
use crate::session::SessionState;
use crate::topic;

/// The record of a persistent session as it stands; `disconnected_at_ms` is `None` while a
/// connection holds it.
pub fn session_record(state: &SessionState, first_order: u64, disconnected_at_ms: Option<u64>) -> SessionRecord {
    SessionRecord {
        protocol: state.protocol.level(),
        expiry_secs: state.expiry_interval,
        disconnected_at_ms,
        will: state.will.as_deref().map(will_record),
        user: state.user.as_deref().map(str::to_string),
        roles: state.roles.iter().map(|r| r.to_string()).collect(),
        subscriptions: state.subscriptions.iter().map(|(raw, s)| subscription_record(raw, s)).collect(),
        first_order,
    }
}

pub fn protocol_from_level(level: u8) -> ProtocolVersion {
    if level == 5 {
        ProtocolVersion::V5
    } else {
        ProtocolVersion::V311
    }
}

fn subscription_record(raw: &str, subscription: &Subscription) -> SubscriptionRecord {
    let options = subscription.options;
    let parsed = topic::split_subscription(raw);
    SubscriptionRecord {
        raw_filter: raw.to_string(),
        share_group: parsed.share_group.map(str::to_string),
        filter: parsed.filter.to_string(),
        qos: options.qos as u8,
        no_local: options.no_local,
        retain_as_published: options.retain_as_published,
        retain_handling: options.retain_handling as u8,
        identifier: subscription.identifier,
    }
}

/// The subscription of a record; the record's `raw_filter` is its key in the session.
pub fn subscription_from_record(record: &SubscriptionRecord) -> Subscription {
    let retain_handling = match record.retain_handling {
        1 => RetainHandling::SendIfNew,
        2 => RetainHandling::DoNotSend,
        _ => RetainHandling::SendAlways,
    };
    Subscription {
        options: SubscriptionOptions {
            qos: QoS::from_u8(record.qos).unwrap_or(QoS::AtMostOnce),
            no_local: record.no_local,
            retain_as_published: record.retain_as_published,
            retain_handling,
        },
        identifier: record.identifier,
    }
}

fn will_record(will: &LastWill) -> WillRecord {
    let p = &will.properties;
    WillRecord {
        topic: will.topic.clone(),
        payload: will.payload.to_vec(),
        qos: will.qos as u8,
        retain: will.retain,
        delay_secs: p.will_delay_interval.unwrap_or(0),
        expiry_secs: p.message_expiry_interval,
        properties: Properties {
            payload_format_indicator: p.payload_format_indicator,
            expires_at_ms: None,
            content_type: p.content_type.clone(),
            response_topic: p.response_topic.clone(),
            correlation_data: p.correlation_data.as_ref().map(|d| d.to_vec()),
            user_properties: p.user_properties.clone(),
        },
    }
}

pub fn will_from_record(record: &WillRecord) -> LastWill {
    let p = &record.properties;
    LastWill {
        topic: record.topic.clone(),
        payload: Bytes::from(record.payload.clone()),
        qos: QoS::from_u8(record.qos).unwrap_or(QoS::AtMostOnce),
        retain: record.retain,
        properties: WillProperties {
            will_delay_interval: (record.delay_secs > 0).then_some(record.delay_secs),
            payload_format_indicator: p.payload_format_indicator,
            message_expiry_interval: record.expiry_secs,
            content_type: p.content_type.clone(),
            response_topic: p.response_topic.clone(),
            correlation_data: p.correlation_data.clone().map(Bytes::from),
            user_properties: p.user_properties.clone(),
        },
    }
}

/// The user a session was stored with.
pub fn user_of(record: &SessionRecord) -> Option<Arc<str>> {
    record.user.as_deref().map(Arc::from)
}

/// The roles a session was stored with.
pub fn roles_of(record: &SessionRecord) -> Arc<[Arc<str>]> {
    record.roles.iter().map(|r| Arc::from(r.as_str())).collect()
}
