//! MQTT 5.0 properties end to end: topic aliases, message expiry, flow control (receive
//! maximum), maximum packet size, forwarded application properties, request/response and
//! problem information, server keep alive, enhanced authentication and session expiry caps.
mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use tallymq::codec::{
    Auth, AuthProperties, Connect, Packet, ProtocolVersion, PubResponse, Publish, PublishProperties, QoS, ReasonCode,
};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn v5(client_id: &str) -> Connect {
    Raw::connect_packet(ProtocolVersion::V5, client_id)
}

fn v5_with(client_id: &str, adjust: impl FnOnce(&mut Connect)) -> Connect {
    let mut connect = v5(client_id);
    adjust(&mut connect);
    connect
}

// ---------------------------------------------------------------------------------------------
// Topic aliases, client to server
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn inbound_topic_alias_is_resolved_for_subscribers() {
    let broker = start().await;
    let (mut sub, _) = connect_ok(&broker, v5("sub")).await;
    sub.subscribe_granted(1, "alias/#", QoS::AtLeastOnce).await;
    let (mut publisher, connack) = connect_ok(&broker, v5("pub")).await;
    assert_eq!(connack.properties.topic_alias_maximum, Some(64));

    let sends: [(&str, &[u8]); 4] = [("alias/t", b"one"), ("", b"two"), ("alias/u", b"three"), ("", b"four")];
    for (i, (topic, payload)) in sends.iter().enumerate() {
        let mut p = publish(topic, QoS::AtLeastOnce, i as u16 + 1, payload);
        p.properties.topic_alias = Some(1);
        assert_eq!(publisher.publish_acked(p).await.reason, ReasonCode::SUCCESS);
    }
    // Alias 1 names alias/t, then is remapped to alias/u.
    for (topic, payload) in [("alias/t", "one"), ("alias/t", "two"), ("alias/u", "three"), ("alias/u", "four")] {
        let got = sub.next_publish().await;
        assert_eq!((got.topic.as_str(), &got.payload[..]), (topic, payload.as_bytes()));
        assert_eq!(got.properties.topic_alias, None, "sub asked for no aliases");
        sub.puback(got.packet_id).await;
    }
}

#[tokio::test]
async fn inbound_topic_alias_above_the_maximum_is_refused() {
    let broker = start_with(|c| c.mqtt.topic_alias_maximum = 4).await;
    let (mut publisher, connack) = connect_ok(&broker, v5("pub")).await;
    assert_eq!(connack.properties.topic_alias_maximum, Some(4));

    // The highest advertised alias is fine.
    let mut p = publish("a/b", QoS::AtLeastOnce, 1, b"x");
    p.properties.topic_alias = Some(4);
    assert_eq!(publisher.publish_acked(p).await.reason, ReasonCode::SUCCESS);

    let mut p = publish("a/b", QoS::AtLeastOnce, 2, b"x");
    p.properties.topic_alias = Some(5);
    publisher.send(Packet::Publish(p)).await;
    assert_eq!(publisher.expect_close().await, Some(ReasonCode::TOPIC_ALIAS_INVALID));

    // Alias 0 is never valid (MQTT-3.3.2-8), a protocol error; the codec refuses to write it,
    // so by hand: PUBLISH QoS 0, topic "t", properties { Topic Alias (0x23) = 0 }, payload "x".
    let (mut raw, _) = connect_ok(&broker, v5("zero")).await;
    raw.send_bytes(&[0x30, 0x08, 0x00, 0x01, b't', 0x03, 0x23, 0x00, 0x00, b'x']).await;
    assert_eq!(raw.expect_close().await, Some(ReasonCode::PROTOCOL_ERROR));
}

#[tokio::test]
async fn unknown_inbound_topic_alias_is_a_protocol_error() {
    let broker = start().await;
    let (mut publisher, _) = connect_ok(&broker, v5("pub")).await;
    let mut p = publish("", QoS::AtLeastOnce, 1, b"x");
    p.properties.topic_alias = Some(2);
    publisher.send(Packet::Publish(p)).await;
    assert_eq!(publisher.expect_close().await, Some(ReasonCode::PROTOCOL_ERROR));
}

// ---------------------------------------------------------------------------------------------
// Topic aliases, server to client
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn outbound_topic_aliases_are_used_when_the_client_accepts_them() {
    let broker = start().await;
    let (mut sub, _) = connect_ok(&broker, v5_with("sub", |c| c.properties.topic_alias_maximum = Some(5))).await;
    sub.subscribe_granted(1, "out/#", QoS::AtLeastOnce).await;
    let (mut publisher, _) = connect_ok(&broker, v5("pub")).await;
    for (i, topic) in ["out/a", "out/a", "out/b", "out/a"].iter().enumerate() {
        publisher.publish_acked(publish(topic, QoS::AtLeastOnce, i as u16 + 1, b"m")).await;
    }

    let first = sub.next_publish().await;
    assert_eq!(first.topic, "out/a");
    let alias_a = first.properties.topic_alias.expect("first message sets an alias");
    assert!((1..=5).contains(&alias_a), "alias {alias_a} outside 1..=5");

    let second = sub.next_publish().await;
    assert_eq!(second.topic, "", "second message on the same topic goes by alias only");
    assert_eq!(second.properties.topic_alias, Some(alias_a));

    let third = sub.next_publish().await;
    assert_eq!(third.topic, "out/b");
    let alias_b = third.properties.topic_alias.expect("a second topic gets its own alias");
    assert!((1..=5).contains(&alias_b) && alias_b != alias_a, "alias {alias_b} for out/b, {alias_a} for out/a");

    let fourth = sub.next_publish().await;
    assert_eq!((fourth.topic.as_str(), fourth.properties.topic_alias), ("", Some(alias_a)));
    for p in [first, second, third, fourth] {
        sub.puback(p.packet_id).await;
    }
}

#[tokio::test]
async fn outbound_topic_aliases_stay_within_a_small_client_maximum() {
    let broker = start().await;
    let (mut sub, _) = connect_ok(&broker, v5_with("sub", |c| c.properties.topic_alias_maximum = Some(1))).await;
    sub.subscribe_granted(1, "few/#", QoS::AtLeastOnce).await;
    let (mut publisher, _) = connect_ok(&broker, v5("pub")).await;
    let topics = ["few/a", "few/b", "few/a", "few/b", "few/c", "few/a"];
    for (i, topic) in topics.iter().enumerate() {
        publisher.publish_acked(publish(topic, QoS::AtLeastOnce, i as u16 + 1, b"m")).await;
    }
    // Resolve aliases as a client would and check every message lands on its topic.
    let mut mapping: Option<String> = None;
    for expected in topics {
        let got = sub.next_publish().await;
        let resolved = match (got.topic.as_str(), got.properties.topic_alias) {
            ("", Some(1)) => mapping.clone().expect("alias used before it was set"),
            ("", other) => panic!("empty topic with alias {other:?}"),
            (topic, Some(1)) => {
                mapping = Some(topic.to_string());
                topic.to_string()
            }
            (topic, None) => topic.to_string(),
            (_, Some(alias)) => panic!("alias {alias} above the client's maximum 1"),
        };
        assert_eq!(resolved, expected);
        sub.puback(got.packet_id).await;
    }
}

#[tokio::test]
async fn no_outbound_topic_aliases_without_client_topic_alias_maximum() {
    let broker = start().await;
    let (mut sub, _) = connect_ok(&broker, v5("sub")).await;
    sub.subscribe_granted(1, "out/#", QoS::AtLeastOnce).await;
    let (mut publisher, _) = connect_ok(&broker, v5("pub")).await;
    for i in 1..=3 {
        publisher.publish_acked(publish("out/a", QoS::AtLeastOnce, i, b"m")).await;
    }
    for _ in 1..=3 {
        let got = sub.next_publish().await;
        assert_eq!((got.topic.as_str(), got.properties.topic_alias), ("out/a", None));
        sub.puback(got.packet_id).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Message expiry
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn message_expiry_interval_is_forwarded_as_the_remaining_time() {
    let broker = start().await;
    let (mut sub, _) = connect_ok(&broker, v5("sub")).await;
    sub.subscribe_granted(1, "exp/#", QoS::AtLeastOnce).await;
    let (mut publisher, _) = connect_ok(&broker, v5("pub")).await;
    let mut p = publish("exp/a", QoS::AtLeastOnce, 1, b"with");
    p.properties.message_expiry_interval = Some(100);
    publisher.publish_acked(p).await;
    publisher.publish_acked(publish("exp/a", QoS::AtLeastOnce, 2, b"without")).await;

    let got = sub.next_publish().await;
    assert_eq!(&got.payload[..], b"with");
    let remaining = got.properties.message_expiry_interval.expect("expiry forwarded");
    assert!((98..=100).contains(&remaining), "remaining expiry {remaining} for a 100 s message delivered at once");
    let got = sub.next_publish().await;
    assert_eq!((&got.payload[..], got.properties.message_expiry_interval), (&b"without"[..], None));
}

#[tokio::test]
async fn expired_message_queued_behind_a_full_window_is_dropped() {
    let broker = start().await;
    let (mut sub, _) = connect_ok(&broker, v5_with("sub", |c| c.properties.receive_maximum = Some(1))).await;
    sub.subscribe_granted(1, "exp/#", QoS::AtLeastOnce).await;
    let (mut publisher, _) = connect_ok(&broker, v5("pub")).await;

    publisher.publish_acked(publish("exp/a", QoS::AtLeastOnce, 1, b"first")).await;
    let first = sub.next_publish().await;
    assert_eq!(&first.payload[..], b"first");
    // Not acknowledged: the window of 1 is full, so these queue.
    let mut short = publish("exp/a", QoS::AtLeastOnce, 2, b"short-lived");
    short.properties.message_expiry_interval = Some(1);
    publisher.publish_acked(short).await;
    let queued_at = Instant::now();
    let mut sentinel = publish("exp/a", QoS::AtLeastOnce, 3, b"sentinel");
    sentinel.properties.message_expiry_interval = Some(30);
    publisher.publish_acked(sentinel).await;
    sub.nothing_pending().await;

    // The behaviour under test is the passing of time: let the 1 s expiry run out.
    tokio::time::sleep_until((queued_at + Duration::from_millis(1200)).into()).await;
    sub.puback(first.packet_id).await;

    let got = sub.next_publish().await;
    assert_eq!(&got.payload[..], b"sentinel", "the expired message must not be delivered");
    let remaining = got.properties.message_expiry_interval.expect("expiry forwarded");
    assert!((20..=29).contains(&remaining), "30 s message after 1.2 s in the queue has {remaining} s left");
    sub.puback(got.packet_id).await;
    sub.nothing_pending().await;
}

// ---------------------------------------------------------------------------------------------
// Receive maximum
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn receive_maximum_limits_unacknowledged_outbound_publishes() {
    let broker = start().await;
    let (mut sub, _) = connect_ok(&broker, v5_with("sub", |c| c.properties.receive_maximum = Some(2))).await;
    sub.subscribe_granted(1, "rm/#", QoS::AtLeastOnce).await;
    let (mut publisher, _) = connect_ok(&broker, v5("pub")).await;
    for i in 1..=4u16 {
        publisher.publish_acked(publish("rm/a", QoS::AtLeastOnce, i, format!("m{i}").as_bytes())).await;
    }

    let m1 = sub.next_publish().await;
    let m2 = sub.next_publish().await;
    assert_eq!((&m1.payload[..], &m2.payload[..]), (&b"m1"[..], &b"m2"[..]));
    assert_ne!(m1.packet_id, m2.packet_id);
    sub.nothing_pending().await;

    sub.puback(m1.packet_id).await;
    let m3 = sub.next_publish().await;
    assert_eq!(&m3.payload[..], b"m3");
    sub.nothing_pending().await;

    sub.puback(m2.packet_id).await;
    sub.puback(m3.packet_id).await;
    let m4 = sub.next_publish().await;
    assert_eq!(&m4.payload[..], b"m4");
    sub.puback(m4.packet_id).await;
    sub.nothing_pending().await;
}

#[tokio::test]
async fn exceeding_the_brokers_receive_maximum_is_disconnected() {
    let broker = start_with(|c| c.mqtt.receive_maximum = 3).await;
    let (mut publisher, connack) = connect_ok(&broker, v5("pub")).await;
    assert_eq!(connack.properties.receive_maximum, Some(3));
    for id in 1..=3 {
        publisher.send(Packet::Publish(publish("rm/a", QoS::ExactlyOnce, id, b"x"))).await;
        match publisher.next().await {
            Packet::PubRec(rec) => assert_eq!((rec.packet_id, rec.reason), (id, ReasonCode::SUCCESS)),
            other => panic!("expected PUBREC, got {other:?}"),
        }
    }
    publisher.send(Packet::Publish(publish("rm/a", QoS::ExactlyOnce, 4, b"x"))).await;
    assert_eq!(publisher.expect_close().await, Some(ReasonCode::RECEIVE_MAXIMUM_EXCEEDED));
}

#[tokio::test]
async fn completed_qos2_flows_free_the_brokers_receive_window() {
    let broker = start_with(|c| c.mqtt.receive_maximum = 3).await;
    let (mut publisher, _) = connect_ok(&broker, v5("pub")).await;
    for id in 1..=3 {
        publisher.send(Packet::Publish(publish("rm/a", QoS::ExactlyOnce, id, b"x"))).await;
        assert!(matches!(publisher.next().await, Packet::PubRec(_)));
    }
    publisher.send(Packet::PubRel(PubResponse::success(1))).await;
    assert_eq!(publisher.next().await, Packet::PubComp(PubResponse::success(1)));
    publisher.send(Packet::Publish(publish("rm/a", QoS::ExactlyOnce, 4, b"x"))).await;
    assert_eq!(publisher.next().await, Packet::PubRec(PubResponse::success(4)));
}

// ---------------------------------------------------------------------------------------------
// Maximum packet size
// ---------------------------------------------------------------------------------------------

/// A QoS 1 PUBLISH whose encoded size is exactly `total` bytes.
fn publish_of_size(total: usize, packet_id: u16) -> Publish {
    let mut p = publish("big", QoS::AtLeastOnce, packet_id, &[b'x'; 200]);
    let mut out = bytes::BytesMut::new();
    tallymq::codec::encode(&Packet::Publish(p.clone()), ProtocolVersion::V5, &mut out).unwrap();
    // Sizes here keep a two-byte remaining length, so the payload adds byte for byte.
    p.payload = Bytes::from(vec![b'x'; 200 + total - out.len()]);
    out.clear();
    tallymq::codec::encode(&Packet::Publish(p.clone()), ProtocolVersion::V5, &mut out).unwrap();
    assert_eq!(out.len(), total);
    p
}

#[tokio::test]
async fn inbound_packets_above_the_maximum_packet_size_are_refused() {
    let broker = start_with(|c| c.mqtt.max_packet_size = 1024).await;
    let (mut sub, _) = connect_ok(&broker, v5("sub")).await;
    sub.subscribe_granted(1, "big", QoS::AtLeastOnce).await;
    let (mut publisher, connack) = connect_ok(&broker, v5("pub")).await;
    assert_eq!(connack.properties.maximum_packet_size, Some(1024));

    assert_eq!(publisher.publish_acked(publish_of_size(1024, 1)).await.reason, ReasonCode::SUCCESS);
    assert_eq!(sub.next_publish().await.payload.len(), publish_of_size(1024, 1).payload.len());

    publisher.send(Packet::Publish(publish_of_size(1025, 2))).await;
    assert_eq!(publisher.expect_close().await, Some(ReasonCode::PACKET_TOO_LARGE));
    // Closed for good: further writes are not answered.
    publisher.send(Packet::PingReq).await;
    assert_eq!(publisher.recv().await, None);
}

#[tokio::test]
async fn outbound_packets_above_the_clients_maximum_are_skipped() {
    let broker = start().await;
    let small = v5_with("sub", |c| {
        c.properties.maximum_packet_size = Some(200);
        c.properties.receive_maximum = Some(1);
    });
    let (mut sub, _) = connect_ok(&broker, small).await;
    sub.subscribe_granted(1, "mps/#", QoS::AtLeastOnce).await;
    let (mut publisher, _) = connect_ok(&broker, v5("pub")).await;
    let big = publish("mps/a", QoS::AtLeastOnce, 1, &[b'x'; 1024]);
    assert_eq!(publisher.publish_acked(big).await.reason, ReasonCode::SUCCESS);
    publisher.publish_acked(publish("mps/a", QoS::AtLeastOnce, 2, b"sentinel")).await;

    // With a window of 1, the sentinel only arrives if the big message did not take the slot.
    let got = sub.next_publish().await;
    assert_eq!(&got.payload[..], b"sentinel");
    sub.puback(got.packet_id).await;
    sub.nothing_pending().await;
}

#[tokio::test]
async fn reason_string_is_left_out_rather_than_exceed_the_clients_maximum() {
    let broker = start().await;
    // Room for a PUBACK with a reason code, not for a reason string as well.
    let (mut raw, _) = connect_ok(&broker, v5_with("tight", |c| c.properties.maximum_packet_size = Some(20))).await;
    let ack = raw.publish_acked(publish("$x", QoS::AtLeastOnce, 1, b"x")).await;
    assert_eq!(ack.reason, ReasonCode::NOT_AUTHORIZED);
    assert_eq!(ack.properties.reason_string, None);
    raw.send(Packet::PingReq).await;
    assert_eq!(raw.next().await, Packet::PingResp);
}

// ---------------------------------------------------------------------------------------------
// Application properties
// ---------------------------------------------------------------------------------------------

fn application_properties() -> PublishProperties {
    PublishProperties {
        payload_format_indicator: Some(1),
        content_type: Some("application/json; charset=utf-8".into()),
        response_topic: Some("replies/for/me".into()),
        correlation_data: Some(Bytes::from_static(&[0x00, 0xFF, 0x10, 0x80])),
        user_properties: vec![("k".into(), "1".into()), ("k".into(), "2".into()), ("other".into(), "ü ✓".into())],
        ..Default::default()
    }
}

#[tokio::test]
async fn application_properties_are_forwarded_unchanged() {
    let broker = start().await;
    let (mut raw_sub, _) = connect_ok(&broker, v5("raw-sub")).await;
    assert_eq!(raw_sub.subscribe_with(1, Some(7), &[("props/#", QoS::AtLeastOnce)]).await, [ReasonCode::GRANTED_QOS_1]);
    let (mut lib_sub, _) = V5::connect(V5::options(broker.tcp, "lib-sub")).await;
    lib_sub.client.subscribe("props/#", rumqttc::v5::mqttbytes::QoS::AtLeastOnce).await.unwrap();
    lib_sub.wait_for("SUBACK", |p| matches!(p, rumqttc::v5::Incoming::SubAck(_)).then_some(())).await;

    let (mut publisher, _) = connect_ok(&broker, v5("pub")).await;
    let mut p = publish("props/a", QoS::AtLeastOnce, 1, br#"{"x":1}"#);
    p.properties = application_properties();
    assert_eq!(publisher.publish_acked(p).await.reason, ReasonCode::SUCCESS);

    // The publisher's properties arrive unchanged and in order; the broker adds the message's
    // sequence number in its topic log after them.
    let got = raw_sub.next_publish().await;
    let mut expected = application_properties();
    expected.subscription_identifiers = vec![7];
    expected.user_properties.push(("seq".into(), "1".into()));
    assert_eq!(got.properties, expected);
    assert_eq!(&got.payload[..], br#"{"x":1}"#);

    let got = lib_sub.next_publish().await;
    let props = got.properties.expect("properties reach the rumqttc subscriber");
    assert_eq!(props.payload_format_indicator, Some(1));
    assert_eq!(props.content_type.as_deref(), Some("application/json; charset=utf-8"));
    assert_eq!(props.response_topic.as_deref(), Some("replies/for/me"));
    assert_eq!(props.correlation_data.as_deref(), Some(&[0x00, 0xFF, 0x10, 0x80][..]));
    let mut user_properties = application_properties().user_properties;
    user_properties.push(("seq".into(), "1".into()));
    assert_eq!(props.user_properties, user_properties);
    assert!(props.subscription_identifiers.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Request/response and problem information
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn response_information_is_sent_only_when_requested() {
    let broker = start().await;
    let (_, connack) = connect_ok(&broker, v5_with("asks", |c| c.properties.request_response_information = Some(true))).await;
    let info = connack.properties.response_information.expect("response information in CONNACK");
    assert!(!info.is_empty());
    let (_, connack) = connect_ok(&broker, v5("default")).await;
    assert_eq!(connack.properties.response_information, None);
    let (_, connack) = connect_ok(&broker, v5_with("declines", |c| c.properties.request_response_information = Some(false))).await;
    assert_eq!(connack.properties.response_information, None);
}

#[tokio::test]
async fn reason_strings_follow_request_problem_information() {
    let broker = start().await;
    let (mut quiet, _) = connect_ok(&broker, v5_with("quiet", |c| c.properties.request_problem_information = Some(false))).await;
    let ack = quiet.publish_acked(publish("$x", QoS::AtLeastOnce, 1, b"x")).await;
    assert_eq!(ack.reason, ReasonCode::NOT_AUTHORIZED);
    assert_eq!(ack.properties.reason_string, None, "no reason string after Request Problem Information = 0");
    assert!(ack.properties.user_properties.is_empty());

    let (mut chatty, _) = connect_ok(&broker, v5("chatty")).await;
    let ack = chatty.publish_acked(publish("$x", QoS::AtLeastOnce, 1, b"x")).await;
    assert_eq!(ack.reason, ReasonCode::NOT_AUTHORIZED);
    assert!(ack.properties.reason_string.is_some_and(|s| !s.is_empty()), "default: reason string present");
}

// ---------------------------------------------------------------------------------------------
// Server keep alive, authentication, session expiry
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn server_keep_alive_caps_zero_and_excessive_keep_alive() {
    let broker = start_with(|c| c.mqtt.max_keep_alive_secs = 30).await;
    for (asked, told) in [(0u16, Some(30u16)), (31, Some(30)), (u16::MAX, Some(30)), (30, None), (10, None)] {
        let (_, connack) = connect_ok(&broker, v5_with(&format!("ka-{asked}"), |c| c.keep_alive = asked)).await;
        assert_eq!(connack.properties.server_keep_alive, told, "keep alive {asked}");
    }
}

#[tokio::test]
async fn authentication_method_in_connect_is_refused() {
    let broker = start().await;
    let connect = v5_with("auth", |c| c.properties.authentication_method = Some("SCRAM-SHA-256".into()));
    let (mut raw, connack) = Raw::connect(broker.tcp, connect).await;
    assert_eq!(connack.reason, ReasonCode::BAD_AUTHENTICATION_METHOD);
    assert_eq!(connack.properties.authentication_method, None);
    assert_eq!(raw.expect_close().await, None);
}

#[tokio::test]
async fn auth_packet_without_authentication_method_is_a_protocol_error() {
    let broker = start().await;
    let (mut raw, _) = connect_ok(&broker, v5("plain")).await;
    let auth = Auth {
        reason: ReasonCode::RE_AUTHENTICATE,
        properties: AuthProperties { authentication_method: Some("SCRAM-SHA-256".into()), ..Default::default() },
    };
    raw.send(Packet::Auth(auth)).await;
    assert_eq!(raw.expect_close().await, Some(ReasonCode::PROTOCOL_ERROR));
}

#[tokio::test]
async fn session_expiry_interval_is_capped() {
    let broker = start_with(|c| c.mqtt.max_session_expiry_secs = 100).await;
    for (asked, told) in [(1000u32, Some(100u32)), (u32::MAX, Some(100)), (101, Some(100)), (100, None), (50, None)] {
        let connect = v5_with(&format!("se-{asked}"), |c| c.properties.session_expiry_interval = Some(asked));
        let (_, connack) = connect_ok(&broker, connect).await;
        assert_eq!(connack.properties.session_expiry_interval, told, "session expiry {asked}");
    }
}
