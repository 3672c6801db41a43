//! Sessions: what survives a connection (3.1.1 clean session, 5.0 clean start and session
//! expiry), client identifiers, takeover, redelivery of unacknowledged messages, inbound QoS 2
//! exactly-once, the offline queue bound and message expiry while queued.
mod common;

use std::time::{Duration, Instant};

use common::*;
use rumqttc::v5::mqttbytes::v5 as m5;
use tallymq::codec::{ConnAck, Connect, Disconnect, Packet, ProtocolVersion, PubResponse, Publish, QoS, ReasonCode};

const Q1: rumqttc::QoS = rumqttc::QoS::AtLeastOnce;
const Q1_5: rumqttc::v5::mqttbytes::QoS = rumqttc::v5::mqttbytes::QoS::AtLeastOnce;

/// Waits until the broker has detached every connection but `remaining` (the session task is
/// done: nothing more goes to the old connection, its will and expiry are settled).
async fn wait_connected(broker: &TestBroker, remaining: usize) {
    wait_until("the broker to detach the connection", || broker.server.broker.connected_count() == remaining).await;
}

fn v4_options(broker: &TestBroker, id: &str, clean: bool) -> rumqttc::MqttOptions {
    let mut options = V4::options(broker.tcp, id);
    options.set_clean_session(clean);
    options
}

fn v5_options(broker: &TestBroker, id: &str, clean_start: bool, expiry: Option<u32>) -> rumqttc::v5::MqttOptions {
    let mut options = V5::options(broker.tcp, id);
    options.set_clean_start(clean_start);
    let mut properties = m5::ConnectProperties::new();
    properties.session_expiry_interval = expiry;
    options.set_connect_properties(properties);
    options
}

async fn v4_subscribe(client: &mut V4, filter: &str, qos: rumqttc::QoS) {
    client.client.subscribe(filter, qos).await.expect("subscribe queued");
    client.wait_for("SUBACK", |p| matches!(p, rumqttc::Packet::SubAck(_)).then_some(())).await;
}

async fn v5_subscribe(client: &mut V5, filter: &str, qos: rumqttc::v5::mqttbytes::QoS) {
    client.client.subscribe(filter, qos).await.expect("subscribe queued");
    client.wait_for("SUBACK", |p| matches!(p, m5::Packet::SubAck(_)).then_some(())).await;
}

/// Publishes at QoS 1 and waits for the PUBACK: the message has been fanned out by then.
async fn v4_publish(client: &mut V4, topic: &str, payload: &[u8]) {
    client.client.publish(topic, Q1, false, payload.to_vec()).await.expect("publish queued");
    client.wait_for("PUBACK", |p| matches!(p, rumqttc::Packet::PubAck(_)).then_some(())).await;
}

async fn v5_publish(client: &mut V5, topic: &str, payload: &[u8], properties: m5::PublishProperties) {
    client
        .client
        .publish_with_properties(topic, Q1_5, false, payload.to_vec(), properties)
        .await
        .expect("publish queued");
    client.wait_for("PUBACK", |p| matches!(p, m5::Packet::PubAck(_)).then_some(())).await;
}

async fn v4_disconnect(mut client: V4) {
    client.client.disconnect().await.expect("disconnect queued");
    client.closed().await;
}

async fn v5_disconnect(mut client: V5) {
    client.client.disconnect().await.expect("disconnect queued");
    client.closed().await;
}

fn connect_packet(version: ProtocolVersion, id: &str, clean_start: bool, expiry: Option<u32>) -> Connect {
    let mut connect = Raw::connect_packet(version, id);
    connect.clean_start = clean_start;
    connect.properties.session_expiry_interval = expiry;
    connect
}

/// A session that outlives its connection: 3.1.1 clean session 0, 5.0 expiry 60.
fn persistent(version: ProtocolVersion, id: &str, first: bool) -> Connect {
    match version {
        ProtocolVersion::V311 => connect_packet(version, id, false, None),
        ProtocolVersion::V5 => connect_packet(version, id, first, Some(60)),
    }
}

fn check_connack(connack: &ConnAck, session_present: bool) {
    assert_eq!((connack.reason, connack.session_present), (ReasonCode::SUCCESS, session_present), "{connack:?}");
}

// ---------------------------------------------------------------------------------------------
// 3.1.1 clean session, 5.0 session expiry

#[tokio::test]
async fn v311_persistent_session_queues_while_offline_and_clean_session_discards() {
    let broker = start().await;
    let (mut sub, connack) = V4::connect(v4_options(&broker, "keeper", false)).await;
    assert!(!connack.session_present);
    v4_subscribe(&mut sub, "q/t", Q1).await;
    v4_disconnect(sub).await;
    wait_connected(&broker, 0).await;

    let (mut publisher, _) = V4::connect(V4::options(broker.tcp, "pub")).await;
    for payload in ["m0", "m1", "m2"] {
        v4_publish(&mut publisher, "q/t", payload.as_bytes()).await;
    }
    let (mut sub, connack) = V4::connect(v4_options(&broker, "keeper", false)).await;
    assert!(connack.session_present, "clean session 0 resumes the session");
    for payload in ["m0", "m1", "m2"] {
        let got = sub.next_publish().await;
        assert_eq!((got.topic.as_str(), &got.payload[..], got.qos, got.dup), ("q/t", payload.as_bytes(), Q1, false));
    }
    v4_disconnect(sub).await;
    wait_connected(&broker, 1).await;

    v4_publish(&mut publisher, "q/t", b"discarded").await;
    let (mut sub, connack) = V4::connect(v4_options(&broker, "keeper", true)).await;
    assert!(!connack.session_present, "clean session 1 starts afresh");
    v4_subscribe(&mut sub, "q/t", Q1).await;
    v4_publish(&mut publisher, "q/t", b"marker").await;
    assert_eq!(sub.next_publish().await.payload, b"marker"[..], "the old session's queue was delivered");
}

#[tokio::test]
async fn v5_session_expiry_above_zero_keeps_the_session() {
    let broker = start().await;
    let (mut sub, connack) = V5::connect(v5_options(&broker, "keeper", true, Some(60))).await;
    assert!(!connack.session_present);
    v5_subscribe(&mut sub, "q/t", Q1_5).await;
    v5_disconnect(sub).await;
    wait_connected(&broker, 0).await;
    assert_eq!(broker.server.broker.session_count(), 1);

    let (mut publisher, _) = V5::connect(V5::options(broker.tcp, "pub")).await;
    v5_publish(&mut publisher, "q/t", b"queued", Default::default()).await;
    let (mut sub, connack) = V5::connect(v5_options(&broker, "keeper", false, Some(60))).await;
    assert!(connack.session_present);
    let got = sub.next_publish().await;
    assert_eq!((&got.topic[..], &got.payload[..], got.qos), (&b"q/t"[..], &b"queued"[..], Q1_5));
}

#[tokio::test]
async fn v5_session_expiry_zero_ends_the_session_at_disconnect() {
    let broker = start().await;
    let (mut sub, _) = V5::connect(v5_options(&broker, "brief", false, None)).await;
    v5_subscribe(&mut sub, "q/t", Q1_5).await;
    v5_disconnect(sub).await;
    wait_connected(&broker, 0).await;
    assert_eq!(broker.server.broker.session_count(), 0);

    let (mut publisher, _) = V5::connect(V5::options(broker.tcp, "pub")).await;
    v5_publish(&mut publisher, "q/t", b"nobody", Default::default()).await;
    let (mut sub, connack) = V5::connect(v5_options(&broker, "brief", false, None)).await;
    assert!(!connack.session_present, "expiry 0: the session ended with the connection");
    v5_subscribe(&mut sub, "q/t", Q1_5).await;
    v5_publish(&mut publisher, "q/t", b"marker", Default::default()).await;
    assert_eq!(&sub.next_publish().await.payload[..], b"marker");
}

/// The session outlives the connection by the expiry interval, not longer. Its end is awaited
/// through the broker's session count: reconnecting to check would restart the interval.
#[tokio::test]
async fn v5_short_session_expiry_expires() {
    let broker = start().await;
    let (mut publisher, _) = V5::connect(V5::options(broker.tcp, "pub")).await;
    let (mut sub, _) = V5::connect(v5_options(&broker, "short", true, Some(1))).await;
    v5_subscribe(&mut sub, "q/t", Q1_5).await;
    v5_disconnect(sub).await;
    wait_connected(&broker, 1).await;
    let detached = Instant::now();
    // The publisher's session and the offline one.
    assert_eq!(broker.server.broker.session_count(), 2, "the session outlives the connection");

    v5_publish(&mut publisher, "q/t", b"expires with the session", Default::default()).await;
    wait_until("the session to expire", || broker.server.broker.session_count() == 1).await;
    let lived = detached.elapsed();
    assert!(lived >= Duration::from_millis(800), "session ended after {lived:?}, expiry is 1 s");

    let (mut sub, connack) = V5::connect(v5_options(&broker, "short", false, Some(1))).await;
    assert!(!connack.session_present, "the session expired");
    v5_subscribe(&mut sub, "q/t", Q1_5).await;
    v5_publish(&mut publisher, "q/t", b"marker", Default::default()).await;
    assert_eq!(&sub.next_publish().await.payload[..], b"marker");
}

async fn disconnect_with_expiry(raw: &mut Raw, expiry: u32) {
    let mut disconnect = Disconnect::new(ReasonCode::NORMAL_DISCONNECTION);
    disconnect.properties.session_expiry_interval = Some(expiry);
    raw.send(Packet::Disconnect(disconnect)).await;
}

#[tokio::test]
async fn v5_disconnect_raises_session_expiry() {
    let broker = start().await;
    let (mut raw, connack) =
        Raw::connect(broker.tcp, connect_packet(ProtocolVersion::V5, "raise", true, Some(1))).await;
    check_connack(&connack, false);
    raw.subscribe_granted(1, "q/t", QoS::AtLeastOnce).await;
    disconnect_with_expiry(&mut raw, 60).await;
    assert_eq!(raw.expect_close().await, None, "a valid DISCONNECT gets no DISCONNECT back");
    wait_connected(&broker, 0).await;
    // Outlast the original interval: the time passing is the behaviour under test.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(broker.server.broker.session_count(), 1, "the raised expiry keeps the session");

    let (mut publisher, _) = V5::connect(V5::options(broker.tcp, "pub")).await;
    v5_publish(&mut publisher, "q/t", b"kept", Default::default()).await;
    let (mut raw, connack) =
        Raw::connect(broker.tcp, connect_packet(ProtocolVersion::V5, "raise", false, Some(60))).await;
    check_connack(&connack, true);
    assert_eq!(&raw.next_publish().await.payload[..], b"kept");
}

#[tokio::test]
async fn v5_disconnect_lowers_session_expiry_to_zero() {
    let broker = start().await;
    let (mut raw, _) = Raw::connect(broker.tcp, connect_packet(ProtocolVersion::V5, "lower", true, Some(60))).await;
    raw.subscribe_granted(1, "q/t", QoS::AtLeastOnce).await;
    disconnect_with_expiry(&mut raw, 0).await;
    assert_eq!(raw.expect_close().await, None);
    let (_raw, connack) = Raw::connect(broker.tcp, connect_packet(ProtocolVersion::V5, "lower", false, Some(60))).await;
    check_connack(&connack, false);
}

#[tokio::test]
async fn v5_disconnect_may_not_raise_session_expiry_from_zero() {
    let broker = start().await;
    let (mut raw, _) = Raw::connect(broker.tcp, connect_packet(ProtocolVersion::V5, "zero", true, None)).await;
    raw.subscribe_granted(1, "q/t", QoS::AtLeastOnce).await;
    disconnect_with_expiry(&mut raw, 60).await;
    assert_eq!(raw.expect_close().await, Some(ReasonCode::PROTOCOL_ERROR));
    let (_raw, connack) = Raw::connect(broker.tcp, connect_packet(ProtocolVersion::V5, "zero", false, None)).await;
    check_connack(&connack, false);
}

// ---------------------------------------------------------------------------------------------
// Client identifiers

#[tokio::test]
async fn empty_client_id_v311_needs_clean_session() {
    let broker = start().await;
    let (mut raw, connack) = Raw::connect(broker.tcp, connect_packet(ProtocolVersion::V311, "", false, None)).await;
    assert_eq!((connack.reason, connack.session_present), (ReasonCode::CLIENT_IDENTIFIER_NOT_VALID, false));
    assert_eq!(raw.expect_close().await, None, "refused connection is closed");

    let (mut raw, connack) = Raw::connect(broker.tcp, connect_packet(ProtocolVersion::V311, "", true, None)).await;
    check_connack(&connack, false);
    raw.send(Packet::PingReq).await;
    assert_eq!(raw.recv().await, Some(Packet::PingResp));
}

#[tokio::test]
async fn empty_client_id_v5_gets_an_assigned_identifier() {
    let broker = start().await;
    let (mut raw, connack) = Raw::connect(broker.tcp, connect_packet(ProtocolVersion::V5, "", true, None)).await;
    check_connack(&connack, false);
    let assigned = connack.properties.assigned_client_identifier.expect("assigned client identifier");
    assert!(!assigned.is_empty());

    let (_other, connack) = V5::connect(V5::options(broker.tcp, "")).await;
    let other = connack.properties.and_then(|p| p.assigned_client_identifier).expect("assigned client identifier");
    assert!(!other.is_empty());
    assert_ne!(assigned, other, "assigned identifiers are unique");

    // The assigned identifier is the client's identity: its notices use it.
    raw.subscribe_granted(1, &format!("$notice/{assigned}"), QoS::AtLeastOnce).await;
    raw.send(publish_packet("$x", QoS::AtMostOnce, 0, b"refused")).await;
    let notice = raw.next_publish().await;
    assert_eq!(notice.topic, format!("$notice/{assigned}"));

    // A client id given in CONNECT is not replaced.
    let (_raw, connack) = Raw::connect(broker.tcp, connect_packet(ProtocolVersion::V5, "named", true, None)).await;
    assert_eq!(connack.properties.assigned_client_identifier, None);
}

// ---------------------------------------------------------------------------------------------
// Takeover

#[tokio::test]
async fn takeover_v5_sends_session_taken_over_and_closes() {
    let broker = start().await;
    let (mut old_raw, _) = Raw::connect(broker.tcp, Raw::connect_packet(ProtocolVersion::V5, "twin")).await;
    let (mut new, connack) = V5::connect(V5::options(broker.tcp, "twin")).await;
    assert_eq!(connack.code, m5::ConnectReturnCode::Success);
    assert_eq!(old_raw.expect_close().await, Some(ReasonCode::SESSION_TAKEN_OVER));

    // rumqttc sees the same DISCONNECT when it is the one taken over.
    let (_newer, _) = V5::connect(V5::options(broker.tcp, "twin")).await;
    let error = new.closed().await;
    assert!(error.contains("SessionTakenOver"), "{error}");

    let (mut newest, _) = V5::connect(V5::options(broker.tcp, "twin")).await;
    v5_subscribe(&mut newest, "tk/t", Q1_5).await;
    v5_publish(&mut newest, "tk/t", b"works", Default::default()).await;
    assert_eq!(&newest.next_publish().await.payload[..], b"works");
}

/// `Broker::disconnect_all` asks every connected client to leave with the one reason.
#[tokio::test]
async fn every_connected_client_can_be_asked_to_leave_at_once() {
    let broker = start().await;
    let (mut first, _) = Raw::connect(broker.tcp, Raw::connect_packet(ProtocolVersion::V5, "all-1")).await;
    let (mut second, _) = Raw::connect(broker.tcp, Raw::connect_packet(ProtocolVersion::V5, "all-2")).await;
    assert_eq!(broker.server.broker.disconnect_all(ReasonCode::ADMINISTRATIVE_ACTION), 2);
    assert_eq!(first.expect_close().await, Some(ReasonCode::ADMINISTRATIVE_ACTION));
    assert_eq!(second.expect_close().await, Some(ReasonCode::ADMINISTRATIVE_ACTION));
    wait_connected(&broker, 0).await;
    assert_eq!(broker.server.broker.disconnect_all(ReasonCode::ADMINISTRATIVE_ACTION), 0);
}

#[tokio::test]
async fn takeover_v311_closes_the_old_connection() {
    let broker = start().await;
    let (mut old_raw, _) = Raw::connect(broker.tcp, Raw::connect_packet(ProtocolVersion::V311, "twin")).await;
    let (mut old, _) = V4::connect(V4::options(broker.tcp, "twin")).await;
    assert_eq!(old_raw.expect_close().await, None, "3.1.1 has no DISCONNECT from the server");
    let (mut new, connack) = V4::connect(V4::options(broker.tcp, "twin")).await;
    assert_eq!(connack.code, rumqttc::ConnectReturnCode::Success);
    old.closed().await;
    v4_subscribe(&mut new, "tk/t", Q1).await;
    v4_publish(&mut new, "tk/t", b"works").await;
    assert_eq!(&new.next_publish().await.payload[..], b"works");
}

#[tokio::test]
async fn takeover_v311_carries_the_persistent_session_over() {
    let broker = start().await;
    let (mut old, _) = V4::connect(v4_options(&broker, "twin", false)).await;
    v4_subscribe(&mut old, "tk/t", Q1).await;
    let (mut new, connack) = V4::connect(v4_options(&broker, "twin", false)).await;
    assert!(connack.session_present);
    old.closed().await;
    let (mut publisher, _) = V4::connect(V4::options(broker.tcp, "pub")).await;
    v4_publish(&mut publisher, "tk/t", b"to the new connection").await;
    assert_eq!(&new.next_publish().await.payload[..], b"to the new connection");
}

#[tokio::test]
async fn takeover_v5_carries_the_persistent_session_over() {
    let broker = start().await;
    let (mut old, _) = V5::connect(v5_options(&broker, "twin", true, Some(60))).await;
    v5_subscribe(&mut old, "tk/t", Q1_5).await;
    let (mut new, connack) = V5::connect(v5_options(&broker, "twin", false, Some(60))).await;
    assert!(connack.session_present);
    assert!(old.closed().await.contains("SessionTakenOver"));
    let (mut publisher, _) = V5::connect(V5::options(broker.tcp, "pub")).await;
    v5_publish(&mut publisher, "tk/t", b"to the new connection", Default::default()).await;
    assert_eq!(&new.next_publish().await.payload[..], b"to the new connection");
}

// ---------------------------------------------------------------------------------------------
// Redelivery of unacknowledged outbound messages

/// Where the subscriber stops before dropping the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopAt {
    /// Received the PUBLISH, sent nothing.
    Publish,
    /// QoS 2: sent PUBREC and received PUBREL, sent no PUBCOMP.
    PubRel,
}

async fn redelivery(version: ProtocolVersion, qos: QoS, stop: StopAt) {
    let broker = start().await;
    let (mut raw, connack) = Raw::connect(broker.tcp, persistent(version, "sub", true)).await;
    check_connack(&connack, false);
    raw.subscribe_granted(1, "rd/t", qos).await;
    let (publisher, _) = V5::connect(V5::options(broker.tcp, "pub")).await;
    publisher
        .client
        .publish("rd/t", rumqttc::v5::mqttbytes::QoS::ExactlyOnce, false, "m")
        .await
        .expect("publish queued");

    let first = raw.next_publish().await;
    assert_eq!((first.dup, first.qos, &first.payload[..]), (false, qos, &b"m"[..]));
    let packet_id = first.packet_id;
    assert_ne!(packet_id, 0);
    if stop == StopAt::PubRel {
        raw.send(Packet::PubRec(PubResponse::success(packet_id))).await;
        match raw.recv().await {
            Some(Packet::PubRel(rel)) => assert_eq!(rel.packet_id, packet_id),
            other => panic!("expected PUBREL, got {other:?}"),
        }
    }
    drop(raw);

    let (mut raw, connack) = Raw::connect(broker.tcp, persistent(version, "sub", false)).await;
    check_connack(&connack, true);
    match stop {
        StopAt::Publish => {
            let again = raw.next_publish().await;
            assert_eq!(
                (again.dup, again.qos, again.packet_id, &again.topic[..], &again.payload[..]),
                (true, qos, packet_id, "rd/t", &b"m"[..])
            );
            if qos == QoS::AtLeastOnce {
                raw.send(Packet::PubAck(PubResponse::success(packet_id))).await;
            } else {
                raw.send(Packet::PubRec(PubResponse::success(packet_id))).await;
                match raw.recv().await {
                    Some(Packet::PubRel(rel)) => {
                        assert_eq!((rel.packet_id, rel.reason), (packet_id, ReasonCode::SUCCESS))
                    }
                    other => panic!("expected PUBREL, got {other:?}"),
                }
                raw.send(Packet::PubComp(PubResponse::success(packet_id))).await;
            }
        }
        StopAt::PubRel => {
            match raw.recv().await {
                Some(Packet::PubRel(rel)) => assert_eq!((rel.packet_id, rel.reason), (packet_id, ReasonCode::SUCCESS)),
                other => panic!("expected the PUBREL to be resent (not the PUBLISH), got {other:?}"),
            }
            raw.send(Packet::PubComp(PubResponse::success(packet_id))).await;
        }
    }
    // The flow is complete: the next message is new, not the old one again.
    publisher.client.publish("rd/t", rumqttc::v5::mqttbytes::QoS::AtMostOnce, false, "next").await.expect("queued");
    let next = raw.next_publish().await;
    assert_eq!((&next.payload[..], next.dup), (&b"next"[..], false));
}

#[tokio::test]
async fn qos1_unacked_publish_is_resent_with_dup_v311() {
    redelivery(ProtocolVersion::V311, QoS::AtLeastOnce, StopAt::Publish).await;
}

#[tokio::test]
async fn qos1_unacked_publish_is_resent_with_dup_v5() {
    redelivery(ProtocolVersion::V5, QoS::AtLeastOnce, StopAt::Publish).await;
}

#[tokio::test]
async fn qos2_unacked_publish_is_resent_with_dup_v311() {
    redelivery(ProtocolVersion::V311, QoS::ExactlyOnce, StopAt::Publish).await;
}

#[tokio::test]
async fn qos2_unacked_publish_is_resent_with_dup_v5() {
    redelivery(ProtocolVersion::V5, QoS::ExactlyOnce, StopAt::Publish).await;
}

#[tokio::test]
async fn qos2_pubrel_is_resent_after_pubrec_v311() {
    redelivery(ProtocolVersion::V311, QoS::ExactlyOnce, StopAt::PubRel).await;
}

#[tokio::test]
async fn qos2_pubrel_is_resent_after_pubrec_v5() {
    redelivery(ProtocolVersion::V5, QoS::ExactlyOnce, StopAt::PubRel).await;
}

/// Several unacknowledged messages come back in the order they were first sent, each with its
/// original packet id, before anything queued meanwhile.
#[tokio::test]
async fn unacked_messages_are_resent_in_order_before_queued_ones() {
    let broker = start().await;
    let (mut raw, _) = Raw::connect(broker.tcp, persistent(ProtocolVersion::V5, "sub", true)).await;
    raw.subscribe_granted(1, "ro/t", QoS::AtLeastOnce).await;
    let (mut publisher, _) = V4::connect(V4::options(broker.tcp, "pub")).await;
    let mut first_ids = Vec::new();
    for i in 0..5 {
        v4_publish(&mut publisher, "ro/t", format!("m{i}").as_bytes()).await;
        let p = raw.next_publish().await;
        assert_eq!(p.payload, format!("m{i}").into_bytes());
        first_ids.push(p.packet_id);
    }
    // Acknowledge one in the middle: it must not come back.
    raw.send(Packet::PubAck(PubResponse::success(first_ids[2]))).await;
    raw.send(Packet::PingReq).await;
    assert_eq!(raw.recv().await, Some(Packet::PingResp));
    drop(raw);
    wait_connected(&broker, 1).await;
    v4_publish(&mut publisher, "ro/t", b"queued").await;

    let (mut raw, connack) = Raw::connect(broker.tcp, persistent(ProtocolVersion::V5, "sub", false)).await;
    check_connack(&connack, true);
    let mut again = Vec::new();
    for _ in 0..5 {
        let p = raw.next_publish().await;
        again.push((p.packet_id, p.dup, String::from_utf8_lossy(&p.payload).into_owned()));
    }
    let expected: Vec<_> = [0, 1, 3, 4]
        .into_iter()
        .map(|i| (first_ids[i], true, format!("m{i}")))
        .chain([(again[4].0, false, "queued".to_string())])
        .collect();
    assert_eq!(again, expected);
    assert!(!first_ids[..2].contains(&again[4].0) && !first_ids[3..].contains(&again[4].0), "packet id still in use");
}

/// A client that comes back with a smaller Receive Maximum gets its unacknowledged messages
/// resent only as fast as its window allows (MQTT 5.0 section 4.9), still in order and ahead of
/// what was queued meanwhile.
#[tokio::test]
async fn resent_messages_respect_the_receive_maximum_of_the_new_connection() {
    let broker = start().await;
    let (mut raw, _) = Raw::connect(broker.tcp, persistent(ProtocolVersion::V5, "sub", true)).await;
    raw.subscribe_granted(1, "rm/t", QoS::AtLeastOnce).await;
    let (mut publisher, _) = V4::connect(V4::options(broker.tcp, "pub")).await;
    for i in 0..3 {
        v4_publish(&mut publisher, "rm/t", format!("m{i}").as_bytes()).await;
        assert_eq!(raw.next_publish().await.payload, format!("m{i}").into_bytes());
    }
    drop(raw);
    wait_connected(&broker, 1).await;
    v4_publish(&mut publisher, "rm/t", b"queued").await;

    let mut connect = persistent(ProtocolVersion::V5, "sub", false);
    connect.properties.receive_maximum = Some(1);
    let (mut raw, connack) = Raw::connect(broker.tcp, connect).await;
    check_connack(&connack, true);
    for expected in ["m0", "m1", "m2", "queued"] {
        let p = raw.next_publish().await;
        assert_eq!(String::from_utf8_lossy(&p.payload), expected);
        assert_eq!(p.dup, expected != "queued");
        // Nothing else may arrive while this one is unacknowledged: the ping answer comes first.
        raw.send(Packet::PingReq).await;
        assert_eq!(raw.recv().await, Some(Packet::PingResp), "a second PUBLISH exceeded receive maximum 1");
        raw.send(Packet::PubAck(PubResponse::success(p.packet_id))).await;
    }
}

/// While the connection lives, an unacknowledged message is not sent again: the packets that
/// arrive are exactly the publishes, in order, then the ping response.
async fn no_retransmission_while_connected(version: ProtocolVersion) {
    let broker = start().await;
    let (mut raw, _) = Raw::connect(broker.tcp, persistent(version, "sub", true)).await;
    raw.subscribe_granted(1, "lv/#", QoS::ExactlyOnce).await;
    let (mut publisher, _) = V4::connect(V4::options(broker.tcp, "pub")).await;
    let mut received = Vec::new();
    for round in 0..2 {
        let topic = format!("lv/{round}");
        v4_publish(&mut publisher, &topic, b"unacked").await;
        publisher.client.publish(&topic, rumqttc::QoS::AtMostOnce, false, "marker").await.expect("queued");
        for _ in 0..2 {
            let p = raw.next_publish().await;
            received.push((p.topic, p.qos, p.dup, String::from_utf8_lossy(&p.payload).into_owned()));
        }
    }
    raw.send(Packet::PingReq).await;
    assert_eq!(raw.recv().await, Some(Packet::PingResp));
    let expected: Vec<_> = [
        ("lv/0", QoS::AtLeastOnce, "unacked"),
        ("lv/0", QoS::AtMostOnce, "marker"),
        ("lv/1", QoS::AtLeastOnce, "unacked"),
        ("lv/1", QoS::AtMostOnce, "marker"),
    ]
    .into_iter()
    .map(|(t, q, p)| (t.to_string(), q, false, p.to_string()))
    .collect();
    assert_eq!(received, expected);
}

#[tokio::test]
async fn no_retransmission_while_connected_v311() {
    no_retransmission_while_connected(ProtocolVersion::V311).await;
}

#[tokio::test]
async fn no_retransmission_while_connected_v5() {
    no_retransmission_while_connected(ProtocolVersion::V5).await;
}

// ---------------------------------------------------------------------------------------------
// Inbound QoS 2 exactly once

async fn inbound_qos2_exactly_once_across_reconnect(version: ProtocolVersion) {
    let broker = start().await;
    let (mut sub, _) = V4::connect(V4::options(broker.tcp, "sub")).await;
    v4_subscribe(&mut sub, "x2/#", rumqttc::QoS::ExactlyOnce).await;

    let (mut raw, _) = Raw::connect(broker.tcp, persistent(version, "pub", true)).await;
    raw.send(publish_packet("x2/t", QoS::ExactlyOnce, 10, b"once")).await;
    match raw.recv().await {
        Some(Packet::PubRec(rec)) => assert_eq!((rec.packet_id, rec.reason), (10, ReasonCode::SUCCESS)),
        other => panic!("expected PUBREC, got {other:?}"),
    }
    let got = sub.next_publish().await;
    assert_eq!((got.topic.as_str(), &got.payload[..]), ("x2/t", &b"once"[..]));
    drop(raw);

    let (mut raw, connack) = Raw::connect(broker.tcp, persistent(version, "pub", false)).await;
    check_connack(&connack, true);
    raw.send(Packet::Publish(Publish { dup: true, ..publish("x2/t", QoS::ExactlyOnce, 10, b"once") })).await;
    match raw.recv().await {
        Some(Packet::PubRec(rec)) => assert_eq!((rec.packet_id, rec.reason), (10, ReasonCode::SUCCESS)),
        other => panic!("expected PUBREC for the resent PUBLISH, got {other:?}"),
    }
    raw.send(Packet::PubRel(PubResponse::success(10))).await;
    match raw.recv().await {
        Some(Packet::PubComp(comp)) => assert_eq!((comp.packet_id, comp.reason), (10, ReasonCode::SUCCESS)),
        other => panic!("expected PUBCOMP, got {other:?}"),
    }
    raw.send(publish_packet("x2/end", QoS::AtMostOnce, 0, b"end")).await;
    assert_eq!(sub.next_publish().await.topic, "x2/end", "the resent QoS 2 message was delivered twice");

    // After PUBREL the packet id is free again: the same id is a new message.
    raw.send(publish_packet("x2/t", QoS::ExactlyOnce, 10, b"again")).await;
    match raw.recv().await {
        Some(Packet::PubRec(rec)) => assert_eq!((rec.packet_id, rec.reason), (10, ReasonCode::SUCCESS)),
        other => panic!("expected PUBREC, got {other:?}"),
    }
    assert_eq!(&sub.next_publish().await.payload[..], b"again");
}

#[tokio::test]
async fn inbound_qos2_exactly_once_across_reconnect_v311() {
    inbound_qos2_exactly_once_across_reconnect(ProtocolVersion::V311).await;
}

#[tokio::test]
async fn inbound_qos2_exactly_once_across_reconnect_v5() {
    inbound_qos2_exactly_once_across_reconnect(ProtocolVersion::V5).await;
}

// ---------------------------------------------------------------------------------------------
// Offline queue bound and message expiry

async fn offline_queue_is_bounded(version: ProtocolVersion) {
    let broker = start_with(|config| config.mqtt.max_queued_messages = 10).await;
    let (mut raw, _) = Raw::connect(broker.tcp, persistent(version, "offline", true)).await;
    raw.subscribe_granted(1, "ob/t", QoS::AtLeastOnce).await;
    raw.send(Packet::Disconnect(Disconnect::new(ReasonCode::NORMAL_DISCONNECTION))).await;
    raw.expect_close().await;
    wait_connected(&broker, 0).await;

    let (mut publisher, _) = V4::connect(V4::options(broker.tcp, "pub")).await;
    for i in 0..25 {
        v4_publish(&mut publisher, "ob/t", format!("m{i}").as_bytes()).await;
    }
    let (mut raw, connack) = Raw::connect(broker.tcp, persistent(version, "offline", false)).await;
    check_connack(&connack, true);
    let mut received = Vec::new();
    for _ in 0..10 {
        let p = raw.next_publish().await;
        raw.send(Packet::PubAck(PubResponse::success(p.packet_id))).await;
        received.push(String::from_utf8_lossy(&p.payload).into_owned());
    }
    assert_eq!(received, (0..10).map(|i| format!("m{i}")).collect::<Vec<_>>(), "the first 10, in order");
    v4_publish(&mut publisher, "ob/t", b"marker").await;
    assert_eq!(&raw.next_publish().await.payload[..], b"marker", "more than 10 were queued");
}

#[tokio::test]
async fn offline_queue_is_bounded_v311() {
    offline_queue_is_bounded(ProtocolVersion::V311).await;
}

#[tokio::test]
async fn offline_queue_is_bounded_v5() {
    offline_queue_is_bounded(ProtocolVersion::V5).await;
}

/// A queued message whose expiry passes while its subscriber is offline is dropped, for 5.0
/// and 3.1.1 subscribers alike; one that has time left arrives with what is left of it.
#[tokio::test]
async fn queued_messages_expire() {
    let broker = start().await;
    let (mut sub5, _) = V5::connect(v5_options(&broker, "sub5", true, Some(60))).await;
    v5_subscribe(&mut sub5, "me/#", Q1_5).await;
    v5_disconnect(sub5).await;
    let (mut sub4, _) = V4::connect(v4_options(&broker, "sub4", false)).await;
    v4_subscribe(&mut sub4, "me/#", Q1).await;
    v4_disconnect(sub4).await;
    wait_connected(&broker, 0).await;

    let (mut publisher, _) = V5::connect(V5::options(broker.tcp, "pub")).await;
    let expiring = |secs| m5::PublishProperties { message_expiry_interval: Some(secs), ..Default::default() };
    v5_publish(&mut publisher, "me/short", b"short", expiring(1)).await;
    v5_publish(&mut publisher, "me/long", b"long", expiring(60)).await;
    v5_publish(&mut publisher, "me/none", b"none", Default::default()).await;
    // Let the short expiry pass: the time passing is the behaviour under test.
    tokio::time::sleep(Duration::from_millis(1200)).await;

    let (mut sub5, connack) = V5::connect(v5_options(&broker, "sub5", false, Some(60))).await;
    assert!(connack.session_present);
    let got = sub5.next_publish().await;
    assert_eq!(&got.topic[..], b"me/long", "the expired message was delivered");
    let left = got.properties.and_then(|p| p.message_expiry_interval).expect("remaining expiry");
    assert!((57..=59).contains(&left), "expiry left after 1.2 s of 60 s: {left}");
    let got = sub5.next_publish().await;
    assert_eq!(&got.topic[..], b"me/none");
    assert_eq!(got.properties.and_then(|p| p.message_expiry_interval), None);

    let (mut sub4, connack) = V4::connect(v4_options(&broker, "sub4", false)).await;
    assert!(connack.session_present);
    assert_eq!(sub4.next_publish().await.topic, "me/long", "the expired message was delivered");
    assert_eq!(sub4.next_publish().await.topic, "me/none");
}

/// A clean-start reconnect racing busy publishers: the new session has no subscriptions, so it
/// must never receive a message meant for the subscription of the session it replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_start_never_inherits_messages_of_the_replaced_session() {
    let broker = start().await;
    let addr = broker.tcp;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut publishers = Vec::new();
    for p in 0..3 {
        let stop = stop.clone();
        let (mut raw, _) = Raw::connect(addr, Raw::connect_packet(ProtocolVersion::V5, &format!("race-pub-{p}"))).await;
        publishers.push(tokio::spawn(async move {
            let (mut sent, mut unacked) = (0u64, 0);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                while unacked < 10 {
                    raw.send(publish_packet("race/t", QoS::AtLeastOnce, (sent % 60_000) as u16 + 1, b"x")).await;
                    sent += 1;
                    unacked += 1;
                }
                match raw.next().await {
                    Packet::PubAck(_) => unacked -= 1,
                    other => panic!("publisher got {other:?}"),
                }
            }
            sent
        }));
    }
    for round in 0..300 {
        let (mut sub, _) = Raw::connect(addr, connect_packet(ProtocolVersion::V5, "race-sub", true, Some(60))).await;
        sub.send(Packet::PingReq).await;
        match sub.next().await {
            Packet::PingResp => {}
            other => panic!("round {round}: a session without subscriptions got {other:?}"),
        }
        // Subscribe again, so that the next clean start replaces a subscribed session.
        sub.subscribe_granted(1, "race/t", QoS::AtLeastOnce).await;
        sub.send(Packet::Disconnect(Disconnect::new(ReasonCode::SUCCESS))).await;
        while sub.recv().await.is_some() {}
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for publisher in publishers {
        assert!(publisher.await.unwrap() > 0);
    }
}
