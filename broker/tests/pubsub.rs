//! Publish/subscribe behaviour seen from real clients: QoS, wildcards, `$` topics, overlapping
//! and shared subscriptions, 5.0 subscription options, retained messages, unsubscribe,
//! refused publishes and slow subscribers.
//!
//! Absence is always proven with a sentinel: a message published afterwards that the same
//! client receives; deliveries to one client keep their order, so the sentinel must come first.
mod common;

use std::collections::VecDeque;

use common::*;
use rumqttc::v5::mqttbytes::v5 as m5;
use tallymq::codec::{
    Packet, ProtocolVersion, PubResponse, QoS, ReasonCode, Subscribe, SubscriptionOptions, Unsubscribe,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V4,
    V5,
}

/// A PUBLISH as either client version received it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Got {
    topic: String,
    payload: Vec<u8>,
    qos: u8,
    retain: bool,
    dup: bool,
    pkid: u16,
    subscription_ids: Vec<usize>,
}

/// A client event with the version differences removed.
#[derive(Debug)]
enum Event {
    Publish(Got),
    PubAck(u16),
    PubRec(u16),
    PubRel(u16),
    PubComp(u16),
    SubAck(Vec<u8>),
    UnsubAck,
    Other,
}

enum Inner {
    V4(V4),
    V5(V5),
}

/// A rumqttc client of either version. Publishes that arrive while the test waits for an
/// acknowledgement are kept, in order, for `next_publish`.
struct Client {
    inner: Inner,
    pending: VecDeque<Got>,
}

fn qos4(qos: u8) -> rumqttc::QoS {
    match qos {
        0 => rumqttc::QoS::AtMostOnce,
        1 => rumqttc::QoS::AtLeastOnce,
        _ => rumqttc::QoS::ExactlyOnce,
    }
}

fn qos5(qos: u8) -> rumqttc::v5::mqttbytes::QoS {
    match qos {
        0 => rumqttc::v5::mqttbytes::QoS::AtMostOnce,
        1 => rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
        _ => rumqttc::v5::mqttbytes::QoS::ExactlyOnce,
    }
}

impl Client {
    async fn connect(broker: &TestBroker, version: Version, id: &str) -> Client {
        let inner = match version {
            Version::V4 => Inner::V4(V4::connect(V4::options(broker.tcp, id)).await.0),
            Version::V5 => Inner::V5(V5::connect(V5::options(broker.tcp, id)).await.0),
        };
        Client { inner, pending: VecDeque::new() }
    }

    fn v5(&self) -> &rumqttc::v5::AsyncClient {
        match &self.inner {
            Inner::V5(c) => &c.client,
            Inner::V4(_) => panic!("a 5.0 client is needed here"),
        }
    }

    async fn next_event(&mut self) -> Event {
        match &mut self.inner {
            Inner::V4(c) => match c.next().await {
                Ok(rumqttc::Packet::Publish(p)) => Event::Publish(Got {
                    topic: p.topic.clone(),
                    payload: p.payload.to_vec(),
                    qos: p.qos as u8,
                    retain: p.retain,
                    dup: p.dup,
                    pkid: p.pkid,
                    subscription_ids: vec![],
                }),
                Ok(rumqttc::Packet::PubAck(a)) => Event::PubAck(a.pkid),
                Ok(rumqttc::Packet::PubRec(a)) => Event::PubRec(a.pkid),
                Ok(rumqttc::Packet::PubRel(a)) => Event::PubRel(a.pkid),
                Ok(rumqttc::Packet::PubComp(a)) => Event::PubComp(a.pkid),
                Ok(rumqttc::Packet::SubAck(s)) => Event::SubAck(
                    s.return_codes
                        .iter()
                        .map(|c| match c {
                            rumqttc::SubscribeReasonCode::Success(q) => *q as u8,
                            rumqttc::SubscribeReasonCode::Failure => 0x80,
                        })
                        .collect(),
                ),
                Ok(rumqttc::Packet::UnsubAck(_)) => Event::UnsubAck,
                Ok(_) => Event::Other,
                Err(error) => panic!("3.1.1 connection ended: {error}"),
            },
            Inner::V5(c) => match c.next().await {
                Ok(m5::Packet::Publish(p)) => Event::Publish(Got {
                    topic: String::from_utf8(p.topic.to_vec()).expect("UTF-8 topic"),
                    payload: p.payload.to_vec(),
                    qos: p.qos as u8,
                    retain: p.retain,
                    dup: p.dup,
                    pkid: p.pkid,
                    subscription_ids: p.properties.map(|props| props.subscription_identifiers).unwrap_or_default(),
                }),
                Ok(m5::Packet::PubAck(a)) => Event::PubAck(a.pkid),
                Ok(m5::Packet::PubRec(a)) => Event::PubRec(a.pkid),
                Ok(m5::Packet::PubRel(a)) => Event::PubRel(a.pkid),
                Ok(m5::Packet::PubComp(a)) => Event::PubComp(a.pkid),
                Ok(m5::Packet::SubAck(s)) => Event::SubAck(
                    s.return_codes
                        .iter()
                        .map(|c| match c {
                            m5::SubscribeReasonCode::Success(q) => *q as u8,
                            _ => 0x80,
                        })
                        .collect(),
                ),
                Ok(m5::Packet::UnsubAck(_)) => Event::UnsubAck,
                Ok(_) => Event::Other,
                Err(error) => panic!("5.0 connection ended: {error}"),
            },
        }
    }

    /// Waits for the event `pick` selects, keeping publishes that arrive meanwhile.
    async fn wait<T>(&mut self, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        loop {
            let event = self.next_event().await;
            if let Some(found) = pick(&event) {
                return found;
            }
            if let Event::Publish(got) = event {
                self.pending.push_back(got);
            }
        }
    }

    async fn next_publish(&mut self) -> Got {
        if let Some(got) = self.pending.pop_front() {
            return got;
        }
        self.wait(|e| match e {
            Event::Publish(got) => Some(got.clone()),
            _ => None,
        })
        .await
    }

    /// Topics of the publishes received up to and including one on `last`.
    async fn topics_until(&mut self, last: &str) -> Vec<String> {
        let mut topics = Vec::new();
        loop {
            let got = self.next_publish().await;
            topics.push(got.topic.clone());
            if got.topic == last {
                return topics;
            }
        }
    }

    /// Subscribes and checks the granted QoS.
    async fn subscribe(&mut self, filter: &str, qos: u8) {
        match &self.inner {
            Inner::V4(c) => c.client.subscribe(filter, qos4(qos)).await.expect("subscribe queued"),
            Inner::V5(c) => c.client.subscribe(filter, qos5(qos)).await.expect("subscribe queued"),
        }
        let granted = self.wait(|e| if let Event::SubAck(codes) = e { Some(codes.clone()) } else { None }).await;
        assert_eq!(granted, [qos], "SUBACK for {filter}");
    }

    /// A 5.0 subscription with options and properties; checks the granted QoS.
    async fn subscribe_v5(&mut self, filter: m5::Filter, properties: Option<m5::SubscribeProperties>) {
        let qos = filter.qos as u8;
        match properties {
            Some(p) => self.v5().subscribe_many_with_properties([filter], p).await,
            None => self.v5().subscribe_many([filter]).await,
        }
        .expect("subscribe queued");
        let granted = self.wait(|e| if let Event::SubAck(codes) = e { Some(codes.clone()) } else { None }).await;
        assert_eq!(granted, [qos]);
    }

    async fn unsubscribe(&mut self, filter: &str) {
        match &self.inner {
            Inner::V4(c) => c.client.unsubscribe(filter).await.expect("unsubscribe queued"),
            Inner::V5(c) => c.client.unsubscribe(filter).await.expect("unsubscribe queued"),
        }
        self.wait(|e| matches!(e, Event::UnsubAck).then_some(())).await;
    }

    async fn send_publish(&self, topic: &str, qos: u8, retain: bool, payload: &[u8]) {
        match &self.inner {
            Inner::V4(c) => c.client.publish(topic, qos4(qos), retain, payload.to_vec()).await.expect("publish queued"),
            Inner::V5(c) => c.client.publish(topic, qos5(qos), retain, payload.to_vec()).await.expect("publish queued"),
        }
    }

    /// Publishes and waits for the whole acknowledgement flow: PUBACK for QoS 1, PUBREC then
    /// PUBCOMP (same packet id) for QoS 2. Returns the packet id (0 for QoS 0).
    async fn publish(&mut self, topic: &str, qos: u8, retain: bool, payload: &[u8]) -> u16 {
        self.send_publish(topic, qos, retain, payload).await;
        match qos {
            0 => 0,
            1 => self.wait(|e| if let Event::PubAck(id) = e { Some(*id) } else { None }).await,
            _ => {
                let rec = self
                    .wait(|e| match e {
                        Event::PubRec(id) => Some(*id),
                        Event::PubComp(id) => panic!("PUBCOMP {id} before PUBREC"),
                        _ => None,
                    })
                    .await;
                let comp = self.wait(|e| if let Event::PubComp(id) = e { Some(*id) } else { None }).await;
                assert_eq!(comp, rec, "PUBCOMP answers the PUBREC's packet id");
                assert_ne!(rec, 0);
                rec
            }
        }
    }
}

fn filter(path: &str, qos: u8) -> m5::Filter {
    m5::Filter::new(path, qos5(qos))
}

// ---------------------------------------------------------------------------------------------
// QoS

/// Every publish QoS against every subscription QoS: delivered once at the lower of the two,
/// topic and payload intact, both acknowledgement flows complete.
async fn qos_matrix(publisher_version: Version, subscriber_version: Version) {
    let broker = start().await;
    let mut sub = Client::connect(&broker, subscriber_version, "sub").await;
    for granted in 0..=2u8 {
        sub.subscribe(&format!("m/{granted}/#"), granted).await;
    }
    let mut publisher = Client::connect(&broker, publisher_version, "pub").await;
    for granted in 0..=2u8 {
        for sent in 0..=2u8 {
            let topic = format!("m/{granted}/p{sent}");
            let payload = format!("granted {granted} sent {sent} \u{e9}\0\u{1F600}");
            publisher.publish(&topic, sent, false, payload.as_bytes()).await;
            let got = sub.next_publish().await;
            assert_eq!(got.topic, topic);
            assert_eq!(got.payload, payload.as_bytes());
            assert_eq!(got.qos, granted.min(sent), "delivery QoS for {topic}");
            assert!(!got.retain && !got.dup, "{got:?}");
            if got.qos > 0 {
                assert_ne!(got.pkid, 0);
            }
            if got.qos == 2 {
                // The broker answers the subscriber's PUBREC with PUBREL for the same id.
                let rel = sub.wait(|e| if let Event::PubRel(id) = e { Some(*id) } else { None }).await;
                assert_eq!(rel, got.pkid);
            }
        }
    }
    // Nothing was delivered twice.
    publisher.publish("m/2/end", 0, false, b"end").await;
    assert_eq!(sub.next_publish().await.topic, "m/2/end");
}

#[tokio::test]
async fn qos_levels_v311_to_v311() {
    qos_matrix(Version::V4, Version::V4).await;
}

#[tokio::test]
async fn qos_levels_v5_to_v5() {
    qos_matrix(Version::V5, Version::V5).await;
}

#[tokio::test]
async fn qos_levels_v311_to_v5() {
    qos_matrix(Version::V4, Version::V5).await;
}

#[tokio::test]
async fn qos_levels_v5_to_v311() {
    qos_matrix(Version::V5, Version::V4).await;
}

// ---------------------------------------------------------------------------------------------
// Wildcards and `$` topics

async fn wildcards(version: Version) {
    let broker = start().await;
    let cases: [(&str, &[&str]); 7] = [
        ("sport/+/player", &["sport/tennis/player"]),
        ("sport/#", &["sport", "sport/tennis/player", "sport/tennis/player/ranking", "sport/x", "sport/"]),
        ("sport/+", &["sport/x", "sport/"]),
        ("+", &["sport", "other"]),
        ("+/+", &["sport/x", "sport/"]),
        ("+/tennis/#", &["sport/tennis/player", "sport/tennis/player/ranking"]),
        ("#", &["sport", "sport/tennis/player", "sport/tennis/player/ranking", "sport/x", "other", "sport/"]),
    ];
    let mut subscribers = Vec::new();
    for (i, (filter, _)) in cases.iter().enumerate() {
        let mut client = Client::connect(&broker, version, &format!("s{i}")).await;
        client.subscribe(filter, 1).await;
        client.subscribe("end/x/y", 1).await;
        subscribers.push(client);
    }
    let mut publisher = Client::connect(&broker, version, "pub").await;
    for topic in ["sport", "sport/tennis/player", "sport/tennis/player/ranking", "sport/x", "other", "sport/"] {
        publisher.publish(topic, 1, false, topic.as_bytes()).await;
    }
    publisher.publish("end/x/y", 1, false, b"end").await;
    for ((filter, expected), client) in cases.iter().zip(subscribers.iter_mut()) {
        let mut want: Vec<&str> = expected.to_vec();
        want.push("end/x/y");
        assert_eq!(client.topics_until("end/x/y").await, want, "deliveries for filter {filter}");
    }
}

#[tokio::test]
async fn wildcards_v311() {
    wildcards(Version::V4).await;
}

#[tokio::test]
async fn wildcards_v5() {
    wildcards(Version::V5).await;
}

/// A refused publish from a 3.1.1 client produces a notice on `$notice/{client}` (reason 135,
/// not authorized) that root wildcards do not match but an explicit subscription does; the
/// refused message reaches no one, not even a subscriber of its `$` topic.
#[tokio::test]
async fn dollar_topics_notice_and_root_wildcards() {
    let broker = start().await;
    let mut watcher = Client::connect(&broker, Version::V4, "watcher").await;
    for f in ["#", "+", "+/+", "+/pub4"] {
        watcher.subscribe(f, 1).await;
    }
    let mut watcher5 = Client::connect(&broker, Version::V5, "watcher5").await;
    watcher5.subscribe("#", 1).await;
    let mut dollar = Client::connect(&broker, Version::V4, "dollar").await;
    dollar.subscribe("$x", 1).await;
    dollar.subscribe("end", 1).await;

    let mut publisher = Client::connect(&broker, Version::V4, "pub4").await;
    publisher.subscribe("$notice/pub4", 1).await;
    publisher.subscribe("#", 1).await;
    let pkid = publisher.publish("$x", 1, false, b"refused").await;
    let notice = publisher.next_publish().await;
    assert_eq!(notice.topic, "$notice/pub4");
    let json: serde_json::Value = serde_json::from_slice(&notice.payload).expect("notice is JSON");
    assert_eq!(json["type"], "publish_refused");
    assert_eq!(json["topic"], "$x");
    assert_eq!(json["reason_code"], 135);
    assert_eq!(json["packet_id"], pkid);
    publisher.publish("end", 1, false, b"end").await;

    assert_eq!(watcher.next_publish().await.topic, "end", "`#`, `+`, `+/+` must not match `$` topics");
    assert_eq!(watcher5.next_publish().await.topic, "end", "`#` must not match `$` topics");
    assert_eq!(publisher.next_publish().await.topic, "end", "one copy of the notice, and `#` adds none");
    assert_eq!(dollar.next_publish().await.topic, "end", "the refused message was delivered");
}

/// A 5.0 client has no acknowledgement for a refused QoS 0 publish, so it gets a notice too.
#[tokio::test]
async fn refused_qos0_publish_from_v5_gets_a_notice() {
    let broker = start().await;
    let mut publisher = Client::connect(&broker, Version::V5, "pub5").await;
    publisher.subscribe("$notice/pub5", 1).await;
    publisher.publish("$x/y", 0, false, b"refused").await;
    let notice = publisher.next_publish().await;
    assert_eq!(notice.topic, "$notice/pub5");
    let json: serde_json::Value = serde_json::from_slice(&notice.payload).expect("notice is JSON");
    assert_eq!(json["reason_code"], 135);
    assert_eq!(json["topic"], "$x/y");
    assert_eq!(json["packet_id"], 0);
}

// ---------------------------------------------------------------------------------------------
// Overlapping subscriptions

#[tokio::test]
async fn overlapping_subscriptions_v311_one_copy_at_max_qos() {
    let broker = start().await;
    let mut sub = Client::connect(&broker, Version::V4, "sub").await;
    sub.subscribe("o/#", 0).await;
    sub.subscribe("o/+", 2).await;
    sub.subscribe("o/a", 1).await;
    let mut publisher = Client::connect(&broker, Version::V4, "pub").await;
    publisher.publish("o/a", 2, false, b"one").await;
    publisher.publish("o/b", 1, false, b"two").await;
    publisher.publish("o/end", 0, false, b"end").await;
    let got = sub.next_publish().await;
    assert_eq!((got.topic.as_str(), got.qos, &got.payload[..]), ("o/a", 2, &b"one"[..]));
    let got = sub.next_publish().await;
    assert_eq!(
        (got.topic.as_str(), got.qos),
        ("o/b", 1),
        "o/# (0) and o/+ (2) overlap: max 2, capped by the message's 1"
    );
    assert_eq!(sub.next_publish().await.topic, "o/end", "exactly one copy per message");
}

/// Checked with the raw client: rumqttc 0.24 misreads a PUBLISH carrying three or more
/// subscription identifiers (it counts each identifier's property byte twice).
#[tokio::test]
async fn overlapping_subscriptions_v5_one_copy_with_every_identifier() {
    let broker = start().await;
    let (mut sub, _) = Raw::connect(broker.tcp, Raw::connect_packet(ProtocolVersion::V5, "sub")).await;
    let subscriptions = [
        ("o/#", QoS::AtMostOnce, Some(1)),
        ("o/+", QoS::ExactlyOnce, Some(2)),
        ("o/a", QoS::AtLeastOnce, None),
        ("o/a/#", QoS::AtMostOnce, Some(300)),
    ];
    for (i, (f, qos, id)) in subscriptions.into_iter().enumerate() {
        // The packet identifier of the SUBACK is checked by `subscribe_with`.
        let packet_id = i as u16 + 1;
        assert_eq!(sub.subscribe_with(packet_id, id, &[(f, qos)]).await, [ReasonCode(qos as u8)]);
    }
    let mut publisher = Client::connect(&broker, Version::V5, "pub").await;
    publisher.publish("o/a", 2, false, b"one").await;
    publisher.publish("o/b", 1, false, b"two").await;
    publisher.publish("o/c/d", 2, false, b"three").await;
    publisher.publish("o/end/x", 0, false, b"end").await;

    let mut deliveries = Vec::new();
    loop {
        match sub.recv().await {
            Some(Packet::Publish(p)) => {
                match p.qos {
                    QoS::AtMostOnce => {}
                    QoS::AtLeastOnce => sub.send(Packet::PubAck(PubResponse::success(p.packet_id))).await,
                    QoS::ExactlyOnce => sub.send(Packet::PubRec(PubResponse::success(p.packet_id))).await,
                }
                let mut ids = p.properties.subscription_identifiers.clone();
                ids.sort();
                deliveries.push((p.topic.clone(), p.qos, ids, p.payload.clone()));
                if p.topic == "o/end/x" {
                    break;
                }
            }
            Some(Packet::PubRel(rel)) => sub.send(Packet::PubComp(PubResponse::success(rel.packet_id))).await,
            other => panic!("expected PUBLISH, got {other:?}"),
        }
    }
    let expected = [
        ("o/a", QoS::ExactlyOnce, vec![1, 2, 300], &b"one"[..]),
        ("o/b", QoS::AtLeastOnce, vec![1, 2], &b"two"[..]),
        ("o/c/d", QoS::AtMostOnce, vec![1], &b"three"[..]),
        ("o/end/x", QoS::AtMostOnce, vec![1], &b"end"[..]),
    ];
    let expected: Vec<_> =
        expected.into_iter().map(|(t, q, ids, p)| (t.to_string(), q, ids, bytes::Bytes::from_static(p))).collect();
    assert_eq!(deliveries, expected, "one copy each, with every matching identifier");
}

// ---------------------------------------------------------------------------------------------
// 5.0 subscription options

#[tokio::test]
async fn no_local_hides_own_messages_only() {
    let broker = start().await;
    let mut me = Client::connect(&broker, Version::V5, "me").await;
    let mut nl = filter("nl/t", 1);
    nl.nolocal = true;
    me.subscribe_v5(nl, None).await;
    me.subscribe_v5(filter("loc/t", 1), None).await;
    let mut other = Client::connect(&broker, Version::V5, "other").await;
    other.subscribe("nl/t", 1).await;

    me.publish("nl/t", 1, false, b"mine").await;
    me.publish("loc/t", 1, false, b"mine too").await;
    let got = me.next_publish().await;
    assert_eq!(got.topic, "loc/t", "No Local delivered the client's own message back: {got:?}");
    assert_eq!(other.next_publish().await.payload, b"mine", "others still get it");

    other.publish("nl/t", 1, false, b"theirs").await;
    let got = me.next_publish().await;
    assert_eq!((got.topic.as_str(), &got.payload[..]), ("nl/t", &b"theirs"[..]), "No Local only skips own messages");
}

#[tokio::test]
async fn retain_as_published_keeps_or_clears_the_flag_on_live_forwarding() {
    let broker = start().await;
    let mut keep = Client::connect(&broker, Version::V5, "keep").await;
    let mut rap = filter("rap/#", 1);
    rap.preserve_retain = true;
    keep.subscribe_v5(rap, None).await;
    let mut clear = Client::connect(&broker, Version::V5, "clear").await;
    clear.subscribe_v5(filter("rap/#", 1), None).await;
    let mut old = Client::connect(&broker, Version::V4, "old").await;
    old.subscribe("rap/#", 1).await;

    let mut publisher = Client::connect(&broker, Version::V5, "pub").await;
    publisher.publish("rap/t", 1, true, b"retained").await;
    publisher.publish("rap/u", 1, false, b"plain").await;

    let got = keep.next_publish().await;
    assert_eq!((got.topic.as_str(), got.retain), ("rap/t", true), "Retain As Published keeps the flag");
    assert!(!keep.next_publish().await.retain, "a non-retained message stays non-retained");
    assert!(!clear.next_publish().await.retain, "without Retain As Published the flag is cleared");
    assert!(!old.next_publish().await.retain, "3.1.1 clears the flag on established subscriptions");

    // A new subscription gets the stored message with the flag set, whatever the option says.
    let mut late = Client::connect(&broker, Version::V5, "late").await;
    late.subscribe_v5(filter("rap/#", 1), None).await;
    let got = late.next_publish().await;
    assert_eq!((got.topic.as_str(), got.retain, &got.payload[..]), ("rap/t", true, &b"retained"[..]));
}

#[tokio::test]
async fn retain_handling_0_1_2() {
    let broker = start().await;
    let mut publisher = Client::connect(&broker, Version::V5, "pub").await;
    publisher.publish("rh/t", 1, true, b"stored").await;
    let rule = |rule: m5::RetainForwardRule| {
        let mut f = filter("rh/t", 1);
        f.retain_forward_rule = rule;
        f
    };

    // 0: on every subscribe, new or not.
    let mut always = Client::connect(&broker, Version::V5, "always").await;
    for _ in 0..2 {
        always.subscribe_v5(rule(m5::RetainForwardRule::OnEverySubscribe), None).await;
        let got = always.next_publish().await;
        assert_eq!((&got.payload[..], got.retain), (&b"stored"[..], true));
    }

    // 1: only when the subscription is new.
    let mut if_new = Client::connect(&broker, Version::V5, "if_new").await;
    if_new.subscribe_v5(rule(m5::RetainForwardRule::OnNewSubscribe), None).await;
    let got = if_new.next_publish().await;
    assert_eq!((&got.payload[..], got.retain), (&b"stored"[..], true));
    if_new.subscribe_v5(rule(m5::RetainForwardRule::OnNewSubscribe), None).await;

    // 2: never.
    let mut never = Client::connect(&broker, Version::V5, "never").await;
    never.subscribe_v5(rule(m5::RetainForwardRule::Never), None).await;

    publisher.publish("rh/t", 1, false, b"marker").await;
    for (name, client) in
        [("1 on an existing subscription", &mut if_new), ("2", &mut never), ("0 (no extra copy)", &mut always)]
    {
        let got = client.next_publish().await;
        assert_eq!((&got.payload[..], got.retain), (&b"marker"[..], false), "retain handling {name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Shared subscriptions

#[tokio::test]
async fn shared_subscription_gives_each_message_to_exactly_one_member() {
    let broker = start().await;
    let versions = [Version::V4, Version::V5, Version::V4];
    let mut members = Vec::new();
    for (i, version) in versions.into_iter().enumerate() {
        let mut member = Client::connect(&broker, version, &format!("member{i}")).await;
        member.subscribe("$share/g/jobs/+", 1).await;
        member.subscribe("jobs-end", 1).await;
        members.push(member);
    }
    let mut plain = Client::connect(&broker, Version::V5, "plain").await;
    plain.subscribe("jobs/+", 1).await;
    plain.subscribe("jobs-end", 1).await;

    let mut publisher = Client::connect(&broker, Version::V5, "pub").await;
    const N: usize = 30;
    for i in 0..N {
        publisher.publish(&format!("jobs/{}", i % 4), 1, false, i.to_string().as_bytes()).await;
    }
    publisher.publish("jobs-end", 1, false, b"end").await;

    let mut all = Vec::new();
    for member in &mut members {
        let mut mine = Vec::new();
        loop {
            let got = member.next_publish().await;
            if got.topic == "jobs-end" {
                break;
            }
            mine.push(String::from_utf8(got.payload).expect("payload").parse::<usize>().expect("number"));
        }
        assert!(!mine.is_empty(), "every member takes a share: {mine:?}");
        all.extend(mine);
    }
    all.sort();
    assert_eq!(all, (0..N).collect::<Vec<_>>(), "each message to exactly one member");

    let mut seen = Vec::new();
    loop {
        let got = plain.next_publish().await;
        if got.topic == "jobs-end" {
            break;
        }
        seen.push(String::from_utf8(got.payload).expect("payload").parse::<usize>().expect("number"));
    }
    assert_eq!(seen, (0..N).collect::<Vec<_>>(), "a normal subscription gets every message");
}

#[tokio::test]
async fn shared_subscription_gets_no_retained_messages() {
    let broker = start().await;
    let mut publisher = Client::connect(&broker, Version::V5, "pub").await;
    publisher.publish("sr/t", 1, true, b"stored").await;
    for version in [Version::V4, Version::V5] {
        let mut member = Client::connect(&broker, version, &format!("member-{version:?}")).await;
        member.subscribe("$share/g/sr/#", 1).await;
        member.subscribe("sr-end", 1).await;
        publisher.publish("sr-end", 1, false, b"end").await;
        assert_eq!(
            member.next_publish().await.topic,
            "sr-end",
            "{version:?} shared subscriber got the retained message"
        );
    }
    // The message is stored: a normal subscription does get it.
    let mut plain = Client::connect(&broker, Version::V5, "plain").await;
    plain.subscribe("sr/#", 1).await;
    let got = plain.next_publish().await;
    assert_eq!((got.topic.as_str(), got.retain), ("sr/t", true));
}

// ---------------------------------------------------------------------------------------------
// Retained messages

async fn retained_lifecycle(version: Version) {
    let broker = start().await;
    let mut publisher = Client::connect(&broker, version, "pub").await;
    publisher.publish("ret/a", 1, true, b"first").await;

    let mut s1 = Client::connect(&broker, version, "s1").await;
    s1.subscribe("ret/#", 1).await;
    let got = s1.next_publish().await;
    assert_eq!((got.topic.as_str(), &got.payload[..], got.retain, got.qos), ("ret/a", &b"first"[..], true, 1));

    publisher.publish("ret/a", 2, true, b"second").await;
    let mut s2 = Client::connect(&broker, version, "s2").await;
    s2.subscribe("ret/a", 2).await;
    let got = s2.next_publish().await;
    assert_eq!((&got.payload[..], got.retain, got.qos), (&b"second"[..], true, 2), "replaced by the newer message");
    publisher.publish("ret/a", 0, false, b"marker").await;
    assert_eq!(s2.next_publish().await.payload, b"marker", "only the latest retained message is kept");

    // An empty retained publish deletes it.
    publisher.publish("ret/a", 1, true, b"").await;
    let mut s3 = Client::connect(&broker, version, "s3").await;
    s3.subscribe("ret/#", 1).await;
    publisher.publish("ret/a", 1, false, b"marker").await;
    let got = s3.next_publish().await;
    assert_eq!((&got.payload[..], got.retain), (&b"marker"[..], false), "deleted retained message was sent");
}

#[tokio::test]
async fn retained_messages_v311() {
    retained_lifecycle(Version::V4).await;
}

#[tokio::test]
async fn retained_messages_v5() {
    retained_lifecycle(Version::V5).await;
}

// ---------------------------------------------------------------------------------------------
// Unsubscribe

async fn unsubscribe_stops_delivery(version: Version) {
    let broker = start().await;
    let mut sub = Client::connect(&broker, version, "sub").await;
    sub.subscribe("u/a", 1).await;
    sub.subscribe("u/b", 1).await;
    let mut publisher = Client::connect(&broker, version, "pub").await;
    publisher.publish("u/a", 1, false, b"before").await;
    assert_eq!(sub.next_publish().await.topic, "u/a");
    sub.unsubscribe("u/a").await;
    publisher.publish("u/a", 1, false, b"after").await;
    publisher.publish("u/b", 1, false, b"sentinel").await;
    let got = sub.next_publish().await;
    assert_eq!((got.topic.as_str(), &got.payload[..]), ("u/b", &b"sentinel"[..]), "delivered after UNSUBSCRIBE");
}

#[tokio::test]
async fn unsubscribe_stops_delivery_v311() {
    unsubscribe_stops_delivery(Version::V4).await;
}

#[tokio::test]
async fn unsubscribe_stops_delivery_v5() {
    unsubscribe_stops_delivery(Version::V5).await;
}

#[tokio::test]
async fn unsuback_v5_reports_missing_subscriptions() {
    let broker = start().await;
    let (mut raw, _) = Raw::connect(broker.tcp, Raw::connect_packet(ProtocolVersion::V5, "raw")).await;
    assert_eq!(
        raw.subscribe(1, &[("u/a", QoS::AtLeastOnce), ("$share/g/u/b", QoS::AtLeastOnce)]).await,
        [ReasonCode::GRANTED_QOS_1, ReasonCode::GRANTED_QOS_1]
    );
    let filters = ["u/a", "u/never", "$share/g/u/b", "u/a", "$share/h/u/b"].map(String::from).to_vec();
    raw.send(Packet::Unsubscribe(Unsubscribe { packet_id: 2, user_properties: vec![], filters })).await;
    match raw.recv().await {
        Some(Packet::UnsubAck(unsuback)) => {
            assert_eq!(unsuback.packet_id, 2);
            assert_eq!(
                unsuback.reasons,
                [
                    ReasonCode::SUCCESS,
                    ReasonCode::NO_SUBSCRIPTION_EXISTED,
                    ReasonCode::SUCCESS,
                    ReasonCode::NO_SUBSCRIPTION_EXISTED,
                    ReasonCode::NO_SUBSCRIPTION_EXISTED,
                ]
            );
        }
        other => panic!("expected UNSUBACK, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Refused publishes

#[tokio::test]
async fn refused_publish_v5_is_acknowledged_with_0x87_and_not_delivered() {
    let broker = start().await;
    let mut dollar = Client::connect(&broker, Version::V5, "dollar").await;
    dollar.subscribe("$reserved", 2).await;
    dollar.subscribe("end", 1).await;

    let (mut raw, _) = Raw::connect(broker.tcp, Raw::connect_packet(ProtocolVersion::V5, "raw")).await;
    assert_eq!(
        raw.subscribe(1, &[("$notice/raw", QoS::AtLeastOnce), ("end", QoS::AtMostOnce)]).await,
        [ReasonCode::GRANTED_QOS_1, ReasonCode::GRANTED_QOS_0]
    );
    raw.send(publish_packet("$reserved", QoS::AtLeastOnce, 7, b"no")).await;
    match raw.recv().await {
        Some(Packet::PubAck(ack)) => assert_eq!((ack.packet_id, ack.reason), (7, ReasonCode::NOT_AUTHORIZED)),
        other => panic!("expected PUBACK, got {other:?}"),
    }
    raw.send(publish_packet("$reserved", QoS::ExactlyOnce, 8, b"no")).await;
    match raw.recv().await {
        Some(Packet::PubRec(rec)) => assert_eq!((rec.packet_id, rec.reason), (8, ReasonCode::NOT_AUTHORIZED)),
        other => panic!("expected PUBREC, got {other:?}"),
    }
    // The client learnt the reason from the acknowledgement: no notice for it.
    raw.send(publish_packet("end", QoS::AtMostOnce, 0, b"end")).await;
    match raw.recv().await {
        Some(Packet::Publish(p)) => assert_eq!(p.topic, "end", "expected the sentinel, got {p:?}"),
        other => panic!("expected the sentinel, got {other:?}"),
    }
    assert_eq!(dollar.next_publish().await.topic, "end", "the refused message was delivered");
}

// ---------------------------------------------------------------------------------------------
// Slow subscribers

/// Two subscribers stop reading (one never acknowledges QoS 1, one leaves QoS 0 in its socket):
/// the publisher still gets every PUBACK and a reading subscriber still gets every message,
/// while the stalled sessions only hold a bounded number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_subscribers_do_not_hold_up_others() {
    const MAX_QUEUED: usize = 50;
    const MESSAGES: usize = 2000;
    const BATCH: usize = 40;
    let broker = start_with(|config| config.mqtt.max_queued_messages = MAX_QUEUED as u32).await;

    // Stalled at QoS 1: reads its SUBACK, then nothing until the end.
    let (mut stalled, _) = Raw::connect(broker.tcp, Raw::connect_packet(ProtocolVersion::V5, "stalled")).await;
    stalled.subscribe(1, &[("burst", QoS::AtLeastOnce)]).await;
    // Stalled at QoS 0 behind a tiny receive buffer: never reads again.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("receive buffer");
    let mut blocked = within("connect", socket.connect(broker.tcp)).await.expect("connect");
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut out = bytes::BytesMut::new();
        let connect = Raw::connect_packet(ProtocolVersion::V311, "blocked");
        tallymq::codec::encode(&Packet::Connect(Box::new(connect)), ProtocolVersion::V311, &mut out).expect("encode");
        blocked.write_all(&out).await.expect("write");
        let mut connack = [0u8; 4];
        within("CONNACK", blocked.read_exact(&mut connack)).await.expect("read");
        assert_eq!(connack, [0x20, 2, 0, 0]);
        let subscribe = Subscribe {
            packet_id: 1,
            subscription_identifier: None,
            user_properties: vec![],
            filters: vec![("burst".into(), SubscriptionOptions::default())],
        };
        out.clear();
        tallymq::codec::encode(&Packet::Subscribe(subscribe), ProtocolVersion::V311, &mut out).expect("encode");
        blocked.write_all(&out).await.expect("write");
        let mut suback = [0u8; 5];
        within("SUBACK", blocked.read_exact(&mut suback)).await.expect("read");
        assert_eq!(suback, [0x90, 3, 0, 1, 0]);
    }

    let mut fast = Client::connect(&broker, Version::V4, "fast").await;
    fast.subscribe("burst", 1).await;
    let (publisher, _) = V5::connect(V5::options(broker.tcp, "pub")).await;
    let mut publisher = Client { inner: Inner::V5(publisher), pending: VecDeque::new() };

    let payload = |i: usize| {
        let mut p = format!("{i:08}").into_bytes();
        p.resize(1024, b'.');
        p
    };
    let mut acked = 0;
    for batch in 0..MESSAGES / BATCH {
        for i in batch * BATCH..(batch + 1) * BATCH {
            publisher.send_publish("burst", 1, false, &payload(i)).await;
        }
        for i in batch * BATCH..(batch + 1) * BATCH {
            let got = fast.next_publish().await;
            assert_eq!(&got.payload[..8], format!("{i:08}").as_bytes(), "fast subscriber missed or reordered");
            assert_eq!(got.payload.len(), 1024);
        }
        while acked < (batch + 1) * BATCH {
            publisher.wait(|e| matches!(e, Event::PubAck(_)).then_some(())).await;
            acked += 1;
        }
    }
    assert_eq!(acked, MESSAGES);

    // The stalled QoS 1 subscriber got a bounded share: its in-flight window plus its queue.
    // It acknowledges what it has; two ping round trips make sure the broker has processed
    // those acknowledgements and refilled the window, so the queue has room for a sentinel.
    let max_inflight = usize::from(broker.server.broker.config.mqtt.max_inflight);
    let mut received = Vec::new();
    let mut pings = 0;
    stalled.send(Packet::PingReq).await;
    loop {
        match stalled.recv().await {
            Some(Packet::Publish(p)) => {
                stalled.send(Packet::PubAck(PubResponse::success(p.packet_id))).await;
                if &p.payload[..] == b"sentinel" {
                    break;
                }
                received.push(String::from_utf8_lossy(&p.payload[..8]).parse::<usize>().expect("number"));
            }
            Some(Packet::PingResp) => {
                pings += 1;
                if pings == 1 {
                    stalled.send(Packet::PingReq).await;
                } else {
                    publisher.publish("burst", 1, false, b"sentinel").await;
                }
            }
            other => panic!("expected PUBLISH, got {other:?}"),
        }
    }
    assert!(!received.is_empty());
    assert!(received.len() <= max_inflight + MAX_QUEUED, "{} messages held for a stalled client", received.len());
    assert!(received.windows(2).all(|w| w[0] < w[1]), "in order, without duplicates: {received:?}");
    drop(blocked);
}
