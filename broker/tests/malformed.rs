//! Malformed and forbidden input: each case checks how the offending connection is closed and
//! that another client on the same broker is not disturbed, and that no broker task panicked.
mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Mutex, Once, OnceLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use common::*;
use tallymq::codec::{
    self, AckProperties, ConnAck, Packet, ProtocolVersion, PubResponse, QoS, ReasonCode, SubAck, SubscriptionOptions,
    UnsubAck,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use ProtocolVersion::{V311, V5};

// ---------------------------------------------------------------------------------------------
// Panic detection: the broker's tasks run on the test's (current-thread) runtime, so a panic in
// any of them happens on the test's thread.
// ---------------------------------------------------------------------------------------------

fn panic_counts() -> &'static Mutex<HashMap<String, usize>> {
    static COUNTS: OnceLock<Mutex<HashMap<String, usize>>> = OnceLock::new();
    COUNTS.get_or_init(Default::default)
}

fn this_thread() -> String {
    std::thread::current().name().unwrap_or("unnamed").to_string()
}

fn panics_on_this_thread() -> usize {
    panic_counts().lock().unwrap().get(&this_thread()).copied().unwrap_or(0)
}

struct PanicWatch {
    before: usize,
}

impl PanicWatch {
    fn new() -> PanicWatch {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                *panic_counts().lock().unwrap().entry(this_thread()).or_default() += 1;
                previous(info);
            }));
        });
        PanicWatch { before: panics_on_this_thread() }
    }

    fn assert_none(&self) {
        assert_eq!(panics_on_this_thread(), self.before, "a broker task panicked");
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn unique(prefix: &str) -> String {
    static NEXT: AtomicU16 = AtomicU16::new(1);
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn qos(qos: QoS) -> SubscriptionOptions {
    SubscriptionOptions { qos, ..Default::default() }
}

/// A connected 5.0 client subscribed to `health/#`, to check that the broker keeps serving.
async fn bystander(broker: &TestBroker) -> Raw {
    let (mut raw, connack) = Raw::connect(broker.tcp, Raw::connect_packet(V5, "bystander")).await;
    assert_eq!(connack.reason, ReasonCode::SUCCESS);
    raw.send(subscribe_packet(1, &[("health/#", qos(QoS::AtLeastOnce))])).await;
    assert!(matches!(raw.next().await, Packet::SubAck(_)));
    raw
}

/// The bystander still answers pings, and a new client can connect and reach it.
async fn still_serving(broker: &TestBroker, bystander: &mut Raw) {
    bystander.send(Packet::PingReq).await;
    assert_eq!(bystander.next().await, Packet::PingResp);
    let (mut publisher, connack) = Raw::connect(broker.tcp, Raw::connect_packet(V311, &unique("health"))).await;
    assert_eq!(connack.reason, ReasonCode::SUCCESS);
    publisher.send(Packet::Publish(publish("health/check", QoS::AtLeastOnce, 9, b"ok"))).await;
    assert_eq!(publisher.next().await, Packet::PubAck(PubResponse::success(9)));
    match bystander.next().await {
        Packet::Publish(p) => {
            assert_eq!((p.topic.as_str(), &p.payload[..]), ("health/check", &b"ok"[..]));
            bystander.send(Packet::PubAck(PubResponse::success(p.packet_id))).await;
        }
        other => panic!("bystander expected its PUBLISH, got {other:?}"),
    }
}

/// Connects a fresh client of `version`, sends `bytes` after the CONNACK, and returns the
/// DISCONNECT reason the broker closed with (`None`: closed without one).
async fn close_after_connect(broker: &TestBroker, version: ProtocolVersion, bytes: &[u8]) -> Option<ReasonCode> {
    let (mut raw, connack) = Raw::connect(broker.tcp, Raw::connect_packet(version, &unique("bad"))).await;
    assert_eq!(connack.reason, ReasonCode::SUCCESS);
    raw.send_bytes(bytes).await;
    raw.expect_close().await
}

/// Like [`close_after_connect`] with a packet the codec can encode.
async fn close_after_packet(broker: &TestBroker, version: ProtocolVersion, packet: Packet) -> Option<ReasonCode> {
    close_after_connect(broker, version, &encode(&packet, version)).await
}

fn encode(packet: &Packet, version: ProtocolVersion) -> Vec<u8> {
    let mut out = BytesMut::new();
    codec::encode(packet, version, &mut out).expect("test packet encodes");
    out.to_vec()
}

/// Opens a TCP connection, sends `bytes` first thing and returns everything the broker sent
/// until it closed the connection.
async fn reply_to_first_bytes(broker: &TestBroker, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(broker.tcp).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    read_until_closed(&mut stream).await
}

// ---------------------------------------------------------------------------------------------
// Framing and encoding
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn remaining_length_longer_than_four_bytes() {
    let broker = start().await;
    let watch = PanicWatch::new();
    let mut others = bystander(&broker).await;
    // PUBLISH QoS 0 whose remaining length has five bytes (four with the continuation bit).
    let publish = [0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01];
    assert_eq!(close_after_connect(&broker, V5, &publish).await, Some(ReasonCode::MALFORMED_PACKET));
    assert_eq!(close_after_connect(&broker, V311, &publish).await, None);
    // The same on a PINGREQ.
    let ping = [0xC0, 0x80, 0x80, 0x80, 0x80, 0x01];
    assert_eq!(close_after_connect(&broker, V5, &ping).await, Some(ReasonCode::MALFORMED_PACKET));
    // And before CONNECT: a CONNECT header with a five-byte remaining length gets no answer.
    assert_eq!(reply_to_first_bytes(&broker, &[0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]).await, b"");
    still_serving(&broker, &mut others).await;
    watch.assert_none();
}

#[tokio::test]
async fn invalid_utf8_in_a_topic_name() {
    let broker = start().await;
    let watch = PanicWatch::new();
    let mut others = bystander(&broker).await;
    // 5.0 PUBLISH QoS 0: topic length 2, bytes C3 28 (a lead byte without its continuation),
    // empty properties, payload "x".
    let v5 = [0x30, 0x06, 0x00, 0x02, 0xC3, 0x28, 0x00, b'x'];
    assert_eq!(close_after_connect(&broker, V5, &v5).await, Some(ReasonCode::MALFORMED_PACKET));
    // 5.0: topic "a" + a UTF-16 surrogate encoded in UTF-8 (ED A0 80), which UTF-8 forbids.
    let surrogate = [0x30, 0x08, 0x00, 0x04, b'a', 0xED, 0xA0, 0x80, 0x00, b'x'];
    assert_eq!(close_after_connect(&broker, V5, &surrogate).await, Some(ReasonCode::MALFORMED_PACKET));
    // 3.1.1 layout (no properties): the connection is closed.
    let v311 = [0x30, 0x05, 0x00, 0x02, 0xC3, 0x28, b'x'];
    assert_eq!(close_after_connect(&broker, V311, &v311).await, None);
    still_serving(&broker, &mut others).await;
    watch.assert_none();
}

#[tokio::test]
async fn null_character_in_a_topic_name() {
    let broker = start().await;
    let watch = PanicWatch::new();
    let mut others = bystander(&broker).await;
    // 5.0 PUBLISH QoS 0, topic "a\0b", empty properties, payload "x".
    let v5 = [0x30, 0x07, 0x00, 0x03, b'a', 0x00, b'b', 0x00, b'x'];
    assert_eq!(close_after_connect(&broker, V5, &v5).await, Some(ReasonCode::MALFORMED_PACKET));
    let v311 = [0x30, 0x06, 0x00, 0x03, b'a', 0x00, b'b', b'x'];
    assert_eq!(close_after_connect(&broker, V311, &v311).await, None);
    still_serving(&broker, &mut others).await;
    watch.assert_none();
}

#[tokio::test]
async fn wildcard_in_a_publish_topic() {
    let broker = start().await;
    let watch = PanicWatch::new();
    let mut others = bystander(&broker).await;
    for topic in ["health/+", "health/#", "a+b"] {
        // Our encoder refuses such a topic, so the bytes are written by hand: QoS 1 PUBLISH,
        // topic, packet id 1, (5.0: no properties), payload "x".
        let bytes = |version: ProtocolVersion| {
            let mut body = Vec::new();
            body.extend_from_slice(&(topic.len() as u16).to_be_bytes());
            body.extend_from_slice(topic.as_bytes());
            body.extend_from_slice(&[0, 1]);
            if version == V5 {
                body.push(0);
            }
            body.push(b'x');
            let mut packet = vec![0x32, body.len() as u8];
            packet.extend_from_slice(&body);
            packet
        };
        assert_eq!(close_after_connect(&broker, V5, &bytes(V5)).await, Some(ReasonCode::TOPIC_NAME_INVALID), "{topic}");
        assert_eq!(close_after_connect(&broker, V311, &bytes(V311)).await, None, "{topic}");
    }
    still_serving(&broker, &mut others).await;
    watch.assert_none();
}

#[tokio::test]
async fn packet_identifier_zero_on_qos1_publish() {
    let broker = start().await;
    let watch = PanicWatch::new();
    let mut others = bystander(&broker).await;
    // Subscribed to the topic: a broken publish must not be delivered either.
    let packet = Packet::Publish(publish("health/zero", QoS::AtLeastOnce, 0, b"x"));
    assert_eq!(close_after_packet(&broker, V5, packet.clone()).await, Some(ReasonCode::MALFORMED_PACKET));
    assert_eq!(close_after_packet(&broker, V311, packet).await, None);
    still_serving(&broker, &mut others).await;
    watch.assert_none();
}

#[tokio::test]
async fn publish_with_qos_3() {
    let broker = start().await;
    let watch = PanicWatch::new();
    let mut others = bystander(&broker).await;
    // 0x36: PUBLISH with both QoS bits set; topic "t", packet id 1, empty properties, "x".
    let v5 = [0x36, 0x07, 0x00, 0x01, b't', 0x00, 0x01, 0x00, b'x'];
    assert_eq!(close_after_connect(&broker, V5, &v5).await, Some(ReasonCode::MALFORMED_PACKET));
    let v311 = [0x36, 0x06, 0x00, 0x01, b't', 0x00, 0x01, b'x'];
    assert_eq!(close_after_connect(&broker, V311, &v311).await, None);
    still_serving(&broker, &mut others).await;
    watch.assert_none();
}

#[tokio::test]
async fn reserved_fixed_header_flags() {
    let broker = start().await;
    let watch = PanicWatch::new();
    let mut others = bystander(&broker).await;
    // SUBSCRIBE with flags 0000 instead of 0010: packet id 1, empty properties, filter "t",
    // options QoS 0.
    let subscribe = [0x80, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, b't', 0x00];
    assert_eq!(close_after_connect(&broker, V5, &subscribe).await, Some(ReasonCode::MALFORMED_PACKET));
    let subscribe_311 = [0x80, 0x06, 0x00, 0x01, 0x00, 0x01, b't', 0x00];
    assert_eq!(close_after_connect(&broker, V311, &subscribe_311).await, None);
    // PINGREQ with flags 0001.
    assert_eq!(close_after_connect(&broker, V5, &[0xC1, 0x00]).await, Some(ReasonCode::MALFORMED_PACKET));
    assert_eq!(close_after_connect(&broker, V311, &[0xC1, 0x00]).await, None);
    // UNSUBSCRIBE with flags 0000 instead of 0010, and PUBREL with flags 0000.
    let unsubscribe = [0xA0, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, b't'];
    assert_eq!(close_after_connect(&broker, V5, &unsubscribe).await, Some(ReasonCode::MALFORMED_PACKET));
    assert_eq!(close_after_connect(&broker, V5, &[0x60, 0x02, 0x00, 0x01]).await, Some(ReasonCode::MALFORMED_PACKET));
    still_serving(&broker, &mut others).await;
    watch.assert_none();
}

// ---------------------------------------------------------------------------------------------
// CONNECT rules
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn first_packet_must_be_connect() {
    let broker = start().await;
    let watch = PanicWatch::new();
    let mut others = bystander(&broker).await;
    // No CONNACK, no DISCONNECT: the connection is just closed (MQTT-3.1.0-1).
    assert_eq!(reply_to_first_bytes(&broker, &[0xC0, 0x00]).await, b"", "PINGREQ first");
    let publish_first = encode(&Packet::Publish(publish("health/x", QoS::AtMostOnce, 0, b"x")), V311);
    assert_eq!(reply_to_first_bytes(&broker, &publish_first).await, b"", "PUBLISH first");
    let subscribe_first = encode(&subscribe_packet(1, &[("#", qos(QoS::AtMostOnce))]), V5);
    assert_eq!(reply_to_first_bytes(&broker, &subscribe_first).await, b"", "SUBSCRIBE first");
    still_serving(&broker, &mut others).await;
    watch.assert_none();
}

#[tokio::test]
async fn second_connect_is_a_protocol_error() {
    let broker = start().await;
    let watch = PanicWatch::new();
    let mut others = bystander(&broker).await;
    let again = Packet::Connect(Box::new(Raw::connect_packet(V5, "again")));
    assert_eq!(close_after_packet(&broker, V5, again).await, Some(ReasonCode::PROTOCOL_ERROR));
    let again = Packet::Connect(Box::new(Raw::connect_packet(V311, "again")));
    assert_eq!(close_after_packet(&broker, V311, again).await, None);
    // A second CONNECT naming the bystander's client id must not take its session over.
    let takeover = Packet::Connect(Box::new(Raw::connect_packet(V5, "bystander")));
    assert_eq!(close_after_packet(&broker, V5, takeover).await, Some(ReasonCode::PROTOCOL_ERROR));
    still_serving(&broker, &mut others).await;
    watch.assert_none();
}

#[tokio::test]
async fn unsupported_protocol_level_gets_return_code_1() {
    let broker = start().await;
    let watch = PanicWatch::new();
    let mut others = bystander(&broker).await;
    // CONNECT: name "MQTT", level 6, clean start, keep alive 60, client id "x".
    let level_6 = [0x10, 0x0D, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x06, 0x02, 0x00, 0x3C, 0x00, 0x01, b'x'];
    // CONNACK in the 3.1.1 layout: no session present, return code 1, no properties.
    assert_eq!(reply_to_first_bytes(&broker, &level_6).await, [0x20, 0x02, 0x00, 0x01]);
    // MQTT 3.1 ("MQIsdp", level 3) is not supported either.
    let v31 = [0x10, 0x0F, 0x00, 0x06, b'M', b'Q', b'I', b's', b'd', b'p', 0x03, 0x02, 0x00, 0x3C, 0x00, 0x01, b'x'];
    assert_eq!(reply_to_first_bytes(&broker, &v31).await, [0x20, 0x02, 0x00, 0x01]);
    still_serving(&broker, &mut others).await;
    watch.assert_none();
}

#[tokio::test]
async fn unknown_protocol_name_is_closed_without_answer() {
    let broker = start().await;
    let watch = PanicWatch::new();
    let mut others = bystander(&broker).await;
    // CONNECT: name "MQTX", level 4, clean session, keep alive 60, client id "x".
    let unknown = [0x10, 0x0D, 0x00, 0x04, b'M', b'Q', b'T', b'X', 0x04, 0x02, 0x00, 0x3C, 0x00, 0x01, b'x'];
    assert_eq!(reply_to_first_bytes(&broker, &unknown).await, b"");
    // Same with an empty name.
    let empty = [0x10, 0x09, 0x00, 0x00, 0x04, 0x02, 0x00, 0x3C, 0x00, 0x01, b'x'];
    assert_eq!(reply_to_first_bytes(&broker, &empty).await, b"");
    still_serving(&broker, &mut others).await;
    watch.assert_none();
}

// ---------------------------------------------------------------------------------------------
// Packets and properties a client may not send
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn server_only_packets_from_a_client() {
    let broker = start().await;
    let watch = PanicWatch::new();
    let mut others = bystander(&broker).await;
    let packets = [
        Packet::ConnAck(ConnAck { session_present: false, reason: ReasonCode::SUCCESS, properties: Default::default() }),
        Packet::SubAck(SubAck { packet_id: 1, properties: AckProperties::default(), reasons: vec![ReasonCode::GRANTED_QOS_0] }),
        Packet::UnsubAck(UnsubAck { packet_id: 1, properties: AckProperties::default(), reasons: vec![ReasonCode::SUCCESS] }),
        Packet::PingResp,
    ];
    for packet in packets {
        let name = packet.name();
        assert_eq!(close_after_packet(&broker, V5, packet.clone()).await, Some(ReasonCode::PROTOCOL_ERROR), "{name}");
        assert_eq!(close_after_packet(&broker, V311, packet).await, None, "{name}");
    }
    still_serving(&broker, &mut others).await;
    watch.assert_none();
}

#[tokio::test]
async fn invalid_filter_is_refused_while_valid_ones_in_the_same_subscribe_work() {
    let broker = start().await;
    let watch = PanicWatch::new();
    let mut others = bystander(&broker).await;
    for (version, refused) in [(V5, ReasonCode::TOPIC_FILTER_INVALID), (V311, ReasonCode::UNSPECIFIED_ERROR)] {
        let (mut raw, _) = Raw::connect(broker.tcp, Raw::connect_packet(version, &unique("subs"))).await;
        let filters = [
            ("valid/a", qos(QoS::AtLeastOnce)),
            ("a/#/b", qos(QoS::AtLeastOnce)),
            ("a+/b", qos(QoS::AtMostOnce)),
            ("valid/+/c", qos(QoS::AtMostOnce)),
        ];
        raw.send(subscribe_packet(3, &filters)).await;
        match raw.next().await {
            Packet::SubAck(suback) => {
                assert_eq!(suback.packet_id, 3);
                assert_eq!(suback.reasons, [ReasonCode::GRANTED_QOS_1, refused, refused, ReasonCode::GRANTED_QOS_0], "{version:?}");
            }
            other => panic!("expected SUBACK, got {other:?}"),
        }
        // The valid subscriptions are in place and the connection stays up.
        raw.send(Packet::Publish(publish("valid/a", QoS::AtLeastOnce, 1, b"one"))).await;
        raw.send(Packet::Publish(publish("valid/b/c", QoS::AtLeastOnce, 2, b"two"))).await;
        let mut got = Vec::new();
        while got.len() < 2 {
            match raw.next().await {
                Packet::Publish(p) => {
                    if p.qos != QoS::AtMostOnce {
                        raw.send(Packet::PubAck(PubResponse::success(p.packet_id))).await;
                    }
                    got.push((p.topic, p.payload));
                }
                Packet::PubAck(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(got, [("valid/a".to_string(), Bytes::from("one")), ("valid/b/c".to_string(), Bytes::from("two"))]);
    }
    still_serving(&broker, &mut others).await;
    watch.assert_none();
}

#[tokio::test]
async fn no_local_on_a_shared_subscription() {
    let broker = start().await;
    let watch = PanicWatch::new();
    let mut others = bystander(&broker).await;
    let options = SubscriptionOptions { qos: QoS::AtLeastOnce, no_local: true, ..Default::default() };
    let packet = subscribe_packet(1, &[("$share/group/health/#", options)]);
    assert_eq!(close_after_packet(&broker, V5, packet).await, Some(ReasonCode::PROTOCOL_ERROR));
    still_serving(&broker, &mut others).await;
    watch.assert_none();
}

#[tokio::test]
async fn subscription_identifier_in_a_client_publish() {
    let broker = start().await;
    let watch = PanicWatch::new();
    let mut others = bystander(&broker).await;
    let mut p = publish("health/id", QoS::AtLeastOnce, 1, b"x");
    p.properties.subscription_identifiers = vec![5];
    assert_eq!(close_after_packet(&broker, V5, Packet::Publish(p)).await, Some(ReasonCode::PROTOCOL_ERROR));
    still_serving(&broker, &mut others).await;
    watch.assert_none();
}

// ---------------------------------------------------------------------------------------------
// Mutated streams
// ---------------------------------------------------------------------------------------------

/// xorshift64*: a fixed seed makes every run throw the same streams.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// A valid session: every packet type a client sends, with properties where 5.0 has them.
fn seed_packets(version: ProtocolVersion) -> Vec<Packet> {
    let mut connect = Raw::connect_packet(version, &format!("fuzz-{version:?}"));
    connect.username = Some("user".into());
    connect.password = Some(Bytes::from_static(b"pass"));
    connect.will = Some(codec::LastWill {
        topic: "fuzz/will".into(),
        payload: Bytes::from_static(b"gone"),
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: Default::default(),
    });
    if version == V5 {
        connect.properties.session_expiry_interval = Some(5);
        connect.properties.topic_alias_maximum = Some(3);
        connect.properties.user_properties = vec![("k".into(), "v".into())];
    }
    let mut p1 = publish("fuzz/a", QoS::AtLeastOnce, 1, b"payload one");
    let mut p2 = publish("fuzz/b", QoS::ExactlyOnce, 2, b"payload two");
    if version == V5 {
        p1.properties.topic_alias = Some(1);
        p1.properties.user_properties = vec![("a".into(), "b".into())];
        p2.properties.message_expiry_interval = Some(10);
        p2.properties.content_type = Some("text/plain".into());
    }
    vec![
        Packet::Connect(Box::new(connect)),
        subscribe_packet(1, &[("fuzz/#", qos(QoS::ExactlyOnce)), ("$share/g/fuzz/+", qos(QoS::AtLeastOnce))]),
        Packet::Publish(p1),
        Packet::Publish(p2),
        Packet::PubRel(PubResponse::success(2)),
        Packet::Unsubscribe(codec::Unsubscribe { packet_id: 3, user_properties: vec![], filters: vec!["fuzz/#".into()] }),
        Packet::PingReq,
        Packet::Disconnect(codec::Disconnect::new(ReasonCode::NORMAL_DISCONNECTION)),
    ]
}

/// Valid sessions in both versions, the raw material for mutation.
fn seed_streams() -> Vec<Vec<u8>> {
    [V5, V311].iter().map(|&v| seed_packets(v).iter().flat_map(|p| encode(p, v)).collect()).collect()
}

/// Writes `bytes` on a fresh connection, half-closes it and returns what the broker sent
/// before closing (`None`: it did not close within 5 s).
async fn exchange(addr: std::net::SocketAddr, bytes: &[u8]) -> Option<Vec<u8>> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The broker may close before reading everything; that is fine.
    let _ = stream.write_all(bytes).await;
    let _ = stream.shutdown().await;
    let mut reply = Vec::new();
    match tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut reply)).await {
        Ok(_) => Some(reply),
        Err(_) => None,
    }
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = seeds[rng.below(seeds.len())].clone();
    let rounds = 1 + rng.below(3);
    for _ in 0..rounds {
        let len = bytes.len().max(1);
        match rng.below(8) {
            0 => {
                // Flip a bit.
                let at = rng.below(len).min(bytes.len().saturating_sub(1));
                if let Some(b) = bytes.get_mut(at) {
                    *b ^= 1 << rng.below(8);
                }
            }
            1 => {
                // Overwrite a byte, preferring the interesting values.
                let at = rng.below(len).min(bytes.len().saturating_sub(1));
                let value = [0x00, 0xFF, 0x7F, 0x80, rng.byte()][rng.below(5)];
                if let Some(b) = bytes.get_mut(at) {
                    *b = value;
                }
            }
            2 => {
                // Insert random bytes.
                let at = rng.below(bytes.len() + 1);
                let extra: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.byte()).collect();
                bytes.splice(at..at, extra);
            }
            3 => {
                // Delete a range.
                let at = rng.below(len).min(bytes.len());
                let end = (at + 1 + rng.below(16)).min(bytes.len());
                bytes.drain(at..end);
            }
            4 => {
                // Truncate.
                bytes.truncate(rng.below(len));
            }
            5 => {
                // Duplicate a range in place.
                let at = rng.below(len).min(bytes.len());
                let end = (at + 1 + rng.below(32)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
            6 => {
                // Pure noise.
                bytes = (0..1 + rng.below(64)).map(|_| rng.byte()).collect();
            }
            _ => {
                // The valid CONNECT of the seed, then noise.
                let connect_len = 2 + usize::from(bytes.get(1).copied().unwrap_or(0) & 0x7F);
                bytes.truncate(connect_len.min(bytes.len()));
                bytes.extend((0..1 + rng.below(48)).map(|_| rng.byte()));
            }
        }
    }
    bytes
}

#[tokio::test]
async fn mutated_streams_never_disturb_the_broker() {
    let broker = start().await;
    let watch = PanicWatch::new();
    let mut others = bystander(&broker).await;
    let seeds = seed_streams();
    let mut rng = Rng(0x7A11_7D0C_5EED_0001);
    let streams: Vec<Vec<u8>> = (0..400).map(|_| mutate(&mut rng, &seeds)).collect();

    let addr = broker.tcp;
    // Baseline: the unmutated sessions (all sent at once, without the final DISCONNECT) are
    // served in full, so the mutations below reach every packet handler.
    for version in [V5, V311] {
        let packets = seed_packets(version);
        let bytes: Vec<u8> = packets[..packets.len() - 1].iter().flat_map(|p| encode(p, version)).collect();
        let mut reply = BytesMut::from(&exchange(addr, &bytes).await.expect("closed after EOF")[..]);
        let mut answers = Vec::new();
        while let Some(packet) = codec::decode(&mut reply, Some(version), u32::MAX).expect("broker reply decodes") {
            match packet {
                Packet::Publish(_) => {} // its own messages, routed back to it
                Packet::ConnAck(c) => answers.push(format!("CONNACK {:?}", c.reason)),
                Packet::SubAck(s) => answers.push(format!("SUBACK {:?}", s.reasons)),
                Packet::PubAck(p) | Packet::PubRec(p) | Packet::PubComp(p) => answers.push(format!("{} {}", p.packet_id, p.reason.0)),
                other => answers.push(other.name().to_string()),
            }
        }
        let expected = [
            "CONNACK 0x00 (Success)",
            "SUBACK [0x02 (Granted QoS 2), 0x01 (Granted QoS 1)]",
            "1 0",
            "2 0",
            "2 0",
            "UNSUBACK",
            "PINGRESP",
        ];
        assert_eq!(answers, expected, "{version:?} baseline");
    }

    let started = std::time::Instant::now();
    for batch in streams.chunks(50) {
        let mut tasks = tokio::task::JoinSet::new();
        for bytes in batch.iter().cloned() {
            tasks.spawn(async move { (exchange(addr, &bytes).await, bytes) });
        }
        while let Some(result) = tasks.join_next().await {
            let (reply, bytes) = result.expect("client task");
            let reply = reply.unwrap_or_else(|| panic!("broker kept a half-closed connection open after {bytes:02X?}"));
            // Whatever the broker answers, its first packet is a CONNACK (MQTT-3.2.0-1).
            assert!(reply.is_empty() || reply[0] == 0x20, "first reply byte {:#04x} after {bytes:02X?}", reply[0]);
        }
    }
    assert!(started.elapsed() < Duration::from_secs(10), "400 streams took {:?}", started.elapsed());
    still_serving(&broker, &mut others).await;
    watch.assert_none();
}
