//! Configured limits: CONNECT deadline, keep alive, subscriptions per client, client id length,
//! retained message count, retain availability and payload format validation.
mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use tallymq::codec::{LastWill, Packet, ProtocolVersion, PubResponse, Publish, QoS, ReasonCode, Unsubscribe};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use ProtocolVersion::{V311, V5};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

async fn client(broker: &TestBroker, version: ProtocolVersion, id: &str) -> Raw {
    connect_ok(broker, Raw::connect_packet(version, id)).await.0
}

/// [`publish`] with the retain flag set.
fn publish_retained(topic: &str, qos: QoS, packet_id: u16, payload: &[u8]) -> Publish {
    Publish { retain: true, ..publish(topic, qos, packet_id, payload) }
}

// ---------------------------------------------------------------------------------------------
// Time limits
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn connection_without_connect_is_closed_after_the_connect_timeout() {
    let broker = start_with(|c| c.mqtt.connect_timeout_secs = 1).await;
    let (mut connected, _) = connect_ok(&broker, Raw::connect_packet(V5, "in-time")).await;

    let started = Instant::now();
    let mut silent = TcpStream::connect(broker.tcp).await.unwrap();
    let mut partial = TcpStream::connect(broker.tcp).await.unwrap();
    // The first bytes of a CONNECT (type, remaining length 16, start of the protocol name),
    // then nothing: still no CONNECT.
    partial.write_all(&[0x10, 0x10, 0x00, 0x04, b'M']).await.unwrap();

    let (silent_reply, partial_reply) = tokio::join!(read_until_closed(&mut silent), read_until_closed(&mut partial));
    let elapsed = started.elapsed();
    assert_eq!((silent_reply, partial_reply), (vec![], vec![]), "closed without any answer");
    assert!(elapsed >= Duration::from_millis(950), "closed after {elapsed:?}, before the 1 s connect timeout");
    assert!(elapsed < Duration::from_secs(3), "closed only after {elapsed:?}");

    // The deadline applies to the CONNECT only: a client that connected in time stays.
    connected.send(Packet::PingReq).await;
    assert_eq!(connected.next().await, Packet::PingResp);
}

/// Connects with keep alive 1 s and returns the client and the instant the CONNECT was sent
/// (the broker's idle timer cannot start earlier).
async fn silent_client(broker: &TestBroker, version: ProtocolVersion, id: &str) -> (Raw, Instant) {
    let mut connect = Raw::connect_packet(version, id);
    connect.keep_alive = 1;
    let sent = Instant::now();
    let (raw, connack) = connect_ok(broker, connect).await;
    assert_eq!(connack.properties.server_keep_alive, None, "keep alive 1 s is granted as asked");
    (raw, sent)
}

#[tokio::test]
async fn silent_client_is_disconnected_after_one_and_a_half_keep_alives() {
    let broker = start().await;
    let (mut v5, v5_sent) = silent_client(&broker, V5, "silent-5").await;
    let (mut v311, v311_sent) = silent_client(&broker, V311, "silent-311").await;

    let (v5_reason, v311_reason) = tokio::join!(
        async {
            let reason = v5.expect_close().await;
            (reason, v5_sent.elapsed())
        },
        async {
            let reason = v311.expect_close().await;
            (reason, v311_sent.elapsed())
        }
    );
    assert_eq!(v5_reason.0, Some(ReasonCode::KEEP_ALIVE_TIMEOUT));
    assert_eq!(v311_reason.0, None, "3.1.1 has no DISCONNECT from the server");
    for (version, elapsed) in [("5.0", v5_reason.1), ("3.1.1", v311_reason.1)] {
        assert!(elapsed >= Duration::from_millis(1500), "{version}: closed after {elapsed:?}, before 1.5 x keep alive");
        assert!(elapsed < Duration::from_millis(4000), "{version}: closed only after {elapsed:?}");
    }
}

#[tokio::test]
async fn client_that_pings_in_time_stays_connected() {
    let broker = start().await;
    let mut connect = Raw::connect_packet(V5, "pinger");
    connect.keep_alive = 1;
    let (mut raw, _) = connect_ok(&broker, connect).await;
    // Five pings 700 ms apart: 3.5 s in all, well past 1.5 x keep alive.
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        raw.send(Packet::PingReq).await;
        assert_eq!(raw.next().await, Packet::PingResp);
    }
}

// ---------------------------------------------------------------------------------------------
// Counting limits
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn subscriptions_per_client_are_limited() {
    let broker = start_with(|c| c.mqtt.max_subscriptions_per_client = 2).await;
    let mut raw = client(&broker, V5, "subs").await;
    let reasons = raw.subscribe(1, &[("a", QoS::AtLeastOnce), ("b", QoS::AtLeastOnce), ("c", QoS::AtLeastOnce)]).await;
    assert_eq!(reasons, [ReasonCode::GRANTED_QOS_1, ReasonCode::GRANTED_QOS_1, ReasonCode::QUOTA_EXCEEDED]);
    // Replacing an existing subscription is not a new one.
    assert_eq!(raw.subscribe(2, &[("a", QoS::AtMostOnce)]).await, [ReasonCode::GRANTED_QOS_0]);
    assert_eq!(raw.subscribe(3, &[("d", QoS::AtMostOnce)]).await, [ReasonCode::QUOTA_EXCEEDED]);
    // Unsubscribing frees a place.
    raw.send(Packet::Unsubscribe(Unsubscribe { packet_id: 4, user_properties: vec![], filters: vec!["b".into()] })).await;
    assert!(matches!(raw.next().await, Packet::UnsubAck(_)));
    assert_eq!(raw.subscribe(5, &[("d", QoS::AtMostOnce)]).await, [ReasonCode::GRANTED_QOS_0]);

    // The refused filter really is not subscribed; the others are.
    let mut publisher = client(&broker, V5, "pub").await;
    publisher.publish_acked(publish("c", QoS::AtLeastOnce, 1, b"to c")).await;
    publisher.publish_acked(publish("d", QoS::AtLeastOnce, 2, b"to d")).await;
    assert_eq!(&raw.next_publish().await.payload[..], b"to d");

    // 3.1.1 sees the refusal as 0x80.
    let mut old = client(&broker, V311, "subs-311").await;
    let reasons = old.subscribe(1, &[("a", QoS::AtLeastOnce), ("b", QoS::AtMostOnce), ("c", QoS::AtLeastOnce)]).await;
    assert_eq!(reasons, [ReasonCode::GRANTED_QOS_1, ReasonCode::GRANTED_QOS_0, ReasonCode::UNSPECIFIED_ERROR]);
}

#[tokio::test]
async fn client_identifier_length_is_limited() {
    let broker = start_with(|c| c.mqtt.max_client_id_len = 8).await;
    connect_ok(&broker, Raw::connect_packet(V5, "12345678")).await;
    // The limit counts bytes: four two-byte characters fit, five do not.
    connect_ok(&broker, Raw::connect_packet(V5, "éééé")).await;
    for (version, id) in [(V5, "123456789"), (V5, "ééééé"), (V311, "123456789")] {
        let (mut raw, connack) = Raw::connect(broker.tcp, Raw::connect_packet(version, id)).await;
        // 3.1.1 return code 2 (identifier rejected) decodes to the same reason.
        assert_eq!(connack.reason, ReasonCode::CLIENT_IDENTIFIER_NOT_VALID, "{version:?} {id}");
        assert_eq!(raw.expect_close().await, None);
    }
}

#[tokio::test]
async fn retained_message_count_is_limited() {
    let broker = start_with(|c| c.mqtt.max_retained_messages = 2).await;
    let mut publisher = client(&broker, V5, "pub").await;
    assert_eq!(publisher.publish_acked(publish_retained("r/1", QoS::AtLeastOnce, 1, b"one")).await.reason, ReasonCode::SUCCESS);
    assert_eq!(publisher.publish_acked(publish_retained("r/2", QoS::AtLeastOnce, 2, b"two")).await.reason, ReasonCode::SUCCESS);
    assert_eq!(publisher.publish_acked(publish_retained("r/3", QoS::AtLeastOnce, 3, b"three")).await.reason, ReasonCode::QUOTA_EXCEEDED);
    // Replacing an existing retained topic still works.
    assert_eq!(publisher.publish_acked(publish_retained("r/1", QoS::AtLeastOnce, 4, b"one again")).await.reason, ReasonCode::SUCCESS);

    let mut sub = client(&broker, V5, "sub").await;
    assert_eq!(sub.subscribe(1, &[("r/#", QoS::AtLeastOnce)]).await, [ReasonCode::GRANTED_QOS_1]);
    let mut retained = Vec::new();
    for _ in 0..2 {
        let p = sub.next_publish().await;
        assert!(p.retain);
        sub.send(Packet::PubAck(PubResponse::success(p.packet_id))).await;
        retained.push((p.topic, p.payload));
    }
    retained.sort();
    assert_eq!(retained, [("r/1".to_string(), Bytes::from("one again")), ("r/2".to_string(), Bytes::from("two"))]);
    sub.nothing_pending().await;

    // Deleting one (empty retained payload) makes room for another topic.
    assert_eq!(publisher.publish_acked(publish_retained("r/2", QoS::AtLeastOnce, 5, b"")).await.reason, ReasonCode::SUCCESS);
    assert_eq!(publisher.publish_acked(publish_retained("r/3", QoS::AtLeastOnce, 6, b"three")).await.reason, ReasonCode::SUCCESS);
}

// ---------------------------------------------------------------------------------------------
// Retain availability and payload format
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn retained_publish_is_refused_when_retain_is_unavailable() {
    let broker = start_with(|c| c.mqtt.retain_available = false).await;
    let (mut publisher, connack) = connect_ok(&broker, Raw::connect_packet(V5, "pub")).await;
    assert_eq!(connack.properties.retain_available, Some(false));
    // Plain publishes still work.
    assert_eq!(publisher.publish_acked(publish("t", QoS::AtLeastOnce, 1, b"x")).await.reason, ReasonCode::SUCCESS);
    // PUBACK has no reason code for this: the server disconnects with 0x9A (MQTT 5.0 3.3.1.3).
    publisher.send(Packet::Publish(publish_retained("t", QoS::AtLeastOnce, 2, b"x"))).await;
    assert_eq!(publisher.expect_close().await, Some(ReasonCode::RETAIN_NOT_SUPPORTED));

    // A will with retain set is refused at CONNECT.
    let mut connect = Raw::connect_packet(V5, "will");
    connect.will = Some(LastWill {
        topic: "will/t".into(),
        payload: Bytes::from_static(b"bye"),
        qos: QoS::AtMostOnce,
        retain: true,
        properties: Default::default(),
    });
    let (mut raw, connack) = Raw::connect(broker.tcp, connect).await;
    assert_eq!(connack.reason, ReasonCode::RETAIN_NOT_SUPPORTED);
    assert_eq!(raw.expect_close().await, None);

    // Nothing was retained.
    let mut sub = client(&broker, V5, "sub").await;
    assert_eq!(sub.subscribe(1, &[("#", QoS::AtLeastOnce)]).await, [ReasonCode::GRANTED_QOS_1]);
    sub.nothing_pending().await;
}

#[tokio::test]
async fn payload_marked_utf8_must_be_utf8() {
    let broker = start().await;
    let mut sub = client(&broker, V5, "sub").await;
    sub.subscribe(1, &[("pf/#", QoS::AtLeastOnce)]).await;
    let mut publisher = client(&broker, V5, "pub").await;

    let mut bad = publish("pf/a", QoS::AtLeastOnce, 1, &[b'o', b'k', 0xFF, 0xFE]);
    bad.properties.payload_format_indicator = Some(1);
    assert_eq!(publisher.publish_acked(bad).await.reason, ReasonCode::PAYLOAD_FORMAT_INVALID);
    // The same bytes without the indicator are fine, and so is valid UTF-8 with it.
    let unmarked = publish("pf/a", QoS::AtLeastOnce, 2, &[b'o', b'k', 0xFF, 0xFE]);
    assert_eq!(publisher.publish_acked(unmarked).await.reason, ReasonCode::SUCCESS);
    let mut good = publish("pf/a", QoS::AtLeastOnce, 3, "grüße".as_bytes());
    good.properties.payload_format_indicator = Some(1);
    assert_eq!(publisher.publish_acked(good).await.reason, ReasonCode::SUCCESS);

    // The refused message was not delivered: the next two arrive first.
    assert_eq!(&sub.next_publish().await.payload[..], &[b'o', b'k', 0xFF, 0xFE]);
    assert_eq!(&sub.next_publish().await.payload[..], "grüße".as_bytes());
}
