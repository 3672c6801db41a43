//! Crash tests: the real `tallymq` binary is killed with SIGKILL and restarted on the same
//! data directory and port. What was acknowledged before the kill must be there afterwards:
//! messages in their topic log (gapless, in publish order), persistent sessions with their
//! subscriptions and queues, QoS 2 state in both directions, retained messages.
//!
//! The QoS 2 and retained tests kill at fixed protocol points. The kill cycles of
//! `acknowledged_messages_survive_kill_9` make their random choices (kill delay, who is
//! connected) from one seed, printed at the start; set `CRASH_SEED` to replay a run and
//! `CRASH_CYCLES` for the number of cycles (see `scripts/soak.sh`).
mod common;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use tallymq::codec::{ConnAck, Connect, Disconnect, Packet, ProtocolVersion, PubResponse, Publish, QoS, ReasonCode};

const V5: ProtocolVersion = ProtocolVersion::V5;
const V311: ProtocolVersion = ProtocolVersion::V311;

/// Session expiry of the 5.0 persistent sessions in these tests.
const EXPIRY: u32 = 3600;

/// Broker configuration for every crash test: TCP only, fsync durability (the default, stated
/// here because the tests depend on it), and a queue large enough that nothing is dropped for
/// a subscriber that stays away for many cycles. Changes nobody waits for are written at
/// once (`max_later_writes = 0`): by default a delivery acknowledged in the last
/// `later_writes_delay_ms` before a kill comes again after it, which QoS 1 allows but the
/// exact sequences asserted here do not; `a_delivery_acknowledged_just_before_a_kill_comes_again`
/// tests the default.
const CONFIG: &str = "\
[listener.ws]
enabled = false

[storage]
durability = \"fsync\"
max_later_writes = 0

[mqtt]
max_queued_messages = 1000000

[auth]
mode = \"open\"

[limits]
connect_rate_per_address = 1000000
connect_burst_per_address = 1000000
publish_rate = 1000000
publish_burst = 1000000
";

/// Lines of the broker's log kept to show when a test fails.
const LOG_TAIL: usize = 200;

/// How long a restart may keep failing to bind the port before the test gives up.
const REBIND_FOR: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Seeded randomness

/// SplitMix64: small, fast, and the same sequence for the same seed everywhere.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next_u64() % (high - low + 1)
    }

    fn coin(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }
}

/// The seed from `CRASH_SEED`, or a fresh one; printed so a failure can be replayed.
fn seeded(test: &str) -> Rng {
    let seed = match std::env::var("CRASH_SEED") {
        Ok(text) => text.trim().parse().expect("CRASH_SEED must be an unsigned integer"),
        Err(_) => {
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
            nanos ^ (u64::from(std::process::id()) << 32)
        }
    };
    println!("{test}: seed {seed} (replay with CRASH_SEED={seed})");
    Rng(seed)
}

// ---------------------------------------------------------------------------------------------
// The broker process

/// A `tallymq serve` process on a fixed port and data directory that can be killed and started
/// again. Dropping it kills the process, so a failing test never leaves a broker behind.
struct Crashable {
    name: &'static str,
    addr: SocketAddr,
    config: PathBuf,
    data: PathBuf,
    child: Option<Child>,
    log: Arc<Mutex<VecDeque<String>>>,
    starts: u32,
    _dir: tempfile::TempDir,
}

impl Crashable {
    /// Picks a free port once and starts the broker on it.
    async fn start(name: &'static str) -> Crashable {
        Crashable::start_with(name, CONFIG).await
    }

    /// [`Crashable::start`] with a configuration of the test's own.
    async fn start_with(name: &'static str, config_text: &str) -> Crashable {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("tallymq.toml");
        std::fs::write(&config, config_text).expect("write config");
        let addr = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("probe a free port");
            probe.local_addr().expect("probe address")
        };
        let mut broker = Crashable {
            name,
            addr,
            config,
            data: dir.path().join("data"),
            child: None,
            log: Arc::new(Mutex::new(VecDeque::new())),
            starts: 0,
            _dir: dir,
        };
        broker.boot().await;
        broker
    }

    /// Spawns the process and waits for its "tallymq started" line, which it logs once every
    /// listener is bound. If the process exits because the port is still taken, tries again
    /// for a bounded time.
    async fn boot(&mut self) {
        assert!(self.child.is_none(), "{}: boot while running", self.name);
        let give_up = Instant::now() + REBIND_FOR;
        loop {
            let mut child = Command::new(env!("CARGO_BIN_EXE_tallymq"))
                .args(["serve", "--config"])
                .arg(&self.config)
                .arg("--data-dir")
                .arg(&self.data)
                .args(["--listen", &self.addr.to_string()])
                .env("RUST_LOG", "info")
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start tallymq");
            let stderr = child.stderr.take().expect("stderr is piped");
            self.child = Some(child);
            self.starts += 1;
            let (started_tx, started) = tokio::sync::oneshot::channel();
            let log = self.log.clone();
            let start_no = self.starts;
            // Reads the log to the end, so the broker never blocks on a full pipe.
            std::thread::spawn(move || {
                let mut started_tx = Some(started_tx);
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if line.contains("tallymq started") {
                        if let Some(tx) = started_tx.take() {
                            let _ = tx.send(());
                        }
                    }
                    let mut log = log.lock().unwrap();
                    if log.len() >= LOG_TAIL {
                        log.pop_front();
                    }
                    log.push_back(format!("[start {start_no}] {line}"));
                }
            });
            match tokio::time::timeout(WAIT, started).await {
                Ok(Ok(())) => return,
                Ok(Err(_)) => {
                    // The log ended before the line: the process exited.
                    let status = self.child.take().map(|mut child| child.wait());
                    let port_taken = self.log.lock().unwrap().iter().any(|line| line.contains("cannot listen"));
                    if port_taken && Instant::now() < give_up {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                    panic!("{}: tallymq exited before it started ({status:?})\n{}", self.name, self.log_tail());
                }
                Err(_) => panic!("{}: tallymq did not start within {WAIT:?}\n{}", self.name, self.log_tail()),
            }
        }
    }

    /// SIGKILL: no shutdown, no flush, nothing but what is already on disk survives.
    fn kill(&mut self) {
        let mut child = self.child.take().expect("kill: the broker is running");
        child.kill().expect("SIGKILL tallymq");
        let status = child.wait().expect("reap tallymq");
        assert!(!status.success(), "{}: tallymq exited on its own before the kill", self.name);
    }

    async fn restart(&mut self) {
        self.kill();
        self.boot().await;
    }

    fn log_tail(&self) -> String {
        let log = self.log.lock().unwrap();
        let lines: Vec<&str> = log.iter().map(String::as_str).collect();
        format!("--- last {} lines of the broker log ---\n{}", lines.len(), lines.join("\n"))
    }
}

impl Drop for Crashable {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("{}: {} start(s) on {}\n{}", self.name, self.starts, self.addr, self.log_tail());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Clients

/// A 5.0 CONNECT for a session that outlives its connection.
fn v5_session(id: &str, clean_start: bool) -> Connect {
    let mut connect = Raw::connect_packet(V5, id);
    connect.clean_start = clean_start;
    connect.properties.session_expiry_interval = Some(EXPIRY);
    connect
}

/// A 3.1.1 CONNECT with clean session 0.
fn v311_session(id: &str) -> Connect {
    let mut connect = Raw::connect_packet(V311, id);
    connect.clean_start = false;
    connect
}

async fn connect(addr: SocketAddr, connect: Connect) -> (Raw, ConnAck) {
    let id = connect.client_id.clone();
    let (raw, connack) = Raw::connect(addr, connect).await;
    assert_eq!(connack.reason, ReasonCode::SUCCESS, "CONNACK for {id}: {connack:?}");
    (raw, connack)
}

/// Connects and insists on the session being there (or not).
async fn connect_expecting(addr: SocketAddr, packet: Connect, session_present: bool) -> Raw {
    let id = packet.client_id.clone();
    let (raw, connack) = connect(addr, packet).await;
    assert_eq!(connack.session_present, session_present, "session present for {id}");
    raw
}

async fn disconnect(mut raw: Raw) {
    raw.send(Packet::Disconnect(Disconnect::new(ReasonCode::SUCCESS))).await;
    assert_eq!(raw.expect_close().await, None, "the broker closes after DISCONNECT without a reason");
}

/// Expects exactly `packet` next.
async fn expect(raw: &mut Raw, what: &str, packet: Packet) {
    let got = raw.next().await;
    assert_eq!(got, packet, "expected {what}");
}

fn pubrel(packet_id: u16) -> Packet {
    Packet::PubRel(PubResponse::success(packet_id))
}

/// A full QoS 2 publish: PUBLISH, PUBREC, PUBREL, PUBCOMP, all successful.
async fn publish_qos2(raw: &mut Raw, topic: &str, packet_id: u16, payload: &[u8]) {
    raw.send(publish_packet(topic, QoS::ExactlyOnce, packet_id, payload)).await;
    expect(raw, "PUBREC", Packet::PubRec(PubResponse::success(packet_id))).await;
    raw.send(pubrel(packet_id)).await;
    expect(raw, "PUBCOMP", Packet::PubComp(PubResponse::success(packet_id))).await;
}

/// The value of the `seq` user property the broker adds for 5.0 subscribers.
fn seq_property(publish: &Publish) -> Option<u64> {
    publish.properties.user_properties.iter().find(|(name, _)| name == "seq").and_then(|(_, value)| value.parse().ok())
}

/// One stored message as `$history/query` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    seq: u64,
    sender: String,
    payload: String,
}

/// The whole log of `topic` through `$history/query`, page by page (`page` messages per
/// query), following `more` and `next_after`.
async fn history(addr: SocketAddr, topic: &str, page: usize) -> Vec<Stored> {
    let mut raw = connect_expecting(addr, Raw::connect_packet(V5, "crash-history"), false).await;
    let mut all = Vec::new();
    let mut after = 0u64;
    for packet_id in 1u16.. {
        let query = serde_json::json!({ "topic": topic, "after": after, "limit": page });
        let mut request = publish("$history/query", QoS::AtLeastOnce, packet_id, query.to_string().as_bytes());
        request.properties.response_topic = Some("crash/history/reply".into());
        request.properties.correlation_data = Some(Bytes::from(packet_id.to_string()));
        raw.send(Packet::Publish(request)).await;
        let (mut acked, mut reply) = (false, None);
        while !acked || reply.is_none() {
            match raw.next().await {
                Packet::PubAck(ack) => {
                    assert_eq!(ack, PubResponse::success(packet_id), "PUBACK of history query");
                    acked = true;
                }
                Packet::Publish(answer) => {
                    assert_eq!(answer.topic, "crash/history/reply");
                    assert_eq!(answer.properties.correlation_data.as_deref(), Some(packet_id.to_string().as_bytes()));
                    if answer.qos != QoS::AtMostOnce {
                        raw.puback(answer.packet_id).await;
                    }
                    reply = Some(answer);
                }
                other => panic!("expected the history reply, got {other:?}"),
            }
        }
        let body: serde_json::Value = serde_json::from_slice(&reply.unwrap().payload).expect("history reply is JSON");
        assert!(body.get("error").is_none(), "history query failed: {body}");
        let messages = body["messages"].as_array().expect("messages");
        for message in messages {
            all.push(Stored {
                seq: message["seq"].as_u64().expect("seq"),
                sender: message["sender"].as_str().expect("sender").to_string(),
                payload: message["payload"].as_str().expect("UTF-8 payload").to_string(),
            });
        }
        assert!(messages.len() <= page, "a page holds at most the limit");
        if !body["more"].as_bool().expect("more") {
            break;
        }
        let next_after = body["next_after"].as_u64().expect("next_after");
        assert_eq!(Some(next_after), all.last().map(|m| m.seq), "next_after is the last sequence of the page");
        after = next_after;
    }
    disconnect(raw).await;
    all
}

/// Asserts that a topic log is numbered 1, 2, 3, ... without gaps.
fn assert_gapless(log: &[Stored]) {
    for (i, stored) in log.iter().enumerate() {
        assert_eq!(stored.seq, i as u64 + 1, "sequence numbers are gapless from 1: {:?}", &log[i.saturating_sub(2)..(i + 2).min(log.len())]);
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Acknowledged messages survive kill -9

const MSG_TOPIC: &str = "chat/crash/msg";
/// Unacknowledged publishes each publisher keeps in flight.
const WINDOW: usize = 10;
/// Messages per history page: small enough that a run needs several pages.
const HISTORY_PAGE: usize = 500;

/// The publishers of every cycle: tag, client id, protocol, QoS.
const PUBLISHERS: [(&str, &str, ProtocolVersion, QoS); 3] = [
    ("a", "crash-pub-a", V5, QoS::AtLeastOnce),
    ("b", "crash-pub-b", V311, QoS::AtLeastOnce),
    ("c", "crash-pub-c", V5, QoS::ExactlyOnce),
];

/// The persistent subscribers: client id, subscription QoS.
const SUBSCRIBERS: [(&str, QoS); 2] = [("crash-sub-q1", QoS::AtLeastOnce), ("crash-sub-q2", QoS::ExactlyOnce)];

/// What one publisher did in one cycle.
#[derive(Debug, Default, Clone, Copy)]
struct Sent {
    /// Publishes written to the socket (the last ones may never have arrived).
    sent: u64,
    /// PUBACKs (QoS 1) or PUBRECs (QoS 2) received: messages 0..acked are acknowledged.
    acked: u64,
}

/// Publishes messages `{tag}/{cycle}/{n}`, n = 0, 1, 2, ... at `qos` with up to `WINDOW`
/// flows open, until the broker goes away. PUBACKs and PUBRECs must come back in publish
/// order (MQTT 4.6); a QoS 2 flow is released as soon as its PUBREC arrives.
async fn publish_until_killed(mut raw: Raw, tag: &'static str, cycle: u32, qos: QoS) -> Sent {
    let mut unacked: VecDeque<(u16, u64)> = VecDeque::new();
    let mut releasing: HashSet<u16> = HashSet::new();
    let mut done = Sent::default();
    loop {
        while unacked.len() + releasing.len() < WINDOW {
            let n = done.sent;
            let packet_id = (n % u64::from(u16::MAX)) as u16 + 1;
            raw.send(publish_packet(MSG_TOPIC, qos, packet_id, format!("{tag}/{cycle}/{n}").as_bytes())).await;
            unacked.push_back((packet_id, n));
            done.sent += 1;
        }
        let Some(packet) = raw.recv().await else { return done };
        match (qos, packet) {
            (QoS::AtLeastOnce, Packet::PubAck(ack)) | (QoS::ExactlyOnce, Packet::PubRec(ack)) => {
                let (packet_id, n) = unacked.pop_front().expect("an acknowledgement for a publish in flight");
                assert_eq!(ack.packet_id, packet_id, "{tag}: acknowledgements come in publish order");
                assert_eq!(ack.reason, ReasonCode::SUCCESS, "{tag}: acknowledgement of {n}");
                assert_eq!(n, done.acked);
                done.acked += 1;
                if qos == QoS::ExactlyOnce {
                    raw.send(pubrel(packet_id)).await;
                    releasing.insert(packet_id);
                }
            }
            (QoS::ExactlyOnce, Packet::PubComp(comp)) => {
                assert!(releasing.remove(&comp.packet_id), "{tag}: PUBCOMP {} for no PUBREL", comp.packet_id);
                assert_eq!(comp.reason, ReasonCode::SUCCESS, "{tag}: PUBCOMP {}", comp.packet_id);
            }
            (_, other) => panic!("{tag}: unexpected {other:?}"),
        }
    }
}

/// One PUBLISH a subscriber got.
#[derive(Debug, Clone)]
struct Delivery {
    payload: String,
    /// The `seq` property.
    seq: Option<u64>,
    qos: QoS,
    /// A QoS 2 resend of a message this subscriber already has (its packet id still awaits
    /// PUBREL): the receiver acknowledges it and does not pass it on.
    resend: bool,
}

/// A persistent subscriber as its application sees it, across connections: a QoS 2 message
/// is passed on when its PUBLISH first arrives and its packet id is remembered until PUBREL,
/// so a resend under that id is recognized (MQTT 5.0 section 4.3.3, method B).
struct Subscriber {
    id: &'static str,
    qos: QoS,
    /// QoS 2 packet ids answered with PUBREC, PUBREL not yet received.
    awaiting_release: HashSet<u16>,
    /// Deliveries, one list per connection.
    connections: Vec<Vec<Delivery>>,
}

impl Subscriber {
    /// Handles one packet from the broker; returns false for anything but a delivery flow.
    async fn handle(&mut self, raw: &mut Raw, packet: Packet, deliveries: &mut Vec<Delivery>) -> bool {
        match packet {
            Packet::Publish(publish) => {
                assert_eq!(publish.topic, MSG_TOPIC, "{}", self.id);
                assert!(publish.qos <= self.qos, "{}: delivered above the subscription's QoS", self.id);
                let payload = String::from_utf8(publish.payload.to_vec()).expect("UTF-8 payload");
                let mut resend = false;
                match publish.qos {
                    QoS::AtLeastOnce => raw.puback(publish.packet_id).await,
                    QoS::ExactlyOnce => {
                        resend = !self.awaiting_release.insert(publish.packet_id);
                        assert!(
                            !resend || publish.dup,
                            "{}: new PUBLISH {payload} under packet id {} still awaiting PUBREL",
                            self.id,
                            publish.packet_id
                        );
                        raw.send(Packet::PubRec(PubResponse::success(publish.packet_id))).await;
                    }
                    QoS::AtMostOnce => panic!("{}: QoS 0 delivery of {payload}", self.id),
                }
                deliveries.push(Delivery { payload, seq: seq_property(&publish), qos: publish.qos, resend });
                true
            }
            Packet::PubRel(rel) => {
                assert_eq!(rel.reason, ReasonCode::SUCCESS, "{}: PUBREL {}", self.id, rel.packet_id);
                // A PUBREL for an id already released is answered too (a crash lost the PUBCOMP).
                self.awaiting_release.remove(&rel.packet_id);
                raw.send(Packet::PubComp(PubResponse::success(rel.packet_id))).await;
                true
            }
            _ => false,
        }
    }

    fn connect_packet(&self, clean_start: bool) -> Connect {
        v5_session(self.id, clean_start)
    }
}

/// Serves a subscriber's connection until the broker goes away.
async fn receive_until_killed(mut subscriber: Subscriber, mut raw: Raw) -> Subscriber {
    let mut deliveries = Vec::new();
    while let Some(packet) = raw.recv().await {
        if !subscriber.handle(&mut raw, packet.clone(), &mut deliveries).await {
            panic!("{}: unexpected {packet:?}", subscriber.id);
        }
    }
    subscriber.connections.push(deliveries);
    subscriber
}

/// Connects the subscriber and serves it until it has seen every message in `stored` and
/// nothing more is pending: no delivery, no PUBREL.
async fn drain(subscriber: &mut Subscriber, addr: SocketAddr, stored: &HashMap<&str, u64>) {
    let mut raw = connect_expecting(addr, subscriber.connect_packet(false), true).await;
    let mut seen: HashSet<String> = subscriber.connections.iter().flatten().map(|d| d.payload.clone()).collect();
    let mut deliveries = Vec::new();
    while seen.len() < stored.len() {
        let packet = raw.next().await;
        let before = deliveries.len();
        if !subscriber.handle(&mut raw, packet.clone(), &mut deliveries).await {
            panic!("{}: unexpected {packet:?}", subscriber.id);
        }
        for delivery in &deliveries[before..] {
            assert!(stored.contains_key(delivery.payload.as_str()), "{}: delivered but not stored: {delivery:?}", subscriber.id);
            seen.insert(delivery.payload.clone());
        }
    }
    // The broker answers PINGREQs in order with what it reads, and delivers what it can after
    // each: a round of two PINGRESPs with nothing else means nothing is left.
    loop {
        raw.send(Packet::PingReq).await;
        raw.send(Packet::PingReq).await;
        let (mut pongs, mut more) = (0, 0);
        while pongs < 2 {
            let packet = raw.next().await;
            if packet == Packet::PingResp {
                pongs += 1;
            } else if subscriber.handle(&mut raw, packet.clone(), &mut deliveries).await {
                more += 1;
            } else {
                panic!("{}: unexpected {packet:?}", subscriber.id);
            }
        }
        if more == 0 {
            break;
        }
    }
    disconnect(raw).await;
    subscriber.connections.push(deliveries);
    assert!(subscriber.awaiting_release.is_empty(), "{}: PUBREL never came for {:?}", subscriber.id, subscriber.awaiting_release);
}

/// `tag/cycle/n` of a payload.
fn parse_payload(payload: &str) -> (String, u32, u64) {
    let mut parts = payload.split('/');
    let (Some(tag), Some(cycle), Some(n), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        panic!("unexpected payload {payload:?}");
    };
    (tag.to_string(), cycle.parse().expect("cycle"), n.parse().expect("counter"))
}

fn cycles() -> u32 {
    match std::env::var("CRASH_CYCLES") {
        Ok(text) => text.trim().parse().expect("CRASH_CYCLES must be a positive integer"),
        Err(_) => 8,
    }
}

/// Several cycles of: publishers send QoS 1 and QoS 2 messages as fast as they can, the broker
/// is killed after a random delay, and started again. Then every acknowledged message must be
/// in the topic log (each publisher's in publish order, sequence numbers gapless from 1), and
/// each persistent subscriber must have received every stored message: at least once at QoS 1,
/// exactly once at QoS 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_kill_9() {
    let started = Instant::now();
    let mut rng = seeded("acknowledged_messages_survive_kill_9");
    let cycles = cycles();
    assert!(cycles > 0, "CRASH_CYCLES must be at least 1");
    let mut broker = Crashable::start("kill-9").await;

    // The persistent subscribers: subscribed once, before any message.
    let mut subscribers = Vec::new();
    for (id, qos) in SUBSCRIBERS {
        let subscriber = Subscriber { id, qos, awaiting_release: HashSet::new(), connections: Vec::new() };
        let mut raw = connect_expecting(broker.addr, subscriber.connect_packet(true), false).await;
        raw.subscribe_granted(1, MSG_TOPIC, qos).await;
        disconnect(raw).await;
        subscribers.push(Some(subscriber));
    }

    let mut sent: BTreeMap<(String, u32), Sent> = BTreeMap::new();
    let (mut online, mut idle_restarts) = (0, 0);
    for cycle in 0..cycles {
        // Now and then a crash with nobody connected: recovery itself must be crash-safe.
        if rng.between(0, 3) == 0 {
            idle_restarts += 1;
            broker.restart().await;
        }
        // Each subscriber is connected in about half the cycles, while messages flow and the
        // broker dies; otherwise its messages wait in its stored queue.
        let mut receiving = Vec::new();
        for slot in subscribers.iter_mut() {
            if rng.coin() {
                online += 1;
                let subscriber = slot.take().unwrap();
                let raw = connect_expecting(broker.addr, subscriber.connect_packet(false), true).await;
                receiving.push((slot, tokio::spawn(receive_until_killed(subscriber, raw))));
            }
        }
        let mut publishers = Vec::new();
        for (tag, client_id, version, qos) in PUBLISHERS {
            let raw = connect_expecting(broker.addr, Raw::connect_packet(version, client_id), false).await;
            publishers.push((tag, tokio::spawn(publish_until_killed(raw, tag, cycle, qos))));
        }
        // The one deliberate sleep: where the kill lands is the point of the test.
        let delay = Duration::from_millis(rng.between(5, 300));
        tokio::time::sleep(delay).await;
        broker.kill();
        for (tag, task) in publishers {
            let done = within("a publisher to notice the kill", task).await.expect("publisher task");
            sent.insert((tag.to_string(), cycle), done);
        }
        for (slot, task) in receiving {
            *slot = Some(within("a subscriber to notice the kill", task).await.expect("subscriber task"));
        }
        broker.boot().await;
    }

    // (a) The topic log: every acknowledged message, each publisher's in publish order, and
    // of each publisher's cycle exactly a prefix of what it sent.
    let log = history(broker.addr, MSG_TOPIC, HISTORY_PAGE).await;
    assert_gapless(&log);
    let mut stored: BTreeMap<(String, u32), Vec<u64>> = BTreeMap::new();
    let mut last_cycle = 0;
    for entry in &log {
        let (tag, cycle, n) = parse_payload(&entry.payload);
        let client_id = PUBLISHERS.iter().find(|p| p.0 == tag).map(|p| p.1).expect("a known publisher");
        assert_eq!(entry.sender, client_id, "sender of {}", entry.payload);
        assert!(cycle >= last_cycle, "cycle {cycle} stored after cycle {last_cycle}: {}", entry.payload);
        last_cycle = cycle;
        stored.entry((tag, cycle)).or_default().push(n);
    }
    let (mut acked_total, mut stored_total, mut sent_total) = (0, 0, 0);
    for (key, done) in &sent {
        let numbers = stored.remove(key).unwrap_or_default();
        let expected: Vec<u64> = (0..numbers.len() as u64).collect();
        assert_eq!(numbers, expected, "{key:?}: stored messages are a prefix of those sent, in order");
        let kept = numbers.len() as u64;
        assert!(kept >= done.acked, "{key:?}: {} acknowledged, only {kept} stored", done.acked);
        assert!(kept <= done.sent, "{key:?}: {kept} stored, only {} sent", done.sent);
        acked_total += done.acked;
        stored_total += kept;
        sent_total += done.sent;
    }
    assert!(stored.is_empty(), "messages of unknown cycles stored: {:?}", stored.keys());
    assert!(acked_total > 0, "no message was acknowledged in {cycles} cycles");

    // (b) Each persistent subscriber gets every stored message (acknowledged or not: its queue
    // entries are written with the message), with the sequence number of the log.
    let seq_of: HashMap<&str, u64> = log.iter().map(|entry| (entry.payload.as_str(), entry.seq)).collect();
    let mut report = Vec::new();
    for subscriber in subscribers.iter_mut().map(|slot| slot.as_mut().unwrap()) {
        drain(subscriber, broker.addr, &seq_of).await;
        let id = subscriber.id;
        let mut passed_on: HashMap<&str, usize> = HashMap::new();
        for (i, deliveries) in subscriber.connections.iter().enumerate() {
            // On one connection, each publisher's messages arrive in the order they were
            // published (resends of the previous connection's flows first).
            let mut last: HashMap<(String, u32), u64> = HashMap::new();
            for delivery in deliveries {
                let Some(seq) = seq_of.get(delivery.payload.as_str()) else {
                    panic!("{id}: delivered but not stored: {delivery:?}")
                };
                assert_eq!(delivery.seq, Some(*seq), "{id}: seq property of {}", delivery.payload);
                let (tag, cycle, n) = parse_payload(&delivery.payload);
                let published_qos = PUBLISHERS.iter().find(|p| p.0 == tag).unwrap().3;
                assert_eq!(delivery.qos, published_qos.min(subscriber.qos), "{id}: QoS of {}", delivery.payload);
                if let Some(previous) = last.insert((tag.clone(), cycle), n) {
                    assert!(n > previous, "{id} connection {i}: {tag}/{cycle}/{n} delivered after {tag}/{cycle}/{previous}");
                }
                if !delivery.resend {
                    *passed_on.entry(delivery.payload.as_str()).or_default() += 1;
                }
            }
        }
        assert_eq!(passed_on.len(), seq_of.len(), "{id} received every stored message");
        let mut duplicates = 0;
        for (payload, count) in &passed_on {
            if *count > 1 {
                let exactly_once = subscriber.qos == QoS::ExactlyOnce && payload.starts_with("c/");
                assert!(!exactly_once, "{id}: QoS 2 message {payload} passed on {count} times");
                duplicates += count - 1;
            }
        }
        let resends = subscriber.connections.iter().flatten().filter(|d| d.resend).count();
        report.push(format!("{id}: connections={} duplicates={duplicates} qos2_resends={resends}", subscriber.connections.len()));
    }

    println!(
        "crash summary: cycles={cycles} idle_restarts={idle_restarts} subscriber_online={online} sent={sent_total} \
         acked={acked_total} stored={stored_total} stored_unacked={} {} elapsed={:.1?}",
        stored_total - acked_total,
        report.join(" "),
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Inbound QoS 2 state

/// A QoS 2 PUBLISH got its PUBREC, then the broker died. After the restart the publisher's
/// session still knows the packet id: the resent PUBLISH is acknowledged, not stored again,
/// and PUBREL completes. Once PUBCOMP is out the id is free again, also across a crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos2_inbound_state_survives_a_crash_between_pubrec_and_pubrel() {
    const TOPIC: &str = "chat/crash/qos2-in";
    let mut broker = Crashable::start("qos2-in").await;

    let mut subscriber = connect_expecting(broker.addr, v311_session("q2in-sub"), false).await;
    subscriber.subscribe_granted(1, TOPIC, QoS::ExactlyOnce).await;
    disconnect(subscriber).await;

    let mut publisher = connect_expecting(broker.addr, v5_session("q2in-pub", true), false).await;
    publisher.send(publish_packet(TOPIC, QoS::ExactlyOnce, 7, b"once")).await;
    expect(&mut publisher, "PUBREC", Packet::PubRec(PubResponse::success(7))).await;
    broker.restart().await;
    assert_eq!(publisher.recv().await, None, "the killed broker's connection is gone");

    // The subscriber gets the message from its restored queue, once.
    let mut subscriber = connect_expecting(broker.addr, v311_session("q2in-sub"), true).await;
    let delivery = subscriber.next_publish().await;
    assert_eq!((delivery.qos, delivery.dup, &delivery.payload[..]), (QoS::ExactlyOnce, false, &b"once"[..]));
    subscriber.send(Packet::PubRec(PubResponse::success(delivery.packet_id))).await;
    expect(&mut subscriber, "PUBREL", pubrel(delivery.packet_id)).await;
    subscriber.send(Packet::PubComp(PubResponse::success(delivery.packet_id))).await;

    // The publisher resends as it must: same id, DUP set. Acknowledged, not stored again.
    let mut publisher = connect_expecting(broker.addr, v5_session("q2in-pub", false), true).await;
    let mut resend = publish(TOPIC, QoS::ExactlyOnce, 7, b"once");
    resend.dup = true;
    publisher.send(Packet::Publish(resend)).await;
    expect(&mut publisher, "PUBREC for the resend", Packet::PubRec(PubResponse::success(7))).await;
    publisher.send(pubrel(7)).await;
    expect(&mut publisher, "PUBCOMP (the id was known)", Packet::PubComp(PubResponse::success(7))).await;
    let sentinel = publish(TOPIC, QoS::AtLeastOnce, 8, b"sentinel");
    publisher.publish_acked(sentinel).await;

    // Next for the subscriber is the sentinel: the resend was not delivered again.
    let next = subscriber.next_publish().await;
    assert_eq!(&next.payload[..], b"sentinel", "the resent QoS 2 message was delivered twice");
    subscriber.puback(next.packet_id).await;
    subscriber.nothing_pending().await;

    // PUBCOMP freed id 7 durably: after another crash, a new message under id 7 is a new
    // message, not a resend.
    broker.restart().await;
    let mut publisher = connect_expecting(broker.addr, v5_session("q2in-pub", false), true).await;
    publish_qos2(&mut publisher, TOPIC, 7, b"second").await;
    let mut subscriber = connect_expecting(broker.addr, v311_session("q2in-sub"), true).await;
    let delivery = subscriber.next_publish().await;
    assert_eq!(&delivery.payload[..], b"second", "a new message reusing a completed packet id was lost");
    subscriber.send(Packet::PubRec(PubResponse::success(delivery.packet_id))).await;
    expect(&mut subscriber, "PUBREL", pubrel(delivery.packet_id)).await;
    subscriber.send(Packet::PubComp(PubResponse::success(delivery.packet_id))).await;
    subscriber.nothing_pending().await;

    let log = history(broker.addr, TOPIC, 100).await;
    assert_gapless(&log);
    let payloads: Vec<&str> = log.iter().map(|m| m.payload.as_str()).collect();
    assert_eq!(payloads, ["once", "sentinel", "second"], "each message stored exactly once");
}

/// With the default `storage.max_later_writes`, the removal of an acknowledged delivery from
/// its session's queue waits for the next commit (here for a whole second, and nothing else is
/// written): killed meanwhile, the broker delivers the message again (as a new delivery: QoS 1
/// sends are not recorded, so it does not know the first one left) and loses nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_acknowledged_just_before_a_kill_comes_again() {
    const TOPIC: &str = "chat/crash/acked-then-killed";
    let config = CONFIG.replace("max_later_writes = 0", "later_writes_delay_ms = 1000");
    let mut broker = Crashable::start_with("acked-then-killed", &config).await;

    let mut subscriber = connect_expecting(broker.addr, v5_session("atk-sub", true), false).await;
    subscriber.subscribe_granted(1, TOPIC, QoS::AtLeastOnce).await;
    let mut publisher = connect_expecting(broker.addr, Raw::connect_packet(V5, "atk-pub"), false).await;
    publisher.publish_acked(publish(TOPIC, QoS::AtLeastOnce, 1, b"first")).await;
    let delivery = subscriber.next_publish().await;
    assert_eq!((&delivery.payload[..], delivery.dup), (&b"first"[..], false));
    subscriber.puback(delivery.packet_id).await;
    // Answered in order: the PUBACK has been handled.
    subscriber.nothing_pending().await;
    broker.restart().await;

    let mut subscriber = connect_expecting(broker.addr, v5_session("atk-sub", false), true).await;
    let again = subscriber.next_publish().await;
    assert_eq!(&again.payload[..], b"first", "the acknowledged delivery comes again");
    subscriber.puback(again.packet_id).await;
    let mut publisher = connect_expecting(broker.addr, Raw::connect_packet(V5, "atk-pub"), false).await;
    publisher.publish_acked(publish(TOPIC, QoS::AtLeastOnce, 2, b"second")).await;
    assert_eq!(&subscriber.next_publish().await.payload[..], b"second");
    let log = history(broker.addr, TOPIC, 100).await;
    let payloads: Vec<&str> = log.iter().map(|m| m.payload.as_str()).collect();
    assert_eq!(payloads, ["first", "second"], "stored once each");
}

// ---------------------------------------------------------------------------------------------
// 3. Outbound QoS 2 state

/// A QoS 2 delivery survives crashes at each stage: unanswered PUBLISH → resent with DUP and
/// the same id; PUBREC answered with PUBREL → PUBREL again, never the PUBLISH; PUBCOMP → gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos2_outbound_state_survives_a_crash() {
    const TOPIC: &str = "chat/crash/qos2-out";
    const ID: &str = "q2out-sub";
    let mut broker = Crashable::start("qos2-out").await;

    let mut subscriber = connect_expecting(broker.addr, v5_session(ID, true), false).await;
    subscriber.subscribe_granted(1, TOPIC, QoS::ExactlyOnce).await;
    let mut publisher = connect_expecting(broker.addr, Raw::connect_packet(V5, "q2out-pub"), false).await;
    publish_qos2(&mut publisher, TOPIC, 1, b"m1").await;

    // Stage 1: the PUBLISH arrived and was not answered.
    let first = subscriber.next_publish().await;
    assert_eq!((first.qos, first.dup, &first.payload[..]), (QoS::ExactlyOnce, false, &b"m1"[..]));
    let packet_id = first.packet_id;
    broker.restart().await;
    assert_eq!(subscriber.recv().await, None, "the killed broker's connection is gone");
    let mut subscriber = connect_expecting(broker.addr, v5_session(ID, false), true).await;
    let again = subscriber.next_publish().await;
    assert_eq!(
        (again.qos, again.dup, again.packet_id, &again.payload[..]),
        (QoS::ExactlyOnce, true, packet_id, &b"m1"[..]),
        "the unanswered PUBLISH is resent with DUP and its packet id"
    );
    assert_eq!(seq_property(&again), seq_property(&first));

    // Stage 2: PUBREC answered with PUBREL; no PUBCOMP before the crash.
    subscriber.send(Packet::PubRec(PubResponse::success(packet_id))).await;
    expect(&mut subscriber, "PUBREL", pubrel(packet_id)).await;
    broker.restart().await;
    assert_eq!(subscriber.recv().await, None, "the killed broker's connection is gone");
    let mut subscriber = connect_expecting(broker.addr, v5_session(ID, false), true).await;
    expect(&mut subscriber, "PUBREL again, not the PUBLISH", pubrel(packet_id)).await;
    subscriber.nothing_pending().await;

    // Stage 3: PUBCOMP ends the flow. A SUBACK (durable before it is sent) proves the end of
    // the flow reached the disk too: the store commits in order.
    subscriber.send(Packet::PubComp(PubResponse::success(packet_id))).await;
    subscriber.subscribe_granted(2, "chat/crash/elsewhere", QoS::AtLeastOnce).await;
    broker.restart().await;
    assert_eq!(subscriber.recv().await, None, "the killed broker's connection is gone");
    let mut subscriber = connect_expecting(broker.addr, v5_session(ID, false), true).await;
    subscriber.nothing_pending().await;

    // And the session still works: the next message flows normally.
    let mut publisher = connect_expecting(broker.addr, Raw::connect_packet(V5, "q2out-pub"), false).await;
    publish_qos2(&mut publisher, TOPIC, 1, b"m2").await;
    let next = subscriber.next_publish().await;
    assert_eq!((next.qos, next.dup, &next.payload[..]), (QoS::ExactlyOnce, false, &b"m2"[..]));
    subscriber.send(Packet::PubRec(PubResponse::success(next.packet_id))).await;
    expect(&mut subscriber, "PUBREL", pubrel(next.packet_id)).await;
    subscriber.send(Packet::PubComp(PubResponse::success(next.packet_id))).await;
    subscriber.nothing_pending().await;
}

// ---------------------------------------------------------------------------------------------
// 4. Retained messages and subscriptions

/// Retained messages (set and cleared) and persistent sessions' subscriptions (added and
/// removed, with 5.0 subscription identifiers) are as they were acknowledged after a kill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retained_and_subscriptions_survive_kill_9() {
    let mut broker = Crashable::start("retained").await;

    let mut old = connect_expecting(broker.addr, v311_session("ret-sub-311"), false).await;
    old.subscribe_granted(1, "chat/crash/sub/+", QoS::AtLeastOnce).await;
    old.subscribe_granted(2, "chat/crash/gone", QoS::AtLeastOnce).await;
    old.send(Packet::Unsubscribe(tallymq::codec::Unsubscribe {
        packet_id: 3,
        user_properties: vec![],
        filters: vec!["chat/crash/gone".into()],
    }))
    .await;
    match old.next().await {
        Packet::UnsubAck(unsuback) => assert_eq!(unsuback.packet_id, 3),
        other => panic!("expected UNSUBACK, got {other:?}"),
    }
    let mut new = connect_expecting(broker.addr, v5_session("ret-sub-5", true), false).await;
    let granted = new.subscribe_with(1, Some(42), &[("chat/crash/sub/#", QoS::AtLeastOnce)]).await;
    assert_eq!(granted, [ReasonCode::GRANTED_QOS_1]);

    let mut publisher = connect_expecting(broker.addr, Raw::connect_packet(V311, "ret-pub"), false).await;
    for (packet_id, topic, payload) in
        [(1, "chat/crash/retained/a", &b"ra"[..]), (2, "chat/crash/retained/b", b"rb"), (3, "chat/crash/retained/b", b"")]
    {
        let mut retained = publish(topic, QoS::AtLeastOnce, packet_id, payload);
        retained.retain = true;
        publisher.publish_acked(retained).await;
    }

    // Killed with both subscribers connected.
    broker.restart().await;
    assert_eq!(old.recv().await, None, "the killed broker's connection is gone");
    assert_eq!(new.recv().await, None, "the killed broker's connection is gone");

    let mut old = connect_expecting(broker.addr, v311_session("ret-sub-311"), true).await;
    let mut new = connect_expecting(broker.addr, v5_session("ret-sub-5", false), true).await;
    let mut publisher = connect_expecting(broker.addr, Raw::connect_packet(V311, "ret-pub"), false).await;
    publisher.publish_acked(publish("chat/crash/gone", QoS::AtLeastOnce, 1, b"unsubscribed")).await;
    publisher.publish_acked(publish("chat/crash/sub/x", QoS::AtLeastOnce, 2, b"after")).await;

    let got = old.next_publish().await;
    assert_eq!((got.topic.as_str(), &got.payload[..]), ("chat/crash/sub/x", &b"after"[..]), "3.1.1 session's subscription");
    old.puback(got.packet_id).await;
    old.nothing_pending().await;
    let got = new.next_publish().await;
    assert_eq!((got.topic.as_str(), &got.payload[..]), ("chat/crash/sub/x", &b"after"[..]), "5.0 session's subscription");
    assert_eq!(got.properties.subscription_identifiers, [42], "subscription identifier kept");
    new.puback(got.packet_id).await;
    new.nothing_pending().await;

    // The retained message that was set is there; the one that was cleared is not.
    let mut fresh = connect_expecting(broker.addr, Raw::connect_packet(V311, "ret-fresh"), false).await;
    fresh.subscribe_granted(1, "chat/crash/retained/#", QoS::AtLeastOnce).await;
    let got = fresh.next_publish().await;
    assert_eq!(
        (got.topic.as_str(), &got.payload[..], got.retain),
        ("chat/crash/retained/a", &b"ra"[..], true),
        "retained message after the crash"
    );
    fresh.puback(got.packet_id).await;
    fresh.nothing_pending().await;
}
