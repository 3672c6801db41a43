//! What the fuzz targets check, in one copy for the fuzzer and the test suite.
//!
//! `fuzz/fuzz_targets/*.rs` feed libFuzzer's inputs here; `broker/tests/fuzz_seeds.rs` feeds
//! every committed seed of `fuzz/corpus/` here, so the seeds guard against regressions on
//! stable Rust without cargo-fuzz. Both include this file with `#[path]`, so an input that
//! passes one passes the other. Each includer uses only part of it, hence `dead_code`.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tallymq::broker::Broker;
use tallymq::codec::{decode, encode, Packet, ProtocolVersion, ReasonCode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

// ---------------------------------------------------------------------------------------------
// packet_decode
// ---------------------------------------------------------------------------------------------

/// Leading input bytes that give the decoder's maximum packet size.
pub const LIMIT_PREFIX_LEN: usize = 2;
/// The prefix value meaning "no limit" (`u32::MAX`); any other value is the limit itself.
pub const NO_LIMIT: u16 = u16::MAX;

/// Splits a `packet_decode` input into the maximum packet size and the bytes to decode: the
/// first two bytes (big endian) are the limit, so the fuzzer explores limits near the sizes
/// of the packets it builds.
pub fn split_limit(data: &[u8]) -> (u32, &[u8]) {
    match data {
        [high, low, rest @ ..] => match u16::from_be_bytes([*high, *low]) {
            NO_LIMIT => (u32::MAX, rest),
            limit => (u32::from(limit), rest),
        },
        _ => (u32::MAX, &[]),
    }
}

/// A `packet_decode` input: the limit prefix followed by `bytes`.
pub fn with_limit(limit: Option<u16>, bytes: &[u8]) -> Vec<u8> {
    let mut input = limit.unwrap_or(NO_LIMIT).to_be_bytes().to_vec();
    input.extend_from_slice(bytes);
    input
}

/// Decodes the input as a new connection would (no version until a CONNECT) and as an
/// established connection of each protocol version would.
pub fn check_decode(data: &[u8]) {
    let (limit, bytes) = split_limit(data);
    for state in [None, Some(ProtocolVersion::V311), Some(ProtocolVersion::V5)] {
        drain(bytes, state, limit);
    }
}

/// Decodes packets from the front of `bytes` until the decoder asks for more or refuses,
/// checking the decoder's contract on every step.
fn drain(bytes: &[u8], mut version: Option<ProtocolVersion>, limit: u32) {
    let mut buf = BytesMut::from(bytes);
    // Every decoded packet consumes at least two bytes, so this bounds a decoder that loops.
    for _ in 0..=bytes.len() {
        let before = buf.clone();
        match decode(&mut buf, version, limit) {
            Ok(Some(packet)) => {
                assert!(buf.len() < before.len(), "{} decoded from no input", packet.name());
                assert!(before.ends_with(&buf), "decoding consumed more than the packet");
                let consumed = before.len() - buf.len();
                assert!(
                    u64::try_from(consumed).is_ok_and(|n| n <= u64::from(limit)),
                    "{consumed} byte {} accepted over the limit {limit}",
                    packet.name()
                );
                let v = match &packet {
                    Packet::Connect(connect) => connect.protocol,
                    _ => version.unwrap_or_else(|| {
                        panic!("{} decoded before a CONNECT", packet.name())
                    }),
                };
                round_trip(&packet, v);
                if let Packet::Connect(connect) = &packet {
                    version = Some(connect.protocol);
                }
            }
            Ok(None) => {
                assert_eq!(buf, before, "waiting for more input consumed some");
                return;
            }
            Err(_) => {
                assert_eq!(buf, before, "a refused packet was consumed");
                return;
            }
        }
    }
    panic!("the decoder did not stop on {} bytes", bytes.len());
}

/// Whatever the decoder accepts, the encoder writes, and decoding that gives the same packet.
fn round_trip(packet: &Packet, v: ProtocolVersion) {
    let mut wire = BytesMut::new();
    encode(packet, v, &mut wire)
        .unwrap_or_else(|e| panic!("decoded but cannot encode ({e}): {packet:?}"));
    let state = if matches!(packet, Packet::Connect(_)) { None } else { Some(v) };
    let mut again = wire.clone();
    let decoded = decode(&mut again, state, u32::MAX)
        .unwrap_or_else(|e| panic!("re-encoded packet refused ({e}): {packet:?} as {wire:02x?}"))
        .unwrap_or_else(|| panic!("re-encoded packet incomplete: {packet:?} as {wire:02x?}"));
    assert!(again.is_empty(), "re-encoded {} left {again:02x?}", packet.name());
    assert_eq!(&decoded, packet, "round trip through {wire:02x?} changed the packet");
}

// ---------------------------------------------------------------------------------------------
// connect
// ---------------------------------------------------------------------------------------------

/// How long the broker has to answer and close once the client has sent everything and
/// closed its side; past it the answer so far is checked and the connection is told to stop.
const ANSWER_DEADLINE: Duration = Duration::from_secs(2);
/// A pause in the broker's answer this long is taken as "done with the input"; short, since
/// every input that leaves the connection open waits for it once.
const QUIET: Duration = Duration::from_millis(2);
/// How long a connection may take to end after the broker's shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How often a connection that has not closed yet is asked to leave again.
const ASK_AGAIN_AFTER: Duration = Duration::from_millis(100);
/// Bytes buffered in each direction of the in-memory connection.
const DUPLEX_CAPACITY: usize = 64 * 1024;
/// Most answer bytes kept; the configured limits keep real answers far below this.
const ANSWER_LIMIT: usize = 4 * 1024 * 1024;
/// Largest packet the fuzzed broker accepts: small, so that fuzz inputs reach the limit.
const BROKER_MAX_PACKET: u32 = 2048;

/// The configuration of the fuzzed broker: the one place to point it at credentials and
/// other settings whose parsing should be fuzzed too.
/// The HS256 secret of the fuzzed broker.
pub const FUZZ_JWT_SECRET: &[u8] = b"fuzz-jwt-secret";

pub fn broker_config(data_dir: &Path) -> tallymq_config::Config {
    let mut config = tallymq_config::Config::default();
    config.storage.data_dir = data_dir.to_path_buf();
    // Nothing here needs to survive a crash, and fsync would dominate every input.
    config.storage.durability = tallymq_config::Durability::None;
    config.mqtt.connect_timeout_secs = 1;
    config.mqtt.max_packet_size = BROKER_MAX_PACKET;
    // State left behind by one input is seen by the next: keep it small and short-lived, so
    // that a long run neither grows without bound nor slows down on it.
    config.mqtt.max_session_expiry_secs = 2;
    config.mqtt.max_retained_messages = 64;
    config.mqtt.max_queued_messages = 64;
    config.mqtt.max_subscriptions_per_client = 64;
    // The target fuzzes packets and sign-in; message text is the detector's input, which has
    // its own golden and parity tests. Off, the build needs no ONNX Runtime library.
    config.moderation.enabled = false;
    // Secure mode with both credential kinds, so that passwords and tokens from the input
    // are parsed and checked: the password file has user `fuzz` (password `fuzz-password`),
    // tokens are checked against FUZZ_JWT_SECRET; anonymous clients (loopback) may use any topic.
    config.auth.mode = tallymq_config::AuthMode::Secure;
    config.auth.password_file = data_dir.join("fuzz-passwords");
    config.auth.jwt.algorithm = tallymq_config::JwtAlgorithm::HS256;
    config.auth.jwt.secret_file = data_dir.join("fuzz-jwt-secret");
    config.auth.rules = vec![tallymq_config::AccessRule {
        who: "anyone".into(),
        topic: "#".into(),
        access: tallymq_config::Access::ReadWrite,
    }];
    if let Err(e) = std::fs::write(&config.auth.jwt.secret_file, FUZZ_JWT_SECRET) {
        panic!("cannot write the fuzz JWT secret: {e}");
    }
    let mut users = tallymq::auth::password_file::PasswordFile::default();
    if let Err(e) = users.set("fuzz", b"fuzz-password").and_then(|()| users.save(&config.auth.password_file)) {
        panic!("cannot write the fuzz password file: {e}");
    }
    if let Err(e) = config.validate() {
        panic!("fuzz broker configuration is invalid: {e}");
    }
    config
}

/// A broker opened once, with its runtime, serving one connection per input.
pub struct ConnectHarness {
    runtime: tokio::runtime::Runtime,
    broker: Arc<Broker>,
    /// Removed when the harness is dropped; the fuzzer never drops it (scripts/fuzz.sh points
    /// TMPDIR at a directory it removes).
    _data: tempfile::TempDir,
}

impl ConnectHarness {
    pub fn new() -> ConnectHarness {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
        let data = tempfile::Builder::new()
            .prefix("tallymq-fuzz-")
            .tempdir()
            .unwrap_or_else(|e| panic!("temporary data directory: {e}"));
        let config = broker_config(data.path());
        // The broker schedules its timers on the runtime it is opened in.
        let broker = runtime
            .block_on(async { Broker::open(config) })
            .unwrap_or_else(|e| panic!("opening the broker: {e}"));
        ConnectHarness { runtime, broker, _data: data }
    }

    /// Sends `data` as the first bytes of a new connection, closes the client's sending side,
    /// and checks what the broker answers.
    pub fn check(&self, data: &[u8]) {
        let answer = self.runtime.block_on(self.exchange(data));
        check_answer(data, &answer);
    }

    async fn exchange(&self, data: &[u8]) -> Answer {
        let (client, server) = tokio::io::duplex(DUPLEX_CAPACITY);
        let peer = next_peer();
        let connection = tokio::spawn(tallymq::connection::serve(self.broker.clone(), server, peer));
        let (mut from_broker, mut to_broker) = tokio::io::split(client);
        let mut bytes = Vec::new();
        let exchange = async {
            // Fits in the duplex buffer, so this cannot wait for the broker. The broker may
            // close before reading everything; that is its right.
            let _ = to_broker.write_all(data).await;
            // The end of the stream would end the connection before it delivers what the
            // input queued (its own subscriptions, history replies): wait for a pause first.
            if read_until_quiet(&mut from_broker, &mut bytes).await {
                return true;
            }
            let _ = to_broker.shutdown().await;
            read_to_close(&mut from_broker, &mut bytes).await
        };
        let closed = match tokio::time::timeout(ANSWER_DEADLINE, exchange).await {
            Ok(closed) => closed,
            Err(_) => {
                // Still open: ask it to leave as a server shutdown would (it is the only
                // connection; asked again while it may not have attached yet), and keep
                // reading so that its last writes cannot block.
                let rest = async {
                    loop {
                        self.broker.disconnect_all(ReasonCode::SERVER_SHUTTING_DOWN);
                        let reading = read_to_close(&mut from_broker, &mut bytes);
                        if let Ok(closed) = tokio::time::timeout(ASK_AGAIN_AFTER, reading).await {
                            break closed;
                        }
                    }
                };
                if tokio::time::timeout(SHUTDOWN_GRACE, rest).await.is_err() {
                    panic!("the connection did not close after the shutdown signal");
                }
                false
            }
        };
        match tokio::time::timeout(SHUTDOWN_GRACE, connection).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("the connection task failed: {e}"),
            Err(_) => panic!("the connection task did not end after closing its stream"),
        }
        Answer { bytes, closed }
    }
}

impl Default for ConnectHarness {
    fn default() -> Self {
        ConnectHarness::new()
    }
}

/// A new loopback address for each connection: per-address limits (such as failed
/// authentications per minute) would otherwise turn most inputs away before the code that
/// reads them.
fn next_peer() -> SocketAddr {
    static CONNECTIONS: AtomicU32 = AtomicU32::new(0);
    let n = CONNECTIONS.fetch_add(1, Ordering::Relaxed);
    let host = Ipv4Addr::from(u32::from(Ipv4Addr::LOCALHOST) | (n & 0x00FF_FFFF));
    SocketAddr::from((host, 50_000))
}

/// What the broker wrote on one connection.
struct Answer {
    bytes: Vec<u8>,
    /// The broker closed the connection by itself (as opposed to: the deadline passed).
    closed: bool,
}

/// Reads until the broker pauses for [`QUIET`] (`false`) or closes its side (`true`).
async fn read_until_quiet<R: AsyncRead + Unpin>(from_broker: &mut R, bytes: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 4096];
    while bytes.len() < ANSWER_LIMIT {
        match tokio::time::timeout(QUIET, from_broker.read(&mut chunk)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(n)) => bytes.extend_from_slice(&chunk[..n]),
        }
    }
    false
}

/// Reads until the broker closes its side (`true`) or the answer limit is reached (`false`).
async fn read_to_close<R: AsyncRead + Unpin>(from_broker: &mut R, bytes: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 4096];
    while bytes.len() < ANSWER_LIMIT {
        match from_broker.read(&mut chunk).await {
            Ok(0) | Err(_) => return true,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
        }
    }
    false
}

/// Checks the broker's answer against what the client sent first.
fn check_answer(input: &[u8], answer: &Answer) {
    let first = decode(&mut BytesMut::from(input), None, BROKER_MAX_PACKET);
    match first {
        // The connection was accepted or refused by the broker itself.
        Ok(Some(Packet::Connect(connect))) => {
            let client_max = connect.properties.maximum_packet_size.unwrap_or(u32::MAX);
            check_session(connect.protocol, client_max, answer);
        }
        Ok(Some(other)) => panic!("{} decoded as the first packet", other.name()),
        // The client closed before a whole packet: nothing to answer.
        Ok(None) => assert!(
            answer.bytes.is_empty(),
            "an incomplete first packet was answered with {:02x?}",
            answer.bytes
        ),
        // Refused by the codec: at most a CONNACK saying why, in the layout the client asked
        // for (5.0 for level 5, 3.1.1 for an unsupported level).
        Err(error) => {
            if answer.bytes.is_empty() {
                return;
            }
            let refusal = [ProtocolVersion::V5, ProtocolVersion::V311].into_iter().find_map(|v| {
                let mut buf = BytesMut::from(&answer.bytes[..]);
                match decode(&mut buf, Some(v), u32::MAX) {
                    Ok(Some(Packet::ConnAck(connack))) if buf.is_empty() => Some(connack),
                    _ => None,
                }
            });
            let Some(connack) = refusal else {
                panic!("a refused first packet ({error}) was answered with {:02x?}", answer.bytes);
            };
            assert!(
                connack.reason.is_error() && !connack.session_present,
                "a refused first packet ({error}) was answered with {connack:?}"
            );
        }
    }
}

/// After a CONNECT of version `v`: nothing, or a CONNACK first; after a refusal nothing
/// more; after a success only packets a server sends, with a 5.0 DISCONNECT only last.
///
/// Every packet fits the client's Maximum Packet Size (MQTT-3.1.2-24), except that a CONNACK
/// too large for a very small limit may still be sent if it carries no Reason String or User
/// Property (MQTT-3.2.2-19, MQTT-3.2.2-20): a refusal has to be said somehow.
fn check_session(v: ProtocolVersion, client_max: u32, answer: &Answer) {
    let mut buf = BytesMut::from(&answer.bytes[..]);
    let mut packets = Vec::new();
    loop {
        let before = buf.len();
        match decode(&mut buf, Some(v), u32::MAX) {
            Ok(Some(packet)) => {
                let size = before - buf.len();
                let fits = u64::try_from(size).is_ok_and(|n| n <= u64::from(client_max));
                let bare_connack = matches!(&packet, Packet::ConnAck(c)
                    if c.properties.reason_string.is_none() && c.properties.user_properties.is_empty());
                assert!(
                    fits || bare_connack,
                    "{size} byte {packet:?} sent to a client whose maximum packet size is {client_max}"
                );
                packets.push(packet);
            }
            Ok(None) => break,
            Err(e) => panic!(
                "answer packet {} is malformed ({e}): {:02x?}",
                packets.len() + 1,
                answer.bytes
            ),
        }
    }
    if answer.closed {
        assert!(buf.is_empty(), "answer ends inside a packet: {:02x?}", answer.bytes);
    }
    let Some((first, rest)) = packets.split_first() else {
        return;
    };
    let Packet::ConnAck(connack) = first else {
        panic!("{} sent before CONNACK", first.name());
    };
    if connack.reason.is_error() {
        assert!(!connack.session_present, "refusing CONNACK with session present");
        assert!(rest.is_empty(), "{} sent after a refusing CONNACK", rest[0].name());
        return;
    }
    for (i, packet) in rest.iter().enumerate() {
        match packet {
            Packet::Publish(_)
            | Packet::PubAck(_)
            | Packet::PubRec(_)
            | Packet::PubRel(_)
            | Packet::PubComp(_)
            | Packet::SubAck(_)
            | Packet::UnsubAck(_)
            | Packet::PingResp => {}
            Packet::Disconnect(disconnect) if v == ProtocolVersion::V5 && i + 1 == rest.len() => {
                // The broker closes with 0x83 when it built a packet its encoder refused
                // (connection.rs `send`): a bug behind the connection, not the client's fault.
                assert_ne!(
                    disconnect.reason,
                    ReasonCode::IMPLEMENTATION_SPECIFIC_ERROR,
                    "the broker could not encode what it meant to send: {disconnect:?}"
                );
            }
            other => panic!("{} sent by the broker after CONNACK", other.name()),
        }
    }
}
