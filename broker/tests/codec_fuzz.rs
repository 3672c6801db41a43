//! Property tests: the decoder must survive any input a peer can send, in every connection
//! state, and whatever it accepts must encode and decode back to the same packet.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use proptest::sample::Index;
use tallymq::codec::*;

const V311: ProtocolVersion = ProtocolVersion::V311;
const V5: ProtocolVersion = ProtocolVersion::V5;

fn users() -> Vec<UserProperty> {
    vec![("k".into(), "v".into()), ("k".into(), "w".into())]
}

/// Valid packets of every type, each encoded for the version it belongs to, with the
/// connection state to decode it in.
fn corpus() -> Vec<(Option<ProtocolVersion>, Vec<u8>)> {
    let will = LastWill {
        topic: "w/t".into(),
        payload: Bytes::from_static(b"bye"),
        qos: QoS::AtLeastOnce,
        retain: true,
        properties: WillProperties {
            will_delay_interval: Some(5),
            payload_format_indicator: Some(1),
            content_type: Some("t".into()),
            user_properties: users(),
            ..Default::default()
        },
    };
    let connect = |protocol, properties| Connect {
        protocol,
        clean_start: true,
        keep_alive: 60,
        properties,
        client_id: "id".into(),
        will: Some(LastWill {
            properties: if protocol == V5 { will.properties.clone() } else { Default::default() },
            ..will.clone()
        }),
        username: Some("u".into()),
        password: Some(Bytes::from_static(b"p")),
    };
    let publish = |qos, properties| Publish {
        dup: qos != QoS::AtMostOnce,
        qos,
        retain: true,
        topic: "a/b".into(),
        packet_id: if qos == QoS::AtMostOnce { 0 } else { 7 },
        properties,
        payload: Bytes::from_static(b"payload"),
    };
    let ack = AckProperties { reason_string: Some("r".into()), user_properties: users() };
    let options = SubscriptionOptions {
        qos: QoS::AtLeastOnce,
        no_local: true,
        retain_as_published: true,
        retain_handling: RetainHandling::SendIfNew,
    };
    let subscribe = |subscription_identifier| Subscribe {
        packet_id: 3,
        subscription_identifier,
        user_properties: Vec::new(),
        filters: vec![("a/+".into(), options), ("#".into(), SubscriptionOptions::default())],
    };

    let v311 = vec![
        Packet::Connect(Box::new(connect(V311, ConnectProperties::default()))),
        Packet::ConnAck(ConnAck {
            session_present: true,
            reason: ReasonCode::SUCCESS,
            properties: Default::default(),
        }),
        Packet::Publish(publish(QoS::AtMostOnce, Default::default())),
        Packet::Publish(publish(QoS::ExactlyOnce, Default::default())),
        Packet::PubAck(PubResponse::success(1)),
        Packet::PubRel(PubResponse::success(2)),
        Packet::Subscribe(subscribe(None)),
        Packet::SubAck(SubAck {
            packet_id: 3,
            properties: Default::default(),
            reasons: vec![ReasonCode(1), ReasonCode(0x80)],
        }),
        Packet::Unsubscribe(Unsubscribe {
            packet_id: 4,
            user_properties: Vec::new(),
            filters: vec!["a/+".into()],
        }),
        Packet::UnsubAck(UnsubAck {
            packet_id: 4,
            properties: Default::default(),
            reasons: vec![],
        }),
        Packet::PingReq,
        Packet::Disconnect(Disconnect::new(ReasonCode::SUCCESS)),
    ];
    let v5 = vec![
        Packet::Connect(Box::new(connect(
            V5,
            ConnectProperties {
                session_expiry_interval: Some(60),
                receive_maximum: Some(5),
                maximum_packet_size: Some(1000),
                request_problem_information: Some(true),
                user_properties: users(),
                authentication_method: Some("m".into()),
                authentication_data: Some(Bytes::from_static(b"d")),
                ..Default::default()
            },
        ))),
        Packet::ConnAck(ConnAck {
            session_present: false,
            reason: ReasonCode::SUCCESS,
            properties: ConnAckProperties {
                maximum_qos: Some(QoS::AtLeastOnce),
                retain_available: Some(true),
                assigned_client_identifier: Some("x".into()),
                topic_alias_maximum: Some(3),
                ..Default::default()
            },
        }),
        Packet::Publish(publish(
            QoS::AtLeastOnce,
            PublishProperties {
                payload_format_indicator: Some(0),
                message_expiry_interval: Some(9),
                topic_alias: Some(2),
                response_topic: Some("r".into()),
                correlation_data: Some(Bytes::from_static(b"c")),
                user_properties: users(),
                subscription_identifiers: vec![1, 200],
                content_type: Some("j".into()),
            },
        )),
        Packet::Publish(publish(QoS::AtMostOnce, Default::default())),
        Packet::PubAck(PubResponse::success(1)),
        Packet::PubRec(PubResponse {
            packet_id: 2,
            reason: ReasonCode(0x80),
            properties: ack.clone(),
        }),
        Packet::PubComp(PubResponse {
            packet_id: 2,
            reason: ReasonCode(0x92),
            properties: Default::default(),
        }),
        Packet::Subscribe(Subscribe { user_properties: users(), ..subscribe(Some(9)) }),
        Packet::SubAck(SubAck {
            packet_id: 3,
            properties: ack.clone(),
            reasons: vec![ReasonCode(1), ReasonCode(0x87)],
        }),
        Packet::Unsubscribe(Unsubscribe {
            packet_id: 4,
            user_properties: users(),
            filters: vec!["a/+".into(), "b".into()],
        }),
        Packet::UnsubAck(UnsubAck { packet_id: 4, properties: ack, reasons: vec![ReasonCode(0)] }),
        Packet::PingResp,
        Packet::Disconnect(Disconnect {
            reason: ReasonCode(0x04),
            properties: DisconnectProperties {
                session_expiry_interval: Some(1),
                reason_string: Some("bye".into()),
                ..Default::default()
            },
        }),
        Packet::Auth(Auth {
            reason: ReasonCode(0x18),
            properties: AuthProperties {
                authentication_method: Some("m".into()),
                ..Default::default()
            },
        }),
    ];
    let mut out = Vec::new();
    for (packets, version) in [(v311, V311), (v5, V5)] {
        let mut session = Vec::new();
        for packet in packets {
            let mut buf = BytesMut::new();
            encode(&packet, version, &mut buf).expect("corpus packets encode");
            let state = if matches!(packet, Packet::Connect(_)) { None } else { Some(version) };
            session.extend_from_slice(&buf);
            out.push((state, buf.to_vec()));
        }
        // The whole session as one stream, so that its CONNECT sets the version for the rest.
        out.push((None, session));
    }
    out
}

/// Decodes `bytes` as one connection would, checking the decoder's contract on every step.
fn drain(bytes: &[u8], mut version: Option<ProtocolVersion>, max_packet_size: u32) {
    let mut buf = BytesMut::from(bytes);
    loop {
        let before = buf.clone();
        match decode(&mut buf, version, max_packet_size) {
            Ok(Some(packet)) => {
                assert!(buf.len() < before.len(), "a packet consumes input");
                assert!(before.ends_with(&buf), "only the packet is consumed");
                let v = match &packet {
                    Packet::Connect(c) => c.protocol,
                    _ => version.expect("only CONNECT decodes without a version"),
                };
                re_encode(&packet, v);
                if let Packet::Connect(c) = &packet {
                    version = Some(c.protocol);
                }
            }
            Ok(None) => {
                assert_eq!(buf, before, "Ok(None) consumes nothing");
                return;
            }
            Err(_) => {
                assert_eq!(buf, before, "an error consumes nothing");
                return;
            }
        }
    }
}

/// Anything the decoder accepts is something the encoder can write, and the written form is
/// stable: decoding and encoding it again gives the same bytes.
fn re_encode(packet: &Packet, v: ProtocolVersion) {
    let mut first = BytesMut::new();
    encode(packet, v, &mut first).unwrap_or_else(|e| panic!("{e} for decoded {packet:?}"));
    let state = if matches!(packet, Packet::Connect(_)) { None } else { Some(v) };
    let mut again = first.clone();
    let decoded = decode(&mut again, state, u32::MAX)
        .unwrap_or_else(|e| panic!("{e} re-decoding {packet:?}"))
        .expect("complete");
    assert!(again.is_empty());
    let mut second = BytesMut::new();
    encode(&decoded, v, &mut second).expect("encodes again");
    assert_eq!(first, second, "{packet:?} vs {decoded:?}");
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
}

fn any_version() -> impl Strategy<Value = Option<ProtocolVersion>> {
    prop_oneof![Just(None), Just(Some(V311)), Just(Some(V5))]
}

fn any_limit() -> impl Strategy<Value = u32> {
    prop_oneof![3 => Just(u32::MAX), 1 => 0u32..300]
}

#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(Index, u8),
    SetByte(Index, u8),
    Truncate(Index),
    Insert(Index, u8),
    Remove(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit(at, bit)),
        (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::SetByte(at, byte)),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert(at, byte)),
        any::<Index>().prop_map(Mutation::Remove),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    if bytes.is_empty() {
        if let Mutation::Insert(_, byte) | Mutation::SetByte(_, byte) = mutation {
            bytes.push(*byte);
        }
        return;
    }
    match mutation {
        Mutation::FlipBit(at, bit) => {
            let i = at.index(bytes.len());
            bytes[i] ^= 1 << bit;
        }
        Mutation::SetByte(at, byte) => {
            let i = at.index(bytes.len());
            bytes[i] = *byte;
        }
        Mutation::Truncate(at) => bytes.truncate(at.index(bytes.len())),
        Mutation::Insert(at, byte) => {
            let i = at.index(bytes.len() + 1);
            bytes.insert(i, *byte);
        }
        Mutation::Remove(at) => {
            let i = at.index(bytes.len());
            bytes.remove(i);
        }
    }
}

proptest! {
    // 2000 cases keep the suite fast; PROPTEST_CASES=200000 for a longer hunt.
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        version in any_version(),
        limit in any_limit(),
    ) {
        drain(&bytes, version, limit);
    }

    /// Random bytes behind a plausible first byte, to get past the fixed header more often.
    #[test]
    fn random_bodies_never_panic(
        first in any::<u8>(),
        body in prop::collection::vec(any::<u8>(), 0..200),
        version in any_version(),
    ) {
        let mut bytes = vec![first];
        bytes.push(body.len().min(127) as u8);
        bytes.extend(&body);
        drain(&bytes, version, u32::MAX);
    }

    #[test]
    fn mutated_packets_never_panic(
        pick in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..5),
        own_version in any::<bool>(),
        version in any_version(),
        limit in any_limit(),
    ) {
        let corpus = corpus();
        let (state, original) = pick.get(&corpus);
        let mut bytes = original.clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        drain(&bytes, if own_version { *state } else { version }, limit);
    }
}

#[test]
fn corpus_decodes_unmutated() {
    // The mutation test is only meaningful if its starting points are valid.
    for (mut state, bytes) in corpus() {
        let mut buf = BytesMut::from(&bytes[..]);
        while !buf.is_empty() {
            let packet = decode(&mut buf, state, u32::MAX)
                .unwrap_or_else(|e| panic!("{e} for {bytes:02x?}"))
                .expect("complete");
            if let Packet::Connect(c) = packet {
                state = Some(c.protocol);
            }
        }
    }
}
