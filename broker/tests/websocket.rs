//! MQTT over WebSocket: rumqttc clients of both versions talking to TCP clients, the HTTP
//! handshake (path, subprotocol), and MQTT packets framed arbitrarily across WebSocket frames.
mod common;

use std::net::SocketAddr;

use bytes::BytesMut;
use common::*;
use futures_util::{SinkExt, StreamExt};
use tallymq::codec::{self, Connect, Packet, ProtocolVersion, PubResponse, QoS, ReasonCode, SubscriptionOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

// ---------------------------------------------------------------------------------------------
// rumqttc over WebSocket
// ---------------------------------------------------------------------------------------------

fn ws_url(addr: SocketAddr) -> String {
    format!("ws://{addr}/mqtt")
}

#[tokio::test]
async fn v4_client_over_websocket_exchanges_messages_with_a_tcp_client() {
    use rumqttc::{Packet as P, QoS};
    let broker = start().await;
    let mut options = rumqttc::MqttOptions::new("ws-v4", ws_url(broker.ws), broker.ws.port());
    options.set_transport(rumqttc::Transport::Ws);
    let (mut ws, connack) = V4::connect(options).await;
    assert_eq!(connack.code, rumqttc::ConnectReturnCode::Success);
    let (mut tcp, _) = V4::connect(V4::options(broker.tcp, "tcp-v4")).await;

    ws.client.subscribe("to-ws/#", QoS::AtLeastOnce).await.unwrap();
    ws.wait_for("SUBACK", |p| matches!(p, P::SubAck(_)).then_some(())).await;
    tcp.client.subscribe("to-tcp/#", QoS::AtLeastOnce).await.unwrap();
    tcp.wait_for("SUBACK", |p| matches!(p, P::SubAck(_)).then_some(())).await;

    tcp.client.publish("to-ws/a", QoS::AtLeastOnce, false, "from tcp").await.unwrap();
    let got = ws.next_publish().await;
    assert_eq!((&got.topic[..], &got.payload[..], got.qos), ("to-ws/a", &b"from tcp"[..], QoS::AtLeastOnce));

    ws.client.publish("to-tcp/b", QoS::AtLeastOnce, false, "from ws").await.unwrap();
    ws.wait_for("PUBACK", |p| matches!(p, P::PubAck(_)).then_some(())).await;
    let got = tcp.next_publish().await;
    assert_eq!((&got.topic[..], &got.payload[..], got.qos), ("to-tcp/b", &b"from ws"[..], QoS::AtLeastOnce));
}

#[tokio::test]
async fn v5_client_over_websocket_exchanges_messages_with_a_tcp_client() {
    use rumqttc::v5::mqttbytes::QoS;
    use rumqttc::v5::Incoming as P;
    let broker = start().await;
    let mut options = rumqttc::v5::MqttOptions::new("ws-v5", ws_url(broker.ws), broker.ws.port());
    options.set_transport(rumqttc::Transport::Ws);
    let (mut ws, connack) = V5::connect(options).await;
    assert_eq!(connack.code, rumqttc::v5::mqttbytes::v5::ConnectReturnCode::Success);
    let (mut tcp, _) = V5::connect(V5::options(broker.tcp, "tcp-v5")).await;

    ws.client.subscribe("to-ws/#", QoS::AtLeastOnce).await.unwrap();
    ws.wait_for("SUBACK", |p| matches!(p, P::SubAck(_)).then_some(())).await;
    tcp.client.subscribe("to-tcp/#", QoS::AtLeastOnce).await.unwrap();
    tcp.wait_for("SUBACK", |p| matches!(p, P::SubAck(_)).then_some(())).await;

    tcp.client.publish("to-ws/a", QoS::AtLeastOnce, false, "from tcp").await.unwrap();
    let got = ws.next_publish().await;
    assert_eq!((&got.topic[..], &got.payload[..], got.qos), (&b"to-ws/a"[..], &b"from tcp"[..], QoS::AtLeastOnce));

    ws.client.publish("to-tcp/b", QoS::AtLeastOnce, false, "from ws").await.unwrap();
    ws.wait_for("PUBACK", |p| matches!(p, P::PubAck(_)).then_some(())).await;
    let got = tcp.next_publish().await;
    assert_eq!((&got.topic[..], &got.payload[..], got.qos), (&b"to-tcp/b"[..], &b"from ws"[..], QoS::AtLeastOnce));
}

// ---------------------------------------------------------------------------------------------
// Handshake
// ---------------------------------------------------------------------------------------------

/// Sends a WebSocket upgrade request for `path` by hand and returns the status code and the
/// response headers (names lower-cased).
async fn handshake(addr: SocketAddr, path: &str, protocols: Option<&str>) -> (u16, Vec<(String, String)>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    );
    if let Some(protocols) = protocols {
        request.push_str(&format!("Sec-WebSocket-Protocol: {protocols}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();

    let mut response = Vec::new();
    within("the HTTP response", async {
        let mut chunk = [0u8; 512];
        while !response.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => response.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&response);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status in {text:?}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    (status, headers)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn wrong_path_gets_404() {
    let broker = start().await;
    let (status, _) = handshake(broker.ws, "/not-mqtt", Some("mqtt")).await;
    assert_eq!(status, 404);
    let (status, _) = handshake(broker.ws, "/mqtt/extra", Some("mqtt")).await;
    assert_eq!(status, 404);
    // The right path on the same listener still upgrades.
    let (status, _) = handshake(broker.ws, "/mqtt", Some("mqtt")).await;
    assert_eq!(status, 101);
}

#[tokio::test]
async fn mqtt_subprotocol_is_echoed() {
    let broker = start().await;
    let (status, headers) = handshake(broker.ws, "/mqtt", Some("mqtt")).await;
    assert_eq!(status, 101);
    assert_eq!(header(&headers, "sec-websocket-protocol"), Some("mqtt"));
    // Among other offers, the MQTT one is chosen.
    let (status, headers) = handshake(broker.ws, "/mqtt", Some("chat, mqtt")).await;
    assert_eq!(status, 101);
    assert_eq!(header(&headers, "sec-websocket-protocol"), Some("mqtt"));
}

// ---------------------------------------------------------------------------------------------
// Framing: MQTT is a byte stream over binary frames
// ---------------------------------------------------------------------------------------------

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

struct WsClient {
    ws: Ws,
    buf: BytesMut,
}

impl WsClient {
    async fn open(addr: SocketAddr) -> WsClient {
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut request = ws_url(addr).into_client_request().unwrap();
        request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("mqtt"));
        let (ws, response) = within("WebSocket handshake", tokio_tungstenite::client_async(request, stream)).await.unwrap();
        assert_eq!(response.headers().get("sec-websocket-protocol").map(|v| v.as_bytes()), Some(&b"mqtt"[..]));
        WsClient { ws, buf: BytesMut::new() }
    }

    async fn send_frame(&mut self, bytes: &[u8]) {
        self.ws.send(Message::Binary(bytes.to_vec())).await.unwrap();
    }

    /// The next MQTT packet, reassembled from however many frames it took.
    async fn recv(&mut self) -> Packet {
        loop {
            if let Some(packet) = codec::decode(&mut self.buf, Some(ProtocolVersion::V5), u32::MAX).expect("broker packet decodes") {
                return packet;
            }
            match within("a WebSocket frame", self.ws.next()).await {
                Some(Ok(Message::Binary(data))) => self.buf.extend_from_slice(&data),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => panic!("expected a binary frame, got {other:?}"),
            }
        }
    }
}

fn encode(packets: &[Packet]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for packet in packets {
        codec::encode(packet, ProtocolVersion::V5, &mut out).unwrap();
    }
    out.to_vec()
}

#[tokio::test]
async fn packets_are_reassembled_across_websocket_frames() {
    let broker = start().await;
    let (mut tcp, _) = Raw::connect(broker.tcp, Raw::connect_packet(ProtocolVersion::V5, "tcp")).await;
    tcp.send(subscribe_packet(1, &[("frames/#", SubscriptionOptions { qos: QoS::AtLeastOnce, ..Default::default() })]))
        .await;
    assert!(matches!(tcp.recv().await, Some(Packet::SubAck(_))));

    // CONNECT, SUBSCRIBE and PINGREQ in a single frame.
    let mut ws = WsClient::open(broker.ws).await;
    let connect: Connect = Raw::connect_packet(ProtocolVersion::V5, "ws-frames");
    let subscribe =
        subscribe_packet(5, &[("back/#", SubscriptionOptions { qos: QoS::AtLeastOnce, ..Default::default() })]);
    ws.send_frame(&encode(&[Packet::Connect(Box::new(connect)), subscribe, Packet::PingReq])).await;
    match ws.recv().await {
        Packet::ConnAck(connack) => assert_eq!(connack.reason, ReasonCode::SUCCESS),
        other => panic!("expected CONNACK, got {other:?}"),
    }
    match ws.recv().await {
        Packet::SubAck(suback) => assert_eq!((suback.packet_id, suback.reasons), (5, vec![ReasonCode::GRANTED_QOS_1])),
        other => panic!("expected SUBACK, got {other:?}"),
    }
    assert_eq!(ws.recv().await, Packet::PingResp);

    // Two PUBLISHes and a PINGREQ cut into frames at awkward places: inside the first fixed
    // header, then across the boundary between the two PUBLISHes, then the rest.
    let first = encode(&[publish_packet("frames/one", QoS::AtLeastOnce, 10, b"first payload")]);
    let bytes = encode(&[
        publish_packet("frames/one", QoS::AtLeastOnce, 10, b"first payload"),
        publish_packet("back/two", QoS::AtLeastOnce, 11, b"second"),
        Packet::PingReq,
    ]);
    let cuts = [0, 1, first.len() + 3, bytes.len()];
    for window in cuts.windows(2) {
        ws.send_frame(&bytes[window[0]..window[1]]).await;
    }

    let mut acked = Vec::new();
    let mut echoed = None;
    while acked.len() < 2 || echoed.is_none() {
        match ws.recv().await {
            Packet::PubAck(ack) => acked.push((ack.packet_id, ack.reason)),
            Packet::Publish(p) => {
                assert_eq!((p.topic.as_str(), &p.payload[..]), ("back/two", &b"second"[..]));
                ws.send_frame(&encode(&[Packet::PubAck(PubResponse::success(p.packet_id))])).await;
                echoed = Some(p);
            }
            Packet::PingResp => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(acked, [(10, ReasonCode::SUCCESS), (11, ReasonCode::SUCCESS)]);
    match tcp.recv().await {
        Some(Packet::Publish(p)) => assert_eq!((p.topic.as_str(), &p.payload[..]), ("frames/one", &b"first payload"[..])),
        other => panic!("TCP subscriber expected the PUBLISH, got {other:?}"),
    }
}
