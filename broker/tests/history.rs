//! `$history/query`: request/reply over MQTT 5.0 (response topic, correlation data) and 3.1.1
//! (`$history/reply/{client_id}`), paging, binary payloads, errors, the page cap, and the
//! `seq` user property on live 5.0 deliveries matching the history.
mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use common::*;
use serde_json::{json, Value};
use tallymq::codec::{ProtocolVersion, Publish, QoS, ReasonCode};

const TOPIC: &str = "chat/h/msg";

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

async fn connect(broker: &TestBroker, version: ProtocolVersion, id: &str) -> Raw {
    connect_ok(broker, Raw::connect_packet(version, id)).await.0
}

async fn publish_ok(client: &mut Raw, publish: Publish) {
    let ack = client.publish_acked(publish).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS, "PUBACK: {ack:?}");
}

/// The `seq` of every message in a history page.
fn seqs(page: &Value) -> Vec<u64> {
    page["messages"].as_array().expect("messages").iter().map(|m| m["seq"].as_u64().expect("seq")).collect()
}

fn payloads(page: &Value) -> Vec<String> {
    page["messages"].as_array().expect("messages").iter().map(|m| m["payload"].as_str().expect("text payload").to_string()).collect()
}

fn user_property<'a>(publish: &'a Publish, name: &str) -> Vec<&'a str> {
    publish.properties.user_properties.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect()
}

#[tokio::test]
async fn request_response_pages_oldest_first() {
    let broker = start().await;
    let mut publisher = connect(&broker, ProtocolVersion::V5, "hist-pub").await;
    let before = now_ms();
    for i in 1..=25u16 {
        publish_ok(&mut publisher, publish(TOPIC, QoS::AtLeastOnce, i, format!("m{i}").as_bytes())).await;
    }
    let after_publishing = now_ms();

    // Someone subscribed to everything sees neither the query nor the reply.
    let mut snoop = connect(&broker, ProtocolVersion::V5, "hist-snoop").await;
    snoop.subscribe_granted(1, "#", QoS::AtLeastOnce).await;
    snoop.subscribe_granted(2, "$history/#", QoS::AtLeastOnce).await;

    let mut reader = connect(&broker, ProtocolVersion::V5, "hist-reader").await;
    let mut pages = Vec::new();
    let mut after = 0;
    for (n, expected_more) in [(1u16, true), (2, true), (3, false)] {
        let query = json!({ "topic": TOPIC, "after": after, "limit": 10 }).to_string();
        let correlation = format!("page-{n}");
        let reply = reader.history_request(n, query.as_bytes(), Some("answers/hist-reader"), Some(correlation.as_bytes())).await;
        assert_eq!(reply.topic, "answers/hist-reader");
        assert!(!reply.retain);
        assert_eq!(reply.properties.correlation_data.as_deref(), Some(correlation.as_bytes()));
        assert_eq!(reply.properties.content_type.as_deref(), Some("application/json"));
        assert_eq!(reply.properties.user_properties, [], "a reply is not a stored message: no seq");
        let page: Value = serde_json::from_slice(&reply.payload).expect("JSON reply");
        assert_eq!(page["topic"], TOPIC);
        assert_eq!(page["after"], after);
        assert_eq!(page["more"], expected_more, "page {n}: {page}");
        let last = seqs(&page).last().copied().expect("non-empty page");
        assert_eq!(page["next_after"], last);
        after = last;
        pages.push(page);
    }
    assert_eq!(pages.iter().map(|p| seqs(p).len()).collect::<Vec<_>>(), [10, 10, 5]);
    let all: Vec<&Value> = pages.iter().flat_map(|p| p["messages"].as_array().unwrap()).collect();
    let mut previous_timestamp = before;
    let mut hashes = std::collections::HashSet::new();
    for (i, message) in all.iter().enumerate() {
        let n = i as u64 + 1;
        assert_eq!(message["seq"], n);
        assert_eq!(message["sender"], "hist-pub");
        assert_eq!(message["qos"], 1);
        assert_eq!(message["payload"], format!("m{n}"));
        assert_eq!(message["payload_base64"], base64::engine::general_purpose::STANDARD.encode(format!("m{n}")));
        assert_eq!(message["user_properties"], json!([]));
        let timestamp = message["timestamp_ms"].as_u64().expect("timestamp_ms");
        assert!((previous_timestamp..=after_publishing).contains(&timestamp), "timestamp of {n}: {timestamp}");
        previous_timestamp = timestamp;
        let hash = message["hash"].as_str().expect("hash");
        assert!(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()), "hash of {n}: {hash}");
        assert!(hashes.insert(hash.to_string()), "hash of {n} repeats");
    }

    // Past the end: an empty page that says so.
    let empty = reader.history(9, TOPIC, 25, Some(10)).await;
    assert_eq!(empty, json!({ "topic": TOPIC, "after": 25, "messages": [], "next_after": 25, "more": false }));
    // `more` means "the page is full": a full last page reports more, the next is empty.
    let full_last = reader.history(10, TOPIC, 20, Some(5)).await;
    assert_eq!((seqs(&full_last), &full_last["more"], &full_last["next_after"]), (vec![21, 22, 23, 24, 25], &json!(true), &json!(25)));
    // A topic nobody published to, and a query that is not stored as a message itself.
    let unknown = reader.history(11, "chat/nobody/msg", 0, None).await;
    assert_eq!(unknown, json!({ "topic": "chat/nobody/msg", "after": 0, "messages": [], "next_after": 0, "more": false }));
    let queries = reader.history(12, "$history/query", 0, None).await;
    assert_eq!(queries["messages"], json!([]));

    publish_ok(&mut publisher, publish("chat/h/sentinel", QoS::AtLeastOnce, 100, b"sentinel")).await;
    let seen = snoop.next_publish().await;
    assert_eq!((seen.topic.as_str(), &seen.payload[..]), ("chat/h/sentinel", &b"sentinel"[..]));
    snoop.puback(seen.packet_id).await;
    snoop.nothing_pending().await;
    reader.nothing_pending().await;
}

#[tokio::test]
async fn binary_payloads_come_back_as_base64_only() {
    let broker = start().await;
    let mut client = connect(&broker, ProtocolVersion::V5, "bin").await;
    let binary = [0xff, 0x00, 0xfe, 0x80, 0x41];
    publish_ok(&mut client, publish(TOPIC, QoS::AtLeastOnce, 1, &binary)).await;
    publish_ok(&mut client, publish(TOPIC, QoS::AtLeastOnce, 2, "grüße".as_bytes())).await;
    publish_ok(&mut client, publish(TOPIC, QoS::AtLeastOnce, 3, b"")).await;

    let page = client.history(4, TOPIC, 0, None).await;
    let messages = page["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[0]["payload"], Value::Null);
    assert_eq!(messages[0]["payload_base64"], "/wD+gEE=");
    let decoded = base64::engine::general_purpose::STANDARD.decode(messages[0]["payload_base64"].as_str().unwrap()).unwrap();
    assert_eq!(decoded, binary);
    assert_eq!(messages[1]["payload"], "grüße");
    assert_eq!(messages[1]["payload_base64"], base64::engine::general_purpose::STANDARD.encode("grüße"));
    assert_eq!(messages[2]["payload"], "");
    assert_eq!(messages[2]["payload_base64"], "");
}

#[tokio::test]
async fn v311_reply_arrives_on_its_reply_topic_and_nowhere_else() {
    let broker = start().await;
    let mut snoops = Vec::new();
    for (id, filter) in [("snoop-all", "#"), ("snoop-history", "$history/#"), ("snoop-reply", "$history/reply/asker"), ("snoop-plus", "$history/+/+")] {
        let mut snoop = connect(&broker, ProtocolVersion::V311, id).await;
        snoop.subscribe_granted(1, filter, QoS::AtLeastOnce).await;
        snoops.push(snoop);
    }
    let mut asker = connect(&broker, ProtocolVersion::V311, "asker").await;
    for i in 1..=3u16 {
        publish_ok(&mut asker, publish("chat/v4/msg", QoS::AtLeastOnce, i, format!("v4-{i}").as_bytes())).await;
    }

    // QoS 1 query without subscribing to anything.
    let query = json!({ "topic": "chat/v4/msg", "after": 1 }).to_string();
    let reply = asker.history_request(4, query.as_bytes(), None, None).await;
    assert_eq!(reply.topic, "$history/reply/asker");
    let page: Value = serde_json::from_slice(&reply.payload).unwrap();
    assert_eq!((seqs(&page), payloads(&page)), (vec![2, 3], vec!["v4-2".to_string(), "v4-3".to_string()]));
    assert_eq!(page["more"], false);

    // A QoS 0 query is answered too (at QoS 1).
    asker.send(publish_packet("$history/query", QoS::AtMostOnce, 0, json!({ "topic": "chat/v4/msg" }).to_string().as_bytes())).await;
    let reply = asker.next_publish().await;
    assert_eq!((reply.topic.as_str(), reply.qos), ("$history/reply/asker", QoS::AtLeastOnce));
    asker.puback(reply.packet_id).await;
    let page: Value = serde_json::from_slice(&reply.payload).unwrap();
    assert_eq!(seqs(&page), [1, 2, 3]);

    publish_ok(&mut asker, publish("chat/v4/sentinel", QoS::AtLeastOnce, 5, b"sentinel")).await;
    asker.nothing_pending().await;
    // Only "#" matches the chat messages; "$" topics are not matched by "#" and the replies
    // were never routed.
    let all = &mut snoops[0];
    for expected in ["v4-1", "v4-2", "v4-3", "sentinel"] {
        let seen = all.next_publish().await;
        assert_eq!(String::from_utf8_lossy(&seen.payload), expected, "snoop on # got {seen:?}");
        all.puback(seen.packet_id).await;
    }
    for snoop in &mut snoops {
        snoop.nothing_pending().await;
    }
}

#[tokio::test]
async fn invalid_queries_get_an_error_reply() {
    let broker = start().await;
    let mut client = connect(&broker, ProtocolVersion::V5, "bad-asker").await;
    publish_ok(&mut client, publish(TOPIC, QoS::AtLeastOnce, 1, b"kept")).await;
    let cases: [(&[u8], &str); 8] = [
        (b"not json", "invalid history query: "),
        (b"", "invalid history query: "),
        (br#"{"after": 3}"#, "invalid history query: missing field `topic`"),
        (br#"{"topic": "chat/h/msg", "limit": -1}"#, "invalid history query: "),
        (br#"{"topic": "chat/h/msg", "from": 2}"#, "invalid history query: unknown field `from`"),
        (br#"{"topic": "chat/+/msg"}"#, "history is read per topic, without wildcards"),
        (br##"{"topic": "chat/#"}"##, "history is read per topic, without wildcards"),
        (br#"{"topic": ""}"#, "history is read per topic, without wildcards"),
    ];
    for (n, (query, expected)) in cases.iter().enumerate() {
        let packet_id = n as u16 + 2;
        let correlation = [packet_id as u8];
        let reply = client.history_request(packet_id, query, Some("answers/bad"), Some(&correlation)).await;
        assert_eq!(reply.topic, "answers/bad");
        assert_eq!(reply.properties.correlation_data.as_deref(), Some(&correlation[..]));
        assert_eq!(reply.properties.content_type.as_deref(), Some("application/json"));
        let body: Value = serde_json::from_slice(&reply.payload).expect("JSON error reply");
        let object = body.as_object().expect("an object");
        assert_eq!(object.keys().collect::<Vec<_>>(), ["error"], "{body}");
        let error = body["error"].as_str().expect("error text");
        assert!(error.starts_with(expected), "query {:?}: {error}", String::from_utf8_lossy(query));
    }
    // The valid topic is still readable and unaffected.
    let page = client.history(20, TOPIC, 0, None).await;
    assert_eq!(payloads(&page), ["kept"]);
}

/// Topic names cannot contain U+0000, and the store separates a topic from its sequence
/// numbers with a 0 byte: a queried name with NULs must not reach into another topic's log.
#[tokio::test]
async fn a_name_with_nul_does_not_read_another_topics_history() {
    let broker = start().await;
    let mut client = connect(&broker, ProtocolVersion::V5, "nul-asker").await;
    for i in 1..=3u16 {
        publish_ok(&mut client, publish("chat/x", QoS::AtLeastOnce, i, format!("x{i}").as_bytes())).await;
    }
    // "chat/x" and seven NULs: its key range covers "chat/x" sequence numbers 1..=255.
    for (n, topic) in ["chat/x\0\0\0\0\0\0\0", "chat/x\0", "chat/x\0\0"].into_iter().enumerate() {
        let query = json!({ "topic": topic }).to_string();
        let reply = client.history_request(10 + n as u16, query.as_bytes(), Some("answers/nul"), None).await;
        let body: Value = serde_json::from_slice(&reply.payload).unwrap();
        assert_eq!(body, json!({ "error": "topic names cannot contain U+0000" }), "{topic:?}");
    }
    assert_eq!(payloads(&client.history(20, "chat/x", 0, None).await), ["x1", "x2", "x3"]);
}

#[tokio::test]
async fn history_max_page_caps_every_page() {
    let broker = start_with(|config| config.storage.history_max_page = 3).await;
    let mut client = connect(&broker, ProtocolVersion::V5, "capped").await;
    for i in 1..=5u16 {
        publish_ok(&mut client, publish(TOPIC, QoS::AtLeastOnce, i, format!("c{i}").as_bytes())).await;
    }
    let cases = [
        (0, Some(100), vec![1, 2, 3], true),
        (0, None, vec![1, 2, 3], true),
        (0, Some(2), vec![1, 2], true),
        (0, Some(0), vec![1], true),
        (3, Some(100), vec![4, 5], false),
        (2, None, vec![3, 4, 5], true),
        (5, None, vec![], false),
    ];
    for (n, (after, limit, expected, more)) in cases.into_iter().enumerate() {
        let page = client.history(10 + n as u16, TOPIC, after, limit).await;
        assert_eq!(seqs(&page), expected, "after {after}, limit {limit:?}");
        assert_eq!(page["more"], more, "after {after}, limit {limit:?}: {page}");
        assert_eq!(page["next_after"], expected.last().copied().unwrap_or(after));
    }
}

#[tokio::test]
async fn live_seq_property_matches_history() {
    let broker = start().await;
    let mut subscriber = connect(&broker, ProtocolVersion::V5, "seq-sub").await;
    subscriber.subscribe_granted(1, "chat/+/live", QoS::AtLeastOnce).await;
    let mut v4_subscriber = connect(&broker, ProtocolVersion::V311, "seq-sub-v4").await;
    v4_subscriber.subscribe_granted(1, "chat/+/live", QoS::AtLeastOnce).await;
    let mut publisher = connect(&broker, ProtocolVersion::V5, "seq-pub").await;

    let sent = [("chat/s/live", "s1"), ("chat/t/live", "t1"), ("chat/s/live", "s2"), ("chat/s/live", "s3"), ("chat/t/live", "t2")];
    for (i, (topic, payload)) in sent.iter().enumerate() {
        let qos = if i % 2 == 0 { QoS::AtLeastOnce } else { QoS::ExactlyOnce };
        if qos == QoS::AtLeastOnce {
            publish_ok(&mut publisher, publish(topic, qos, i as u16 + 1, payload.as_bytes())).await;
        } else {
            publisher.send(publish_packet(topic, qos, i as u16 + 1, payload.as_bytes())).await;
            match publisher.next().await {
                tallymq::codec::Packet::PubRec(rec) => assert_eq!(rec.reason, ReasonCode::SUCCESS),
                other => panic!("expected PUBREC, got {other:?}"),
            }
            publisher.send(tallymq::codec::Packet::PubRel(tallymq::codec::PubResponse::success(i as u16 + 1))).await;
            assert!(matches!(publisher.next().await, tallymq::codec::Packet::PubComp(_)));
        }
    }
    let mut live = Vec::new();
    for _ in 0..sent.len() {
        let delivery = subscriber.next_publish().await;
        subscriber.puback(delivery.packet_id).await;
        let seq = user_property(&delivery, "seq");
        assert_eq!(seq.len(), 1, "exactly one seq property: {delivery:?}");
        live.push((delivery.topic.clone(), String::from_utf8(delivery.payload.to_vec()).unwrap(), seq[0].parse::<u64>().unwrap()));
    }
    subscriber.nothing_pending().await;
    assert_eq!(
        live,
        [
            ("chat/s/live".to_string(), "s1".to_string(), 1),
            ("chat/t/live".to_string(), "t1".to_string(), 1),
            ("chat/s/live".to_string(), "s2".to_string(), 2),
            ("chat/s/live".to_string(), "s3".to_string(), 3),
            ("chat/t/live".to_string(), "t2".to_string(), 2),
        ]
    );
    for topic in ["chat/s/live", "chat/t/live"] {
        let page = publisher.history(50, topic, 0, None).await;
        let from_history: Vec<(String, u64)> =
            page["messages"].as_array().unwrap().iter().map(|m| (m["payload"].as_str().unwrap().to_string(), m["seq"].as_u64().unwrap())).collect();
        let from_live: Vec<(String, u64)> = live.iter().filter(|(t, _, _)| t == topic).map(|(_, p, s)| (p.clone(), *s)).collect();
        assert_eq!(from_history, from_live, "{topic}");
    }
    // 3.1.1 has no properties: the same messages, in the same order.
    for (_, payload) in sent {
        let delivery = v4_subscriber.next_publish().await;
        assert_eq!(delivery.payload, payload.as_bytes());
        v4_subscriber.puback(delivery.packet_id).await;
    }
    v4_subscriber.nothing_pending().await;
}
