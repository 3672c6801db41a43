//! Deduplication by client message id: a 5.0 publish carrying the user property `msg-id` is
//! stored and delivered once per (client id, msg-id), however often it is resent; without
//! `msg-id` a resend is a new message (at least once).
mod common;

use common::*;
use serde_json::Value;
use tallymq::codec::{Packet, ProtocolVersion, Publish, QoS, ReasonCode};

const TOPIC: &str = "dedup/room/msg";

async fn connect_v5(broker: &TestBroker, id: &str) -> Raw {
    connect_ok(broker, Raw::connect_packet(ProtocolVersion::V5, id)).await.0
}

fn with_message_id(mut publish: Publish, id: &str) -> Publish {
    publish.properties.user_properties.push(("msg-id".into(), id.into()));
    publish
}

/// Publishes at QoS 1 and insists on a successful PUBACK.
async fn publish_ok(client: &mut Raw, publish: Publish) {
    let ack = client.publish_acked(publish).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS, "PUBACK: {ack:?}");
}

/// The next delivery: its payload and user properties; acknowledged.
async fn delivery(client: &mut Raw) -> (String, Vec<(String, String)>) {
    let publish = client.next_publish().await;
    assert_eq!(publish.topic, TOPIC);
    if publish.qos != QoS::AtMostOnce {
        client.puback(publish.packet_id).await;
    }
    (String::from_utf8(publish.payload.to_vec()).expect("UTF-8 payload"), publish.properties.user_properties)
}

fn props(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
}

/// `(seq, sender, payload, user properties)` of a stored message.
type Record = (u64, String, String, Vec<(String, String)>);

/// Every record in a history reply.
fn records(reply: &Value) -> Vec<Record> {
    assert_eq!(reply["more"], false, "history fits one page: {reply}");
    reply["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            let properties = m["user_properties"]
                .as_array()
                .expect("user_properties")
                .iter()
                .map(|pair| (pair[0].as_str().unwrap().to_string(), pair[1].as_str().unwrap().to_string()))
                .collect();
            (m["seq"].as_u64().unwrap(), m["sender"].as_str().unwrap().to_string(), m["payload"].as_str().unwrap().to_string(), properties)
        })
        .collect()
}

#[tokio::test]
async fn resent_message_id_is_stored_and_delivered_once() {
    let broker = start().await;
    let mut subscriber = connect_v5(&broker, "dedup-sub").await;
    subscriber.subscribe_granted(1, TOPIC, QoS::AtLeastOnce).await;

    let mut publisher = connect_v5(&broker, "dedup-pub").await;
    publish_ok(&mut publisher, with_message_id(publish(TOPIC, QoS::AtLeastOnce, 7, b"hello"), "X")).await;
    // The same packet resent as a retransmission: DUP set, same packet id.
    let mut resend = with_message_id(publish(TOPIC, QoS::AtLeastOnce, 7, b"hello"), "X");
    resend.dup = true;
    publish_ok(&mut publisher, resend).await;

    // A new connection has no packet-id state: the resend comes under a new packet id.
    publisher.send(Packet::Disconnect(tallymq::codec::Disconnect::new(ReasonCode::SUCCESS))).await;
    assert_eq!(publisher.expect_close().await, None);
    let mut publisher = connect_v5(&broker, "dedup-pub").await;
    publish_ok(&mut publisher, with_message_id(publish(TOPIC, QoS::AtLeastOnce, 1, b"hello"), "X")).await;
    publish_ok(&mut publisher, publish(TOPIC, QoS::AtLeastOnce, 2, b"sentinel")).await;

    assert_eq!(delivery(&mut subscriber).await, ("hello".to_string(), props(&[("msg-id", "X"), ("seq", "1")])));
    assert_eq!(delivery(&mut subscriber).await, ("sentinel".to_string(), props(&[("seq", "2")])));
    subscriber.nothing_pending().await;

    let history = publisher.history(3, TOPIC, 0, None).await;
    assert_eq!(
        records(&history),
        [
            (1, "dedup-pub".to_string(), "hello".to_string(), props(&[("msg-id", "X")])),
            (2, "dedup-pub".to_string(), "sentinel".to_string(), vec![]),
        ]
    );
}

#[tokio::test]
async fn message_id_is_scoped_to_the_client() {
    let broker = start().await;
    let mut subscriber = connect_v5(&broker, "scope-sub").await;
    subscriber.subscribe_granted(1, TOPIC, QoS::AtLeastOnce).await;

    let mut alice = connect_v5(&broker, "alice").await;
    let mut bob = connect_v5(&broker, "bob").await;
    publish_ok(&mut alice, with_message_id(publish(TOPIC, QoS::AtLeastOnce, 1, b"from alice"), "same")).await;
    publish_ok(&mut bob, with_message_id(publish(TOPIC, QoS::AtLeastOnce, 1, b"from bob"), "same")).await;
    // Each client's own resend is still recognized.
    publish_ok(&mut alice, with_message_id(publish(TOPIC, QoS::AtLeastOnce, 2, b"from alice"), "same")).await;
    publish_ok(&mut bob, with_message_id(publish(TOPIC, QoS::AtLeastOnce, 2, b"from bob"), "same")).await;
    publish_ok(&mut alice, publish(TOPIC, QoS::AtLeastOnce, 3, b"sentinel")).await;

    assert_eq!(delivery(&mut subscriber).await, ("from alice".to_string(), props(&[("msg-id", "same"), ("seq", "1")])));
    assert_eq!(delivery(&mut subscriber).await, ("from bob".to_string(), props(&[("msg-id", "same"), ("seq", "2")])));
    assert_eq!(delivery(&mut subscriber).await, ("sentinel".to_string(), props(&[("seq", "3")])));
    subscriber.nothing_pending().await;

    let history = subscriber.history(2, TOPIC, 0, None).await;
    assert_eq!(
        records(&history),
        [
            (1, "alice".to_string(), "from alice".to_string(), props(&[("msg-id", "same")])),
            (2, "bob".to_string(), "from bob".to_string(), props(&[("msg-id", "same")])),
            (3, "alice".to_string(), "sentinel".to_string(), vec![]),
        ]
    );
}

/// Documented behaviour: without a client message id the broker cannot tell a resend from a
/// new message, so a QoS 1 resend is stored and delivered again (at least once).
#[tokio::test]
async fn resend_without_message_id_is_stored_twice() {
    let broker = start().await;
    let mut subscriber = connect_v5(&broker, "plain-sub").await;
    subscriber.subscribe_granted(1, TOPIC, QoS::AtLeastOnce).await;

    let mut publisher = connect_v5(&broker, "plain-pub").await;
    publish_ok(&mut publisher, publish(TOPIC, QoS::AtLeastOnce, 5, b"again")).await;
    let mut resend = publish(TOPIC, QoS::AtLeastOnce, 5, b"again");
    resend.dup = true;
    publish_ok(&mut publisher, resend).await;

    assert_eq!(delivery(&mut subscriber).await, ("again".to_string(), props(&[("seq", "1")])));
    assert_eq!(delivery(&mut subscriber).await, ("again".to_string(), props(&[("seq", "2")])));
    subscriber.nothing_pending().await;

    let history = publisher.history(6, TOPIC, 0, None).await;
    assert_eq!(
        records(&history),
        [(1, "plain-pub".to_string(), "again".to_string(), vec![]), (2, "plain-pub".to_string(), "again".to_string(), vec![])]
    );
}

/// A QoS 2 message whose exchange completed and that comes again under a new packet id (the
/// client lost PUBCOMP and reconnected with a clean session) is acknowledged, not delivered.
#[tokio::test]
async fn qos2_resend_with_message_id_after_completion_is_stored_once() {
    let broker = start().await;
    let mut subscriber = connect_v5(&broker, "q2-sub").await;
    subscriber.subscribe_granted(1, TOPIC, QoS::ExactlyOnce).await;

    let mut publisher = connect_v5(&broker, "q2-pub").await;
    for packet_id in [10, 11] {
        publisher.send(Packet::Publish(with_message_id(publish(TOPIC, QoS::ExactlyOnce, packet_id, b"twice"), "Q"))).await;
        match publisher.next().await {
            Packet::PubRec(rec) => assert_eq!((rec.packet_id, rec.reason), (packet_id, ReasonCode::SUCCESS)),
            other => panic!("expected PUBREC, got {other:?}"),
        }
        publisher.send(Packet::PubRel(tallymq::codec::PubResponse::success(packet_id))).await;
        match publisher.next().await {
            Packet::PubComp(comp) => assert_eq!((comp.packet_id, comp.reason), (packet_id, ReasonCode::SUCCESS)),
            other => panic!("expected PUBCOMP, got {other:?}"),
        }
    }
    publish_ok(&mut publisher, publish(TOPIC, QoS::AtLeastOnce, 12, b"sentinel")).await;

    let first = subscriber.next_publish().await;
    assert_eq!((first.qos, &first.payload[..]), (QoS::ExactlyOnce, &b"twice"[..]));
    assert_eq!(delivery(&mut subscriber).await, ("sentinel".to_string(), props(&[("seq", "2")])));
    subscriber.send(Packet::PubRec(tallymq::codec::PubResponse::success(first.packet_id))).await;
    match subscriber.next().await {
        Packet::PubRel(rel) => assert_eq!(rel.packet_id, first.packet_id),
        other => panic!("expected PUBREL, got {other:?}"),
    }
    subscriber.send(Packet::PubComp(tallymq::codec::PubResponse::success(first.packet_id))).await;
    subscriber.nothing_pending().await;

    let history = publisher.history(13, TOPIC, 0, None).await;
    assert_eq!(
        records(&history),
        [
            (1, "q2-pub".to_string(), "twice".to_string(), props(&[("msg-id", "Q")])),
            (2, "q2-pub".to_string(), "sentinel".to_string(), vec![]),
        ]
    );
}
