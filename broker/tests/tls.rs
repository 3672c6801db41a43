//! MQTT over TLS and over secure WebSocket: certificates made at test time (a CA and server
//! certificates it signs), clients that trust that CA (rumqttc, a tokio-rustls client, Debian's
//! mosquitto clients) and one that does not, certificate reload in-process and on SIGHUP to
//! the real binary, the connect timeout during the handshake, and accept limits applied
//! before it.
mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::*;
use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tallymq::codec::{self, Packet, ProtocolVersion, ReasonCode};
use tallymq::reload::{ReloadError, ReloadOutcome, Reloadable};
use tallymq::server::Server;
use tallymq::tls::TlsError;
use tallymq_config::Config;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

const V311: ProtocolVersion = ProtocolVersion::V311;

// ---------------------------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------------------------

/// A certificate authority made for one test.
struct Ca {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

/// A server certificate: the files' contents and what a client should see.
struct ServerCert {
    chain_pem: String,
    key_pem: String,
    der: Vec<u8>,
    common_name: String,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A certificate for `localhost` and 127.0.0.1 with its own subject and serial number.
    fn issue(&self, common_name: &str, serial: u64) -> ServerCert {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
        params.serial_number = Some(rcgen::SerialNumber::from(serial));
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        ServerCert {
            chain_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
            common_name: common_name.to_owned(),
        }
    }
}

/// Certificate files in a directory of their own.
struct CertFiles {
    dir: tempfile::TempDir,
    chain: PathBuf,
    key: PathBuf,
    ca: PathBuf,
}

impl CertFiles {
    fn new(ca: &Ca, cert: &ServerCert) -> CertFiles {
        let dir = tempfile::tempdir().unwrap();
        let files = CertFiles {
            chain: dir.path().join("chain.pem"),
            key: dir.path().join("key.pem"),
            ca: dir.path().join("ca.pem"),
            dir,
        };
        std::fs::write(&files.ca, ca.pem()).unwrap();
        files.install(cert);
        files
    }

    /// Replaces the chain and key files, as an operator renewing the certificate does.
    fn install(&self, cert: &ServerCert) {
        std::fs::write(&self.chain, &cert.chain_pem).unwrap();
        std::fs::write(&self.key, &cert.key_pem).unwrap();
    }

    fn set(&self, config: &mut Config) {
        config.listener.certificate.chain_file = self.chain.clone();
        config.listener.certificate.key_file = self.key.clone();
    }
}

/// A broker with every listener on an ephemeral port, TLS ones included, serving `cert`.
struct TlsBroker {
    broker: TestBroker,
    tls: SocketAddr,
    wss: SocketAddr,
    files: CertFiles,
}

impl TlsBroker {
    async fn start(ca: &Ca, cert: &ServerCert) -> TlsBroker {
        Self::start_with(ca, cert, |_| {}).await
    }

    async fn start_with(ca: &Ca, cert: &ServerCert, adjust: impl FnOnce(&mut Config)) -> TlsBroker {
        let files = CertFiles::new(ca, cert);
        let broker = start_with(|config| {
            config.auth.mode = tallymq_config::AuthMode::Open;
            enable_tls(config);
            files.set(config);
            adjust(config);
        })
        .await;
        let tls = broker.server.tls_address.expect("TLS listener");
        let wss = broker.server.wss_address.expect("secure WebSocket listener");
        TlsBroker { broker, tls, wss, files }
    }

    fn server(&self) -> &Server {
        &self.broker.server
    }
}

fn enable_tls(config: &mut Config) {
    config.listener.tls.enabled = true;
    config.listener.tls.address = "127.0.0.1:0".parse().unwrap();
    config.listener.wss.enabled = true;
    config.listener.wss.address = "127.0.0.1:0".parse().unwrap();
}

// ---------------------------------------------------------------------------------------------
// A tokio-rustls client
// ---------------------------------------------------------------------------------------------

/// A client configuration trusting only `ca_pem`, on the ring provider.
fn client_config(ca_pem: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.expect("CA PEM")).expect("CA certificate");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// A TLS connection to `addr` for server name `localhost`, trusting `ca_pem`.
async fn tls_connect(addr: SocketAddr, ca_pem: &str) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = within("TCP connect", TcpStream::connect(addr)).await?;
    let connector = TlsConnector::from(client_config(ca_pem));
    within("the TLS handshake", connector.connect(ServerName::try_from("localhost").unwrap(), tcp)).await
}

/// The certificate the server presented (its own, first in the chain).
fn served(stream: &TlsStream<TcpStream>) -> Vec<u8> {
    let (_, connection) = stream.get_ref();
    let chain = connection.peer_certificates().expect("the server presented a certificate");
    chain[0].to_vec()
}

/// Asserts that `der` is `cert` (so its serial number and subject too).
fn assert_is(der: &[u8], cert: &ServerCert) {
    let shows_subject = der.windows(cert.common_name.len()).any(|w| w == cert.common_name.as_bytes());
    assert!(shows_subject, "the served certificate's subject is not {}", cert.common_name);
    assert!(der == cert.der.as_slice(), "the served certificate is not the one issued as {}", cert.common_name);
}

/// MQTT packets over any byte stream (a TLS stream here).
struct Mqtt<S> {
    stream: S,
    buf: BytesMut,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Mqtt<S> {
    fn new(stream: S) -> Self {
        Mqtt { stream, buf: BytesMut::new() }
    }

    async fn send(&mut self, packet: Packet) {
        let mut out = BytesMut::new();
        codec::encode(&packet, V311, &mut out).unwrap();
        self.stream.write_all(&out).await.expect("write to the broker");
        self.stream.flush().await.unwrap();
    }

    async fn recv(&mut self) -> Packet {
        loop {
            if let Some(packet) = codec::decode(&mut self.buf, Some(V311), u32::MAX).expect("decodable packet") {
                return packet;
            }
            let n = within("a packet from the broker", self.stream.read_buf(&mut self.buf)).await.expect("read");
            assert!(n > 0, "the broker closed the connection");
        }
    }

    /// CONNECT, expecting a successful CONNACK.
    async fn connect(stream: S, id: &str) -> Self {
        let mut mqtt = Mqtt::new(stream);
        mqtt.send(Packet::Connect(Box::new(Raw::connect_packet(V311, id)))).await;
        match mqtt.recv().await {
            Packet::ConnAck(ack) => assert_eq!(ack.reason, ReasonCode::SUCCESS),
            other => panic!("expected CONNACK, got {other:?}"),
        }
        mqtt
    }

    async fn ping(&mut self) {
        self.send(Packet::PingReq).await;
        assert_eq!(self.recv().await, Packet::PingResp);
    }
}

/// MQTT over secure WebSocket on `addr` (path /mqtt, subprotocol mqtt), trusting `ca_pem`:
/// CONNECT and CONNACK. Returns the WebSocket and the certificate served.
async fn wss_connect(
    addr: SocketAddr,
    ca_pem: &str,
    id: &str,
) -> (tokio_tungstenite::WebSocketStream<TlsStream<TcpStream>>, Vec<u8>) {
    let tls = tls_connect(addr, ca_pem).await.expect("TLS handshake on the wss listener");
    let certificate = served(&tls);
    let mut request = format!("wss://localhost:{}/mqtt", addr.port()).into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("mqtt"));
    let (mut ws, response) =
        within("the WebSocket handshake", tokio_tungstenite::client_async(request, tls)).await.expect("WebSocket upgrade");
    assert_eq!(response.headers().get("Sec-WebSocket-Protocol").map(|v| v.as_bytes()), Some(&b"mqtt"[..]));
    let mut out = BytesMut::new();
    codec::encode(&Packet::Connect(Box::new(Raw::connect_packet(V311, id))), V311, &mut out).unwrap();
    ws.send(Message::Binary(out.to_vec())).await.unwrap();
    match within("a CONNACK over wss", ws.next()).await {
        Some(Ok(Message::Binary(data))) => {
            let mut buf = BytesMut::from(&data[..]);
            match codec::decode(&mut buf, Some(V311), u32::MAX).unwrap() {
                Some(Packet::ConnAck(ack)) => assert_eq!(ack.reason, ReasonCode::SUCCESS),
                other => panic!("expected CONNACK, got {other:?}"),
            }
        }
        other => panic!("expected a binary frame with the CONNACK, got {other:?}"),
    }
    (ws, certificate)
}

// ---------------------------------------------------------------------------------------------
// Clients that trust the CA, and one that does not
// ---------------------------------------------------------------------------------------------

fn rumqttc_tls(ca: &Ca) -> rumqttc::TlsConfiguration {
    rumqttc::TlsConfiguration::Simple { ca: ca.pem().into_bytes(), alpn: None, client_auth: None }
}

#[tokio::test]
async fn rumqttc_over_tls_and_over_wss_exchange_messages_with_a_tcp_client() {
    use rumqttc::v5::mqttbytes::QoS as QoS5;
    use rumqttc::{Packet as P, QoS};
    let ca = Ca::new("tallymq test CA");
    let broker = TlsBroker::start(&ca, &ca.issue("tallymq test server", 1)).await;

    let mut options = V4::options(broker.tls, "tls-v4");
    options.set_transport(rumqttc::Transport::tls_with_config(rumqttc_tls(&ca)));
    let (mut tls, connack) = V4::connect(options).await;
    assert_eq!(connack.code, rumqttc::ConnectReturnCode::Success);

    let url = format!("wss://127.0.0.1:{}/mqtt", broker.wss.port());
    let mut options = rumqttc::v5::MqttOptions::new("wss-v5", url, broker.wss.port());
    options.set_transport(rumqttc::Transport::wss_with_config(rumqttc_tls(&ca)));
    let (wss, _) = V5::connect(options).await;

    let (mut tcp, _) = V4::connect(V4::options(broker.broker.tcp, "tcp-v4")).await;
    tcp.client.subscribe("from-tls/#", QoS::AtLeastOnce).await.unwrap();
    tcp.wait_for("SUBACK", |p| matches!(p, P::SubAck(_)).then_some(())).await;
    tls.client.subscribe("to-tls/#", QoS::AtLeastOnce).await.unwrap();
    tls.wait_for("SUBACK", |p| matches!(p, P::SubAck(_)).then_some(())).await;

    tls.client.publish("from-tls/a", QoS::AtLeastOnce, false, "over tls").await.unwrap();
    let got = tcp.next_publish().await;
    assert_eq!((&got.topic[..], &got.payload[..]), ("from-tls/a", &b"over tls"[..]));

    wss.client.publish("to-tls/b", QoS5::AtLeastOnce, false, "over wss").await.unwrap();
    let got = tls.next_publish().await;
    assert_eq!((&got.topic[..], &got.payload[..]), ("to-tls/b", &b"over wss"[..]));
}

#[tokio::test]
async fn a_rustls_client_gets_the_configured_certificate_over_tls_and_wss() {
    let ca = Ca::new("tallymq test CA");
    let cert = ca.issue("tallymq test server", 7);
    let broker = TlsBroker::start(&ca, &cert).await;

    let stream = tls_connect(broker.tls, &ca.pem()).await.expect("TLS handshake");
    assert_is(&served(&stream), &cert);
    assert_eq!(stream.get_ref().1.alpn_protocol(), None, "no ALPN protocol for MQTT");
    let mut mqtt = Mqtt::connect(stream, "raw-tls").await;
    mqtt.ping().await;

    let (mut ws, served_over_wss) = wss_connect(broker.wss, &ca.pem(), "raw-wss").await;
    assert_is(&served_over_wss, &cert);
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_ca_is_refused() {
    let ca = Ca::new("tallymq test CA");
    let broker = TlsBroker::start(&ca, &ca.issue("tallymq test server", 1)).await;
    let stranger = Ca::new("some other CA");

    for addr in [broker.tls, broker.wss] {
        let error = tls_connect(addr, &stranger.pem()).await.expect_err("the certificate is not trusted");
        assert!(error.to_string().contains("UnknownIssuer"), "{error}");
    }
    // rumqttc (rustls 0.22) refuses it as well.
    let mut options = V4::options(broker.tls, "distrustful");
    options.set_transport(rumqttc::Transport::tls_with_config(rumqttc_tls(&stranger)));
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 10);
    let error = within("rumqttc to fail", eventloop.poll()).await.expect_err("no CONNACK without trust");
    assert!(error.to_string().to_lowercase().contains("tls"), "{error}");
    drop(client);

    // Clients that trust the CA are still served.
    let stream = tls_connect(broker.tls, &ca.pem()).await.expect("TLS handshake");
    Mqtt::connect(stream, "trusting").await.ping().await;
}

// ---------------------------------------------------------------------------------------------
// Reload
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn reload_gives_new_connections_the_new_certificate_and_keeps_open_ones() {
    use rumqttc::QoS;
    let ca = Ca::new("tallymq test CA");
    let old = ca.issue("tallymq server 2024", 1);
    let new = ca.issue("tallymq server 2025", 2);
    let broker = TlsBroker::start(&ca, &old).await;

    // Open before the reload: a raw client and a subscribed rumqttc client.
    let stream = tls_connect(broker.tls, &ca.pem()).await.unwrap();
    assert_is(&served(&stream), &old);
    let mut before = Mqtt::connect(stream, "before").await;
    let mut options = V4::options(broker.tls, "subscriber-before");
    options.set_transport(rumqttc::Transport::tls_with_config(rumqttc_tls(&ca)));
    let (mut subscriber, _) = V4::connect(options).await;
    subscriber.client.subscribe("renewed/#", QoS::AtLeastOnce).await.unwrap();
    subscriber.wait_for("SUBACK", |p| matches!(p, rumqttc::Packet::SubAck(_)).then_some(())).await;

    broker.files.install(&new);
    let report = broker.server().reload();
    assert!(report.is_ok(), "{report}");
    assert!(matches!(report.outcome(Reloadable::TlsCertificate), Some(ReloadOutcome::Reloaded)), "{report}");

    // New connections, on both TLS listeners, get the new certificate.
    let stream = tls_connect(broker.tls, &ca.pem()).await.unwrap();
    assert_is(&served(&stream), &new);
    let (_, over_wss) = wss_connect(broker.wss, &ca.pem(), "after-wss").await;
    assert_is(&over_wss, &new);

    // Open connections keep working: the raw one answers pings, the subscriber gets a
    // message published over a connection made with the new certificate.
    before.ping().await;
    let mut after = Mqtt::connect(stream, "after").await;
    after.send(publish_packet("renewed/x", tallymq::codec::QoS::AtLeastOnce, 1, b"after the reload")).await;
    assert!(matches!(after.recv().await, Packet::PubAck(_)));
    let got = subscriber.next_publish().await;
    assert_eq!((&got.topic[..], &got.payload[..]), ("renewed/x", &b"after the reload"[..]));
    before.ping().await;
}

#[tokio::test]
async fn reload_with_a_broken_file_keeps_serving_the_old_certificate() {
    let ca = Ca::new("tallymq test CA");
    let old = ca.issue("tallymq server", 1);
    let broker = TlsBroker::start(&ca, &old).await;
    let stream = tls_connect(broker.tls, &ca.pem()).await.unwrap();
    let mut open = Mqtt::connect(stream, "open").await;

    // A key file that holds no key.
    std::fs::write(&broker.files.key, "-- not a key --\n").unwrap();
    let report = broker.server().reload();
    assert!(!report.is_ok());
    let failures: Vec<_> = report.failures().collect();
    assert_eq!(failures.len(), 1, "{report}");
    assert!(matches!(failures[0], (Reloadable::TlsCertificate, ReloadError::Tls(TlsError::NoKey { .. }))), "{report}");
    assert!(report.to_string().contains(&broker.files.key.display().to_string()), "the report names the file: {report}");
    let stream = tls_connect(broker.tls, &ca.pem()).await.expect("still served");
    assert_is(&served(&stream), &old);
    Mqtt::connect(stream, "still-old").await.ping().await;

    // A new chain with a key that is not its own.
    let new = ca.issue("tallymq server renewed", 2);
    std::fs::write(&broker.files.chain, &new.chain_pem).unwrap();
    std::fs::write(&broker.files.key, &old.key_pem).unwrap();
    let report = broker.server().reload();
    assert!(matches!(report.failures().next(), Some((_, ReloadError::Tls(TlsError::KeyMismatch { .. })))), "{report}");
    // An unreadable chain file.
    std::fs::remove_file(&broker.files.chain).unwrap();
    let report = broker.server().reload();
    assert!(matches!(report.failures().next(), Some((_, ReloadError::Tls(TlsError::Read { .. })))), "{report}");
    assert!(report.to_string().contains("chain.pem"), "{report}");

    let stream = tls_connect(broker.tls, &ca.pem()).await.expect("still served");
    assert_is(&served(&stream), &old);
    open.ping().await;

    // Fixed files are picked up by the next reload.
    broker.files.install(&new);
    assert!(broker.server().reload().is_ok());
    let stream = tls_connect(broker.tls, &ca.pem()).await.unwrap();
    assert_is(&served(&stream), &new);
}

#[tokio::test]
async fn reload_without_tls_listeners_has_nothing_to_reread() {
    let broker = start().await;
    let report = broker.server.reload();
    assert!(report.is_ok());
    assert!(matches!(report.outcome(Reloadable::TlsCertificate), Some(ReloadOutcome::NotConfigured)), "{report}");
}

// ---------------------------------------------------------------------------------------------
// Start-up, handshake deadline, accept limits
// ---------------------------------------------------------------------------------------------

/// `Server::start` with the TLS listeners on and the certificate files of `files`; the error
/// text if it fails.
async fn start_error(files: &CertFiles) -> String {
    let data = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.listener.tcp.address = "127.0.0.1:0".parse().unwrap();
    config.listener.ws.address = "127.0.0.1:0".parse().unwrap();
    config.storage.data_dir = data.path().to_path_buf();
    enable_tls(&mut config);
    files.set(&mut config);
    config.validate().unwrap();
    match Server::start(config).await {
        Ok(server) => {
            server.shutdown().await;
            panic!("the broker started with bad certificate files")
        }
        Err(error) => error.to_string(),
    }
}

#[tokio::test]
async fn start_fails_on_unreadable_or_invalid_files_naming_them() {
    let ca = Ca::new("tallymq test CA");
    let cert = ca.issue("tallymq server", 1);
    let files = CertFiles::new(&ca, &cert);

    std::fs::remove_file(&files.chain).unwrap();
    let error = start_error(&files).await;
    assert!(error.contains(&files.chain.display().to_string()) && error.contains("cannot read"), "{error}");

    std::fs::write(&files.chain, "not PEM at all\n").unwrap();
    let error = start_error(&files).await;
    assert!(error.contains(&files.chain.display().to_string()) && error.contains("no certificate"), "{error}");

    std::fs::write(&files.chain, &cert.chain_pem).unwrap();
    std::fs::write(&files.key, &cert.chain_pem).unwrap();
    let error = start_error(&files).await;
    assert!(error.contains(&files.key.display().to_string()) && error.contains("no private key"), "{error}");
    drop(files.dir);
}

#[tokio::test]
async fn a_stalled_tls_handshake_is_closed_after_the_connect_timeout() {
    let ca = Ca::new("tallymq test CA");
    let broker = TlsBroker::start_with(&ca, &ca.issue("tallymq server", 1), |c| c.mqtt.connect_timeout_secs = 1).await;

    let started = Instant::now();
    let mut silent = TcpStream::connect(broker.tls).await.unwrap();
    // The header of a TLS handshake record announcing 512 bytes, then nothing.
    let mut partial = TcpStream::connect(broker.wss).await.unwrap();
    partial.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]).await.unwrap();
    let (silent_reply, partial_reply) = tokio::join!(read_until_closed(&mut silent), read_until_closed(&mut partial));
    let elapsed = started.elapsed();
    assert_eq!((silent_reply, partial_reply), (vec![], vec![]), "closed without an answer");
    assert!(elapsed >= Duration::from_millis(950), "closed after {elapsed:?}, before the 1 s connect timeout");
    assert!(elapsed < Duration::from_secs(3), "closed only after {elapsed:?}");
    wait_until("the stalled connections' slots to be given back", || {
        broker.server().broker.admission.open_connections() == 0
    })
    .await;
}

#[tokio::test]
async fn accept_limits_apply_before_the_tls_handshake() {
    let ca = Ca::new("tallymq test CA");
    let broker = TlsBroker::start_with(&ca, &ca.issue("tallymq server", 1), |c| c.limits.max_connections = 1).await;
    let admission = &broker.server().broker.admission;

    let stream = tls_connect(broker.tls, &ca.pem()).await.unwrap();
    let mut first = Mqtt::connect(stream, "first").await;
    for addr in [broker.tls, broker.wss] {
        let error = tls_connect(addr, &ca.pem()).await.expect_err("refused before the handshake");
        let text = error.to_string();
        assert!(!text.contains("UnknownIssuer") && !text.contains("certificate"), "no certificate was exchanged: {text}");
    }
    assert_eq!(admission.refusals().total_limit, 2);
    first.ping().await;

    drop(first);
    wait_until("the slot to be given back", || admission.open_connections() == 0).await;
    let stream = tls_connect(broker.tls, &ca.pem()).await.expect("admitted again");
    Mqtt::connect(stream, "second").await.ping().await;
}

// ---------------------------------------------------------------------------------------------
// The real binary and SIGHUP
// ---------------------------------------------------------------------------------------------

/// The broker's log, line by line, ANSI colours removed.
struct Log {
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
    seen: Vec<String>,
}

impl Log {
    /// The next line containing every one of `needles`.
    async fn wait_for(&mut self, needles: &[&str]) -> String {
        let what = format!("a log line with {needles:?}");
        let found = tokio::time::timeout(WAIT, async {
            while let Ok(Some(line)) = self.lines.next_line().await {
                let line = strip_ansi(&line);
                self.seen.push(line.clone());
                if needles.iter().all(|needle| line.contains(needle)) {
                    return Some(line);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(line)) => line,
            _ => panic!("no {what}; the log so far:\n{}", self.seen.join("\n")),
        }
    }
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill").arg(format!("-{name}")).arg(pid.to_string()).status().expect("run kill");
    assert!(status.success(), "kill -{name} {pid} failed");
}

#[tokio::test]
async fn sighup_makes_the_binary_reload_its_certificate() {
    let ca = Ca::new("tallymq test CA");
    let first = ca.issue("tallymq binary 1", 1);
    let second = ca.issue("tallymq binary 2", 2);
    let files = CertFiles::new(&ca, &first);
    let config_file = files.dir.path().join("tallymq.toml");
    let toml = format!(
        "[listener.tcp]\naddress = \"127.0.0.1:0\"\n[listener.ws]\nenabled = false\n\
         [listener.tls]\nenabled = true\naddress = \"127.0.0.1:0\"\n\
         [listener.certificate]\nchain_file = {:?}\nkey_file = {:?}\n",
        files.chain.display().to_string(),
        files.key.display().to_string(),
    );
    std::fs::write(&config_file, toml).unwrap();

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tallymq"))
        .args(["serve", "--config"])
        .arg(&config_file)
        .arg("--data-dir")
        .arg(files.dir.path().join("data"))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start tallymq");
    let pid = child.id().expect("running");
    let mut log = Log { lines: BufReader::new(child.stderr.take().unwrap()).lines(), seen: Vec::new() };
    let listening = log.wait_for(&["MQTT over TLS listening"]).await;
    let tls: SocketAddr = listening
        .split_whitespace()
        .find_map(|field| field.strip_prefix("address="))
        .and_then(|address| address.parse().ok())
        .unwrap_or_else(|| panic!("no address in {listening:?}"));
    log.wait_for(&["tallymq started"]).await;

    let stream = tls_connect(tls, &ca.pem()).await.unwrap();
    assert_is(&served(&stream), &first);

    files.install(&second);
    signal(pid, "HUP");
    log.wait_for(&["reloaded on SIGHUP"]).await;
    let stream = tls_connect(tls, &ca.pem()).await.unwrap();
    assert_is(&served(&stream), &second);

    // A broken key: the error names the file, and the certificate in use stays.
    std::fs::write(&files.key, "garbage\n").unwrap();
    signal(pid, "HUP");
    log.wait_for(&["TLS certificate not reloaded", &files.key.display().to_string()]).await;
    let stream = tls_connect(tls, &ca.pem()).await.unwrap();
    assert_is(&served(&stream), &second);

    signal(pid, "TERM");
    let status = within("tallymq to exit", child.wait()).await.unwrap();
    assert!(status.success(), "tallymq exited with {status}");
}

// ---------------------------------------------------------------------------------------------
// mosquitto clients
// ---------------------------------------------------------------------------------------------

/// Runs a mosquitto client program over TLS to completion; its output.
async fn mosquitto(program: &str, addr: SocketAddr, cafile: &Path, args: &[&str]) -> std::process::Output {
    let child = tokio::process::Command::new(program)
        .args(["-h", "127.0.0.1", "-p", &addr.port().to_string(), "--cafile"])
        .arg(cafile)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {program} (mosquitto-clients; scripts/test.sh installs it): {error}"));
    within(&format!("{program} to finish"), child.wait_with_output()).await.unwrap()
}

#[tokio::test]
async fn mosquitto_clients_over_tls() {
    use rumqttc::QoS;
    let ca = Ca::new("tallymq test CA");
    let broker = TlsBroker::start(&ca, &ca.issue("tallymq server", 1)).await;
    let (mut tcp, _) = V4::connect(V4::options(broker.broker.tcp, "tcp")).await;
    tcp.client.subscribe("compat/tls/#", QoS::AtLeastOnce).await.unwrap();
    tcp.wait_for("SUBACK", |p| matches!(p, rumqttc::Packet::SubAck(_)).then_some(())).await;

    let output =
        mosquitto("mosquitto_pub", broker.tls, &broker.files.ca, &["-V", "mqttv5", "-q", "1", "-t", "compat/tls/pub", "-m", "from mosquitto"])
            .await;
    assert!(output.status.success(), "mosquitto_pub over TLS: {}", String::from_utf8_lossy(&output.stderr));
    let got = tcp.next_publish().await;
    assert_eq!((&got.topic[..], &got.payload[..]), ("compat/tls/pub", &b"from mosquitto"[..]));

    tcp.client.publish("compat/tls/retained", QoS::AtLeastOnce, true, "kept for mosquitto").await.unwrap();
    tcp.wait_for("PUBACK", |p| matches!(p, rumqttc::Packet::PubAck(_)).then_some(())).await;
    let output =
        mosquitto("mosquitto_sub", broker.tls, &broker.files.ca, &["-V", "mqttv311", "-q", "1", "-C", "1", "-t", "compat/tls/retained"])
            .await;
    assert!(output.status.success(), "mosquitto_sub over TLS: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim_end(), "kept for mosquitto");

    // A CA file that does not vouch for the broker's certificate: refused.
    let stranger = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(stranger.path(), Ca::new("some other CA").pem()).unwrap();
    let output = mosquitto("mosquitto_pub", broker.tls, stranger.path(), &["-t", "compat/tls/x", "-m", "nope"]).await;
    assert!(!output.status.success(), "mosquitto_pub trusted a certificate its CA file does not vouch for");
}
