//! Every committed fuzz seed (`fuzz/corpus/<target>/`) through the fuzz targets' own checks
//! (`fuzz/harness.rs`), so the suite catches regressions on them on stable Rust, without
//! cargo-fuzz.
//!
//! The seeds named here are generated from the codec's packet model, not typed in; after
//! changing the generator, rewrite them with
//!
//! ```sh
//! TALLYMQ_WRITE_FUZZ_SEEDS=1 cargo test -p tallymq --test fuzz_seeds generated_seeds
//! ```
//!
//! Other files in the corpus (inputs the fuzzer found, kept as regression seeds) are run too
//! and left alone by the rewrite.

#[path = "../../fuzz/harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use tallymq::codec::*;

const V311: ProtocolVersion = ProtocolVersion::V311;
const V5: ProtocolVersion = ProtocolVersion::V5;

/// The committed corpus must stay small enough to review and to run in the suite.
const MAX_CORPUS_FILES: usize = 200;
const MAX_CORPUS_BYTES: u64 = 200 * 1024;

fn corpus_dir(target: &str) -> PathBuf {
    crate_dir().join("../fuzz/corpus").join(target)
}

/// The committed seeds of one target, by file name.
fn committed(target: &str) -> BTreeMap<String, Vec<u8>> {
    let dir = corpus_dir(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut seeds = BTreeMap::new();
    for entry in entries {
        let path = entry.expect("corpus entry").path();
        let name = path.file_name().expect("file name").to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        seeds.insert(name, bytes);
    }
    seeds
}

/// Runs `check` on every seed of `target`, naming each seed that fails.
fn run_seeds(target: &str, check: impl Fn(&[u8])) {
    let seeds = committed(target);
    assert!(seeds.len() >= 10, "only {} seeds in {}", seeds.len(), corpus_dir(target).display());
    let failed: Vec<&String> = seeds
        .iter()
        .filter(|(_, bytes)| catch_unwind(AssertUnwindSafe(|| check(bytes))).is_err())
        .map(|(name, _)| name)
        .collect();
    assert!(failed.is_empty(), "{target} seeds failing: {failed:?}");
}

#[test]
fn packet_decode_seeds_pass() {
    run_seeds("packet_decode", harness::check_decode);
}

#[test]
fn connect_seeds_pass() {
    let broker = harness::ConnectHarness::new();
    run_seeds("connect", |bytes| broker.check(bytes));
}

#[test]
fn corpus_stays_small() {
    let (mut files, mut bytes) = (0, 0);
    for target in ["packet_decode", "connect"] {
        for seed in committed(target).values() {
            files += 1;
            bytes += seed.len() as u64;
        }
    }
    assert!(files < MAX_CORPUS_FILES, "{files} corpus files; keep fewer than {MAX_CORPUS_FILES}");
    assert!(bytes < MAX_CORPUS_BYTES, "{bytes} corpus bytes; keep less than {MAX_CORPUS_BYTES}");
}

/// The generated seeds are committed as generated; with TALLYMQ_WRITE_FUZZ_SEEDS=1 this
/// writes them instead.
#[test]
fn generated_seeds_are_committed() {
    let write = std::env::var_os("TALLYMQ_WRITE_FUZZ_SEEDS").is_some();
    for (target, seeds) in [("packet_decode", packet_decode_seeds()), ("connect", connect_seeds())]
    {
        let dir = corpus_dir(target);
        let on_disk = committed(target);
        for (name, bytes) in seeds {
            if write {
                let path = dir.join(&name);
                std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            } else {
                assert!(
                    on_disk.get(&name) == Some(&bytes),
                    "{target}/{name} is missing or stale: rewrite the seeds with \
                     TALLYMQ_WRITE_FUZZ_SEEDS=1 cargo test -p tallymq --test fuzz_seeds generated_seeds"
                );
            }
        }
    }
}

// ---- the generator ----

fn wire(packet: &Packet, v: ProtocolVersion) -> Vec<u8> {
    let mut buf = BytesMut::new();
    encode(packet, v, &mut buf).unwrap_or_else(|e| panic!("seed {packet:?}: {e}"));
    buf.to_vec()
}

fn wire_all(packets: &[Packet], v: ProtocolVersion) -> Vec<u8> {
    packets.iter().flat_map(|packet| wire(packet, v)).collect()
}

fn name(v: ProtocolVersion) -> &'static str {
    match v {
        V311 => "v311",
        V5 => "v5",
    }
}

fn users() -> Vec<UserProperty> {
    vec![("k".into(), "v".into()), ("k".into(), "w".into())]
}

fn connect(v: ProtocolVersion, client_id: &str) -> Connect {
    Connect {
        protocol: v,
        clean_start: true,
        keep_alive: 30,
        properties: ConnectProperties::default(),
        client_id: client_id.into(),
        will: None,
        username: None,
        password: None,
    }
}

fn will(v: ProtocolVersion) -> LastWill {
    let properties = match v {
        V311 => WillProperties::default(),
        V5 => WillProperties {
            will_delay_interval: Some(1),
            payload_format_indicator: Some(1),
            message_expiry_interval: Some(60),
            content_type: Some("text/plain".into()),
            response_topic: Some("will/reply".into()),
            correlation_data: Some(Bytes::from_static(b"c")),
            user_properties: users(),
        },
    };
    LastWill {
        topic: "will/topic".into(),
        payload: Bytes::from_static(b"gone"),
        qos: QoS::AtLeastOnce,
        retain: true,
        properties,
    }
}

fn with_credentials(mut connect: Connect) -> Connect {
    connect.username = Some("user".into());
    connect.password = Some(Bytes::from_static(b"secret"));
    connect
}

fn packet(connect: Connect) -> Packet {
    Packet::Connect(Box::new(connect))
}

fn publish(v: ProtocolVersion, topic: &str, qos: QoS, packet_id: u16) -> Publish {
    let properties = match v {
        V311 => PublishProperties::default(),
        V5 => PublishProperties {
            payload_format_indicator: Some(1),
            message_expiry_interval: Some(30),
            content_type: Some("text/plain".into()),
            user_properties: vec![("msg-id".into(), format!("m{packet_id}"))],
            ..Default::default()
        },
    };
    Publish {
        dup: false,
        qos,
        retain: false,
        topic: topic.into(),
        packet_id,
        properties,
        payload: Bytes::from_static(b"hello"),
    }
}

fn ack_properties(v: ProtocolVersion) -> AckProperties {
    match v {
        V311 => AckProperties::default(),
        V5 => AckProperties { reason_string: Some("why".into()), user_properties: users() },
    }
}

fn subscribe(v: ProtocolVersion, packet_id: u16, filters: &[&str]) -> Subscribe {
    let options = SubscriptionOptions {
        qos: QoS::ExactlyOnce,
        no_local: v == V5,
        retain_as_published: v == V5,
        retain_handling: RetainHandling::SendAlways,
    };
    Subscribe {
        packet_id,
        subscription_identifier: (v == V5).then_some(7),
        user_properties: if v == V5 { users() } else { Vec::new() },
        filters: filters.iter().map(|f| (f.to_string(), options)).collect(),
    }
}

/// One packet of each type, as a client or a server of version `v` would send it.
fn each_packet(v: ProtocolVersion) -> Vec<(&'static str, Packet)> {
    let mut full = with_credentials(connect(v, "seed"));
    full.will = Some(will(v));
    if v == V5 {
        full.properties = ConnectProperties {
            session_expiry_interval: Some(60),
            receive_maximum: Some(10),
            maximum_packet_size: Some(4096),
            topic_alias_maximum: Some(4),
            request_response_information: Some(true),
            request_problem_information: Some(false),
            user_properties: users(),
            authentication_method: Some("m".into()),
            authentication_data: Some(Bytes::from_static(b"d")),
        };
    }
    let connack_properties = match v {
        V311 => ConnAckProperties::default(),
        V5 => ConnAckProperties {
            session_expiry_interval: Some(60),
            receive_maximum: Some(128),
            maximum_qos: Some(QoS::AtLeastOnce),
            retain_available: Some(false),
            maximum_packet_size: Some(2048),
            assigned_client_identifier: Some("auto-1".into()),
            topic_alias_maximum: Some(8),
            server_keep_alive: Some(60),
            response_information: Some("reply/seed".into()),
            ..Default::default()
        },
    };
    let mut aliased = publish(v, "a/b", QoS::AtLeastOnce, 3);
    if v == V5 {
        aliased.properties.topic_alias = Some(1);
        aliased.properties.subscription_identifiers = vec![7, 300];
        aliased.properties.response_topic = Some("reply/seed".into());
        aliased.properties.correlation_data = Some(Bytes::from_static(b"c"));
    }
    let response = |packet_id| PubResponse {
        packet_id,
        reason: if v == V5 { ReasonCode::NO_MATCHING_SUBSCRIBERS } else { ReasonCode::SUCCESS },
        properties: ack_properties(v),
    };
    let mut packets = vec![
        ("connect", packet(full)),
        (
            "connack",
            Packet::ConnAck(ConnAck {
                session_present: true,
                reason: ReasonCode::SUCCESS,
                properties: connack_properties,
            }),
        ),
        ("publish-qos0", Packet::Publish(publish(v, "a/b", QoS::AtMostOnce, 0))),
        ("publish-qos1", Packet::Publish(aliased)),
        (
            "publish-qos2-dup-retain",
            Packet::Publish(Publish {
                dup: true,
                retain: true,
                ..publish(v, "a/b", QoS::ExactlyOnce, 4)
            }),
        ),
        ("puback", Packet::PubAck(response(3))),
        ("pubrec", Packet::PubRec(response(4))),
        ("pubrel", Packet::PubRel(PubResponse::success(4))),
        ("pubcomp", Packet::PubComp(response(4))),
        ("subscribe", Packet::Subscribe(subscribe(v, 5, &["a/+", "#", "$share/g/a/b"]))),
        (
            "suback",
            Packet::SubAck(SubAck {
                packet_id: 5,
                properties: ack_properties(v),
                reasons: vec![ReasonCode::GRANTED_QOS_1, ReasonCode::UNSPECIFIED_ERROR],
            }),
        ),
        (
            "unsubscribe",
            Packet::Unsubscribe(Unsubscribe {
                packet_id: 6,
                user_properties: if v == V5 { users() } else { Vec::new() },
                filters: vec!["a/+".into(), "#".into()],
            }),
        ),
        (
            "unsuback",
            Packet::UnsubAck(UnsubAck {
                packet_id: 6,
                properties: ack_properties(v),
                reasons: if v == V5 {
                    vec![ReasonCode::SUCCESS, ReasonCode::NO_SUBSCRIPTION_EXISTED]
                } else {
                    Vec::new()
                },
            }),
        ),
        ("pingreq", Packet::PingReq),
        ("pingresp", Packet::PingResp),
        (
            "disconnect",
            Packet::Disconnect(match v {
                V311 => Disconnect::new(ReasonCode::SUCCESS),
                V5 => Disconnect {
                    reason: ReasonCode::DISCONNECT_WITH_WILL,
                    properties: DisconnectProperties {
                        session_expiry_interval: Some(0),
                        reason_string: Some("bye".into()),
                        user_properties: users(),
                        server_reference: None,
                    },
                },
            }),
        ),
    ];
    if v == V5 {
        packets.push((
            "auth",
            Packet::Auth(Auth {
                reason: ReasonCode::CONTINUE_AUTHENTICATION,
                properties: AuthProperties {
                    authentication_method: Some("m".into()),
                    authentication_data: Some(Bytes::from_static(b"d")),
                    reason_string: None,
                    user_properties: Vec::new(),
                },
            }),
        ));
    }
    packets
}

/// A connection's worth of client packets after its CONNECT: subscribe, publish at every QoS
/// (to itself), complete QoS 2, unsubscribe, ping, disconnect.
fn session(v: ProtocolVersion, client_id: &str) -> Vec<Packet> {
    let mut c = connect(v, client_id);
    if v == V5 {
        c.properties.topic_alias_maximum = Some(2);
    }
    let topic = format!("chat/{client_id}");
    let mut aliased = publish(v, &topic, QoS::AtLeastOnce, 2);
    if v == V5 {
        aliased.properties.topic_alias = Some(1);
    }
    let mut by_alias = publish(v, "", QoS::AtMostOnce, 0);
    by_alias.properties.topic_alias = Some(1);
    let mut packets = vec![
        packet(c),
        Packet::Subscribe(subscribe(v, 1, &["chat/#"])),
        Packet::Publish(publish(v, &topic, QoS::AtMostOnce, 0)),
        Packet::Publish(aliased),
    ];
    if v == V5 {
        packets.push(Packet::Publish(by_alias));
    }
    packets.extend([
        Packet::Publish(publish(v, &topic, QoS::ExactlyOnce, 3)),
        Packet::PubRel(PubResponse::success(3)),
        Packet::Unsubscribe(Unsubscribe {
            packet_id: 4,
            user_properties: Vec::new(),
            filters: vec!["chat/#".into()],
        }),
        Packet::PingReq,
        Packet::Disconnect(Disconnect::new(ReasonCode::SUCCESS)),
    ]);
    packets
}

/// The index of the connect flags byte in an encoded CONNECT with a one-byte remaining
/// length: fixed header (2), protocol name (2 + 4), level (1).
const CONNECT_FLAGS_AT: usize = 9;

/// A fixed header claiming the largest remaining length there is.
fn oversized_header(first: u8) -> Vec<u8> {
    let mut header = vec![first];
    let mut length = [0u8; 4];
    let max = 268_435_455u32;
    for (i, byte) in length.iter_mut().enumerate() {
        *byte = ((max >> (7 * i)) & 0x7F) as u8 | if i < 3 { 0x80 } else { 0 };
    }
    header.extend(length);
    header
}

fn packet_decode_seeds() -> Vec<(String, Vec<u8>)> {
    use harness::with_limit;
    let mut seeds = Vec::new();
    for v in [V311, V5] {
        for (kind, packet) in each_packet(v) {
            seeds.push((format!("{}-{kind}", name(v)), with_limit(None, &wire(&packet, v))));
        }
        let stream = wire_all(&session(v, "stream"), v);
        seeds.push((format!("{}-session", name(v)), with_limit(None, &stream)));
        let full = wire(&each_packet(v)[0].1, v);
        seeds.push((
            format!("{}-connect-truncated", name(v)),
            with_limit(None, &full[..full.len() / 2]),
        ));
        let limit = u16::try_from(full.len() - 1).expect("small");
        seeds.push((format!("{}-connect-over-limit", name(v)), with_limit(Some(limit), &full)));
        let mut bad_flags = wire(&packet(connect(v, "seed")), v);
        bad_flags[CONNECT_FLAGS_AT] |= 0x01;
        seeds.push((format!("{}-connect-reserved-flag", name(v)), with_limit(None, &bad_flags)));
    }
    seeds.push(("oversized-length".into(), with_limit(None, &oversized_header(0x30))));
    let mut five_byte_length = oversized_header(0x30);
    five_byte_length[4] |= 0x80;
    five_byte_length.push(0x01);
    seeds.push(("length-five-bytes".into(), with_limit(None, &five_byte_length)));
    seeds.push(("empty".into(), Vec::new()));
    seeds
}

fn connect_seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    let mut add = |name: String, bytes: Vec<u8>| seeds.push((name, bytes));
    for v in [V311, V5] {
        let n = name(v);
        let id = |what: &str| format!("{n}-{what}");
        add(format!("{n}-connect"), wire(&packet(connect(v, &id("plain"))), v));
        let persistent = Connect { clean_start: false, ..connect(v, &id("persistent")) };
        add(format!("{n}-connect-persistent"), wire(&packet(persistent), v));
        let willing = Connect { will: Some(will(v)), ..connect(v, &id("will")) };
        add(format!("{n}-connect-will"), wire(&packet(willing), v));
        let credentials = with_credentials(connect(v, &id("credentials")));
        add(format!("{n}-connect-credentials"), wire(&packet(credentials), v));
        let mut both = with_credentials(connect(v, &id("will-credentials")));
        both.will = Some(will(v));
        add(format!("{n}-connect-will-credentials"), wire(&packet(both), v));
        let empty_id = Connect { clean_start: false, ..connect(v, "") };
        add(format!("{n}-connect-empty-id-persistent"), wire(&packet(empty_id), v));
        add(format!("{n}-connect-empty-id"), wire(&packet(connect(v, "")), v));
        add(format!("{n}-connect-long-id"), wire(&packet(connect(v, &"x".repeat(129))), v));
        let reserved_will = Connect {
            will: Some(LastWill { topic: "$SYS/will".into(), ..will(v) }),
            ..connect(v, &id("reserved-will"))
        };
        add(format!("{n}-connect-will-reserved-topic"), wire(&packet(reserved_will), v));
        let huge_will = Connect {
            will: Some(LastWill { payload: Bytes::from(vec![b'w'; 3000]), ..will(v) }),
            ..connect(v, &id("huge-will"))
        };
        add(format!("{n}-connect-over-broker-limit"), wire(&packet(huge_will), v));
        let mut bad_flags = wire(&packet(connect(v, &id("reserved-flag"))), v);
        bad_flags[CONNECT_FLAGS_AT] |= 0x01;
        add(format!("{n}-connect-reserved-flag"), bad_flags);
        let plain = wire(&packet(connect(v, &id("truncated"))), v);
        add(format!("{n}-connect-truncated"), plain[..plain.len() - 3].to_vec());
        add(format!("{n}-session"), wire_all(&session(v, &id("session")), v));
        let retained = [
            packet(connect(v, &id("retained"))),
            Packet::Publish(Publish { retain: true, ..publish(v, "room/retained", QoS::AtLeastOnce, 1) }),
            Packet::Subscribe(subscribe(v, 2, &["room/#"])),
        ];
        add(format!("{n}-retained"), wire_all(&retained, v));
        let twice = [packet(connect(v, &id("twice"))), packet(connect(v, &id("twice")))];
        add(format!("{n}-connect-twice"), wire_all(&twice, v));
        let mut qos3 = wire(&Packet::Publish(publish(v, "a", QoS::AtMostOnce, 0)), v);
        qos3[0] |= 0x06;
        let mut then_malformed = wire(&packet(connect(v, &id("malformed"))), v);
        then_malformed.extend(qos3);
        add(format!("{n}-then-malformed"), then_malformed);
        let history = [
            packet(connect(v, &id("history"))),
            Packet::Subscribe(subscribe(v, 1, &[&format!("$history/reply/{}", id("history"))])),
            Packet::Publish(Publish {
                payload: Bytes::from_static(br#"{"topic": "chat/v5-session", "after": 0, "limit": 3}"#),
                properties: PublishProperties {
                    response_topic: (v == V5).then(|| "history/answer".into()),
                    correlation_data: (v == V5).then(|| Bytes::from_static(b"q1")),
                    ..Default::default()
                },
                ..publish(v, "$history/query", QoS::AtLeastOnce, 2)
            }),
        ];
        add(format!("{n}-history"), wire_all(&history, v));
        // A client id with a wildcard, asking for history without a response topic: the
        // reply topic is built from the id, and "+" matches it.
        let wildcard_id = format!("{n}+history");
        let history = [
            packet(connect(v, &wildcard_id)),
            Packet::Subscribe(subscribe(v, 2, &["$history/reply/+"])),
            Packet::Publish(Publish {
                payload: Bytes::from_static(br#"{"topic": "chat/x", "after": 0, "limit": 1}"#),
                properties: PublishProperties::default(),
                ..publish(v, "$history/query", QoS::AtLeastOnce, 1)
            }),
        ];
        add(format!("{n}-history-wildcard-client-id"), wire_all(&history, v));
    }
    let mut properties = connect(V5, "v5-properties");
    properties.properties = ConnectProperties {
        session_expiry_interval: Some(60),
        receive_maximum: Some(5),
        maximum_packet_size: Some(1000),
        topic_alias_maximum: Some(4),
        request_response_information: Some(true),
        request_problem_information: Some(false),
        user_properties: users(),
        authentication_method: None,
        authentication_data: None,
    };
    add("v5-connect-properties".into(), wire(&packet(properties), V5));
    let mut auth = connect(V5, "v5-auth");
    auth.properties.authentication_method = Some("SCRAM-SHA-1".into());
    auth.properties.authentication_data = Some(Bytes::from_static(b"d"));
    add("v5-connect-auth-method".into(), wire(&packet(auth.clone()), V5));
    // The same refusal to a client that accepts only small packets: no room for a reason.
    auth.client_id = "v5-auth-small-max-packet".into();
    auth.properties.maximum_packet_size = Some(20);
    add("v5-refused-small-max-packet".into(), wire(&packet(auth), V5));
    let mut not_utf8 = will(V5);
    not_utf8.payload = Bytes::from_static(&[0xC3, 0x28]);
    let not_utf8 = Connect { will: Some(not_utf8), ..connect(V5, "v5-will-not-utf8") };
    add("v5-connect-will-not-utf8".into(), wire(&packet(not_utf8), V5));
    // A client that accepts only small packets: answers must fit or be left out.
    let mut small = session(V5, "v5-small-max-packet");
    if let Packet::Connect(c) = &mut small[0] {
        c.properties.maximum_packet_size = Some(24);
        c.properties.request_problem_information = Some(true);
    }
    add("v5-small-max-packet".into(), wire_all(&small, V5));
    let mut old = wire(&packet(connect(V311, "mqisdp")), V311);
    // "MQTT" level 4 -> "MQIsdp" level 3, as MQTT 3.1 clients send it.
    old.splice(2..9, [0, 6, b'M', b'Q', b'I', b's', b'd', b'p', 3]);
    old[1] += 2;
    add("mqtt31-connect".into(), old);
    let mut level6 = wire(&packet(connect(V5, "level6")), V5);
    level6[8] = 6;
    add("level6-connect".into(), level6);
    add("oversized-length".into(), oversized_header(0x10));
    add("pingreq-first".into(), wire(&Packet::PingReq, V311));
    add("empty".into(), Vec::new());
    seeds
}

/// This crate's directory, read when the test runs: a test binary built from another checkout
/// of the same sources can be reused from a shared target directory, and `env!` would point
/// into that checkout.
fn crate_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"))
}
