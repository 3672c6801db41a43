//! The MQTT codec against captured byte vectors, round trips in both protocol versions,
//! partial input, and every validation rule with the reason code it must produce.

use bytes::{Bytes, BytesMut};
use tallymq::codec::*;

const V311: Option<ProtocolVersion> = Some(ProtocolVersion::V311);
const V5: Option<ProtocolVersion> = Some(ProtocolVersion::V5);
const MAX: u32 = 1 << 20;

// ---- helpers ----

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// Decodes exactly one complete packet that fills `bytes`.
fn decode_one(bytes: &[u8], version: Option<ProtocolVersion>) -> Packet {
    let mut buf = BytesMut::from(bytes);
    let packet = decode(&mut buf, version, MAX)
        .unwrap_or_else(|e| panic!("{e} for {bytes:02x?}"))
        .expect("a complete packet");
    assert!(buf.is_empty(), "{} bytes left over", buf.len());
    packet
}

/// The reason code `bytes` are rejected with; the buffer must be left untouched.
fn reject(bytes: &[u8], version: Option<ProtocolVersion>) -> ReasonCode {
    let mut buf = BytesMut::from(bytes);
    match decode(&mut buf, version, MAX) {
        Err(e) => {
            assert_eq!(&buf[..], bytes, "an error must not consume input");
            e.reason
        }
        Ok(p) => panic!("expected an error for {bytes:02x?}, got {p:?}"),
    }
}

fn encoded(packet: &Packet, version: ProtocolVersion) -> Vec<u8> {
    let mut buf = BytesMut::new();
    encode(packet, version, &mut buf).unwrap_or_else(|e| panic!("{e}"));
    buf.to_vec()
}

fn vbi(mut value: usize, out: &mut Vec<u8>) {
    loop {
        let mut byte = (value % 128) as u8;
        value /= 128;
        if value > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if value == 0 {
            break;
        }
    }
}

/// A packet with the remaining length computed.
fn frame(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    vbi(body.len(), &mut out);
    out.extend_from_slice(body);
    out
}

/// A length-prefixed string or binary field.
fn s(text: &str) -> Vec<u8> {
    b(text.as_bytes())
}

fn b(bytes: &[u8]) -> Vec<u8> {
    let mut out = (bytes.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

/// A property block: length then the properties.
fn props(properties: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    vbi(properties.len(), &mut out);
    out.extend_from_slice(properties);
    out
}

/// A CONNECT with keep alive 60; `rest` starts with the properties for level 5.
fn connect_frame(name: &str, level: u8, flags: u8, rest: &[u8]) -> Vec<u8> {
    frame(0x10, &[s(name), vec![level, flags, 0, 60], rest.to_vec()].concat())
}

fn users() -> Vec<UserProperty> {
    vec![("k".into(), "v".into()), ("k".into(), "second".into()), ("".into(), "".into())]
}

fn ack_props() -> AckProperties {
    AckProperties { reason_string: Some("why".into()), user_properties: users() }
}

fn publish(qos: QoS, topic: &str, packet_id: u16, payload: &'static [u8]) -> Publish {
    Publish {
        dup: false,
        qos,
        retain: false,
        topic: topic.into(),
        packet_id,
        properties: PublishProperties::default(),
        payload: Bytes::from_static(payload),
    }
}

/// One or more packets of every type, in the subset of the model 3.1.1 can carry.
fn v311_samples() -> Vec<Packet> {
    let sub = |qos| SubscriptionOptions { qos, ..Default::default() };
    vec![
        Packet::Connect(Box::new(Connect {
            protocol: ProtocolVersion::V311,
            clean_start: true,
            keep_alive: 60,
            properties: ConnectProperties::default(),
            client_id: String::new(),
            will: None,
            username: None,
            password: None,
        })),
        Packet::Connect(Box::new(Connect {
            protocol: ProtocolVersion::V311,
            clean_start: false,
            keep_alive: 0,
            properties: ConnectProperties::default(),
            client_id: "sensor-17".into(),
            will: Some(LastWill {
                topic: "status/sensor-17".into(),
                payload: Bytes::from_static(b"offline"),
                qos: QoS::AtLeastOnce,
                retain: true,
                properties: WillProperties::default(),
            }),
            username: Some("user".into()),
            password: Some(Bytes::from_static(b"\x00pass\xff")),
        })),
        Packet::ConnAck(ConnAck {
            session_present: true,
            reason: ReasonCode::SUCCESS,
            properties: ConnAckProperties::default(),
        }),
        Packet::ConnAck(ConnAck {
            session_present: false,
            reason: ReasonCode::BAD_USER_NAME_OR_PASSWORD,
            properties: ConnAckProperties::default(),
        }),
        Packet::Publish(publish(QoS::AtMostOnce, "a/b", 0, b"hello")),
        Packet::Publish(Publish {
            dup: true,
            retain: true,
            ..publish(QoS::AtLeastOnce, "a/b/c", 1, b"")
        }),
        Packet::Publish(publish(QoS::ExactlyOnce, "x", 65535, &[0xFF, 0x00, 0xFE])),
        Packet::PubAck(PubResponse::success(1)),
        Packet::PubRec(PubResponse::success(2)),
        Packet::PubRel(PubResponse::success(3)),
        Packet::PubComp(PubResponse::success(4)),
        Packet::Subscribe(Subscribe {
            packet_id: 10,
            subscription_identifier: None,
            user_properties: Vec::new(),
            filters: vec![
                ("a/+/c".into(), sub(QoS::AtMostOnce)),
                ("#".into(), sub(QoS::AtLeastOnce)),
                ("x/y".into(), sub(QoS::ExactlyOnce)),
            ],
        }),
        Packet::SubAck(SubAck {
            packet_id: 10,
            properties: AckProperties::default(),
            reasons: vec![
                ReasonCode::GRANTED_QOS_0,
                ReasonCode::GRANTED_QOS_1,
                ReasonCode::GRANTED_QOS_2,
                ReasonCode::UNSPECIFIED_ERROR,
            ],
        }),
        Packet::Unsubscribe(Unsubscribe {
            packet_id: 11,
            user_properties: Vec::new(),
            filters: vec!["a/+/c".into(), "#".into()],
        }),
        Packet::UnsubAck(UnsubAck {
            packet_id: 11,
            properties: AckProperties::default(),
            reasons: Vec::new(),
        }),
        Packet::PingReq,
        Packet::PingResp,
        Packet::Disconnect(Disconnect::new(ReasonCode::NORMAL_DISCONNECTION)),
    ]
}

/// Every packet type with every property it may carry, plus the short forms.
fn v5_samples() -> Vec<Packet> {
    vec![
        Packet::Connect(Box::new(Connect {
            protocol: ProtocolVersion::V5,
            clean_start: true,
            keep_alive: 30,
            properties: ConnectProperties {
                session_expiry_interval: Some(3600),
                receive_maximum: Some(10),
                maximum_packet_size: Some(65536),
                topic_alias_maximum: Some(0),
                request_response_information: Some(true),
                request_problem_information: Some(false),
                user_properties: users(),
                authentication_method: Some("SCRAM-SHA-1".into()),
                authentication_data: Some(Bytes::from_static(b"\x00\x01")),
            },
            client_id: "client-1".into(),
            will: Some(LastWill {
                topic: "last/will".into(),
                payload: Bytes::from_static(b"gone"),
                qos: QoS::ExactlyOnce,
                retain: false,
                properties: WillProperties {
                    will_delay_interval: Some(10),
                    payload_format_indicator: Some(1),
                    message_expiry_interval: Some(60),
                    content_type: Some("text/plain".into()),
                    response_topic: Some("reply/here".into()),
                    correlation_data: Some(Bytes::from_static(b"corr")),
                    user_properties: users(),
                },
            }),
            // 5.0 allows a password without a user name.
            username: None,
            password: Some(Bytes::from_static(b"secret")),
        })),
        Packet::Connect(Box::new(Connect {
            protocol: ProtocolVersion::V5,
            clean_start: false,
            keep_alive: 0,
            properties: ConnectProperties::default(),
            client_id: String::new(),
            will: None,
            username: Some("u".into()),
            password: None,
        })),
        Packet::ConnAck(ConnAck {
            session_present: true,
            reason: ReasonCode::SUCCESS,
            properties: ConnAckProperties {
                session_expiry_interval: Some(0),
                receive_maximum: Some(100),
                maximum_qos: Some(QoS::AtLeastOnce),
                retain_available: Some(false),
                maximum_packet_size: Some(1 << 20),
                assigned_client_identifier: Some("auto-1".into()),
                topic_alias_maximum: Some(16),
                reason_string: Some("welcome".into()),
                user_properties: users(),
                wildcard_subscription_available: Some(true),
                subscription_identifiers_available: Some(true),
                shared_subscription_available: Some(false),
                server_keep_alive: Some(120),
                response_information: Some("resp/".into()),
                server_reference: Some("other:1883".into()),
                authentication_method: Some("SCRAM-SHA-1".into()),
                authentication_data: Some(Bytes::from_static(b"server-final")),
            },
        }),
        Packet::ConnAck(ConnAck {
            session_present: false,
            reason: ReasonCode::NOT_AUTHORIZED,
            properties: ConnAckProperties::default(),
        }),
        Packet::Publish(Publish {
            properties: PublishProperties {
                payload_format_indicator: Some(1),
                message_expiry_interval: Some(30),
                topic_alias: Some(3),
                response_topic: Some("reply".into()),
                correlation_data: Some(Bytes::from_static(b"\x01\x02")),
                user_properties: users(),
                subscription_identifiers: vec![1, 268_435_455, 1],
                content_type: Some("application/json".into()),
            },
            ..publish(QoS::AtMostOnce, "a/b", 0, b"{}")
        }),
        Packet::Publish(Publish {
            dup: true,
            retain: true,
            properties: PublishProperties { topic_alias: Some(7), ..Default::default() },
            ..publish(QoS::AtLeastOnce, "", 9, b"")
        }),
        Packet::Publish(publish(QoS::ExactlyOnce, "x", 65535, &[0xFF, 0x00, 0xFE])),
        Packet::PubAck(PubResponse::success(1)),
        Packet::PubAck(PubResponse {
            packet_id: 1,
            reason: ReasonCode::NO_MATCHING_SUBSCRIBERS,
            properties: AckProperties::default(),
        }),
        Packet::PubRec(PubResponse {
            packet_id: 2,
            reason: ReasonCode::QUOTA_EXCEEDED,
            properties: ack_props(),
        }),
        Packet::PubRec(PubResponse::success(2)),
        Packet::PubRel(PubResponse::success(3)),
        Packet::PubRel(PubResponse {
            packet_id: 3,
            reason: ReasonCode::PACKET_IDENTIFIER_NOT_FOUND,
            properties: AckProperties::default(),
        }),
        Packet::PubComp(PubResponse {
            packet_id: 4,
            reason: ReasonCode::SUCCESS,
            properties: ack_props(),
        }),
        Packet::Subscribe(Subscribe {
            packet_id: 10,
            subscription_identifier: Some(42),
            user_properties: users(),
            filters: vec![
                (
                    "a/+/c".into(),
                    SubscriptionOptions {
                        qos: QoS::AtLeastOnce,
                        no_local: true,
                        retain_as_published: true,
                        retain_handling: RetainHandling::DoNotSend,
                    },
                ),
                ("#".into(), SubscriptionOptions::default()),
                (
                    "$share/g/x".into(),
                    SubscriptionOptions {
                        qos: QoS::ExactlyOnce,
                        retain_handling: RetainHandling::SendIfNew,
                        ..Default::default()
                    },
                ),
            ],
        }),
        Packet::Subscribe(Subscribe {
            packet_id: 12,
            subscription_identifier: None,
            user_properties: Vec::new(),
            filters: vec![("only".into(), SubscriptionOptions::default())],
        }),
        Packet::SubAck(SubAck {
            packet_id: 10,
            properties: ack_props(),
            reasons: vec![
                ReasonCode::GRANTED_QOS_1,
                ReasonCode::GRANTED_QOS_0,
                ReasonCode::SHARED_SUBSCRIPTIONS_NOT_SUPPORTED,
            ],
        }),
        Packet::Unsubscribe(Unsubscribe {
            packet_id: 11,
            user_properties: users(),
            filters: vec!["a/+/c".into(), "#".into()],
        }),
        Packet::UnsubAck(UnsubAck {
            packet_id: 11,
            properties: AckProperties::default(),
            reasons: vec![ReasonCode::SUCCESS, ReasonCode::NO_SUBSCRIPTION_EXISTED],
        }),
        Packet::PingReq,
        Packet::PingResp,
        Packet::Disconnect(Disconnect::new(ReasonCode::NORMAL_DISCONNECTION)),
        Packet::Disconnect(Disconnect::new(ReasonCode::DISCONNECT_WITH_WILL)),
        Packet::Disconnect(Disconnect {
            reason: ReasonCode::SERVER_MOVED,
            properties: DisconnectProperties {
                session_expiry_interval: Some(10),
                reason_string: Some("moving".into()),
                user_properties: users(),
                server_reference: Some("elsewhere".into()),
            },
        }),
        Packet::Auth(Auth { reason: ReasonCode::SUCCESS, properties: AuthProperties::default() }),
        Packet::Auth(Auth {
            reason: ReasonCode::CONTINUE_AUTHENTICATION,
            properties: AuthProperties {
                authentication_method: Some("SCRAM-SHA-1".into()),
                authentication_data: Some(Bytes::from_static(b"client-first")),
                reason_string: Some("go on".into()),
                user_properties: users(),
            },
        }),
    ]
}

// ---- known byte vectors ----

#[test]
fn mosquitto_pub_v311_connect() {
    // `mosquitto_pub -V mqttv311 -t a/b -m hello`: empty client id, clean session, keep alive 60.
    let bytes = hex("100c00044d5154540402003c0000");
    let Packet::Connect(c) = decode_one(&bytes, None) else { panic!("not a CONNECT") };
    assert_eq!(
        *c,
        Connect {
            protocol: ProtocolVersion::V311,
            clean_start: true,
            keep_alive: 60,
            properties: ConnectProperties::default(),
            client_id: String::new(),
            will: None,
            username: None,
            password: None,
        }
    );
    assert_eq!(encoded(&Packet::Connect(c), ProtocolVersion::V311), bytes);
}

#[test]
fn mosquitto_pub_v311_publish_and_disconnect() {
    // What follows the CONNECT above (QoS 0), and with `-q 1 -i mosq-test` (QoS 1).
    let qos0 = hex("300a0003612f6268656c6c6f");
    assert_eq!(
        decode_one(&qos0, V311),
        Packet::Publish(publish(QoS::AtMostOnce, "a/b", 0, b"hello"))
    );
    let qos1 = hex("320c0003612f62000168656c6c6f");
    let expected = Packet::Publish(publish(QoS::AtLeastOnce, "a/b", 1, b"hello"));
    assert_eq!(decode_one(&qos1, V311), expected);
    assert_eq!(encoded(&expected, ProtocolVersion::V311), qos1);
    assert_eq!(
        decode_one(&hex("e000"), V311),
        Packet::Disconnect(Disconnect::new(ReasonCode::NORMAL_DISCONNECTION))
    );
}

#[test]
fn mosquitto_pub_v5_connect_with_properties() {
    // mosquitto_pub -V mqttv5 -q 1 -i mosq-test -u user -P pass -x 3600
    //   -D connect user-property key value --will-topic will/t --will-payload bye
    //   --will-qos 1 -D will will-delay-interval 5
    let bytes = hex(
        "104a00044d51545405ce003c152600036b6579000576616c75651100000e1021001400096d6f73712d7465
         7374051800000005000677696c6c2f740003627965000475736572000470617373",
    );
    let Packet::Connect(c) = decode_one(&bytes, None) else { panic!("not a CONNECT") };
    let expected = Connect {
        protocol: ProtocolVersion::V5,
        clean_start: true,
        keep_alive: 60,
        properties: ConnectProperties {
            session_expiry_interval: Some(3600),
            receive_maximum: Some(20),
            user_properties: vec![("key".into(), "value".into())],
            ..Default::default()
        },
        client_id: "mosq-test".into(),
        will: Some(LastWill {
            topic: "will/t".into(),
            payload: Bytes::from_static(b"bye"),
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: WillProperties { will_delay_interval: Some(5), ..Default::default() },
        }),
        username: Some("user".into()),
        password: Some(Bytes::from_static(b"pass")),
    };
    assert_eq!(*c, expected);
    // Properties may come in any order; ours differs from mosquitto's, the content does not.
    let again = encoded(&Packet::Connect(c), ProtocolVersion::V5);
    assert_eq!(again.len(), bytes.len());
    assert_eq!(decode_one(&again, None), Packet::Connect(Box::new(expected)));
}

#[test]
fn mosquitto_pub_v5_publish_with_properties() {
    // -D publish content-type text/plain -D publish message-expiry-interval 60, QoS 1.
    let bytes = hex("321f0003612f6200011203000a746578742f706c61696e020000003c68656c6c6f");
    let expected = Packet::Publish(Publish {
        properties: PublishProperties {
            content_type: Some("text/plain".into()),
            message_expiry_interval: Some(60),
            ..Default::default()
        },
        ..publish(QoS::AtLeastOnce, "a/b", 1, b"hello")
    });
    assert_eq!(decode_one(&bytes, V5), expected);
}

#[test]
fn publish_qos2_v5_bytes() {
    let bytes = hex("340f 0003 612f62 000b 02 0101 68656c6c6f");
    let expected = Packet::Publish(Publish {
        properties: PublishProperties { payload_format_indicator: Some(1), ..Default::default() },
        ..publish(QoS::ExactlyOnce, "a/b", 11, b"hello")
    });
    assert_eq!(decode_one(&bytes, V5), expected);
    assert_eq!(encoded(&expected, ProtocolVersion::V5), bytes);
}

#[test]
fn publish_qos0_has_no_packet_id_and_no_dup() {
    let p = Packet::Publish(Publish { dup: true, ..publish(QoS::AtMostOnce, "t", 77, b"x") });
    assert_eq!(encoded(&p, ProtocolVersion::V311), hex("30 04 0001 74 78"));
    assert_eq!(encoded(&p, ProtocolVersion::V5), hex("30 05 0001 74 00 78"));
}

#[test]
fn subscribe_bytes() {
    let v311 = hex("8208 0001 0003 612f23 01");
    let expected = Packet::Subscribe(Subscribe {
        packet_id: 1,
        subscription_identifier: None,
        user_properties: Vec::new(),
        filters: vec![(
            "a/#".into(),
            SubscriptionOptions { qos: QoS::AtLeastOnce, ..Default::default() },
        )],
    });
    assert_eq!(decode_one(&v311, V311), expected);
    assert_eq!(encoded(&expected, ProtocolVersion::V311), v311);

    // QoS 1, no local, retain as published, retain handling 2; subscription identifier 5.
    let v5 = hex("820b 0001 02 0b05 0003 612f23 2d");
    let expected = Packet::Subscribe(Subscribe {
        packet_id: 1,
        subscription_identifier: Some(5),
        user_properties: Vec::new(),
        filters: vec![(
            "a/#".into(),
            SubscriptionOptions {
                qos: QoS::AtLeastOnce,
                no_local: true,
                retain_as_published: true,
                retain_handling: RetainHandling::DoNotSend,
            },
        )],
    });
    assert_eq!(decode_one(&v5, V5), expected);
    assert_eq!(encoded(&expected, ProtocolVersion::V5), v5);
}

#[test]
fn pub_responses_v5_short_forms() {
    assert_eq!(decode_one(&hex("4002 0007"), V5), Packet::PubAck(PubResponse::success(7)));
    assert_eq!(
        encoded(&Packet::PubAck(PubResponse::success(7)), ProtocolVersion::V5),
        hex("40020007")
    );
    let no_subscribers = PubResponse {
        packet_id: 7,
        reason: ReasonCode::NO_MATCHING_SUBSCRIBERS,
        properties: AckProperties::default(),
    };
    // Reason code without property length, and with an empty property block.
    assert_eq!(decode_one(&hex("4003 0007 10"), V5), Packet::PubAck(no_subscribers.clone()));
    assert_eq!(decode_one(&hex("4004 0007 10 00"), V5), Packet::PubAck(no_subscribers.clone()));
    assert_eq!(decode_one(&hex("5004 0007 00 00"), V5), Packet::PubRec(PubResponse::success(7)));
    assert_eq!(decode_one(&hex("6202 0007"), V5), Packet::PubRel(PubResponse::success(7)));
    assert_eq!(decode_one(&hex("7003 0007 00"), V5), Packet::PubComp(PubResponse::success(7)));
    assert_eq!(
        encoded(&Packet::PubAck(no_subscribers), ProtocolVersion::V5),
        hex("4004 0007 10 00")
    );
}

#[test]
fn pub_responses_v311_carry_no_reason() {
    let rejected =
        PubResponse { packet_id: 7, reason: ReasonCode::QUOTA_EXCEEDED, properties: ack_props() };
    assert_eq!(encoded(&Packet::PubAck(rejected.clone()), ProtocolVersion::V311), hex("40020007"));
    assert_eq!(encoded(&Packet::PubRel(rejected), ProtocolVersion::V311), hex("62020007"));
}

#[test]
fn disconnect_and_auth_short_forms() {
    let normal = Packet::Disconnect(Disconnect::new(ReasonCode::NORMAL_DISCONNECTION));
    assert_eq!(decode_one(&hex("e000"), V5), normal);
    assert_eq!(encoded(&normal, ProtocolVersion::V5), hex("e000"));
    let taken_over = Packet::Disconnect(Disconnect::new(ReasonCode::SESSION_TAKEN_OVER));
    assert_eq!(decode_one(&hex("e001 8e"), V5), taken_over);
    assert_eq!(encoded(&taken_over, ProtocolVersion::V5), hex("e002 8e 00"));
    assert_eq!(encoded(&taken_over, ProtocolVersion::V311), hex("e000"));

    let ok = Packet::Auth(Auth { reason: ReasonCode::SUCCESS, properties: Default::default() });
    assert_eq!(decode_one(&hex("f000"), V5), ok);
    assert_eq!(encoded(&ok, ProtocolVersion::V5), hex("f000"));
    let reauth =
        Packet::Auth(Auth { reason: ReasonCode::RE_AUTHENTICATE, properties: Default::default() });
    assert_eq!(decode_one(&hex("f001 19"), V5), reauth);
}

#[test]
fn auth_cannot_be_encoded_for_v311() {
    let auth = Packet::Auth(Auth { reason: ReasonCode::SUCCESS, properties: Default::default() });
    let mut buf = BytesMut::new();
    let err = encode(&auth, ProtocolVersion::V311, &mut buf).unwrap_err();
    assert_eq!(err.packet, "AUTH");
    assert!(buf.is_empty());
}

#[test]
fn connack_bytes_and_v311_return_codes() {
    let ok = ConnAck {
        session_present: false,
        reason: ReasonCode::SUCCESS,
        properties: ConnAckProperties::default(),
    };
    assert_eq!(encoded(&Packet::ConnAck(ok.clone()), ProtocolVersion::V311), hex("20020000"));
    assert_eq!(encoded(&Packet::ConnAck(ok), ProtocolVersion::V5), hex("2003000000"));
    for (reason, code) in [
        (ReasonCode::UNSUPPORTED_PROTOCOL_VERSION, 1),
        (ReasonCode::CLIENT_IDENTIFIER_NOT_VALID, 2),
        (ReasonCode::SERVER_UNAVAILABLE, 3),
        (ReasonCode::SERVER_BUSY, 3),
        (ReasonCode::BAD_USER_NAME_OR_PASSWORD, 4),
        (ReasonCode::NOT_AUTHORIZED, 5),
        (ReasonCode::BANNED, 5),
    ] {
        let refused = Packet::ConnAck(ConnAck {
            session_present: false,
            reason,
            properties: ConnAckProperties {
                reason_string: Some("dropped".into()),
                ..Default::default()
            },
        });
        assert_eq!(encoded(&refused, ProtocolVersion::V311), vec![0x20, 0x02, 0x00, code]);
    }
    let Packet::ConnAck(c) = decode_one(&hex("20020105"), V311) else { panic!("not a CONNACK") };
    assert!(c.session_present);
    assert_eq!(c.reason, ReasonCode::NOT_AUTHORIZED);
}

#[test]
fn suback_v311_failures_become_0x80() {
    let suback = Packet::SubAck(SubAck {
        packet_id: 1,
        properties: ack_props(),
        reasons: vec![ReasonCode::GRANTED_QOS_1, ReasonCode::NOT_AUTHORIZED, ReasonCode(0x80)],
    });
    assert_eq!(encoded(&suback, ProtocolVersion::V311), hex("9005 0001 01 80 80"));
    // Decoding keeps 3.1.1 codes as they are.
    let Packet::SubAck(s) = decode_one(&hex("9004 0001 02 80"), V311) else { panic!() };
    assert_eq!(s.reasons, vec![ReasonCode(0x02), ReasonCode(0x80)]);
}

#[test]
fn v311_reserved_return_codes_are_malformed() {
    // Found by the packet_decode fuzz target: mapped to 5.0 reasons, these came back from the
    // encoder as other return codes (6 -> 0x80 -> 3; 0x81 -> 0x80).
    for code in [6u8, 0x4A, 0xFF] {
        assert_eq!(reject(&[0x20, 0x02, 0x00, code], V311), ReasonCode::MALFORMED_PACKET, "{code}");
    }
    for code in [3u8, 0x7F, 0x81, 0x87, 0xFF] {
        let suback = [0x90, 0x04, 0x00, 0x01, 0x00, code];
        assert_eq!(reject(&suback, V311), ReasonCode::MALFORMED_PACKET, "{code:#04x}");
    }
    // 5.0 reason codes are kept as they are.
    let Packet::SubAck(s) = decode_one(&hex("9005 0001 00 00 87"), V5) else { panic!() };
    assert_eq!(s.reasons, vec![ReasonCode(0x00), ReasonCode::NOT_AUTHORIZED]);
}

#[test]
fn unsuback_v311_has_no_reasons() {
    let unsuback = Packet::UnsubAck(UnsubAck {
        packet_id: 5,
        properties: ack_props(),
        reasons: vec![ReasonCode::SUCCESS],
    });
    assert_eq!(encoded(&unsuback, ProtocolVersion::V311), hex("b002 0005"));
    assert_eq!(reject(&hex("b003 0005 00"), V311), ReasonCode::MALFORMED_PACKET);
}

#[test]
fn pings() {
    assert_eq!(decode_one(&hex("c000"), V311), Packet::PingReq);
    assert_eq!(decode_one(&hex("d000"), V5), Packet::PingResp);
    assert_eq!(encoded(&Packet::PingReq, ProtocolVersion::V5), hex("c000"));
    assert_eq!(encoded(&Packet::PingResp, ProtocolVersion::V311), hex("d000"));
}

#[test]
fn encode_refuses_oversized_fields() {
    let long = "x".repeat(65_536);
    let mut buf = BytesMut::new();
    let topic = Packet::Publish(publish(QoS::AtMostOnce, &long, 0, b""));
    let err = encode(&topic, ProtocolVersion::V5, &mut buf).unwrap_err();
    assert_eq!(err.packet, "PUBLISH");
    assert!(buf.is_empty(), "nothing is written on error");

    // One byte over the largest remaining length; zeroed pages are never touched.
    let huge = Bytes::from(vec![0u8; 268_435_455]);
    let too_big =
        Packet::Publish(Publish { payload: huge, ..publish(QoS::AtMostOnce, "t", 0, b"") });
    assert!(encode(&too_big, ProtocolVersion::V311, &mut buf).is_err());
    assert!(buf.is_empty());

    let zero_alias = Packet::Publish(Publish {
        properties: PublishProperties { topic_alias: Some(0), ..Default::default() },
        ..publish(QoS::AtMostOnce, "t", 0, b"")
    });
    assert!(encode(&zero_alias, ProtocolVersion::V5, &mut buf).is_err());
}

#[test]
fn encode_refuses_wildcards_in_topic_names() {
    // Found by the connect fuzz target: a history reply to a client whose id contains '+'
    // went out on "$history/reply/v+11-history", which every receiver decodes as malformed.
    for topic in ["$history/reply/v+11-history", "a/#", "+"] {
        let mut buf = BytesMut::new();
        for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
            let wildcard = Packet::Publish(publish(QoS::AtLeastOnce, topic, 1, b"x"));
            let err = encode(&wildcard, version, &mut buf).unwrap_err();
            assert_eq!(err.packet, "PUBLISH");
            assert!(buf.is_empty(), "nothing is written on error");
        }
    }
}

#[test]
fn response_topic_with_a_wildcard_is_a_protocol_error() {
    // MQTT-3.3.2-14: a Response Topic is a topic name. Replies to it would be malformed.
    let mut query = publish(QoS::AtLeastOnce, "$history/query", 1, b"{}");
    query.properties.response_topic = Some("replies/+".into());
    let request = Packet::Publish(query);
    let mut bytes = BytesMut::from(&encoded(&request, ProtocolVersion::V5)[..]);
    let error = decode(&mut bytes, Some(ProtocolVersion::V5), u32::MAX).unwrap_err();
    assert_eq!(error.reason, ReasonCode::PROTOCOL_ERROR, "{error}");
}

// ---- round trips, partial input, buffer handling ----

fn round_trip(samples: Vec<Packet>, version: ProtocolVersion) {
    for packet in samples {
        let bytes = encoded(&packet, version);
        let state = match &packet {
            Packet::Connect(_) => None,
            _ => Some(version),
        };
        assert_eq!(decode_one(&bytes, state), packet, "{bytes:02x?}");
    }
}

#[test]
fn round_trip_v311() {
    round_trip(v311_samples(), ProtocolVersion::V311);
}

#[test]
fn round_trip_v5() {
    round_trip(v5_samples(), ProtocolVersion::V5);
}

#[test]
fn every_strict_prefix_needs_more_bytes() {
    for (samples, version) in
        [(v311_samples(), ProtocolVersion::V311), (v5_samples(), ProtocolVersion::V5)]
    {
        for packet in samples {
            let bytes = encoded(&packet, version);
            let state = if matches!(packet, Packet::Connect(_)) { None } else { Some(version) };
            for len in 0..bytes.len() {
                let mut buf = BytesMut::from(&bytes[..len]);
                assert_eq!(decode(&mut buf, state, MAX), Ok(None), "{packet:?} cut at {len}");
                assert_eq!(&buf[..], &bytes[..len], "nothing consumed");
            }
        }
    }
}

#[test]
fn consecutive_packets_are_decoded_one_at_a_time() {
    let mut stream = Vec::new();
    let samples = v5_samples();
    for packet in &samples[2..] {
        stream.extend(encoded(packet, ProtocolVersion::V5));
    }
    // A partial packet at the end stays in the buffer.
    stream.extend_from_slice(&[0x30, 0x10, 0x00]);
    let mut buf = BytesMut::from(&stream[..]);
    for packet in &samples[2..] {
        assert_eq!(decode(&mut buf, V5, MAX).unwrap().as_ref(), Some(packet));
    }
    assert_eq!(decode(&mut buf, V5, MAX), Ok(None));
    assert_eq!(&buf[..], &[0x30, 0x10, 0x00]);
}

#[test]
fn payload_is_a_slice_of_the_receive_buffer() {
    let bytes = encoded(
        &Packet::Publish(publish(QoS::AtLeastOnce, "t", 1, b"payload bytes")),
        ProtocolVersion::V5,
    );
    let mut buf = BytesMut::from(&bytes[..]);
    let start = buf.as_ptr() as usize;
    let end = start + buf.len();
    let Some(Packet::Publish(p)) = decode(&mut buf, V5, MAX).unwrap() else { panic!() };
    let at = p.payload.as_ptr() as usize;
    assert!(start <= at && at + p.payload.len() <= end, "payload was copied");
}

#[test]
fn packet_too_large_is_reported_from_the_fixed_header() {
    // Claims 268,435,455 bytes; only the fixed header is there.
    assert_eq!(reject(&hex("30ffffff7f"), V5), ReasonCode::PACKET_TOO_LARGE);
    let mut buf = BytesMut::from(&hex("30ffffff7f")[..]);
    assert_eq!(decode(&mut buf, V5, u32::MAX), Ok(None), "within the limit: wait for the body");
    // The limit counts the fixed header too.
    let ping = hex("c000");
    assert_eq!(decode(&mut BytesMut::from(&ping[..]), V5, 2), Ok(Some(Packet::PingReq)));
    let err = decode(&mut BytesMut::from(&ping[..]), V5, 1).unwrap_err();
    assert_eq!(err.reason, ReasonCode::PACKET_TOO_LARGE);
    // Also for a CONNECT before any version is known.
    let err = decode(&mut BytesMut::from(&hex("10ff7f")[..]), None, 1000).unwrap_err();
    assert_eq!(err.reason, ReasonCode::PACKET_TOO_LARGE);
}

#[test]
fn a_refused_connect_stays_in_the_buffer() {
    let bytes = connect_frame("MQTT", 6, 0x02, &s("id"));
    let mut buf = BytesMut::from(&bytes[..]);
    buf.extend_from_slice(&hex("c000"));
    let err = decode(&mut buf, None, MAX).unwrap_err();
    assert_eq!(err.reason, ReasonCode::UNSUPPORTED_PROTOCOL_VERSION);
    assert_eq!(&buf[..bytes.len()], &bytes[..]);
    assert_eq!(&buf[bytes.len()..], &hex("c000")[..]);
}

#[test]
fn decode_error_display_names_the_reason() {
    let mut buf = BytesMut::from(&hex("c001 00")[..]);
    let err = decode(&mut buf, V5, MAX).unwrap_err();
    assert!(err.to_string().starts_with("0x81 (Malformed Packet): "), "{err}");
}

// ---- framing and fixed header validation ----

#[test]
fn remaining_length_longer_than_four_bytes_is_malformed() {
    assert_eq!(reject(&hex("30ffffffff01"), V5), ReasonCode::MALFORMED_PACKET);
    assert_eq!(reject(&hex("30ffffffff"), V311), ReasonCode::MALFORMED_PACKET);
}

#[test]
fn trailing_bytes_are_malformed() {
    assert_eq!(reject(&hex("4003 0007 00"), V311), ReasonCode::MALFORMED_PACKET);
    assert_eq!(reject(&hex("4005 0007 00 00 ff"), V5), ReasonCode::MALFORMED_PACKET);
    assert_eq!(reject(&hex("c001 00"), V5), ReasonCode::MALFORMED_PACKET);
    assert_eq!(reject(&hex("e001 00"), V311), ReasonCode::MALFORMED_PACKET);
    assert_eq!(reject(&hex("2003 0000 00"), V311), ReasonCode::MALFORMED_PACKET);
    let connect = connect_frame("MQTT", 4, 0x02, &[s("id"), vec![0xAA]].concat());
    assert_eq!(reject(&connect, None), ReasonCode::MALFORMED_PACKET);
}

#[test]
fn fields_running_past_the_end_are_malformed() {
    // A topic claiming 9 bytes with 3 present.
    assert_eq!(reject(&hex("3005 0009 616263"), V5), ReasonCode::MALFORMED_PACKET);
    // PUBACK with only one byte of packet identifier.
    assert_eq!(reject(&hex("4001 00"), V5), ReasonCode::MALFORMED_PACKET);
    // QoS 1 PUBLISH without room for the packet identifier.
    assert_eq!(reject(&hex("3204 0001 74 00"), V311), ReasonCode::MALFORMED_PACKET);
    // CONNECT cut after the flags.
    assert_eq!(
        reject(&frame(0x10, &[s("MQTT"), vec![4, 2]].concat()), None),
        ReasonCode::MALFORMED_PACKET
    );
    // CONNACK 5.0 without the property length.
    assert_eq!(reject(&hex("2002 0000"), V5), ReasonCode::MALFORMED_PACKET);
}

#[test]
fn reserved_fixed_header_flags_are_malformed() {
    for bytes in [
        "6002 0001", // PUBREL needs 0010
        "6302 0001",
        "8008 0001 0003 612f23 01", // SUBSCRIBE needs 0010
        "a007 0001 0003 612f23",    // UNSUBSCRIBE needs 0010
        "4102 0001",
        "5202 0001",
        "7802 0001",
        "c100",
        "d200",
        "e400",
        "2102 0000",
        "9103 0001 00",
        "b102 0001",
    ] {
        assert_eq!(reject(&hex(bytes), V311), ReasonCode::MALFORMED_PACKET, "{bytes}");
    }
    assert_eq!(reject(&hex("f100"), V5), ReasonCode::MALFORMED_PACKET);
    let mut connect = connect_frame("MQTT", 4, 0x02, &s("id"));
    connect[0] = 0x11;
    assert_eq!(reject(&connect, None), ReasonCode::MALFORMED_PACKET);
}

#[test]
fn reserved_packet_types_are_malformed() {
    for version in [None, V311, V5] {
        assert_eq!(reject(&hex("0000"), version), ReasonCode::MALFORMED_PACKET);
    }
    assert_eq!(reject(&hex("f000"), V311), ReasonCode::MALFORMED_PACKET);
}

#[test]
fn first_packet_must_be_connect() {
    for bytes in ["c000", "300a0003612f6268656c6c6f", "20020000", "e000", "f000"] {
        assert_eq!(reject(&hex(bytes), None), ReasonCode::PROTOCOL_ERROR, "{bytes}");
    }
    // Refused from the first byte, without waiting for the rest.
    assert_eq!(reject(&hex("82"), None), ReasonCode::PROTOCOL_ERROR);
}

// ---- PUBLISH ----

#[test]
fn publish_qos_3_is_malformed() {
    assert_eq!(reject(&hex("3607 0003 612f62 0001"), V311), ReasonCode::MALFORMED_PACKET);
    // Judged from the first byte alone.
    assert_eq!(reject(&hex("36"), V5), ReasonCode::MALFORMED_PACKET);
}

#[test]
fn publish_dup_with_qos_0_is_malformed() {
    assert_eq!(reject(&hex("3805 0003 612f62"), V311), ReasonCode::MALFORMED_PACKET);
    assert_eq!(reject(&hex("3806 0003 612f62 00"), V5), ReasonCode::MALFORMED_PACKET);
}

#[test]
fn publish_packet_id_0_is_malformed() {
    assert_eq!(reject(&hex("3207 0003 612f62 0000"), V311), ReasonCode::MALFORMED_PACKET);
    assert_eq!(reject(&hex("3408 0003 612f62 0000 00"), V5), ReasonCode::MALFORMED_PACKET);
}

#[test]
fn publish_topic_with_wildcards_is_invalid() {
    for topic in ["a/+", "#", "a/#", "+", "a+b"] {
        let v311 = frame(0x30, &s(topic));
        assert_eq!(reject(&v311, V311), ReasonCode::TOPIC_NAME_INVALID, "{topic}");
        let v5 = frame(0x30, &[s(topic), props(&[])].concat());
        assert_eq!(reject(&v5, V5), ReasonCode::TOPIC_NAME_INVALID, "{topic}");
    }
}

#[test]
fn publish_empty_topic() {
    assert_eq!(reject(&hex("3002 0000"), V311), ReasonCode::MALFORMED_PACKET);
    assert_eq!(reject(&hex("3003 0000 00"), V5), ReasonCode::PROTOCOL_ERROR);
    // With a Topic Alias the topic may be empty.
    let Packet::Publish(p) = decode_one(&hex("3007 0000 03 230005 78"), V5) else { panic!() };
    assert_eq!((p.topic.as_str(), p.properties.topic_alias), ("", Some(5)));
    assert_eq!(p.payload, Bytes::from_static(b"x"));
}

#[test]
fn publish_subscription_identifier_from_client_decodes() {
    let bytes = frame(0x30, &[s("t"), props(&[0x0B, 0x05, 0x0B, 0x80, 0x01])].concat());
    let Packet::Publish(p) = decode_one(&bytes, V5) else { panic!() };
    assert_eq!(p.properties.subscription_identifiers, vec![5, 128]);
}

#[test]
fn publish_payload_is_not_checked_for_utf8() {
    let bytes = frame(0x30, &[s("t"), props(&[0x01, 0x01]), vec![0xFF, 0xFE, 0x00]].concat());
    let Packet::Publish(p) = decode_one(&bytes, V5) else { panic!() };
    assert_eq!(p.properties.payload_format_indicator, Some(1));
    assert_eq!(&p.payload[..], &[0xFF, 0xFE, 0x00]);
}

// ---- UTF-8 strings ----

#[test]
fn invalid_utf8_is_malformed() {
    for raw in [&[0xC3, 0x28][..], &[0xFF], &[0xED, 0xA0, 0x80] /* surrogate */, &[0xE2, 0x82]] {
        let bytes = frame(0x30, &b(raw));
        assert_eq!(reject(&bytes, V311), ReasonCode::MALFORMED_PACKET, "{raw:02x?}");
    }
    // In a client id, a property and a topic filter too.
    let connect = connect_frame("MQTT", 4, 0x02, &b(&[0x61, 0xFF]));
    assert_eq!(reject(&connect, None), ReasonCode::MALFORMED_PACKET);
    let reason_string =
        frame(0x40, &[vec![0, 1, 0x80], props(&[&[0x1F][..], &b(&[0xFF])].concat())].concat());
    assert_eq!(reject(&reason_string, V5), ReasonCode::MALFORMED_PACKET);
    let filter = frame(0x82, &[vec![0, 1], b(&[0xC0, 0x80]), vec![0]].concat());
    assert_eq!(reject(&filter, V311), ReasonCode::MALFORMED_PACKET);
}

#[test]
fn nul_character_is_malformed() {
    assert_eq!(reject(&frame(0x30, &s("a\0b")), V311), ReasonCode::MALFORMED_PACKET);
    let user = props(&[&[0x26][..], &s("k"), &s("v\0")].concat());
    assert_eq!(reject(&frame(0x30, &[s("t"), user].concat()), V5), ReasonCode::MALFORMED_PACKET);
    let connect = connect_frame("MQTT", 4, 0x82, &[s("id"), s("us\0er")].concat());
    assert_eq!(reject(&connect, None), ReasonCode::MALFORMED_PACKET);
}

#[test]
fn other_control_characters_are_allowed() {
    let Packet::Publish(p) = decode_one(&frame(0x30, &s("a\u{1}\u{7f}\u{9f}\u{ffff}")), V311)
    else {
        panic!()
    };
    assert_eq!(p.topic, "a\u{1}\u{7f}\u{9f}\u{ffff}");
}

// ---- CONNECT ----

#[test]
fn connect_unsupported_protocol_versions() {
    for (name, level) in [("MQIsdp", 3), ("MQTT", 3), ("MQTT", 6), ("MQTT", 0), ("MQIsdp", 4)] {
        let bytes = connect_frame(name, level, 0x02, &s("id"));
        assert_eq!(
            reject(&bytes, None),
            ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
            "{name} {level}"
        );
    }
}

#[test]
fn connect_unknown_protocol_name_is_malformed() {
    for name in ["HTTP", "mqtt", "MQTT5", ""] {
        let bytes = connect_frame(name, 4, 0x02, &s("id"));
        assert_eq!(reject(&bytes, None), ReasonCode::MALFORMED_PACKET, "{name}");
    }
}

#[test]
fn connect_reserved_flag_is_malformed() {
    assert_eq!(
        reject(&connect_frame("MQTT", 4, 0x03, &s("id")), None),
        ReasonCode::MALFORMED_PACKET
    );
    let v5 = connect_frame("MQTT", 5, 0x01, &[props(&[]), s("id")].concat());
    assert_eq!(reject(&v5, None), ReasonCode::MALFORMED_PACKET);
}

#[test]
fn connect_will_qos_or_retain_without_will_is_malformed() {
    for flags in [0x0A, 0x12, 0x22, 0x3A] {
        let bytes = connect_frame("MQTT", 4, flags, &s("id"));
        assert_eq!(reject(&bytes, None), ReasonCode::MALFORMED_PACKET, "{flags:#x}");
        let v5 = connect_frame("MQTT", 5, flags, &[props(&[]), s("id")].concat());
        assert_eq!(reject(&v5, None), ReasonCode::MALFORMED_PACKET, "{flags:#x}");
    }
}

#[test]
fn connect_will_qos_3_is_malformed() {
    let will = [s("id"), s("w"), s("bye")].concat();
    assert_eq!(reject(&connect_frame("MQTT", 4, 0x1E, &will), None), ReasonCode::MALFORMED_PACKET);
    let v5 = [props(&[]), s("id"), props(&[]), s("w"), s("bye")].concat();
    assert_eq!(reject(&connect_frame("MQTT", 5, 0x1E, &v5), None), ReasonCode::MALFORMED_PACKET);
    // The same packet with will QoS 2 is fine.
    let Packet::Connect(c) = decode_one(&connect_frame("MQTT", 5, 0x16, &v5), None) else {
        panic!()
    };
    assert_eq!(c.will.map(|w| w.qos), Some(QoS::ExactlyOnce));
}

#[test]
fn connect_password_without_user_name() {
    let v311 = connect_frame("MQTT", 4, 0x42, &[s("id"), s("pw")].concat());
    assert_eq!(reject(&v311, None), ReasonCode::MALFORMED_PACKET);
    let v5 = connect_frame("MQTT", 5, 0x42, &[props(&[]), s("id"), s("pw")].concat());
    let Packet::Connect(c) = decode_one(&v5, None) else { panic!() };
    assert_eq!((c.username, c.password), (None, Some(Bytes::from_static(b"pw"))));
}

#[test]
fn connect_will_topic_must_be_a_topic_name() {
    for topic in ["a/#", "+", ""] {
        let bytes = connect_frame("MQTT", 4, 0x06, &[s("id"), s(topic), s("bye")].concat());
        assert_eq!(reject(&bytes, None), ReasonCode::TOPIC_NAME_INVALID, "{topic:?}");
    }
}

#[test]
fn connect_authentication_data_needs_a_method() {
    let data = props(&[&[0x16][..], &b(b"xyz")].concat());
    let bytes = connect_frame("MQTT", 5, 0x02, &[data, s("id")].concat());
    assert_eq!(reject(&bytes, None), ReasonCode::PROTOCOL_ERROR);
}

#[test]
fn connect_carries_its_own_version() {
    // Decoding a CONNECT does not depend on the version passed in.
    let v5 = connect_frame("MQTT", 5, 0x02, &[props(&[]), s("id")].concat());
    for version in [None, V311, V5] {
        let Packet::Connect(c) = decode_one(&v5, version) else { panic!() };
        assert_eq!(c.protocol, ProtocolVersion::V5);
    }
}

#[test]
fn connect_client_id_is_read_as_is() {
    let long = "c".repeat(300);
    let bytes = connect_frame("MQTT", 4, 0x02, &s(&long));
    let Packet::Connect(c) = decode_one(&bytes, None) else { panic!() };
    assert_eq!(c.client_id, long);
}

// ---- SUBSCRIBE and UNSUBSCRIBE ----

#[test]
fn subscribe_without_filters() {
    assert_eq!(reject(&hex("8202 0001"), V311), ReasonCode::MALFORMED_PACKET);
    assert_eq!(reject(&hex("8203 0001 00"), V5), ReasonCode::PROTOCOL_ERROR);
}

#[test]
fn subscribe_v311_options_allow_only_qos() {
    for options in [0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFC] {
        let bytes = frame(0x82, &[vec![0, 1], s("a"), vec![options]].concat());
        assert_eq!(reject(&bytes, V311), ReasonCode::MALFORMED_PACKET, "{options:#x}");
    }
}

#[test]
fn subscribe_v5_options() {
    let with = |options: u8| frame(0x82, &[vec![0, 1, 0], s("a"), vec![options]].concat());
    assert_eq!(reject(&with(0x40), V5), ReasonCode::MALFORMED_PACKET);
    assert_eq!(reject(&with(0x80), V5), ReasonCode::MALFORMED_PACKET);
    assert_eq!(reject(&with(0x30), V5), ReasonCode::PROTOCOL_ERROR);
    assert_eq!(reject(&with(0x31), V5), ReasonCode::PROTOCOL_ERROR);
    let qos3 = frame(0x82, &[vec![0, 1], s("a"), vec![0x03]].concat());
    assert_eq!(reject(&qos3, V311), ReasonCode::MALFORMED_PACKET);
    assert_eq!(reject(&with(0x03), V5), ReasonCode::MALFORMED_PACKET);
    assert_eq!(reject(&with(0x1F), V5), ReasonCode::MALFORMED_PACKET);
}

#[test]
fn subscribe_empty_filter_is_malformed() {
    let v311 = frame(0x82, &[vec![0, 1], s(""), vec![0]].concat());
    assert_eq!(reject(&v311, V311), ReasonCode::MALFORMED_PACKET);
    let v5 = frame(0x82, &[vec![0, 1, 0], s("a"), vec![0], s(""), vec![0]].concat());
    assert_eq!(reject(&v5, V5), ReasonCode::MALFORMED_PACKET);
}

#[test]
fn subscribe_filter_validity_is_left_to_the_broker() {
    let bytes = frame(0x82, &[vec![0, 1], s("a/#/b"), vec![0], s("+x"), vec![1]].concat());
    let Packet::Subscribe(sub) = decode_one(&bytes, V311) else { panic!() };
    assert_eq!(sub.filters.len(), 2);
}

#[test]
fn subscribe_filter_without_options_is_malformed() {
    let bytes = frame(0x82, &[vec![0, 1], s("a")].concat());
    assert_eq!(reject(&bytes, V311), ReasonCode::MALFORMED_PACKET);
}

#[test]
fn subscribe_packet_id_0_is_malformed() {
    assert_eq!(reject(&hex("8206 0000 0001 61 00"), V311), ReasonCode::MALFORMED_PACKET);
    assert_eq!(reject(&hex("8207 0000 00 0001 61 00"), V5), ReasonCode::MALFORMED_PACKET);
}

#[test]
fn subscribe_subscription_identifier_rules() {
    let with = |p: &[u8]| frame(0x82, &[vec![0, 1], props(p), s("a"), vec![0]].concat());
    assert_eq!(reject(&with(&[0x0B, 0x00]), V5), ReasonCode::PROTOCOL_ERROR);
    // Only once in SUBSCRIBE.
    assert_eq!(reject(&with(&[0x0B, 0x01, 0x0B, 0x02]), V5), ReasonCode::PROTOCOL_ERROR);
    // More than four bytes.
    assert_eq!(
        reject(&with(&[0x0B, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]), V5),
        ReasonCode::MALFORMED_PACKET
    );
    let Packet::Subscribe(sub) = decode_one(&with(&[0x0B, 0xFF, 0xFF, 0xFF, 0x7F]), V5) else {
        panic!()
    };
    assert_eq!(sub.subscription_identifier, Some(268_435_455));
    // And zero in a PUBLISH.
    let publish = frame(0x30, &[s("t"), props(&[0x0B, 0x00])].concat());
    assert_eq!(reject(&publish, V5), ReasonCode::PROTOCOL_ERROR);
}

#[test]
fn unsubscribe_without_filters() {
    assert_eq!(reject(&hex("a202 0001"), V311), ReasonCode::MALFORMED_PACKET);
    assert_eq!(reject(&hex("a203 0001 00"), V5), ReasonCode::PROTOCOL_ERROR);
}

#[test]
fn unsubscribe_packet_id_0_is_malformed() {
    assert_eq!(reject(&hex("a205 0000 0001 61"), V311), ReasonCode::MALFORMED_PACKET);
    assert_eq!(reject(&hex("a206 0000 00 0001 61"), V5), ReasonCode::MALFORMED_PACKET);
}

#[test]
fn unsubscribe_empty_filter_is_malformed() {
    assert_eq!(reject(&hex("a204 0001 0000"), V311), ReasonCode::MALFORMED_PACKET);
}

#[test]
fn ack_packet_id_0_is_malformed() {
    for bytes in ["4002 0000", "5002 0000", "6202 0000", "7002 0000", "9003 0000 00", "b002 0000"] {
        assert_eq!(reject(&hex(bytes), V311), ReasonCode::MALFORMED_PACKET, "{bytes}");
    }
}

#[test]
fn connack_reserved_flags_are_malformed() {
    assert_eq!(reject(&hex("2002 0200"), V311), ReasonCode::MALFORMED_PACKET);
    assert_eq!(reject(&hex("2003 8000 00"), V5), ReasonCode::MALFORMED_PACKET);
}

// ---- 5.0 properties ----

/// A 5.0 PUBACK for packet 1 with reason 0x10 and the given property bytes.
fn puback_with(properties: &[u8]) -> Vec<u8> {
    frame(0x40, &[vec![0, 1, 0x10], props(properties)].concat())
}

#[test]
fn property_length_longer_than_four_bytes_is_malformed() {
    let bytes = frame(0x40, &[0, 1, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]);
    assert_eq!(reject(&bytes, V5), ReasonCode::MALFORMED_PACKET);
}

#[test]
fn property_length_past_the_packet_is_malformed() {
    assert_eq!(reject(&hex("4005 0001 10 05 1f"), V5), ReasonCode::MALFORMED_PACKET);
    // A string inside the block claiming more than the block holds.
    let bytes = frame(0x40, &[0, 1, 0x10, 0x03, 0x1F, 0x00, 0x05, b'a', b'b', b'c']);
    assert_eq!(reject(&bytes, V5), ReasonCode::MALFORMED_PACKET);
    // A property value cut off by the end of the block.
    assert_eq!(reject(&puback_with(&[0x1F, 0x00]), V5), ReasonCode::MALFORMED_PACKET);
}

#[test]
fn unknown_property_is_malformed() {
    for id in [0x00, 0x04, 0x0A, 0x14, 0x2B, 0x7F] {
        assert_eq!(reject(&puback_with(&[id, 0x00]), V5), ReasonCode::MALFORMED_PACKET, "{id:#x}");
    }
    // A two-byte identifier is no property either.
    assert_eq!(reject(&puback_with(&[0x9F, 0x01]), V5), ReasonCode::MALFORMED_PACKET);
}

#[test]
fn property_in_the_wrong_packet_is_a_protocol_error() {
    // Topic Alias in PUBACK, Session Expiry Interval in PUBLISH, Receive Maximum in the will,
    // Subscription Identifier in UNSUBSCRIBE, Maximum QoS in CONNECT, Will Delay in CONNECT.
    assert_eq!(reject(&puback_with(&[0x23, 0x00, 0x01]), V5), ReasonCode::PROTOCOL_ERROR);
    let publish = frame(0x30, &[s("t"), props(&[0x11, 0, 0, 0, 1])].concat());
    assert_eq!(reject(&publish, V5), ReasonCode::PROTOCOL_ERROR);
    let will = [props(&[]), s("id"), props(&[0x21, 0x00, 0x01]), s("w"), s("bye")].concat();
    assert_eq!(reject(&connect_frame("MQTT", 5, 0x06, &will), None), ReasonCode::PROTOCOL_ERROR);
    let unsubscribe = frame(0xA2, &[vec![0, 1], props(&[0x0B, 0x01]), s("a")].concat());
    assert_eq!(reject(&unsubscribe, V5), ReasonCode::PROTOCOL_ERROR);
    let connect = connect_frame("MQTT", 5, 0x02, &[props(&[0x24, 0x01]), s("id")].concat());
    assert_eq!(reject(&connect, None), ReasonCode::PROTOCOL_ERROR);
    let connect = connect_frame("MQTT", 5, 0x02, &[props(&[0x18, 0, 0, 0, 1]), s("id")].concat());
    assert_eq!(reject(&connect, None), ReasonCode::PROTOCOL_ERROR);
    let disconnect = frame(0xE0, &[vec![0x00], props(&[0x15, 0x00, 0x01, b'x'])].concat());
    assert_eq!(reject(&disconnect, V5), ReasonCode::PROTOCOL_ERROR);
    let auth = frame(0xF0, &[vec![0x18], props(&[0x11, 0, 0, 0, 1])].concat());
    assert_eq!(reject(&auth, V5), ReasonCode::PROTOCOL_ERROR);
}

#[test]
fn repeated_property_is_a_protocol_error() {
    let twice = [&[0x1F][..], &s("a"), &[0x1F], &s("b")].concat();
    assert_eq!(reject(&puback_with(&twice), V5), ReasonCode::PROTOCOL_ERROR);
    let publish = frame(0x30, &[s("t"), props(&[0x23, 0, 1, 0x23, 0, 2])].concat());
    assert_eq!(reject(&publish, V5), ReasonCode::PROTOCOL_ERROR);
    let connect = [props(&[0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 1]), s("id")].concat();
    assert_eq!(reject(&connect_frame("MQTT", 5, 0x02, &connect), None), ReasonCode::PROTOCOL_ERROR);
}

#[test]
fn user_properties_may_repeat() {
    let users = [&[0x26][..], &s("k"), &s("1"), &[0x26], &s("k"), &s("2")].concat();
    let Packet::PubAck(ack) = decode_one(&puback_with(&users), V5) else { panic!() };
    assert_eq!(
        ack.properties.user_properties,
        vec![("k".into(), "1".into()), ("k".into(), "2".into())]
    );
}

#[test]
fn boolean_properties_must_be_0_or_1() {
    // Request Problem Information, Request Response Information in CONNECT.
    for id in [0x17, 0x19] {
        let connect = connect_frame("MQTT", 5, 0x02, &[props(&[id, 0x02]), s("id")].concat());
        assert_eq!(reject(&connect, None), ReasonCode::PROTOCOL_ERROR, "{id:#x}");
    }
    // Retain, Wildcard, Subscription Identifier, Shared Subscription Available, Maximum QoS
    // in CONNACK.
    for id in [0x25, 0x28, 0x29, 0x2A, 0x24] {
        let connack = frame(0x20, &[vec![0, 0], props(&[id, 0x02])].concat());
        assert_eq!(reject(&connack, V5), ReasonCode::PROTOCOL_ERROR, "{id:#x}");
    }
}

#[test]
fn zero_receive_maximum_maximum_packet_size_and_topic_alias_are_protocol_errors() {
    let connect = connect_frame("MQTT", 5, 0x02, &[props(&[0x21, 0, 0]), s("id")].concat());
    assert_eq!(reject(&connect, None), ReasonCode::PROTOCOL_ERROR);
    let connect = connect_frame("MQTT", 5, 0x02, &[props(&[0x27, 0, 0, 0, 0]), s("id")].concat());
    assert_eq!(reject(&connect, None), ReasonCode::PROTOCOL_ERROR);
    let publish = frame(0x30, &[s("t"), props(&[0x23, 0, 0])].concat());
    assert_eq!(reject(&publish, V5), ReasonCode::PROTOCOL_ERROR);
}

#[test]
fn payload_format_indicator_must_be_0_or_1() {
    let publish = frame(0x30, &[s("t"), props(&[0x01, 0x02])].concat());
    assert_eq!(reject(&publish, V5), ReasonCode::PROTOCOL_ERROR);
    let will = [props(&[]), s("id"), props(&[0x01, 0xFF]), s("w"), s("bye")].concat();
    assert_eq!(reject(&connect_frame("MQTT", 5, 0x06, &will), None), ReasonCode::PROTOCOL_ERROR);
}
