//! Will messages: published when a connection ends without a normal DISCONNECT (loss, 5.0
//! DISCONNECT 0x04, protocol error, takeover), never after a normal DISCONNECT; retained wills;
//! 5.0 will delay, cancelled by a reconnect and cut short by the end of the session.
mod common;

use std::time::{Duration, Instant};

use common::*;
use rumqttc::v5::mqttbytes::v5 as m5;
use tallymq::codec::{Connect, Disconnect, LastWill, Packet, ProtocolVersion, QoS, ReasonCode, WillProperties};

const Q1: rumqttc::QoS = rumqttc::QoS::AtLeastOnce;
const Q1_5: rumqttc::v5::mqttbytes::QoS = rumqttc::v5::mqttbytes::QoS::AtLeastOnce;

/// A 5.0 client subscribed to `filter`, waiting for wills.
async fn watcher(broker: &TestBroker, id: &str, filter: &str) -> V5 {
    let (mut watcher, _) = V5::connect(V5::options(broker.tcp, id)).await;
    watcher.client.subscribe(filter, Q1_5).await.expect("subscribe queued");
    watcher.wait_for("SUBACK", |p| matches!(p, m5::Packet::SubAck(_)).then_some(())).await;
    watcher
}

fn v4_with_will(broker: &TestBroker, id: &str, topic: &str, retain: bool) -> rumqttc::MqttOptions {
    let mut options = V4::options(broker.tcp, id);
    options.set_last_will(rumqttc::LastWill::new(topic, format!("{id} is gone"), Q1, retain));
    options
}

fn will_properties(delay: Option<u32>) -> m5::LastWillProperties {
    m5::LastWillProperties {
        delay_interval: delay,
        payload_format_indicator: None,
        message_expiry_interval: None,
        content_type: None,
        response_topic: None,
        correlation_data: None,
        user_properties: vec![],
    }
}

fn v5_with_will(
    broker: &TestBroker,
    id: &str,
    topic: &str,
    retain: bool,
    properties: m5::LastWillProperties,
    session_expiry: Option<u32>,
) -> rumqttc::v5::MqttOptions {
    let mut options = V5::options(broker.tcp, id);
    options.set_last_will(m5::LastWill::new(topic, format!("{id} is gone"), Q1_5, retain, Some(properties)));
    let mut connect = m5::ConnectProperties::new();
    connect.session_expiry_interval = session_expiry;
    options.set_connect_properties(connect);
    options
}

fn raw_with_will(id: &str, topic: &str) -> Connect {
    let mut connect = Raw::connect_packet(ProtocolVersion::V5, id);
    connect.will = Some(LastWill {
        topic: topic.to_string(),
        payload: bytes::Bytes::from(format!("{id} is gone")),
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: WillProperties::default(),
    });
    connect
}

/// The next publish on the watcher, as (topic, payload).
async fn next(watcher: &mut V5) -> (String, String) {
    let p = watcher.next_publish().await;
    (String::from_utf8_lossy(&p.topic).into_owned(), String::from_utf8_lossy(&p.payload).into_owned())
}

fn pair(topic: &str, payload: &str) -> (String, String) {
    (topic.to_string(), payload.to_string())
}

// ---------------------------------------------------------------------------------------------
// When the will goes out

#[tokio::test]
async fn will_is_published_when_a_v311_connection_drops() {
    let broker = start().await;
    let mut watcher = watcher(&broker, "watcher", "will/#").await;
    let (dying, _) = V4::connect(v4_with_will(&broker, "dying", "will/dying", false)).await;
    dying.kill();
    let got = watcher.next_publish().await;
    assert_eq!(
        (&got.topic[..], &got.payload[..], got.qos, got.retain),
        (&b"will/dying"[..], &b"dying is gone"[..], Q1_5, false)
    );
}

#[tokio::test]
async fn will_is_published_when_a_v5_connection_drops() {
    let broker = start().await;
    let mut watcher = watcher(&broker, "watcher", "will/#").await;
    let mut properties = will_properties(None);
    properties.content_type = Some("text/plain".into());
    properties.user_properties = vec![("why".into(), "test".into())];
    let (dying, _) = V5::connect(v5_with_will(&broker, "dying", "will/dying", false, properties, None)).await;
    dying.kill();
    let got = watcher.next_publish().await;
    assert_eq!((&got.topic[..], &got.payload[..], got.qos), (&b"will/dying"[..], &b"dying is gone"[..], Q1_5));
    let properties = got.properties.expect("will properties are forwarded");
    assert_eq!(properties.content_type.as_deref(), Some("text/plain"));
    // The will's own properties, then the sequence number the broker gave it in its log.
    assert_eq!(properties.user_properties, [("why".to_string(), "test".to_string()), ("seq".to_string(), "1".to_string())]);
}

/// After a normal DISCONNECT no will: a new connection with the same client id waits for the
/// old one's clean-up, so its sentinel comes after any will.
#[tokio::test]
async fn no_will_after_a_normal_disconnect_v311() {
    let broker = start().await;
    let mut watcher = watcher(&broker, "watcher", "will/#").await;
    let (mut leaving, _) = V4::connect(v4_with_will(&broker, "leaving", "will/leaving", false)).await;
    leaving.client.disconnect().await.expect("disconnect queued");
    leaving.closed().await;
    let (mut again, _) = V4::connect(V4::options(broker.tcp, "leaving")).await;
    again.client.publish("will/end", Q1, false, "end").await.expect("publish queued");
    again.wait_for("PUBACK", |p| matches!(p, rumqttc::Packet::PubAck(_)).then_some(())).await;
    assert_eq!(next(&mut watcher).await, pair("will/end", "end"), "the will was published");
}

#[tokio::test]
async fn no_will_after_a_normal_disconnect_v5() {
    let broker = start().await;
    let mut watcher = watcher(&broker, "watcher", "will/#").await;
    let options = v5_with_will(&broker, "leaving", "will/leaving", false, will_properties(None), Some(60));
    let (mut leaving, _) = V5::connect(options).await;
    leaving.client.disconnect().await.expect("disconnect queued");
    leaving.closed().await;
    let (mut again, _) = V5::connect(V5::options(broker.tcp, "leaving")).await;
    again.client.publish("will/end", Q1_5, false, "end").await.expect("publish queued");
    again.wait_for("PUBACK", |p| matches!(p, m5::Packet::PubAck(_)).then_some(())).await;
    assert_eq!(next(&mut watcher).await, pair("will/end", "end"), "the will was published");
}

#[tokio::test]
async fn will_is_published_after_disconnect_with_will_message() {
    let broker = start().await;
    let mut watcher = watcher(&broker, "watcher", "will/#").await;
    let (mut raw, _) = Raw::connect(broker.tcp, raw_with_will("leaving", "will/leaving")).await;
    raw.send(Packet::Disconnect(Disconnect::new(ReasonCode::DISCONNECT_WITH_WILL))).await;
    assert_eq!(raw.expect_close().await, None);
    assert_eq!(next(&mut watcher).await, pair("will/leaving", "leaving is gone"));
}

/// A DISCONNECT that raises a zero session expiry is a protocol error, not a valid DISCONNECT:
/// the will goes out.
#[tokio::test]
async fn will_is_published_after_an_invalid_disconnect() {
    let broker = start().await;
    let mut watcher = watcher(&broker, "watcher", "will/#").await;
    let (mut raw, _) = Raw::connect(broker.tcp, raw_with_will("leaving", "will/leaving")).await;
    let mut disconnect = Disconnect::new(ReasonCode::NORMAL_DISCONNECTION);
    disconnect.properties.session_expiry_interval = Some(60);
    raw.send(Packet::Disconnect(disconnect)).await;
    assert_eq!(raw.expect_close().await, Some(ReasonCode::PROTOCOL_ERROR));
    assert_eq!(next(&mut watcher).await, pair("will/leaving", "leaving is gone"));
}

#[tokio::test]
async fn will_is_published_when_a_v311_connection_is_taken_over() {
    let broker = start().await;
    let mut watcher = watcher(&broker, "watcher", "will/#").await;
    let (mut old, _) = V4::connect(v4_with_will(&broker, "twin", "will/twin", false)).await;
    let (_new, _) = V4::connect(V4::options(broker.tcp, "twin")).await;
    old.closed().await;
    assert_eq!(next(&mut watcher).await, pair("will/twin", "twin is gone"));
}

#[tokio::test]
async fn will_is_published_when_a_v5_connection_is_taken_over() {
    let broker = start().await;
    let mut watcher = watcher(&broker, "watcher", "will/#").await;
    let options = v5_with_will(&broker, "twin", "will/twin", false, will_properties(None), Some(60));
    let (mut old, _) = V5::connect(options).await;
    let (_new, connack) = V5::connect(V5::options(broker.tcp, "twin")).await;
    assert_eq!(connack.code, m5::ConnectReturnCode::Success);
    assert!(old.closed().await.contains("SessionTakenOver"));
    assert_eq!(next(&mut watcher).await, pair("will/twin", "twin is gone"));
}

// ---------------------------------------------------------------------------------------------
// Retained wills

#[tokio::test]
async fn retained_will_is_stored() {
    let broker = start().await;
    let mut watcher = watcher(&broker, "watcher", "will/#").await;
    let (dying4, _) = V4::connect(v4_with_will(&broker, "dying4", "will/dying4", true)).await;
    dying4.kill();
    assert_eq!(next(&mut watcher).await, pair("will/dying4", "dying4 is gone"));
    let options = v5_with_will(&broker, "dying5", "will/dying5", true, will_properties(None), None);
    let (dying5, _) = V5::connect(options).await;
    dying5.kill();
    assert_eq!(next(&mut watcher).await, pair("will/dying5", "dying5 is gone"));

    let (mut late, _) = V4::connect(V4::options(broker.tcp, "late")).await;
    late.client.subscribe("will/+", Q1).await.expect("subscribe queued");
    let mut stored = Vec::new();
    for _ in 0..2 {
        let p = late.next_publish().await;
        assert!(p.retain, "{p:?}");
        stored.push((p.topic, String::from_utf8_lossy(&p.payload).into_owned()));
    }
    stored.sort();
    assert_eq!(stored, [pair("will/dying4", "dying4 is gone"), pair("will/dying5", "dying5 is gone")]);
}

// ---------------------------------------------------------------------------------------------
// Will delay

#[tokio::test]
async fn will_delay_is_cancelled_by_a_reconnect() {
    let broker = start().await;
    let mut watcher = watcher(&broker, "watcher", "wd/#").await;
    let options = v5_with_will(&broker, "delayed", "wd/will", false, will_properties(Some(2)), Some(60));
    let (dying, _) = V5::connect(options).await;
    dying.kill();
    let killed = Instant::now();
    // Clients typically come back with the same will; it must not go out while they are here.
    let mut back_options = v5_with_will(&broker, "delayed", "wd/will", false, will_properties(Some(2)), Some(60));
    back_options.set_clean_start(false);
    let (back, connack) = V5::connect(back_options).await;
    assert!(connack.session_present);
    assert!(killed.elapsed() < Duration::from_millis(1500), "reconnected too late to test the cancel");
    // Let the delay pass: the time passing is the behaviour under test.
    tokio::time::sleep_until((killed + Duration::from_millis(2500)).into()).await;
    back.client.publish("wd/end", Q1_5, false, "end").await.expect("publish queued");
    assert_eq!(next(&mut watcher).await, pair("wd/end", "end"), "the will was published despite the reconnect");
}

#[tokio::test]
async fn will_delay_holds_the_will_back() {
    let broker = start().await;
    let mut watcher = watcher(&broker, "watcher", "wd/#").await;
    let options = v5_with_will(&broker, "delayed", "wd/will", false, will_properties(Some(2)), Some(60));
    let (dying, _) = V5::connect(options).await;
    dying.kill();
    let killed = Instant::now();
    assert_eq!(next(&mut watcher).await, pair("wd/will", "delayed is gone"));
    let waited = killed.elapsed();
    assert!(waited >= Duration::from_secs(2), "will after {waited:?}, delay is 2 s");
    assert!(waited < Duration::from_secs(5), "will after {waited:?}, delay is 2 s");
}

#[tokio::test]
async fn will_goes_out_when_the_session_ends_before_the_delay() {
    let broker = start().await;
    let mut watcher = watcher(&broker, "watcher", "wd/#").await;
    let options = v5_with_will(&broker, "delayed", "wd/will", false, will_properties(Some(60)), Some(1));
    let (dying, _) = V5::connect(options).await;
    dying.kill();
    let killed = Instant::now();
    assert_eq!(next(&mut watcher).await, pair("wd/will", "delayed is gone"));
    let waited = killed.elapsed();
    assert!(waited >= Duration::from_secs(1), "will after {waited:?}, session expiry is 1 s");
    assert!(waited < Duration::from_secs(5), "will after {waited:?}, session expiry is 1 s");
}

#[tokio::test]
async fn will_delay_with_session_expiry_zero_publishes_at_once() {
    let broker = start().await;
    let mut watcher = watcher(&broker, "watcher", "wd/#").await;
    let options = v5_with_will(&broker, "delayed", "wd/will", false, will_properties(Some(60)), None);
    let (dying, _) = V5::connect(options).await;
    dying.kill();
    let killed = Instant::now();
    assert_eq!(next(&mut watcher).await, pair("wd/will", "delayed is gone"));
    // The delay is 60 s: anything well below it shows the will did not wait for it.
    let waited = killed.elapsed();
    assert!(waited < Duration::from_secs(5), "will after {waited:?}: the session ended at once");
}

/// A reconnect with Clean Start does not resume the session: it ends it, and with it the delay.
#[tokio::test]
async fn will_goes_out_when_a_clean_start_ends_the_session() {
    let broker = start().await;
    let mut watcher = watcher(&broker, "watcher", "wd/#").await;
    let options = v5_with_will(&broker, "delayed", "wd/will", false, will_properties(Some(60)), Some(60));
    let (dying, _) = V5::connect(options).await;
    dying.kill();
    let killed = Instant::now();
    let (_fresh, connack) = V5::connect(V5::options(broker.tcp, "delayed")).await;
    assert!(!connack.session_present);
    assert_eq!(next(&mut watcher).await, pair("wd/will", "delayed is gone"));
    let waited = killed.elapsed();
    assert!(waited < Duration::from_secs(5), "will after {waited:?}: the clean start ended the session");
}
