//! Restarts: `Server::shutdown` and `Server::start` again on the same data dir, in process.
//! Persistent sessions (subscriptions, queued QoS 1/2 messages, outbound QoS 2 state),
//! retained messages, per-topic sequence numbers, client message ids and session expiry
//! come back as they were; clean sessions do not.
mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use tallymq::codec::{
    Connect, Disconnect, LastWill, Packet, ProtocolVersion, PubResponse, Publish, QoS, ReasonCode, WillProperties,
};

async fn disconnect(mut client: Raw) {
    client.send(Packet::Disconnect(Disconnect::new(ReasonCode::SUCCESS))).await;
    assert_eq!(client.expect_close().await, None);
}

fn session_connect(version: ProtocolVersion, id: &str, clean_start: bool, expiry: Option<u32>) -> Connect {
    let mut connect = Raw::connect_packet(version, id);
    connect.clean_start = clean_start;
    connect.properties.session_expiry_interval = expiry;
    connect
}

/// A session that outlives its connection: 3.1.1 clean session 0, 5.0 expiry 300 s.
fn persistent(version: ProtocolVersion, id: &str) -> Connect {
    match version {
        ProtocolVersion::V311 => session_connect(version, id, false, None),
        ProtocolVersion::V5 => session_connect(version, id, false, Some(300)),
    }
}

async fn publish_ok(client: &mut Raw, publish: Publish) {
    let ack = client.publish_acked(publish).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS, "PUBACK: {ack:?}");
}

/// A QoS 2 publish through PUBREC/PUBREL/PUBCOMP.
async fn publish_qos2(client: &mut Raw, topic: &str, packet_id: u16, payload: &[u8]) {
    client.send(publish_packet(topic, QoS::ExactlyOnce, packet_id, payload)).await;
    match client.next().await {
        Packet::PubRec(rec) => assert_eq!((rec.packet_id, rec.reason), (packet_id, ReasonCode::SUCCESS)),
        other => panic!("expected PUBREC, got {other:?}"),
    }
    client.send(Packet::PubRel(PubResponse::success(packet_id))).await;
    match client.next().await {
        Packet::PubComp(comp) => assert_eq!((comp.packet_id, comp.reason), (packet_id, ReasonCode::SUCCESS)),
        other => panic!("expected PUBCOMP, got {other:?}"),
    }
}

/// Receives `n` deliveries, completing their flows (PUBREL may come after later PUBLISHes);
/// returns `(topic, payload, qos, seq)` in arrival order.
async fn receive_n(client: &mut Raw, n: usize) -> Vec<(String, String, QoS, Option<u64>)> {
    let mut got = Vec::new();
    let mut awaiting_rel = 0;
    while got.len() < n || awaiting_rel > 0 {
        match client.next().await {
            Packet::Publish(publish) => {
                match publish.qos {
                    QoS::AtMostOnce => {}
                    QoS::AtLeastOnce => client.puback(publish.packet_id).await,
                    QoS::ExactlyOnce => {
                        client.send(Packet::PubRec(PubResponse::success(publish.packet_id))).await;
                        awaiting_rel += 1;
                    }
                }
                let seq = publish.properties.user_properties.iter().find(|(n, _)| n == "seq").map(|(_, v)| v.parse().unwrap());
                got.push((publish.topic, String::from_utf8(publish.payload.to_vec()).unwrap(), publish.qos, seq));
            }
            Packet::PubRel(rel) => {
                awaiting_rel -= 1;
                client.send(Packet::PubComp(PubResponse::success(rel.packet_id))).await;
            }
            other => panic!("expected PUBLISH or PUBREL, got {other:?}"),
        }
    }
    got
}

async fn receive(client: &mut Raw) -> (String, String, QoS, Option<u64>) {
    receive_n(client, 1).await.remove(0)
}

fn expected(version: ProtocolVersion, rows: &[(&str, &str, QoS, u64)]) -> Vec<(String, String, QoS, Option<u64>)> {
    rows.iter()
        .map(|(topic, payload, qos, seq)| {
            (topic.to_string(), payload.to_string(), *qos, (version == ProtocolVersion::V5).then_some(*seq))
        })
        .collect()
}

fn seqs(page: &Value) -> Vec<u64> {
    page["messages"].as_array().expect("messages").iter().map(|m| m["seq"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn persistent_sessions_keep_subscriptions_and_queues_across_restart() {
    let broker = start().await;
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let id = format!("keep-{version:?}");
        let (mut client, connack) = connect_ok(&broker, persistent(version, &id)).await;
        assert!(!connack.session_present);
        client.subscribe_granted(1, "keep/a", QoS::AtLeastOnce).await;
        client.subscribe_granted(2, "keep/b", QoS::ExactlyOnce).await;
        disconnect(client).await;
    }
    // Clean sessions, subscribed to the same topics, end with their connection.
    for (version, id) in [(ProtocolVersion::V311, "clean-v4"), (ProtocolVersion::V5, "clean-v5")] {
        let (mut client, _) = connect_ok(&broker, Raw::connect_packet(version, id)).await;
        client.subscribe_granted(1, "keep/#", QoS::ExactlyOnce).await;
        disconnect(client).await;
    }

    let (mut publisher, _) = connect_ok(&broker, Raw::connect_packet(ProtocolVersion::V5, "keep-pub")).await;
    publish_ok(&mut publisher, publish("keep/a", QoS::AtLeastOnce, 1, b"a1")).await;
    publish_qos2(&mut publisher, "keep/b", 2, b"b1").await;
    publisher.send(publish_packet("keep/a", QoS::AtMostOnce, 0, b"qos0 is not queued offline")).await;
    publish_ok(&mut publisher, publish("keep/a", QoS::AtLeastOnce, 3, b"a2")).await;
    publish_qos2(&mut publisher, "keep/b", 4, b"b2").await;
    // A QoS 1 publish to a QoS 2 subscription is queued at QoS 1.
    publish_ok(&mut publisher, publish("keep/b", QoS::AtLeastOnce, 5, b"b3")).await;
    disconnect(publisher).await;

    let broker = broker.restart().await;

    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let id = format!("keep-{version:?}");
        let (mut client, connack) = connect_ok(&broker, persistent(version, &id)).await;
        assert!(connack.session_present, "{id}: session present after restart");
        let got = receive_n(&mut client, 5).await;
        assert_eq!(
            got,
            expected(
                version,
                &[
                    ("keep/a", "a1", QoS::AtLeastOnce, 1),
                    ("keep/b", "b1", QoS::ExactlyOnce, 1),
                    // The QoS 0 message in between is stored (seq 2), just not queued.
                    ("keep/a", "a2", QoS::AtLeastOnce, 3),
                    ("keep/b", "b2", QoS::ExactlyOnce, 2),
                    ("keep/b", "b3", QoS::AtLeastOnce, 3),
                ]
            ),
            "{id}"
        );
        client.nothing_pending().await;
        disconnect(client).await;
    }
    for (version, id) in [(ProtocolVersion::V311, "clean-v4"), (ProtocolVersion::V5, "clean-v5")] {
        let (client, connack) = connect_ok(&broker, persistent(version, id)).await;
        assert!(!connack.session_present, "{id}: a clean session does not come back");
        disconnect(client).await;
    }

    // The subscriptions are live after the restart: new messages reach the sessions, online
    // or offline, and nothing reaches the clean sessions' client ids.
    let (mut online, _) = connect_ok(&broker, persistent(ProtocolVersion::V5, "keep-V5")).await;
    let (mut clean, _) = connect_ok(&broker, persistent(ProtocolVersion::V5, "clean-v5")).await;
    let (mut publisher, _) = connect_ok(&broker, Raw::connect_packet(ProtocolVersion::V5, "keep-pub")).await;
    publish_ok(&mut publisher, publish("keep/a", QoS::AtLeastOnce, 1, b"a3")).await;
    publish_qos2(&mut publisher, "keep/b", 2, b"b4").await;
    assert_eq!(
        receive_n(&mut online, 2).await,
        [
            ("keep/a".to_string(), "a3".to_string(), QoS::AtLeastOnce, Some(4)),
            ("keep/b".to_string(), "b4".to_string(), QoS::ExactlyOnce, Some(4))
        ]
    );
    online.nothing_pending().await;
    clean.nothing_pending().await;
    let (mut offline, connack) = connect_ok(&broker, persistent(ProtocolVersion::V311, "keep-V311")).await;
    assert!(connack.session_present);
    assert_eq!(
        receive_n(&mut offline, 2).await,
        [("keep/a".to_string(), "a3".to_string(), QoS::AtLeastOnce, None), ("keep/b".to_string(), "b4".to_string(), QoS::ExactlyOnce, None)]
    );
    offline.nothing_pending().await;
}

/// A shutdown reaches every connection, also one that completes its CONNECT after the
/// shutdown began: like those connected before, it gets DISCONNECT 0x8B (after its CONNACK).
#[tokio::test]
async fn connections_attaching_during_a_shutdown_are_asked_to_leave() {
    let broker = start().await;
    let (mut before, _) = connect_ok(&broker, Raw::connect_packet(ProtocolVersion::V5, "before")).await;
    broker.server.broker.shut_down_connections();
    assert_eq!(before.expect_close().await, Some(ReasonCode::SERVER_SHUTTING_DOWN));
    // The listener is still open here, as it is for a connection accepted just before it closed.
    let (mut after, connack) = connect_ok(&broker, Raw::connect_packet(ProtocolVersion::V5, "after")).await;
    assert_eq!(connack.reason, ReasonCode::SUCCESS);
    assert_eq!(after.expect_close().await, Some(ReasonCode::SERVER_SHUTTING_DOWN));
}

/// Outbound QoS 2 state survives: a PUBLISH not yet acknowledged by PUBREC is resent with DUP
/// under its packet id; one acknowledged by PUBREC gets its PUBREL, not the PUBLISH again.
#[tokio::test]
async fn outbound_qos2_in_flight_survives_restart() {
    let broker = start().await;
    let (mut subscriber, _) = connect_ok(&broker, persistent(ProtocolVersion::V5, "q2-keep")).await;
    subscriber.subscribe_granted(1, "q2/t", QoS::ExactlyOnce).await;
    let (mut publisher, _) = connect_ok(&broker, Raw::connect_packet(ProtocolVersion::V5, "q2-pub")).await;
    publish_qos2(&mut publisher, "q2/t", 1, b"one").await;
    publish_qos2(&mut publisher, "q2/t", 2, b"two").await;
    let one = subscriber.next_publish().await;
    let two = subscriber.next_publish().await;
    assert_eq!((&one.payload[..], &two.payload[..]), (&b"one"[..], &b"two"[..]));
    subscriber.send(Packet::PubRec(PubResponse::success(one.packet_id))).await;
    match subscriber.next().await {
        Packet::PubRel(rel) => assert_eq!(rel.packet_id, one.packet_id),
        other => panic!("expected PUBREL, got {other:?}"),
    }
    // "two" stays unacknowledged; the connection is still up when the broker goes down.
    drop(publisher);

    let broker = broker.restart().await;
    assert_eq!(subscriber.recv().await.map(|p| matches!(p, Packet::Disconnect(d) if d.reason == ReasonCode::SERVER_SHUTTING_DOWN)), Some(true));

    let (mut subscriber, connack) = connect_ok(&broker, persistent(ProtocolVersion::V5, "q2-keep")).await;
    assert!(connack.session_present);
    match subscriber.next().await {
        Packet::PubRel(rel) => assert_eq!(rel.packet_id, one.packet_id),
        other => panic!("expected the PUBREL of the first message again, got {other:?}"),
    }
    let again = subscriber.next_publish().await;
    assert_eq!((again.dup, again.packet_id, &again.payload[..]), (true, two.packet_id, &b"two"[..]));
    subscriber.send(Packet::PubComp(PubResponse::success(one.packet_id))).await;
    subscriber.send(Packet::PubRec(PubResponse::success(again.packet_id))).await;
    match subscriber.next().await {
        Packet::PubRel(rel) => assert_eq!(rel.packet_id, again.packet_id),
        other => panic!("expected PUBREL, got {other:?}"),
    }
    subscriber.send(Packet::PubComp(PubResponse::success(again.packet_id))).await;
    subscriber.nothing_pending().await;
    disconnect(subscriber).await;

    // Completed flows are gone for good.
    let broker = broker.restart().await;
    let (mut subscriber, connack) = connect_ok(&broker, persistent(ProtocolVersion::V5, "q2-keep")).await;
    assert!(connack.session_present);
    subscriber.nothing_pending().await;
}

#[tokio::test]
async fn retained_messages_survive_restart_and_deletions_stay_deleted() {
    let broker = start().await;
    let (mut publisher, _) = connect_ok(&broker, Raw::connect_packet(ProtocolVersion::V5, "ret-pub")).await;
    for (packet_id, topic, payload) in
        [(1, "ret/a", &b"A"[..]), (2, "ret/b", b"B"), (3, "ret/c", b"C"), (4, "ret/b", b""), (5, "ret/c", b"C2")]
    {
        let mut message = publish(topic, QoS::AtLeastOnce, packet_id, payload);
        message.retain = true;
        publish_ok(&mut publisher, message).await;
    }
    disconnect(publisher).await;

    let broker = broker.restart().await;
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let (mut subscriber, _) = connect_ok(&broker, Raw::connect_packet(version, "ret-sub")).await;
        subscriber.subscribe_granted(1, "ret/#", QoS::AtLeastOnce).await;
        let mut got = BTreeSet::new();
        for _ in 0..2 {
            let publish = subscriber.next_publish().await;
            assert!(publish.retain, "{publish:?}");
            subscriber.puback(publish.packet_id).await;
            let seq = publish.properties.user_properties.iter().find(|(n, _)| n == "seq").map(|(_, v)| v.clone());
            got.insert((publish.topic, String::from_utf8(publish.payload.to_vec()).unwrap(), seq));
        }
        let seq = |s: &str| (version == ProtocolVersion::V5).then(|| s.to_string());
        assert_eq!(
            got,
            BTreeSet::from([("ret/a".to_string(), "A".to_string(), seq("1")), ("ret/c".to_string(), "C2".to_string(), seq("2"))])
        );
        subscriber.nothing_pending().await;
        disconnect(subscriber).await;
    }
    // Still deleted after a second restart, and the retained set is exactly what it was.
    let broker = broker.restart().await;
    let (mut subscriber, _) = connect_ok(&broker, Raw::connect_packet(ProtocolVersion::V311, "ret-sub")).await;
    subscriber.subscribe_granted(1, "ret/b", QoS::AtLeastOnce).await;
    subscriber.nothing_pending().await;
}

#[tokio::test]
async fn sequence_numbers_continue_after_restart() {
    let broker = start().await;
    let (mut subscriber, _) = connect_ok(&broker, Raw::connect_packet(ProtocolVersion::V5, "seq-sub")).await;
    subscriber.subscribe_granted(1, "seq/t", QoS::AtLeastOnce).await;
    let (mut publisher, _) = connect_ok(&broker, Raw::connect_packet(ProtocolVersion::V5, "seq-pub")).await;
    for i in 1..=3u16 {
        publish_ok(&mut publisher, publish("seq/t", QoS::AtLeastOnce, i, format!("p{i}").as_bytes())).await;
        assert_eq!(receive(&mut subscriber).await, ("seq/t".to_string(), format!("p{i}"), QoS::AtLeastOnce, Some(u64::from(i))));
    }
    publish_ok(&mut publisher, publish("seq/other", QoS::AtLeastOnce, 4, b"o1")).await;
    drop((subscriber, publisher));

    let broker = broker.restart().await;
    let (mut subscriber, _) = connect_ok(&broker, Raw::connect_packet(ProtocolVersion::V5, "seq-sub")).await;
    subscriber.subscribe_granted(1, "seq/t", QoS::AtLeastOnce).await;
    let (mut publisher, _) = connect_ok(&broker, Raw::connect_packet(ProtocolVersion::V311, "seq-pub")).await;
    for i in 4..=6u16 {
        publish_ok(&mut publisher, publish("seq/t", QoS::AtLeastOnce, i, format!("p{i}").as_bytes())).await;
        assert_eq!(receive(&mut subscriber).await, ("seq/t".to_string(), format!("p{i}"), QoS::AtLeastOnce, Some(u64::from(i))));
    }
    publish_ok(&mut publisher, publish("seq/other", QoS::AtLeastOnce, 7, b"o2")).await;

    let page = subscriber.history(10, "seq/t", 0, None).await;
    assert_eq!(seqs(&page), [1, 2, 3, 4, 5, 6]);
    let payloads: Vec<&str> = page["messages"].as_array().unwrap().iter().map(|m| m["payload"].as_str().unwrap()).collect();
    assert_eq!(payloads, ["p1", "p2", "p3", "p4", "p5", "p6"]);
    let other = subscriber.history(11, "seq/other", 0, None).await;
    assert_eq!(seqs(&other), [1, 2]);
    // The hash chain runs across the restart without a break.
    for topic in ["seq/t", "seq/other"] {
        let report = broker.server.broker.store.verify(topic).expect("verify");
        assert!(report.broken.is_none(), "{topic}: {report:?}");
    }
    assert_eq!(broker.server.broker.store.verify("seq/t").unwrap().last_sequence, Some(6));
}

/// A client message id stored before the restart still marks a resend after it.
#[tokio::test]
async fn message_ids_are_remembered_across_restart() {
    let broker = start().await;
    let (mut publisher, _) = connect_ok(&broker, Raw::connect_packet(ProtocolVersion::V5, "mid-pub")).await;
    let mut first = publish("mid/t", QoS::AtLeastOnce, 1, b"once");
    first.properties.user_properties.push(("msg-id".into(), "m-1".into()));
    publish_ok(&mut publisher, first.clone()).await;
    drop(publisher);

    let broker = broker.restart().await;
    let (mut subscriber, _) = connect_ok(&broker, Raw::connect_packet(ProtocolVersion::V5, "mid-sub")).await;
    subscriber.subscribe_granted(1, "mid/t", QoS::AtLeastOnce).await;
    let (mut publisher, _) = connect_ok(&broker, Raw::connect_packet(ProtocolVersion::V5, "mid-pub")).await;
    first.packet_id = 9;
    publish_ok(&mut publisher, first).await;
    publish_ok(&mut publisher, publish("mid/t", QoS::AtLeastOnce, 10, b"sentinel")).await;
    assert_eq!(receive(&mut subscriber).await, ("mid/t".to_string(), "sentinel".to_string(), QoS::AtLeastOnce, Some(2)));
    subscriber.nothing_pending().await;
    assert_eq!(seqs(&publisher.history(11, "mid/t", 0, None).await), [1, 2]);
}

/// The shutdown ends connections without a DISCONNECT from the client: their wills are
/// published before the store closes, so a persistent subscriber finds them after the restart.
#[tokio::test]
async fn wills_of_clients_connected_at_shutdown_are_stored() {
    let broker = start().await;
    let (mut watcher, _) = connect_ok(&broker, persistent(ProtocolVersion::V311, "shutdown-watcher")).await;
    watcher.subscribe_granted(1, "wills/#", QoS::AtLeastOnce).await;
    disconnect(watcher).await;
    let mut clients = Vec::new();
    for (version, id) in [(ProtocolVersion::V311, "victim-v4"), (ProtocolVersion::V5, "victim-v5")] {
        let mut connect = Raw::connect_packet(version, id);
        connect.will = Some(LastWill {
            topic: format!("wills/{id}"),
            payload: bytes::Bytes::from(format!("{id} lost")),
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: WillProperties::default(),
        });
        clients.push(connect_ok(&broker, connect).await.0);
    }

    let broker = broker.restart().await;
    let (mut watcher, connack) = connect_ok(&broker, persistent(ProtocolVersion::V311, "shutdown-watcher")).await;
    assert!(connack.session_present);
    let got: BTreeSet<_> = receive_n(&mut watcher, 2).await.into_iter().map(|(topic, payload, _, _)| (topic, payload)).collect();
    assert_eq!(
        got,
        BTreeSet::from([
            ("wills/victim-v4".to_string(), "victim-v4 lost".to_string()),
            ("wills/victim-v5".to_string(), "victim-v5 lost".to_string())
        ])
    );
    watcher.nothing_pending().await;
    drop(clients);
}

/// A session whose expiry ran out while the broker was down is gone after the restart, and
/// its will, still waiting for its delay, is published at start-up.
#[tokio::test]
async fn session_expired_while_down_is_gone_and_its_will_is_published() {
    let broker = start().await;
    let (mut watcher, _) = connect_ok(&broker, persistent(ProtocolVersion::V5, "watcher")).await;
    watcher.subscribe_granted(1, "wills/#", QoS::AtLeastOnce).await;
    disconnect(watcher).await;

    let mut connect = session_connect(ProtocolVersion::V5, "mortal", true, Some(1));
    connect.will = Some(LastWill {
        topic: "wills/mortal".into(),
        payload: bytes::Bytes::from_static(b"gone"),
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: WillProperties { will_delay_interval: Some(60), ..Default::default() },
    });
    let (mut mortal, _) = connect_ok(&broker, connect).await;
    mortal.subscribe_granted(1, "mortal/inbox", QoS::AtLeastOnce).await;
    // The connection drops without DISCONNECT. The will waits for its delay (60 s), so the
    // end of the session (1 s after the drop) publishes it.
    drop(mortal);
    let dropped = Instant::now();
    let stopped = broker.stop().await;
    // The shutdown left the session on disk with its will and the time its connection ended,
    // from which the next start computes what is left of the expiry.
    {
        let store = tallymq_storage::Store::open(&stopped.config.storage).expect("store opens after shutdown");
        let sessions = store.recover().expect("recover").sessions;
        let mortal = sessions.iter().find(|s| s.client_id == "mortal").expect("mortal's session on disk");
        assert_eq!(mortal.record.expiry_secs, 1);
        assert!(mortal.record.disconnected_at_ms.is_some(), "{:?}", mortal.record);
        assert!(mortal.record.will.is_some(), "{:?}", mortal.record);
    }
    // The session expires while no broker runs: the elapsed time is the point here.
    tokio::time::sleep_until((dropped + Duration::from_millis(1500)).into()).await;
    let broker = stopped.start().await;

    let (mut watcher, connack) = connect_ok(&broker, persistent(ProtocolVersion::V5, "watcher")).await;
    assert!(connack.session_present);
    assert_eq!(receive(&mut watcher).await, ("wills/mortal".to_string(), "gone".to_string(), QoS::AtLeastOnce, Some(1)));
    watcher.nothing_pending().await;
    wait_until("the expired session to be removed", || broker.server.broker.session_count() == 1).await;

    let (mut mortal, connack) = connect_ok(&broker, session_connect(ProtocolVersion::V5, "mortal", false, Some(60))).await;
    assert!(!connack.session_present, "the expired session does not come back");
    let (mut publisher, _) = connect_ok(&broker, Raw::connect_packet(ProtocolVersion::V5, "inbox-pub")).await;
    publish_ok(&mut publisher, publish("mortal/inbox", QoS::AtLeastOnce, 1, b"for nobody")).await;
    mortal.nothing_pending().await;
    let page = publisher.history(2, "wills/mortal", 0, None).await;
    assert_eq!(seqs(&page), [1], "the will is published once: {page}");
    assert_eq!((&page["messages"][0]["sender"], &page["messages"][0]["payload"]), (&Value::from("mortal"), &Value::from("gone")));
}
