//! Access control against the running broker: the ACL matrix (every user, every topic family,
//! publish, subscribe with wildcards and shared subscriptions, history), an eavesdropper that
//! tries every wildcard while rooms are busy, and membership changes taking effect at once.
//!
//! Users sign in with HS256 tokens. Rooms: `room-a` (lender-1, borrower-1), `room-b` (lender-2,
//! borrower-2, guarantor-2), made and changed through the admin API. `outsider` and `donor` are
//! in no room. A static rule grants every signed-in user `lobby/#`.

mod common;

use std::collections::BTreeMap;

use common::{publish, start_with, Raw, TestBroker};
use jsonwebtoken::{encode, EncodingKey, Header};
use tallymq::codec::{Disconnect, Packet, ProtocolVersion, QoS, ReasonCode};
use tallymq::rooms::Role;
use tallymq_config::{Access, AccessRule, AuthMode, JwtAlgorithm};

const SECRET: &[u8] = b"access-test-secret";
const USERS: [&str; 7] = ["lender-1", "borrower-1", "lender-2", "borrower-2", "guarantor-2", "outsider", "donor"];

fn rooms() -> Vec<(&'static str, Vec<(&'static str, Role)>)> {
    vec![
        ("room-a", vec![("lender-1", Role::Lender), ("borrower-1", Role::Borrower)]),
        ("room-b", vec![("lender-2", Role::Lender), ("borrower-2", Role::Borrower), ("guarantor-2", Role::Guarantor)]),
    ]
}

fn is_member(user: &str, room: &str) -> bool {
    rooms().iter().any(|(id, members)| *id == room && members.iter().any(|(m, _)| *m == user))
}

const ADMIN_TOKEN: &str = "access-test-admin-token";

struct Secure {
    broker: TestBroker,
    http: reqwest::Client,
    _files: tempfile::TempDir,
}

impl Secure {
    /// A call to the admin API, which must succeed.
    async fn admin(&self, method: reqwest::Method, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
        let address = self.broker.server.admin_address.expect("the admin API listens");
        let mut request = self.http.request(method, format!("http://{address}{path}")).bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = common::within(&format!("admin {path}"), request.send()).await.expect("admin API answers");
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        assert!(status.is_success(), "admin {path}: {status} {body}");
        body
    }

    async fn remove_member(&self, room: &str, user: &str) {
        self.admin(reqwest::Method::DELETE, &format!("/v1/rooms/{room}/members/{user}"), None).await;
    }

    async fn add_member(&self, room: &str, user: &str, role: &str) {
        let body = serde_json::json!({ "role": role });
        self.admin(reqwest::Method::PUT, &format!("/v1/rooms/{room}/members/{user}"), Some(body)).await;
    }
}

async fn secure_broker() -> Secure {
    secure_broker_with(|_| {}).await
}

/// A secure broker with the admin API on, and the rooms created through it.
async fn secure_broker_with(adjust: impl FnOnce(&mut tallymq_config::Config)) -> Secure {
    let files = tempfile::tempdir().expect("temp dir");
    let secret_file = files.path().join("jwt-secret");
    std::fs::write(&secret_file, SECRET).expect("write secret");
    let token_file = files.path().join("admin-token");
    std::fs::write(&token_file, ADMIN_TOKEN).expect("write admin token");
    let broker = start_with(|config| {
        config.auth.mode = AuthMode::Secure;
        config.auth.jwt.algorithm = JwtAlgorithm::HS256;
        config.auth.jwt.secret_file = secret_file;
        config.auth.rules =
            vec![AccessRule { who: "authenticated".into(), topic: "lobby/#".into(), access: Access::ReadWrite }];
        config.admin.enabled = true;
        config.admin.address = "127.0.0.1:0".parse().unwrap();
        config.admin.token_file = token_file;
        adjust(config);
    })
    .await;
    let secure = Secure { broker, http: reqwest::Client::new(), _files: files };
    for (id, members) in rooms() {
        let members: BTreeMap<&str, &str> = members
            .iter()
            .map(|(user, role)| (*user, match role {
                Role::Lender => "lender",
                Role::Borrower => "borrower",
                Role::Guarantor => "guarantor",
            }))
            .collect();
        let body = serde_json::json!({ "id": id, "members": members });
        secure.admin(reqwest::Method::POST, "/v1/rooms", Some(body)).await;
    }
    secure
}

fn token(user: &str) -> String {
    token_for(user, 3600)
}

fn token_for(user: &str, valid_secs: u64) -> String {
    let exp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + valid_secs;
    let claims = serde_json::json!({ "sub": user, "exp": exp });
    encode(&Header::default(), &claims, &EncodingKey::from_secret(SECRET)).expect("token")
}

/// Connects `user` with a token, clean start, client id `{user}-{suffix}`.
async fn sign_in(broker: &TestBroker, version: ProtocolVersion, user: &str, suffix: &str) -> Raw {
    let mut connect = Raw::connect_packet(version, &format!("{user}-{suffix}"));
    connect.username = Some(user.to_string());
    connect.password = Some(token(user).into_bytes().into());
    let (raw, connack) = Raw::connect(broker.tcp, connect).await;
    assert_eq!(connack.reason, ReasonCode::SUCCESS, "{user} signs in");
    raw
}

/// Who may publish to `topic`, by the documented namespace.
fn may_publish(user: &str, topic: &str) -> bool {
    let levels: Vec<&str> = topic.split('/').collect();
    match levels.as_slice() {
        ["chat", room, ..] => is_member(user, room),
        ["user", owner, ..] => *owner == user,
        ["live", _, "donate"] | ["auction", _, "bid"] | ["event", _, "enter"] => true,
        ["lobby", ..] => true,
        _ => false,
    }
}

/// Who may subscribe to `filter`, by the documented namespace: only filters that cannot match
/// anything the user may not read.
fn may_subscribe(user: &str, client_id: &str, filter: &str) -> bool {
    let filter = match filter.strip_prefix("$share/") {
        Some(rest) => rest.split_once('/').map(|(_, f)| f).unwrap_or(""),
        None => filter,
    };
    let levels: Vec<&str> = filter.split('/').collect();
    match levels.as_slice() {
        ["chat", room, ..] => !room.contains(['+', '#']) && is_member(user, room),
        ["user", owner, ..] => *owner == user,
        ["live" | "auction" | "event", ..] => true,
        ["lobby", ..] => true,
        ["$notice", owner] | ["$history", "reply", owner] => *owner == client_id,
        _ => false,
    }
}

fn publish_topics(user: &str) -> Vec<String> {
    let other = if user == "donor" { "outsider" } else { "donor" };
    [
        "chat/room-a/msg",
        "chat/room-b/msg",
        "chat/room-z/msg",
        &format!("user/{user}/inbox"),
        &format!("user/{other}/inbox"),
        "live/stream-1/donate",
        "live/stream-1/ranking",
        "auction/auction-1/bid",
        "auction/auction-1/state",
        "event/event-1/enter",
        "event/event-1/state",
        "lobby/general",
        "misc/anything",
        "$SYS/broker/load",
        "$notice/lender-1-m",
    ]
    .iter()
    .map(|t| t.to_string())
    .collect()
}

fn subscribe_filters(user: &str, client_id: &str) -> Vec<String> {
    let other = if user == "donor" { "outsider" } else { "donor" };
    [
        "chat/room-a/#",
        "chat/room-a/msg",
        "chat/room-b/+",
        "chat/room-z/#",
        "chat/#",
        "chat/+/msg",
        "chat/+/#",
        "#",
        "+/#",
        "+/room-a/msg",
        "+/+/+",
        "$share/g/chat/#",
        "$share/g/chat/room-a/#",
        "$share/g/#",
        &format!("user/{user}/#"),
        &format!("user/{other}/#"),
        "user/+/inbox",
        "user/#",
        "live/#",
        "auction/+/state",
        "event/event-1/state",
        "lobby/#",
        "misc/#",
        &format!("$notice/{client_id}"),
        "$notice/lender-1-m",
        "$notice/+",
        &format!("$history/reply/{client_id}"),
        "$SYS/#",
    ]
    .iter()
    .map(|t| t.to_string())
    .collect()
}

#[tokio::test]
async fn acl_matrix_every_user_every_family() {
    let secure = secure_broker().await;
    let broker = &secure.broker;
    let mut failures = Vec::new();
    for user in USERS {
        let client_id = format!("{user}-m");
        let mut client = sign_in(broker, ProtocolVersion::V5, user, "m").await;

        for (index, topic) in publish_topics(user).iter().enumerate() {
            let packet_id = 100 + index as u16;
            let ack = client.publish_acked(publish(topic, QoS::AtLeastOnce, packet_id, b"hello")).await;
            let allowed = ack.reason == ReasonCode::SUCCESS;
            if allowed != may_publish(user, topic) {
                failures.push(format!("{user} publish {topic}: got {:?}", ack.reason));
            } else if !allowed && ack.reason != ReasonCode::NOT_AUTHORIZED {
                failures.push(format!("{user} publish {topic}: refused with {:?}, expected 0x87", ack.reason));
            }
        }

        for (index, filter) in subscribe_filters(user, &client_id).iter().enumerate() {
            let reasons = client.subscribe(200 + index as u16, &[(filter, QoS::AtLeastOnce)]).await;
            let expected = if may_subscribe(user, &client_id, filter) { ReasonCode(1) } else { ReasonCode::NOT_AUTHORIZED };
            if reasons != [expected] {
                failures.push(format!("{user} subscribe {filter}: got {reasons:?}, expected {expected:?}"));
            }
        }
        // The subscriptions granted above would deliver messages; the history checks below
        // read replies only, so leave cleanly and read history on a fresh connection.
        client.send(Packet::Disconnect(Disconnect::new(ReasonCode::SUCCESS))).await;

        let mut reader = sign_in(broker, ProtocolVersion::V5, user, "h").await;
        for (index, topic) in ["chat/room-a/msg", "chat/room-b/msg", "user/donor/inbox", "lobby/general", "misc/anything"]
            .iter()
            .enumerate()
        {
            let reply = reader.history(300 + index as u16, topic, 0, Some(10)).await;
            let readable = reply.get("messages").is_some();
            let expected = match *topic {
                "user/donor/inbox" => user == "donor",
                "misc/anything" => false,
                other => may_publish(user, other),
            };
            if readable != expected {
                failures.push(format!("{user} history {topic}: got {reply}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} cells wrong:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn mqtt_3_1_1_refusals_use_its_codes() {
    let secure = secure_broker().await;
    let mut outsider = sign_in(&secure.broker, ProtocolVersion::V311, "outsider", "v3").await;
    let reasons = outsider.subscribe(1, &[("chat/#", QoS::AtLeastOnce), ("live/#", QoS::AtLeastOnce)]).await;
    assert_eq!(reasons, [ReasonCode(0x80), ReasonCode(1)]);
    outsider.subscribe_granted(2, "$notice/outsider-v3", QoS::AtLeastOnce).await;
    outsider.publish_acked(publish("chat/room-a/msg", QoS::AtLeastOnce, 3, b"let me in")).await;
    let notice = outsider.next_publish().await;
    assert_eq!(notice.topic, "$notice/outsider-v3");
    let body: serde_json::Value = serde_json::from_slice(&notice.payload).expect("notice is JSON");
    assert_eq!(body["topic"], "chat/room-a/msg", "{body}");
    assert!(body.to_string().contains("not a member"), "{body}");
}

/// Everything an outsider can think of, while both rooms are busy: it receives nothing from
/// them, live or in history.
#[tokio::test]
async fn eavesdropper_receives_nothing_from_busy_rooms() {
    let secure = secure_broker().await;
    let broker = &secure.broker;
    let mut spy = sign_in(broker, ProtocolVersion::V5, "outsider", "spy").await;
    let attempts = [
        "#",
        "+/#",
        "+",
        "+/+",
        "+/+/+",
        "chat/#",
        "chat/+",
        "chat/+/#",
        "chat/+/msg",
        "+/room-a/#",
        "+/room-b/msg",
        "$share/spies/#",
        "$share/spies/chat/#",
        "$share/spies/chat/room-a/#",
        "$share/spies/+/+/+",
        "user/#",
        "user/+/#",
        "$notice/#",
        "$history/#",
        "$history/reply/+",
        "$SYS/#",
        "$#",
    ];
    for (index, filter) in attempts.iter().enumerate() {
        let reasons = spy.subscribe(10 + index as u16, &[(filter, QoS::ExactlyOnce)]).await;
        assert!(reasons[0].is_error(), "the spy was granted {filter}: {reasons:?}");
    }
    // What the spy may follow, to prove its subscriptions work at all.
    spy.subscribe_granted(99, "lobby/#", QoS::AtLeastOnce).await;

    let mut members = Vec::new();
    for (room, list) in rooms() {
        for (user, _) in list {
            let mut client = sign_in(broker, ProtocolVersion::V5, user, "busy").await;
            client.subscribe_granted(1, &format!("chat/{room}/#"), QoS::AtLeastOnce).await;
            members.push((room, user, client));
        }
    }
    const ROUNDS: u16 = 10;
    for round in 0..ROUNDS {
        for (room, user, client) in members.iter_mut() {
            let body = format!("{user} round {round}");
            let packet_id = 100 + round;
            client.send(Packet::Publish(publish(&format!("chat/{room}/msg"), QoS::AtLeastOnce, packet_id, body.as_bytes()))).await;
        }
    }
    // Every member receives every message of its room (its own included) and all its PUBACKs;
    // a PUBACK leaves after its message was queued for every subscriber.
    for (room, user, client) in members.iter_mut() {
        let room_size = rooms().iter().find(|(id, _)| id == room).map(|(_, m)| m.len()).unwrap_or(0);
        let (mut acks, mut received) = (0, 0);
        while acks < usize::from(ROUNDS) || received < usize::from(ROUNDS) * room_size {
            match client.next().await {
                Packet::PubAck(ack) => {
                    assert_eq!(ack.reason, ReasonCode::SUCCESS, "{user}'s publish");
                    acks += 1;
                }
                Packet::Publish(message) => {
                    assert_eq!(message.topic, format!("chat/{room}/msg"), "{user} got another room's message");
                    client.puback(message.packet_id).await;
                    received += 1;
                }
                other => panic!("{user}: unexpected {other:?}"),
            }
        }
    }
    spy.nothing_pending().await;

    let reply = spy.history(500, "chat/room-a/msg", 0, Some(100)).await;
    assert!(reply.get("messages").is_none(), "the spy read room-a's history: {reply}");
    let reply = spy.history(501, "chat/room-b/msg", 0, Some(100)).await;
    assert!(reply.get("messages").is_none(), "the spy read room-b's history: {reply}");

    // The spy's own channel still works: it was silent because it was refused, not deaf.
    let mut donor = sign_in(broker, ProtocolVersion::V5, "donor", "lobby").await;
    donor.publish_acked(publish("lobby/general", QoS::AtLeastOnce, 1, b"hi all")).await;
    assert_eq!(spy.next_publish().await.topic, "lobby/general");
}

/// A member removed from a room stops receiving at once, live and from its queue, and loses
/// its history and the right to publish; added back, it receives again.
#[tokio::test]
async fn removed_member_stops_receiving_at_once() {
    let secure = secure_broker().await;
    let broker = &secure.broker;
    let mut lender = sign_in(broker, ProtocolVersion::V5, "lender-1", "live").await;
    let mut borrower = sign_in(broker, ProtocolVersion::V5, "borrower-1", "live").await;
    borrower.subscribe_granted(1, "chat/room-a/#", QoS::AtLeastOnce).await;

    let ack = lender.publish_acked(publish("chat/room-a/msg", QoS::AtLeastOnce, 1, b"before")).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS);
    let before = borrower.next_publish().await;
    assert_eq!(&before.payload[..], b"before");
    borrower.puback(before.packet_id).await;

    secure.remove_member("room-a", "borrower-1").await;
    let ack = lender.publish_acked(publish("chat/room-a/msg", QoS::AtLeastOnce, 2, b"after removal")).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS);
    borrower.nothing_pending().await;
    let ack = borrower.publish_acked(publish("chat/room-a/msg", QoS::AtLeastOnce, 3, b"still here?")).await;
    assert_eq!(ack.reason, ReasonCode::NOT_AUTHORIZED);
    let reply = borrower.history(4, "chat/room-a/msg", 0, Some(10)).await;
    assert!(reply.get("messages").is_none(), "a removed member read the history: {reply}");

    secure.add_member("room-a", "borrower-1", "borrower").await;
    lender.publish_acked(publish("chat/room-a/msg", QoS::AtLeastOnce, 5, b"welcome back")).await;
    let back = borrower.next_publish().await;
    assert_eq!(&back.payload[..], b"welcome back");
}

/// Messages queued for an offline persistent session are not delivered once its user has
/// left the room.
#[tokio::test]
async fn queued_messages_are_checked_again_at_delivery() {
    let secure = secure_broker().await;
    let broker = &secure.broker;
    let mut connect = Raw::connect_packet(ProtocolVersion::V5, "borrower-1-phone");
    connect.clean_start = false;
    connect.properties.session_expiry_interval = Some(3600);
    connect.username = Some("borrower-1".into());
    connect.password = Some(token("borrower-1").into_bytes().into());
    let (mut phone, _) = Raw::connect(broker.tcp, connect.clone()).await;
    phone.subscribe_granted(1, "chat/room-a/#", QoS::AtLeastOnce).await;
    phone.send(Packet::Disconnect(Disconnect::new(ReasonCode::SUCCESS))).await;
    assert_eq!(phone.expect_close().await, None);

    let mut lender = sign_in(broker, ProtocolVersion::V5, "lender-1", "q").await;
    let ack = lender.publish_acked(publish("chat/room-a/msg", QoS::AtLeastOnce, 1, b"queued while away")).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS);
    secure.remove_member("room-a", "borrower-1").await;

    let (mut phone, connack) = Raw::connect(broker.tcp, connect).await;
    assert!(connack.session_present);
    phone.nothing_pending().await;
}

/// A closed room keeps its history for its members and accepts nothing more.
#[tokio::test]
async fn closed_room_is_read_only() {
    let secure = secure_broker().await;
    let broker = &secure.broker;
    let mut lender = sign_in(broker, ProtocolVersion::V5, "lender-1", "c").await;
    lender.publish_acked(publish("chat/room-a/msg", QoS::AtLeastOnce, 1, b"last words")).await;
    secure.admin(reqwest::Method::POST, "/v1/rooms/room-a/close", None).await;
    let ack = lender.publish_acked(publish("chat/room-a/msg", QoS::AtLeastOnce, 2, b"after close")).await;
    assert_eq!(ack.reason, ReasonCode::NOT_AUTHORIZED);
    let reply = lender.history(3, "chat/room-a/msg", 0, Some(10)).await;
    assert_eq!(reply["messages"].as_array().map(Vec::len), Some(1), "{reply}");
}

/// A connection signed in with a token ends when the token does (5.0: DISCONNECT 0x87).
#[tokio::test]
async fn connection_closes_when_its_token_expires() {
    let secure = secure_broker_with(|config| config.auth.jwt.leeway_secs = 0).await;
    let mut connect = Raw::connect_packet(ProtocolVersion::V5, "short-lived");
    connect.password = Some(token_for("donor", 2).into_bytes().into());
    let (mut client, connack) = Raw::connect(secure.broker.tcp, connect).await;
    assert_eq!(connack.reason, ReasonCode::SUCCESS);
    client.subscribe_granted(1, "lobby/#", QoS::AtLeastOnce).await;
    assert_eq!(client.expect_close().await, Some(ReasonCode::NOT_AUTHORIZED));
}
