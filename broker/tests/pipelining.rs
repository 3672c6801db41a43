//! Several publishes of one connection in flight at once: submitted to storage together,
//! acknowledged in the order they arrived (MQTT-4.6.0-2), delivered in that order.

mod common;

use bytes::BytesMut;
use common::*;
use tallymq::codec::{self, Packet, ProtocolVersion, QoS, ReasonCode};

/// Encodes packets into one buffer, so the broker reads them in one go.
fn burst(packets: &[Packet]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for packet in packets {
        codec::encode(packet, ProtocolVersion::V5, &mut out).unwrap();
    }
    out.to_vec()
}

#[tokio::test]
async fn a_burst_is_acknowledged_and_delivered_in_arrival_order() {
    let broker = start().await;
    let (mut subscriber, _) = Raw::connect(broker.tcp, Raw::connect_packet(ProtocolVersion::V5, "sub")).await;
    subscriber.subscribe_granted(1, "burst/#", QoS::AtLeastOnce).await;
    let (mut publisher, _) = Raw::connect(broker.tcp, Raw::connect_packet(ProtocolVersion::V5, "pub")).await;

    // 40 QoS 1 publishes; number 20 goes to a reserved topic and is refused.
    let packets: Vec<Packet> = (1..=40u16)
        .map(|i| {
            let topic = if i == 20 { "$reserved".to_string() } else { format!("burst/{}", i % 3) };
            publish_packet(&topic, QoS::AtLeastOnce, i, format!("m{i}").as_bytes())
        })
        .collect();
    publisher.send_bytes(&burst(&packets)).await;

    let mut acks = Vec::new();
    while acks.len() < 40 {
        match publisher.next().await {
            Packet::PubAck(ack) => acks.push((ack.packet_id, ack.reason)),
            other => panic!("publisher got {other:?}"),
        }
    }
    let expected: Vec<(u16, ReasonCode)> =
        (1..=40).map(|i| (i, if i == 20 { ReasonCode::NOT_AUTHORIZED } else { ReasonCode::SUCCESS })).collect();
    assert_eq!(acks, expected);

    let mut received = Vec::new();
    while received.len() < 39 {
        let publish = subscriber.next_publish().await;
        subscriber.puback(publish.packet_id).await;
        received.push(String::from_utf8_lossy(&publish.payload).into_owned());
    }
    let expected: Vec<String> = (1..=40).filter(|i| *i != 20).map(|i| format!("m{i}")).collect();
    assert_eq!(received, expected);
}

#[tokio::test]
async fn a_qos2_publish_repeated_within_one_burst_is_stored_once() {
    let broker = start().await;
    let (mut subscriber, _) = Raw::connect(broker.tcp, Raw::connect_packet(ProtocolVersion::V5, "sub")).await;
    subscriber.subscribe_granted(1, "twice/#", QoS::AtMostOnce).await;
    let (mut publisher, _) = Raw::connect(broker.tcp, Raw::connect_packet(ProtocolVersion::V5, "pub")).await;
    let mut repeated = publish_packet("twice/t", QoS::ExactlyOnce, 7, b"once");
    let first = repeated.clone();
    if let Packet::Publish(p) = &mut repeated {
        p.dup = true;
    }
    let sentinel = publish_packet("twice/t", QoS::AtLeastOnce, 8, b"sentinel");
    publisher.send_bytes(&burst(&[first, repeated, sentinel])).await;

    let mut answers = Vec::new();
    while answers.len() < 3 {
        match publisher.next().await {
            Packet::PubRec(rec) => answers.push(("PUBREC", rec.packet_id)),
            Packet::PubAck(ack) => answers.push(("PUBACK", ack.packet_id)),
            other => panic!("publisher got {other:?}"),
        }
    }
    assert_eq!(answers, [("PUBREC", 7), ("PUBREC", 7), ("PUBACK", 8)]);
    assert_eq!(&subscriber.next_publish().await.payload[..], b"once");
    assert_eq!(&subscriber.next_publish().await.payload[..], b"sentinel", "the repeat was not delivered");
}
