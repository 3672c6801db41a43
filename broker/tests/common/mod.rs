//! Test harness: a real broker on ephemeral ports, rumqttc clients whose events arrive on a
//! channel, and a raw client that speaks packets (or bytes) directly.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tallymq::codec::{
    self, Connect, ConnectProperties, Packet, ProtocolVersion, PubResponse, Publish, PublishProperties, QoS,
    ReasonCode, Subscribe, SubscriptionOptions,
};
use tallymq::server::Server;
use tallymq_config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long any single expected event may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct TestBroker {
    pub server: Server,
    pub tcp: SocketAddr,
    pub ws: SocketAddr,
    _data: tempfile::TempDir,
}

/// A broker on 127.0.0.1 with ephemeral TCP and WebSocket ports and a fresh data dir.
pub async fn start() -> TestBroker {
    start_with(|_| {}).await
}

pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestBroker {
    let data = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.listener.tcp.address = "127.0.0.1:0".parse().unwrap();
    config.listener.ws.address = "127.0.0.1:0".parse().unwrap();
    config.storage.data_dir = data.path().to_path_buf();
    // Tests open many connections from 127.0.0.1 at once; accept limit tests set their own.
    config.limits.max_connections_per_address = 10_000_000;
    config.limits.connect_rate_per_address = 1_000_000;
    config.limits.connect_burst_per_address = 1_000_000;
    // Protocol tests use any topic and publish fast; access control and limit tests set
    // their own.
    config.auth.mode = tallymq_config::AuthMode::Open;
    config.limits.publish_rate = 1_000_000;
    config.limits.publish_burst = 1_000_000;
    adjust(&mut config);
    config.validate().expect("test config is valid");
    let server = Server::start(config).await.expect("broker starts");
    let tcp = server.tcp_address.expect("tcp listener");
    let ws = server.ws_address.expect("ws listener");
    TestBroker { server, tcp, ws, _data: data }
}

/// A broker that was shut down, with its configuration and data dir kept for a new start.
pub struct StoppedBroker {
    pub config: Config,
    _data: tempfile::TempDir,
}

impl TestBroker {
    /// Shuts the broker down (`Server::shutdown`), keeping its data dir.
    pub async fn stop(self) -> StoppedBroker {
        let TestBroker { server, _data, .. } = self;
        let config = (*server.broker.config).clone();
        within("the broker to shut down", server.shutdown()).await;
        StoppedBroker { config, _data }
    }

    /// Shuts the broker down and starts a new one on the same data dir with the same
    /// configuration, on new ephemeral ports: a restart of the process.
    pub async fn restart(self) -> TestBroker {
        self.stop().await.start().await
    }
}

impl StoppedBroker {
    /// Starts a broker again on the data dir (with `config`, which the test may change).
    pub async fn start(self) -> TestBroker {
        let StoppedBroker { config, _data } = self;
        let server = within("the broker to start again", Server::start(config)).await.expect("broker starts again on its data dir");
        let tcp = server.tcp_address.expect("tcp listener");
        let ws = server.ws_address.expect("ws listener");
        TestBroker { server, tcp, ws, _data }
    }
}

/// Awaits `future` for at most [`WAIT`], failing the test with `what` otherwise.
pub async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future).await.unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Polls broker state until `condition` holds, failing after [`WAIT`].
pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    within(what, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
}

/// A rumqttc MQTT 3.1.1 client whose incoming packets arrive on a channel. The event loop
/// stops at the first error instead of reconnecting.
pub struct V4 {
    pub client: rumqttc::AsyncClient,
    events: mpsc::UnboundedReceiver<Result<rumqttc::Packet, String>>,
    task: JoinHandle<()>,
}

impl V4 {
    pub fn options(addr: SocketAddr, id: &str) -> rumqttc::MqttOptions {
        let mut options = rumqttc::MqttOptions::new(id, addr.ip().to_string(), addr.port());
        options.set_keep_alive(Duration::from_secs(30));
        options
    }

    /// Connects and waits for the CONNACK.
    pub async fn connect(options: rumqttc::MqttOptions) -> (V4, rumqttc::ConnAck) {
        let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 1000);
        let (tx, events) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(rumqttc::Event::Incoming(packet)) => {
                        if tx.send(Ok(packet)).is_err() {
                            return;
                        }
                    }
                    Ok(rumqttc::Event::Outgoing(_)) => {}
                    Err(error) => {
                        let _ = tx.send(Err(error.to_string()));
                        return;
                    }
                }
            }
        });
        let mut v4 = V4 { client, events, task };
        let connack = match v4.next().await {
            Ok(rumqttc::Packet::ConnAck(connack)) => connack,
            other => panic!("expected CONNACK, got {other:?}"),
        };
        (v4, connack)
    }

    pub async fn next(&mut self) -> Result<rumqttc::Packet, String> {
        within("a 3.1.1 client event", self.events.recv()).await.unwrap_or_else(|| Err("event loop ended".into()))
    }

    /// The next PUBLISH, skipping acknowledgements and pings.
    pub async fn next_publish(&mut self) -> rumqttc::Publish {
        loop {
            match self.next().await {
                Ok(rumqttc::Packet::Publish(publish)) => return publish,
                Ok(_) => {}
                Err(error) => panic!("connection ended while waiting for a PUBLISH: {error}"),
            }
        }
    }

    /// Waits for the packet `pick` selects, skipping others.
    pub async fn wait_for<T>(&mut self, what: &str, mut pick: impl FnMut(&rumqttc::Packet) -> Option<T>) -> T {
        loop {
            match self.next().await {
                Ok(packet) => {
                    if let Some(found) = pick(&packet) {
                        return found;
                    }
                }
                Err(error) => panic!("connection ended while waiting for {what}: {error}"),
            }
        }
    }

    /// Waits until the connection ends, returning the error text.
    pub async fn closed(&mut self) -> String {
        loop {
            if let Err(error) = self.next().await {
                return error;
            }
        }
    }

    /// Stops the event loop without a DISCONNECT: the broker sees the connection drop.
    pub fn kill(self) {
        self.task.abort();
    }
}

/// A rumqttc MQTT 5.0 client, like [`V4`].
pub struct V5 {
    pub client: rumqttc::v5::AsyncClient,
    events: mpsc::UnboundedReceiver<Result<rumqttc::v5::Incoming, String>>,
    task: JoinHandle<()>,
}

impl V5 {
    pub fn options(addr: SocketAddr, id: &str) -> rumqttc::v5::MqttOptions {
        let mut options = rumqttc::v5::MqttOptions::new(id, addr.ip().to_string(), addr.port());
        options.set_keep_alive(Duration::from_secs(30));
        options
    }

    pub async fn connect(options: rumqttc::v5::MqttOptions) -> (V5, rumqttc::v5::mqttbytes::v5::ConnAck) {
        let (client, mut eventloop) = rumqttc::v5::AsyncClient::new(options, 1000);
        let (tx, events) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(rumqttc::v5::Event::Incoming(packet)) => {
                        if tx.send(Ok(packet)).is_err() {
                            return;
                        }
                    }
                    Ok(rumqttc::v5::Event::Outgoing(_)) => {}
                    Err(error) => {
                        let _ = tx.send(Err(format!("{error:?}")));
                        return;
                    }
                }
            }
        });
        let mut v5 = V5 { client, events, task };
        let connack = match v5.next().await {
            Ok(rumqttc::v5::Incoming::ConnAck(connack)) => connack,
            other => panic!("expected CONNACK, got {other:?}"),
        };
        (v5, connack)
    }

    pub async fn next(&mut self) -> Result<rumqttc::v5::Incoming, String> {
        within("a 5.0 client event", self.events.recv()).await.unwrap_or_else(|| Err("event loop ended".into()))
    }

    pub async fn next_publish(&mut self) -> rumqttc::v5::mqttbytes::v5::Publish {
        loop {
            match self.next().await {
                Ok(rumqttc::v5::Incoming::Publish(publish)) => return publish,
                Ok(_) => {}
                Err(error) => panic!("connection ended while waiting for a PUBLISH: {error}"),
            }
        }
    }

    pub async fn wait_for<T>(&mut self, what: &str, mut pick: impl FnMut(&rumqttc::v5::Incoming) -> Option<T>) -> T {
        loop {
            match self.next().await {
                Ok(packet) => {
                    if let Some(found) = pick(&packet) {
                        return found;
                    }
                }
                Err(error) => panic!("connection ended while waiting for {what}: {error}"),
            }
        }
    }

    pub async fn closed(&mut self) -> String {
        loop {
            if let Err(error) = self.next().await {
                return error;
            }
        }
    }

    pub fn kill(self) {
        self.task.abort();
    }
}

/// A client that writes packets or raw bytes and reads packets, for protocol edge cases
/// that a well-behaved client library will not produce.
pub struct Raw {
    pub stream: TcpStream,
    buf: BytesMut,
    pub version: ProtocolVersion,
}

impl Raw {
    pub async fn open(addr: SocketAddr, version: ProtocolVersion) -> Raw {
        let stream = within("TCP connect", TcpStream::connect(addr)).await.expect("TCP connect");
        Raw { stream, buf: BytesMut::new(), version }
    }

    /// A CONNECT with a clean start, keepalive 60 and no properties.
    pub fn connect_packet(version: ProtocolVersion, client_id: &str) -> Connect {
        Connect {
            protocol: version,
            clean_start: true,
            keep_alive: 60,
            properties: ConnectProperties::default(),
            client_id: client_id.to_string(),
            will: None,
            username: None,
            password: None,
        }
    }

    /// Opens a connection, sends `connect` and returns the CONNACK reason.
    pub async fn connect(addr: SocketAddr, connect: Connect) -> (Raw, codec::ConnAck) {
        let mut raw = Raw::open(addr, connect.protocol).await;
        raw.send(Packet::Connect(Box::new(connect))).await;
        match raw.recv().await {
            Some(Packet::ConnAck(connack)) => (raw, connack),
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    pub async fn send(&mut self, packet: Packet) {
        let mut out = BytesMut::new();
        codec::encode(&packet, self.version, &mut out).expect("test packet encodes");
        self.send_bytes(&out).await;
    }

    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        // The broker may already have closed the connection; tests check what comes back.
        let _ = self.stream.write_all(bytes).await;
    }

    /// The next packet, or `None` once the broker closed the connection.
    pub async fn recv(&mut self) -> Option<Packet> {
        loop {
            match codec::decode(&mut self.buf, Some(self.version), u32::MAX) {
                Ok(Some(packet)) => return Some(packet),
                Ok(None) => {}
                Err(error) => panic!("broker sent an undecodable packet: {error}"),
            }
            match within("a packet from the broker", self.stream.read_buf(&mut self.buf)).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// Reads until the broker closes the connection; returns the DISCONNECT reason if the
    /// broker sent one (5.0), failing if anything else arrives first.
    pub async fn expect_close(&mut self) -> Option<ReasonCode> {
        let mut reason = None;
        while let Some(packet) = self.recv().await {
            match packet {
                Packet::Disconnect(disconnect) => reason = Some(disconnect.reason),
                other => panic!("expected the connection to close, got {other:?}"),
            }
        }
        reason
    }

    /// The next packet, failing the test if the broker closed the connection instead.
    pub async fn next(&mut self) -> Packet {
        self.recv().await.expect("the broker closed the connection unexpectedly")
    }

    /// The next packet, which must be a PUBLISH.
    pub async fn next_publish(&mut self) -> Publish {
        match self.next().await {
            Packet::Publish(publish) => publish,
            other => panic!("expected a PUBLISH, got {other:?}"),
        }
    }

    /// Subscribes to `filters` (QoS only, no other options) and returns the SUBACK reason codes.
    pub async fn subscribe(&mut self, packet_id: u16, filters: &[(&str, QoS)]) -> Vec<ReasonCode> {
        self.subscribe_with(packet_id, None, filters).await
    }

    /// Like [`Raw::subscribe`], with a subscription identifier.
    pub async fn subscribe_with(
        &mut self,
        packet_id: u16,
        identifier: Option<u32>,
        filters: &[(&str, QoS)],
    ) -> Vec<ReasonCode> {
        let filters = filters
            .iter()
            .map(|(filter, qos)| (filter.to_string(), SubscriptionOptions { qos: *qos, ..Default::default() }))
            .collect();
        self.send(Packet::Subscribe(Subscribe {
            packet_id,
            subscription_identifier: identifier,
            user_properties: vec![],
            filters,
        }))
        .await;
        match self.next().await {
            Packet::SubAck(suback) => {
                assert_eq!(suback.packet_id, packet_id);
                suback.reasons
            }
            other => panic!("expected SUBACK, got {other:?}"),
        }
    }

    /// Subscribes to one filter and asserts that the SUBACK grants `qos`.
    pub async fn subscribe_granted(&mut self, packet_id: u16, filter: &str, qos: QoS) {
        assert_eq!(self.subscribe(packet_id, &[(filter, qos)]).await, [ReasonCode(qos as u8)], "SUBACK for {filter}");
    }

    /// Sends a QoS 1 PUBLISH and returns its PUBACK.
    pub async fn publish_acked(&mut self, publish: Publish) -> PubResponse {
        assert_eq!(publish.qos, QoS::AtLeastOnce);
        let packet_id = publish.packet_id;
        self.send(Packet::Publish(publish)).await;
        match self.next().await {
            Packet::PubAck(ack) => {
                assert_eq!(ack.packet_id, packet_id);
                ack
            }
            other => panic!("expected PUBACK, got {other:?}"),
        }
    }

    /// Sends a QoS 1 `$history/query` with `payload` (5.0: with `response_topic` and
    /// `correlation` if given), expects its PUBACK and then the reply PUBLISH, acknowledges
    /// the reply and returns it.
    pub async fn history_request(
        &mut self,
        packet_id: u16,
        payload: &[u8],
        response_topic: Option<&str>,
        correlation: Option<&[u8]>,
    ) -> Publish {
        let mut query = publish("$history/query", QoS::AtLeastOnce, packet_id, payload);
        query.properties.response_topic = response_topic.map(str::to_string);
        query.properties.correlation_data = correlation.map(Bytes::copy_from_slice);
        let ack = self.publish_acked(query).await;
        assert_eq!(ack.reason, ReasonCode::SUCCESS, "PUBACK of the history query: {ack:?}");
        let reply = self.next_publish().await;
        assert_eq!(reply.qos, QoS::AtLeastOnce, "history replies go out at QoS 1: {reply:?}");
        self.puback(reply.packet_id).await;
        reply
    }

    /// Asks for the history of `topic` after `after` and returns the reply as JSON (5.0: on
    /// response topic `history/answer` with correlation data `q{packet_id}`, both checked).
    pub async fn history(&mut self, packet_id: u16, topic: &str, after: u64, limit: Option<u64>) -> serde_json::Value {
        let mut query = serde_json::json!({ "topic": topic, "after": after });
        if let Some(limit) = limit {
            query["limit"] = limit.into();
        }
        let query = query.to_string();
        let reply = if self.version == ProtocolVersion::V5 {
            let correlation = format!("q{packet_id}");
            let reply = self.history_request(packet_id, query.as_bytes(), Some("history/answer"), Some(correlation.as_bytes())).await;
            assert_eq!(reply.topic, "history/answer");
            assert_eq!(reply.properties.correlation_data.as_deref(), Some(correlation.as_bytes()));
            reply
        } else {
            let reply = self.history_request(packet_id, query.as_bytes(), None, None).await;
            assert!(reply.topic.starts_with("$history/reply/"), "3.1.1 history reply topic: {}", reply.topic);
            reply
        };
        serde_json::from_slice(&reply.payload).expect("history reply is JSON")
    }

    /// Acknowledges a QoS 1 PUBLISH from the broker.
    pub async fn puback(&mut self, packet_id: u16) {
        self.send(Packet::PubAck(PubResponse::success(packet_id))).await;
    }

    /// Proves that nothing is waiting to be delivered: the broker answers a PINGREQ and then
    /// runs its delivery step, so anything deliverable would be written before the second
    /// PINGRESP. Fails if anything but the two PINGRESPs arrives.
    pub async fn nothing_pending(&mut self) {
        self.send(Packet::PingReq).await;
        self.send(Packet::PingReq).await;
        for _ in 0..2 {
            match self.next().await {
                Packet::PingResp => {}
                other => panic!("expected nothing but PINGRESP, got {other:?}"),
            }
        }
    }
}

/// Connects a raw client and insists on a successful CONNACK.
pub async fn connect_ok(broker: &TestBroker, connect: Connect) -> (Raw, codec::ConnAck) {
    let (raw, connack) = Raw::connect(broker.tcp, connect).await;
    assert_eq!(connack.reason, ReasonCode::SUCCESS, "CONNACK: {connack:?}");
    (raw, connack)
}

/// A PUBLISH as a raw client sends it: no dup, no retain, no properties. A QoS 0 message
/// carries no packet identifier, so `packet_id` is ignored for it.
pub fn publish(topic: &str, qos: QoS, packet_id: u16, payload: &[u8]) -> Publish {
    Publish {
        dup: false,
        qos,
        retain: false,
        topic: topic.to_string(),
        packet_id: if qos == QoS::AtMostOnce { 0 } else { packet_id },
        properties: PublishProperties::default(),
        payload: Bytes::copy_from_slice(payload),
    }
}

/// [`publish`] as a packet, ready for [`Raw::send`].
pub fn publish_packet(topic: &str, qos: QoS, packet_id: u16, payload: &[u8]) -> Packet {
    Packet::Publish(publish(topic, qos, packet_id, payload))
}

/// A SUBSCRIBE of `filters` with their options, without identifier or user properties.
pub fn subscribe_packet(packet_id: u16, filters: &[(&str, SubscriptionOptions)]) -> Packet {
    Packet::Subscribe(Subscribe {
        packet_id,
        subscription_identifier: None,
        user_properties: vec![],
        filters: filters.iter().map(|(filter, options)| (filter.to_string(), *options)).collect(),
    })
}

/// Reads `stream` until the broker closes the connection; returns everything it sent.
pub async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut reply = Vec::new();
    within("the broker to close the connection", async {
        let mut chunk = [0u8; 1024];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => reply.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    reply
}
