mod common;
use common::*;
use tallymq::codec::{Packet, ProtocolVersion, ReasonCode};

#[tokio::test]
async fn v4_v5_and_raw_clients_reach_each_other() {
    let broker = start().await;
    let (mut sub, _) = V4::connect(V4::options(broker.tcp, "sub")).await;
    sub.client.subscribe("a/#", rumqttc::QoS::AtLeastOnce).await.unwrap();
    sub.wait_for("SUBACK", |p| matches!(p, rumqttc::Packet::SubAck(_)).then_some(())).await;
    let (publisher, _) = V5::connect(V5::options(broker.tcp, "pub")).await;
    publisher.client.publish("a/b", rumqttc::v5::mqttbytes::QoS::AtLeastOnce, false, "hi").await.unwrap();
    let got = sub.next_publish().await;
    assert_eq!((&got.topic[..], &got.payload[..]), ("a/b", &b"hi"[..]));
    let (mut raw, connack) = Raw::connect(broker.tcp, Raw::connect_packet(ProtocolVersion::V5, "raw")).await;
    assert_eq!(connack.reason, ReasonCode::SUCCESS);
    raw.send(Packet::PingReq).await;
    assert_eq!(raw.recv().await, Some(Packet::PingResp));
}
