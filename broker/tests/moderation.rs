//! The moderate stage with real clients: every decision (allow, warn, hold, block), the legal
//! rules at their edges, notices on the users' own topics, verdicts as 5.0 user properties and
//! in the history, and holds that survive a restart.
//!
//! The rooms are loan rooms between lender `lee` and borrower `kim`, created through the
//! broker's room registry. The broker's wall clock is set to the instants the rules care about
//! (Asia/Seoul is UTC+9 all year).

mod common;

use std::collections::BTreeMap;

use common::*;
use tallymq::codec::{ProtocolVersion, Publish, QoS, ReasonCode};
use tallymq_config::{CategoryThresholds, Config};
use tallymq_storage::{LoanRecord, LoanState, MemberRole, RoomRecord, RoomState};

const ROOM: &str = "loan1";
const TOPIC: &str = "chat/loan1/msg";
const LENDER: &str = "lee";
const BORROWER: &str = "kim";

const CLEAN: &str = "이번 달 말까지 상환 부탁드립니다. 확인되면 연락 주세요.";
const THREAT: &str = "돈 안 갚으면 죽여버린다. 칼 들고 집으로 찾아간다";
const INSULT: &str = "이 시발 병신 새끼야";

/// Milliseconds since the epoch of a wall-clock time in Asia/Seoul.
fn kst(year: i64, month: i64, day: i64, hour: i64, minute: i64) -> u64 {
    // Days from 1970-01-01 to the date (proleptic Gregorian), after H. Hinnant.
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let utc_minutes = days * 24 * 60 + hour * 60 + minute - 9 * 60;
    (utc_minutes * 60_000) as u64
}

#[test]
fn kst_helper_knows_the_epoch() {
    assert_eq!(kst(1970, 1, 1, 9, 0), 0);
    assert_eq!(kst(2026, 11, 21, 9, 0), 1_795_219_200_000);
}

/// A broker with moderation on and the test room's loan in `state`, due `due`.
async fn moderated(state: LoanState, due: &str, adjust: impl FnOnce(&mut Config)) -> TestBroker {
    let broker = start_with(|config| {
        // Deterministic thresholds for the texts above, whatever the model's recommendations.
        config.moderation.thresholds = vec![
            CategoryThresholds { category: "threat".into(), warn: Some(0.3), hold: None, block: Some(0.5) },
            CategoryThresholds { category: "insult".into(), warn: Some(0.3), hold: None, block: None },
        ];
        adjust(config);
    })
    .await;
    let members = BTreeMap::from([(LENDER.to_owned(), MemberRole::Lender), (BORROWER.to_owned(), MemberRole::Borrower)]);
    let record = RoomRecord {
        id: ROOM.into(),
        members,
        state: RoomState::Open,
        created_at_ms: 0,
        closed_at_ms: None,
        loan: Some(LoanRecord {
            due_date: due.into(),
            state,
            do_not_contact: vec![],
            annual_interest_rate_bp: 1_200,
            principal: None,
        }),
    };
    let server = &broker.server;
    server.broker.rooms.create(&server.broker.store, record).await.expect("room created");
    broker
}

/// `user` connected (MQTT `version`, user name as sent: the broker runs in open mode) and
/// subscribed to their notices and, if `reads_room`, to the room (then they also receive their
/// own messages).
async fn member(broker: &TestBroker, version: ProtocolVersion, user: &str, reads_room: bool) -> Raw {
    let mut connect = Raw::connect_packet(version, &format!("{user}-phone"));
    connect.username = Some(user.to_owned());
    let (mut raw, _) = connect_ok(broker, connect).await;
    raw.subscribe_granted(1, &format!("user/{user}/notices"), QoS::AtLeastOnce).await;
    if reads_room {
        raw.subscribe_granted(2, TOPIC, QoS::AtLeastOnce).await;
    }
    raw
}

/// Publishes at QoS 1 and returns the PUBACK reason and reason string.
async fn send(raw: &mut Raw, packet_id: u16, text: &str) -> (ReasonCode, Option<String>) {
    let ack = raw.publish_acked(publish(TOPIC, QoS::AtLeastOnce, packet_id, text.as_bytes())).await;
    (ack.reason, ack.properties.reason_string)
}

fn property<'a>(publish: &'a Publish, name: &str) -> Option<&'a str> {
    publish.properties.user_properties.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// The next PUBLISH on `topic`, acknowledged.
async fn receive_on(raw: &mut Raw, topic: &str) -> Publish {
    let publish = raw.next_publish().await;
    assert_eq!(publish.topic, topic, "unexpected {publish:?}");
    if publish.qos != QoS::AtMostOnce {
        raw.puback(publish.packet_id).await;
    }
    publish
}

fn json(publish: &Publish) -> serde_json::Value {
    serde_json::from_slice(&publish.payload).expect("notice is JSON")
}

#[tokio::test]
async fn clean_message_is_delivered_with_its_verdict() {
    let broker = moderated(LoanState::Active, "2099-01-01", |_| {}).await;
    let mut lee = member(&broker, ProtocolVersion::V5, LENDER, false).await;
    let mut kim = member(&broker, ProtocolVersion::V5, BORROWER, true).await;

    assert_eq!(send(&mut lee, 10, CLEAN).await.0, ReasonCode::SUCCESS);
    let delivered = receive_on(&mut kim, TOPIC).await;
    assert_eq!(&delivered.payload[..], CLEAN.as_bytes());
    assert_eq!(property(&delivered, "moderation"), Some("allow"));
    assert_eq!(property(&delivered, "moderation-categories"), None);
    let model = broker.server.broker.pipeline.moderate.model_version().expect("moderation on");
    assert_eq!(property(&delivered, "moderation-model"), Some(model));
    let scores = property(&delivered, "moderation-scores").expect("scores");
    assert!(scores.starts_with("threat=") && scores.contains(",sexual="), "{scores}");
    kim.nothing_pending().await;
}

#[tokio::test]
async fn insult_is_delivered_with_a_warning_and_both_sides_are_told() {
    let broker = moderated(LoanState::Active, "2099-01-01", |_| {}).await;
    let mut lee = member(&broker, ProtocolVersion::V5, LENDER, false).await;
    let mut kim = member(&broker, ProtocolVersion::V5, BORROWER, true).await;

    assert_eq!(send(&mut lee, 10, INSULT).await.0, ReasonCode::SUCCESS);
    let warning = receive_on(&mut lee, &format!("user/{LENDER}/notices")).await;
    let warning = json(&warning);
    assert_eq!(warning["type"], "moderation_warning");
    assert_eq!(warning["decision"], "warn");
    assert!(warning["categories"].as_array().unwrap().iter().any(|c| c == "insult"), "{warning}");
    assert_eq!(warning["topic"], TOPIC);

    // The recipient gets the message (flagged) and a rights notice, in either order.
    let mut seen_message = false;
    let mut seen_rights = false;
    for _ in 0..2 {
        let publish = kim.next_publish().await;
        kim.puback(publish.packet_id).await;
        if publish.topic == TOPIC {
            assert_eq!(property(&publish, "moderation"), Some("warn"));
            assert!(property(&publish, "moderation-categories").is_some_and(|c| c.split(',').any(|c| c == "insult")));
            seen_message = true;
        } else {
            assert_eq!(publish.topic, format!("user/{BORROWER}/notices"));
            let notice = json(&publish);
            assert_eq!(notice["type"], "rights_notice");
            assert!(notice["message"].as_str().unwrap().contains("1332"));
            assert!(notice.get("text").is_none(), "a rights notice never repeats the message");
            seen_rights = true;
        }
    }
    assert!(seen_message && seen_rights);
    lee.nothing_pending().await;
    kim.nothing_pending().await;
}

#[tokio::test]
async fn threat_is_stored_as_evidence_refused_and_never_shown() {
    let broker = moderated(LoanState::Overdue, "2026-01-01", |_| {}).await;
    broker.server.broker.set_clock(kst(2026, 11, 21, 14, 0));
    let mut lee = member(&broker, ProtocolVersion::V5, LENDER, false).await;
    let mut kim = member(&broker, ProtocolVersion::V5, BORROWER, true).await;

    let (reason, why) = send(&mut lee, 10, THREAT).await;
    assert_eq!(reason, ReasonCode::NOT_AUTHORIZED);
    let why = why.expect("a reason string");
    assert!(why.contains("not delivered") && why.contains("threat"), "{why}");

    // The borrower is told their rights, and sees nothing of the message.
    let rights = json(&receive_on(&mut kim, &format!("user/{BORROWER}/notices")).await);
    assert_eq!((rights["type"].as_str(), rights["decision"].as_str()), (Some("rights_notice"), Some("block")));
    kim.nothing_pending().await;

    // In the log, with its verdict: evidence.
    let stored = broker.server.broker.store.read_after(TOPIC, 0, 10).expect("read");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].record.payload, THREAT.as_bytes());
    assert!(stored[0].record.annotations.contains(&("moderation".into(), "block".into())));

    // The members' history lists it without its content.
    let page = kim.history(20, TOPIC, 0, None).await;
    let entry = &page["messages"][0];
    assert_eq!(entry["withheld"], true, "{page}");
    assert!(entry["payload"].is_null() && entry["payload_base64"] == "", "{page}");

    // A resend with the same message id is refused again, not acknowledged as a duplicate.
    let mut resend = publish(TOPIC, QoS::AtLeastOnce, 11, THREAT.as_bytes());
    resend.properties.user_properties.push(("msg-id".into(), "m-1".into()));
    let first = lee.publish_acked(resend.clone()).await;
    resend.packet_id = 12;
    let again = lee.publish_acked(resend).await;
    assert_eq!((first.reason, again.reason), (ReasonCode::NOT_AUTHORIZED, ReasonCode::NOT_AUTHORIZED));
}

#[tokio::test]
async fn a_borrower_reporting_a_threat_is_not_blocked() {
    let broker = moderated(LoanState::Overdue, "2026-01-01", |_| {}).await;
    broker.server.broker.set_clock(kst(2026, 11, 21, 14, 0));
    let mut lee = member(&broker, ProtocolVersion::V5, LENDER, true).await;
    let mut kim = member(&broker, ProtocolVersion::V5, BORROWER, false).await;

    // The same words that are blocked from the lender reach the lender from the borrower.
    let (reason, _) = send(&mut kim, 10, THREAT).await;
    assert_eq!(reason, ReasonCode::SUCCESS);
    let delivered = loop {
        let publish = lee.next_publish().await;
        lee.puback(publish.packet_id).await;
        if publish.topic == TOPIC {
            break publish;
        }
    };
    let decision = property(&delivered, "moderation");
    assert!(matches!(decision, Some("allow" | "warn")), "{decision:?}");
}

#[tokio::test]
async fn night_window_holds_a_collection_message_until_eight() {
    let broker = moderated(LoanState::Overdue, "2026-11-01", |_| {}).await;
    let core = broker.server.broker.clone();
    let mut lee = member(&broker, ProtocolVersion::V5, LENDER, false).await;
    let mut kim = member(&broker, ProtocolVersion::V5, BORROWER, true).await;

    core.set_clock(kst(2026, 11, 21, 20, 59));
    assert_eq!(send(&mut lee, 10, CLEAN).await.0, ReasonCode::SUCCESS);
    let day = receive_on(&mut kim, TOPIC).await;
    assert_eq!(property(&day, "moderation"), Some("allow"));

    core.set_clock(kst(2026, 11, 21, 21, 0));
    assert_eq!(send(&mut lee, 11, CLEAN).await.0, ReasonCode::SUCCESS, "a held message is accepted");
    let held = json(&receive_on(&mut lee, &format!("user/{LENDER}/notices")).await);
    assert_eq!(held["type"], "moderation_held");
    assert_eq!(held["release_at_ms"], kst(2026, 11, 22, 8, 0));
    assert!(held["rules"].as_array().unwrap().iter().any(|r| r == "night_window"), "{held}");
    let rights = json(&receive_on(&mut kim, &format!("user/{BORROWER}/notices")).await);
    assert_eq!(rights["decision"], "hold");
    kim.nothing_pending().await;
    assert_eq!(core.holds.len(), 1);
    assert_eq!(kim.history(30, TOPIC, 1, None).await["messages"][0]["withheld"], true);

    core.set_clock(kst(2026, 11, 22, 7, 59));
    kim.nothing_pending().await;
    assert_eq!(core.holds.len(), 1, "still held at 07:59");

    core.set_clock(kst(2026, 11, 22, 8, 0));
    let released = receive_on(&mut kim, TOPIC).await;
    assert_eq!(&released.payload[..], CLEAN.as_bytes());
    assert_eq!(property(&released, "moderation"), Some("hold"));
    assert_eq!(property(&released, "moderation-rules"), Some("night_window"));
    wait_until("the hold is forgotten", || core.holds.is_empty()).await;
    let page = kim.history(31, TOPIC, 1, None).await;
    assert!(page["messages"][0].get("withheld").is_none(), "released messages are readable: {page}");
}

#[tokio::test]
async fn night_policy_warn_delivers_at_night() {
    let broker = moderated(LoanState::Overdue, "2026-11-01", |config| {
        config.moderation.night = tallymq_config::NightPolicy::Warn;
    })
    .await;
    broker.server.broker.set_clock(kst(2026, 11, 21, 23, 30));
    let mut lee = member(&broker, ProtocolVersion::V5, LENDER, false).await;
    let mut kim = member(&broker, ProtocolVersion::V5, BORROWER, true).await;
    assert_eq!(send(&mut lee, 10, CLEAN).await.0, ReasonCode::SUCCESS);
    let warning = json(&receive_on(&mut lee, &format!("user/{LENDER}/notices")).await);
    assert_eq!(warning["decision"], "warn");
    let delivered = loop {
        let publish = kim.next_publish().await;
        kim.puback(publish.packet_id).await;
        if publish.topic == TOPIC {
            break publish;
        }
    };
    assert_eq!(property(&delivered, "moderation"), Some("warn"));
    assert_eq!(property(&delivered, "moderation-rules"), Some("night_window"));
}

#[tokio::test]
async fn the_eighth_collection_contact_in_seven_days_is_refused() {
    let broker = moderated(LoanState::Overdue, "2026-11-01", |_| {}).await;
    let core = broker.server.broker.clone();
    let mut lee = member(&broker, ProtocolVersion::V5, LENDER, false).await;
    let mut kim = member(&broker, ProtocolVersion::V5, BORROWER, true).await;
    let first = kst(2026, 11, 16, 10, 0);

    for contact in 0..7u16 {
        core.set_clock(first + u64::from(contact) * 3_600_000);
        assert_eq!(send(&mut lee, 10 + contact, CLEAN).await.0, ReasonCode::SUCCESS, "contact {}", contact + 1);
        receive_on(&mut kim, TOPIC).await;
    }
    core.set_clock(first + 7 * 3_600_000);
    let (reason, why) = send(&mut lee, 20, CLEAN).await;
    assert_eq!(reason, ReasonCode::QUOTA_EXCEEDED, "{why:?}");
    assert!(why.unwrap_or_default().contains('7'));
    let rights = json(&receive_on(&mut kim, &format!("user/{BORROWER}/notices")).await);
    assert!(rights["rules"].as_array().unwrap().iter().any(|r| r == "contact_limit"));
    kim.nothing_pending().await;

    // A reply on the same day to the borrower's own message does not count.
    assert_eq!(send(&mut kim, 30, "혹시 다음 주 금요일까지 미뤄도 될까요?").await.0, ReasonCode::SUCCESS);
    receive_on(&mut kim, TOPIC).await;
    core.set_clock(first + 8 * 3_600_000);
    assert_eq!(send(&mut lee, 21, "네 그럼 금요일까지 입금해 주세요").await.0, ReasonCode::SUCCESS);
    receive_on(&mut kim, TOPIC).await;

    // Seven days after the first contact it has left the window.
    core.set_clock(first + 7 * 24 * 3_600_000 - 1);
    assert_eq!(send(&mut lee, 22, CLEAN).await.0, ReasonCode::QUOTA_EXCEEDED);
    core.set_clock(first + 7 * 24 * 3_600_000);
    assert_eq!(send(&mut lee, 23, CLEAN).await.0, ReasonCode::SUCCESS);
}

#[tokio::test]
async fn a_paused_loan_blocks_repayment_talk_but_not_small_talk() {
    let broker = moderated(LoanState::Paused, "2026-11-01", |_| {}).await;
    broker.server.broker.set_clock(kst(2026, 11, 21, 12, 0));
    let mut lee = member(&broker, ProtocolVersion::V5, LENDER, false).await;
    let mut kim = member(&broker, ProtocolVersion::V5, BORROWER, true).await;

    let (reason, why) = send(&mut lee, 10, "돈 언제 갚을 거야? 이번 주에 입금해").await;
    assert_eq!(reason, ReasonCode::NOT_AUTHORIZED);
    assert!(why.unwrap_or_default().to_lowercase().contains("paus"));
    assert_eq!(receive_on(&mut kim, &format!("user/{BORROWER}/notices")).await.topic, format!("user/{BORROWER}/notices"));

    assert_eq!(send(&mut lee, 11, "생일 축하해! 좋은 하루 보내").await.0, ReasonCode::SUCCESS);
    let delivered = receive_on(&mut kim, TOPIC).await;
    assert_eq!(property(&delivered, "moderation"), Some("allow"));
}

#[tokio::test]
async fn a_held_message_is_released_after_a_restart() {
    let broker = moderated(LoanState::Overdue, "2026-11-01", |_| {}).await;
    broker.server.broker.set_clock(kst(2026, 11, 21, 23, 0));
    let mut lee = member(&broker, ProtocolVersion::V5, LENDER, false).await;
    assert_eq!(send(&mut lee, 10, CLEAN).await.0, ReasonCode::SUCCESS);
    receive_on(&mut lee, &format!("user/{LENDER}/notices")).await;
    drop(lee);

    let broker = broker.restart().await;
    let core = broker.server.broker.clone();
    assert_eq!(core.holds.len(), 1, "the hold is read back from storage");
    let mut kim = member(&broker, ProtocolVersion::V5, BORROWER, true).await;
    core.set_clock(kst(2026, 11, 22, 8, 0));
    let released = receive_on(&mut kim, TOPIC).await;
    assert_eq!(&released.payload[..], CLEAN.as_bytes());
}

#[tokio::test]
async fn a_blocked_v311_sender_is_told_on_its_notice_topic() {
    let broker = moderated(LoanState::Overdue, "2026-01-01", |_| {}).await;
    broker.server.broker.set_clock(kst(2026, 11, 21, 14, 0));
    let mut lee = member(&broker, ProtocolVersion::V311, LENDER, false).await;
    lee.subscribe_granted(3, &format!("$notice/{LENDER}-phone"), QoS::AtLeastOnce).await;

    let ack = lee.publish_acked(publish(TOPIC, QoS::AtLeastOnce, 10, THREAT.as_bytes())).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS, "3.1.1 acknowledgements cannot refuse");
    let notice = loop {
        let publish = lee.next_publish().await;
        lee.puback(publish.packet_id).await;
        if publish.topic.starts_with("$notice/") {
            break json(&publish);
        }
    };
    assert_eq!(notice["type"], "publish_refused");
    assert_eq!(notice["reason_code"], 135);
    assert!(notice["reason"].as_str().unwrap().contains("threat"), "{notice}");
}

#[tokio::test]
async fn messages_outside_the_moderated_topics_carry_no_verdict() {
    let broker = moderated(LoanState::Active, "2099-01-01", |_| {}).await;
    let mut connect = Raw::connect_packet(ProtocolVersion::V5, "watcher");
    connect.username = Some("watcher".into());
    let (mut raw, _) = connect_ok(&broker, connect).await;
    raw.subscribe_granted(1, "lobby/#", QoS::AtLeastOnce).await;
    let ack = raw.publish_acked(publish("lobby/general", QoS::AtLeastOnce, 5, INSULT.as_bytes())).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS);
    let delivered = receive_on(&mut raw, "lobby/general").await;
    assert_eq!(property(&delivered, "moderation"), None);
    raw.nothing_pending().await;
}

#[tokio::test]
async fn a_resent_message_is_one_contact() {
    let broker = moderated(LoanState::Overdue, "2026-11-01", |_| {}).await;
    let core = broker.server.broker.clone();
    core.set_clock(kst(2026, 11, 16, 10, 0));
    let mut lee = member(&broker, ProtocolVersion::V5, LENDER, false).await;
    let mut kim = member(&broker, ProtocolVersion::V5, BORROWER, true).await;
    let with_id = |packet_id: u16, id: &str| {
        let mut message = publish(TOPIC, QoS::AtLeastOnce, packet_id, CLEAN.as_bytes());
        message.properties.user_properties.push(("msg-id".into(), id.into()));
        message
    };
    // The first send and two resends (a phone retrying): stored and delivered once, counted once.
    for packet_id in [10, 11, 12] {
        assert_eq!(lee.publish_acked(with_id(packet_id, "m-0")).await.reason, ReasonCode::SUCCESS);
    }
    receive_on(&mut kim, TOPIC).await;
    for contact in 1..7u16 {
        assert_eq!(lee.publish_acked(with_id(20 + contact, &format!("m-{contact}"))).await.reason, ReasonCode::SUCCESS);
        receive_on(&mut kim, TOPIC).await;
    }
    assert_eq!(lee.publish_acked(with_id(30, "m-7")).await.reason, ReasonCode::QUOTA_EXCEEDED);
}

/// A model that loads but fails at run time (its weight table is 2 rows long).
fn failing_model() -> std::path::PathBuf {
    crate_dir().join("tests/fixtures/moderation/failing.onnx")
}

#[tokio::test]
async fn when_the_model_fails_open_delivers_with_the_failure_stored_and_the_rules_still_apply() {
    let broker = moderated(LoanState::Overdue, "2026-11-01", |config| {
        config.moderation.model = failing_model();
        config.moderation.on_failure = tallymq_config::OnFailure::Open;
    })
    .await;
    let core = broker.server.broker.clone();
    core.set_clock(kst(2026, 11, 21, 12, 0));
    let mut lee = member(&broker, ProtocolVersion::V5, LENDER, false).await;
    let mut kim = member(&broker, ProtocolVersion::V5, BORROWER, true).await;

    assert_eq!(send(&mut lee, 10, INSULT).await.0, ReasonCode::SUCCESS);
    let delivered = receive_on(&mut kim, TOPIC).await;
    assert_eq!(property(&delivered, "moderation"), Some("allow"));
    assert!(property(&delivered, "moderation-failure").is_some(), "{delivered:?}");
    assert_eq!(property(&delivered, "moderation-scores"), None);
    assert_eq!(core.pipeline.moderate.failures(), 1);

    // The night window is a rule, not a score: it holds even without the model.
    core.set_clock(kst(2026, 11, 21, 22, 0));
    assert_eq!(send(&mut lee, 11, CLEAN).await.0, ReasonCode::SUCCESS);
    let held = json(&receive_on(&mut lee, &format!("user/{LENDER}/notices")).await);
    assert_eq!(held["type"], "moderation_held");
    assert_eq!(core.holds.len(), 1);
}

#[tokio::test]
async fn when_the_model_fails_closed_refuses_and_stores_nothing() {
    let broker = moderated(LoanState::Active, "2099-01-01", |config| {
        config.moderation.model = failing_model();
        config.moderation.on_failure = tallymq_config::OnFailure::Closed;
    })
    .await;
    let mut lee = member(&broker, ProtocolVersion::V5, LENDER, false).await;
    let mut kim = member(&broker, ProtocolVersion::V5, BORROWER, true).await;

    let (reason, why) = send(&mut lee, 10, CLEAN).await;
    assert_eq!(reason, ReasonCode::UNSPECIFIED_ERROR);
    assert!(why.unwrap_or_default().contains("send it again"));
    kim.nothing_pending().await;
    assert!(broker.server.broker.store.read_after(TOPIC, 0, 10).expect("read").is_empty());
    assert_eq!(broker.server.broker.pipeline.moderate.failures(), 1);
}

/// This crate's directory, read when the test runs: a test binary built from another checkout
/// of the same sources can be reused from a shared target directory, and `env!` would point
/// into that checkout.
fn crate_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"))
}
