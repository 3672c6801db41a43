//! Authentication at CONNECT and the per-client limits of secure mode: JWTs (HS256, RS256,
//! ES256) and what makes one invalid, roles, the password file and `tallymq passwd`, the
//! anonymous policy, enhanced authentication, the per-address failed-login limit, client id
//! ownership, the publish rate and will topics.
//!
//! Every broker here runs with `auth.mode = "secure"`. Refusals are checked in both protocol
//! versions: the 5.0 CONNACK reason code, and the 3.1.1 CONNACK return code byte as it comes
//! off the wire, followed by the broker closing the connection.
mod common;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use tallymq::auth::password_file::PasswordFile;
use tallymq::reload::{ReloadOutcome, Reloadable};
use tallymq::codec::{self, Connect, Disconnect, LastWill, Packet, ProtocolVersion, QoS, ReasonCode};
use tallymq_config::{Access, AccessRule, Anonymous, AuthMode, Config, JwtAlgorithm, OverRate};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use ProtocolVersion::{V311, V5};

/// The HS256 secret of the tests' brokers (written to a file with a trailing newline, which
/// the broker ignores).
const SECRET: &[u8] = b"tallymq-auth-tests-shared-secret";

/// `auth.jwt.leeway_secs` of the tests' brokers (the default).
const LEEWAY_SECS: u64 = 30;

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs()
}

/// Claims of a token for `sub` valid for the next hour.
fn claims(sub: &str) -> Value {
    json!({ "sub": sub, "exp": unix_now() + 3600 })
}

fn sign(algorithm: Algorithm, key: &EncodingKey, claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, key).expect("test token signs")
}

/// A token signed with the brokers' HS256 secret.
fn hs256(claims: &Value) -> String {
    sign(Algorithm::HS256, &EncodingKey::from_secret(SECRET), claims)
}

fn b64(json: &Value) -> String {
    URL_SAFE_NO_PAD.encode(json.to_string())
}

/// An unsigned token (`alg: none`): header, payload and an empty signature.
fn unsigned(claims: &Value) -> String {
    format!("{}.{}.", b64(&json!({ "alg": "none", "typ": "JWT" })), b64(claims))
}

fn fixture(name: &str) -> PathBuf {
    crate_dir().join("tests/fixtures/jwt").join(name)
}

fn read_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

fn rs256(claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(&read_fixture("rs256-private.pem")).expect("RS256 fixture key");
    sign(Algorithm::RS256, &key, claims)
}

fn es256(claims: &Value) -> String {
    let key = EncodingKey::from_ec_pem(&read_fixture("es256-private.pem")).expect("ES256 fixture key");
    sign(Algorithm::ES256, &key, claims)
}

// ---------------------------------------------------------------------------------------------
// Brokers
// ---------------------------------------------------------------------------------------------

/// A broker in secure mode with `adjust` applied. Failed logins from one address are not
/// limited unless `adjust` says so: these tests refuse many CONNECTs from 127.0.0.1.
async fn secure(adjust: impl FnOnce(&mut Config)) -> TestBroker {
    start_with(|config| {
        config.auth.mode = AuthMode::Secure;
        config.limits.auth_failures_per_minute = 1_000_000;
        adjust(config);
    })
    .await
}

/// A secure broker that accepts HS256 tokens signed with [`SECRET`], read from
/// `auth.jwt.secret_file`.
async fn hs256_broker(adjust: impl FnOnce(&mut Config)) -> TestBroker {
    let dir = tempfile::tempdir().expect("temp dir");
    let secret_file = dir.path().join("jwt-secret");
    std::fs::write(&secret_file, [SECRET, b"\n"].concat()).expect("write the secret");
    // The secret is read at start; the file may go afterwards.
    secure(|config| {
        config.auth.jwt.algorithm = JwtAlgorithm::HS256;
        config.auth.jwt.secret_file = secret_file;
        adjust(config);
    })
    .await
}

/// A secure broker that accepts tokens of `algorithm` verified with the fixture public key.
async fn key_broker(algorithm: JwtAlgorithm, public_key: &str) -> TestBroker {
    secure(|config| {
        config.auth.jwt.algorithm = algorithm;
        config.auth.jwt.public_key_file = fixture(public_key);
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// CONNECTs and their answers
// ---------------------------------------------------------------------------------------------

fn connect_as(version: ProtocolVersion, client_id: &str, username: Option<&str>, password: Option<&[u8]>) -> Connect {
    let mut connect = Raw::connect_packet(version, client_id);
    connect.username = username.map(str::to_string);
    connect.password = password.map(Bytes::copy_from_slice);
    connect
}

/// A CONNECT carrying `token` as the password: without a user name in 5.0, with an empty one
/// in 3.1.1 (which allows no password without a user name).
fn with_token(version: ProtocolVersion, client_id: &str, token: &str) -> Connect {
    let username = (version == V311).then_some("");
    connect_as(version, client_id, username, Some(token.as_bytes()))
}

/// A client id fragment naming the protocol version.
fn label(version: ProtocolVersion) -> &'static str {
    match version {
        V311 => "311",
        V5 => "5",
    }
}

/// Sends a 5.0 `connect` that must be refused: returns the CONNACK reason code, after checking
/// that the broker then closes the connection without sending anything else.
async fn refused_v5(broker: &TestBroker, connect: Connect) -> ReasonCode {
    assert_eq!(connect.protocol, V5);
    let client = connect.client_id.clone();
    let (mut raw, connack) = Raw::connect(broker.tcp, connect).await;
    assert!(connack.reason.is_error(), "{client}: expected a refusal, got {connack:?}");
    assert!(!connack.session_present, "{client}: a refusal has no session");
    assert_eq!(raw.expect_close().await, None, "{client}: nothing follows a refused CONNACK");
    connack.reason
}

/// Sends a 3.1.1 `connect` that must be refused: returns the CONNACK return code, after
/// checking that the CONNACK is all the broker sent before closing the connection.
async fn refused_v311(broker: &TestBroker, connect: Connect) -> u8 {
    assert_eq!(connect.protocol, V311);
    let client = connect.client_id.clone();
    let mut bytes = BytesMut::new();
    codec::encode(&Packet::Connect(Box::new(connect)), V311, &mut bytes).expect("CONNECT encodes");
    let mut stream = within("TCP connect", TcpStream::connect(broker.tcp)).await.expect("TCP connect");
    stream.write_all(&bytes).await.expect("CONNECT sent");
    let reply = read_until_closed(&mut stream).await;
    match reply[..] {
        [0x20, 0x02, 0x00, code] if code != 0 => code,
        _ => panic!("{client}: expected a refusing 3.1.1 CONNACK and the end of the connection, got {reply:02x?}"),
    }
}

/// The same credentials, refused in both versions with the codes given.
async fn assert_refused(
    broker: &TestBroker,
    what: &str,
    username: Option<&str>,
    password: Option<&[u8]>,
    v5: ReasonCode,
    v311: u8,
) {
    let connect = connect_as(V5, &format!("{what}-5"), username, password);
    assert_eq!(refused_v5(broker, connect).await, v5, "5.0 CONNACK for {what}");
    // 3.1.1 carries no password without a user name.
    let username = username.or(password.map(|_| ""));
    let connect = connect_as(V311, &format!("{what}-311"), username, password);
    assert_eq!(refused_v311(broker, connect).await, v311, "3.1.1 return code for {what}");
}

/// A token refused with bad credentials: 5.0 0x86, 3.1.1 return code 4.
async fn assert_token_refused(broker: &TestBroker, what: &str, token: &str) {
    let bad = ReasonCode::BAD_USER_NAME_OR_PASSWORD;
    assert_refused(broker, what, None, Some(token.as_bytes()), bad, 4).await;
}

/// Proves whose session `raw` is: it may subscribe to `user/{user}/#`, which only that user
/// may, and not to another user's.
async fn assert_is_user(raw: &mut Raw, user: &str) {
    raw.subscribe_granted(101, &format!("user/{user}/#"), QoS::AtLeastOnce).await;
    let other = raw.subscribe(102, &[(&format!("user/not-{user}/#"), QoS::AtLeastOnce)]).await;
    assert!(other.len() == 1 && other[0].is_error(), "another user's topics: {other:?}");
}

/// Encodes several packets into one write, so the broker reads them together.
async fn send_together(raw: &mut Raw, packets: Vec<Packet>) {
    let mut out = BytesMut::new();
    for packet in packets {
        codec::encode(&packet, raw.version, &mut out).expect("test packet encodes");
    }
    raw.send_bytes(&out).await;
}

// ---------------------------------------------------------------------------------------------
// JWT HS256
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn hs256_token_is_accepted_with_an_empty_user_name_or_its_sub() {
    let broker = hs256_broker(|_| {}).await;
    let token = hs256(&claims("alice"));
    for (version, username) in [(V5, None), (V5, Some("alice")), (V311, Some("")), (V311, Some("alice"))] {
        let id = format!("alice-{}-{}", label(version), username.unwrap_or("none"));
        let (mut raw, _) = connect_ok(&broker, connect_as(version, &id, username, Some(token.as_bytes()))).await;
        assert_is_user(&mut raw, "alice").await;
    }
    // Within the leeway, an expired token still counts.
    let lately_expired = hs256(&json!({ "sub": "alice", "exp": unix_now() - 5 }));
    let (mut raw, _) = connect_ok(&broker, with_token(V5, "alice-late", &lately_expired)).await;
    assert_is_user(&mut raw, "alice").await;
}

#[tokio::test]
async fn hs256_refuses_invalid_tokens_with_bad_credentials() {
    let broker = hs256_broker(|_| {}).await;
    let now = unix_now();

    let expired = hs256(&json!({ "sub": "alice", "exp": now - LEEWAY_SECS - 60 }));
    assert_token_refused(&broker, "expired", &expired).await;

    let other_secret = sign(Algorithm::HS256, &EncodingKey::from_secret(b"not-the-secret"), &claims("alice"));
    assert_token_refused(&broker, "other-secret", &other_secret).await;

    // Alice's signature on a payload that names mallory.
    let alice = hs256(&claims("alice"));
    let parts: Vec<&str> = alice.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], b64(&claims("mallory")), parts[2]);
    assert_token_refused(&broker, "tampered", &tampered).await;

    assert_token_refused(&broker, "alg-none", &unsigned(&claims("alice"))).await;
    assert_token_refused(&broker, "no-sub", &hs256(&json!({ "exp": now + 3600 }))).await;
    assert_token_refused(&broker, "empty-sub", &hs256(&json!({ "sub": "", "exp": now + 3600 }))).await;
    assert_token_refused(&broker, "no-exp", &hs256(&json!({ "sub": "alice" }))).await;
    let not_yet = hs256(&json!({ "sub": "alice", "exp": now + 7200, "nbf": now + 3600 }));
    assert_token_refused(&broker, "nbf-future", &not_yet).await;

    // Longer than the 8 KiB limit, and otherwise valid.
    let long = hs256(&json!({ "sub": "alice", "exp": now + 3600, "padding": "x".repeat(9 * 1024) }));
    assert!(long.len() > tallymq::auth::jwt::MAX_TOKEN_LEN);
    assert_token_refused(&broker, "too-long", &long).await;

    let bad = ReasonCode::BAD_USER_NAME_OR_PASSWORD;
    assert_refused(&broker, "other-user", Some("bob"), Some(alice.as_bytes()), bad, 4).await;

    // A valid token whose sub cannot name a topic level is not a user: 0x87, return code 5.
    let slash = hs256(&claims("alice/admin"));
    assert_refused(&broker, "sub-with-slash", None, Some(slash.as_bytes()), ReasonCode::NOT_AUTHORIZED, 5).await;
}

#[tokio::test]
async fn hs256_checks_issuer_and_audience_when_configured() {
    let broker = hs256_broker(|config| {
        config.auth.jwt.issuer = "https://loans.example".into();
        config.auth.jwt.audience = "tallymq".into();
    })
    .await;
    let exp = unix_now() + 3600;
    let good = hs256(&json!({ "sub": "alice", "exp": exp, "iss": "https://loans.example", "aud": "tallymq" }));
    let (mut raw, _) = connect_ok(&broker, with_token(V5, "issued", &good)).await;
    assert_is_user(&mut raw, "alice").await;
    let (mut raw, _) = connect_ok(&broker, with_token(V311, "issued-311", &good)).await;
    assert_is_user(&mut raw, "alice").await;

    let wrong_iss = hs256(&json!({ "sub": "alice", "exp": exp, "iss": "https://evil.example", "aud": "tallymq" }));
    assert_token_refused(&broker, "wrong-iss", &wrong_iss).await;
    let wrong_aud = hs256(&json!({ "sub": "alice", "exp": exp, "iss": "https://loans.example", "aud": "other" }));
    assert_token_refused(&broker, "wrong-aud", &wrong_aud).await;
    // A configured claim is required, not only checked when present.
    let no_iss = hs256(&json!({ "sub": "alice", "exp": exp, "aud": "tallymq" }));
    assert_token_refused(&broker, "no-iss", &no_iss).await;
    let no_aud = hs256(&json!({ "sub": "alice", "exp": exp, "iss": "https://loans.example" }));
    assert_token_refused(&broker, "no-aud", &no_aud).await;
}

// ---------------------------------------------------------------------------------------------
// JWT RS256 and ES256
// ---------------------------------------------------------------------------------------------

/// Connects real client libraries (rumqttc 3.1.1 and 5.0) with `token` and has each publish
/// to, and receive from, its user's own topic. The 3.1.1 client names the user: rumqttc
/// leaves an empty user name out, and 3.1.1 allows no password without one.
async fn rumqttc_clients_use_token(broker: &TestBroker, token: &str, user: &str) {
    let topic = format!("user/{user}/notes");

    let mut options = V4::options(broker.tcp, &format!("{user}-rumqttc-4"));
    options.set_credentials(user, token);
    let (mut v4, connack) = V4::connect(options).await;
    assert_eq!(connack.code, rumqttc::ConnectReturnCode::Success);
    v4.client.subscribe(&topic, rumqttc::QoS::AtLeastOnce).await.unwrap();
    let granted = v4
        .wait_for("SUBACK", |p| match p {
            rumqttc::Packet::SubAck(suback) => Some(suback.return_codes.clone()),
            _ => None,
        })
        .await;
    assert_eq!(granted, [rumqttc::SubscribeReasonCode::Success(rumqttc::QoS::AtLeastOnce)]);

    let mut options = common::V5::options(broker.tcp, &format!("{user}-rumqttc-5"));
    options.set_credentials("", token);
    let (mut v5, connack) = common::V5::connect(options).await;
    assert_eq!(connack.code, rumqttc::v5::mqttbytes::v5::ConnectReturnCode::Success);
    v5.client.publish(&topic, rumqttc::v5::mqttbytes::QoS::AtLeastOnce, false, "signed").await.unwrap();
    let acked = v5
        .wait_for("PUBACK", |p| match p {
            rumqttc::v5::Incoming::PubAck(ack) => Some(ack.reason),
            _ => None,
        })
        .await;
    assert_eq!(acked, rumqttc::v5::mqttbytes::v5::PubAckReason::Success);

    let delivered = v4.next_publish().await;
    assert_eq!((delivered.topic.as_str(), &delivered.payload[..]), (topic.as_str(), &b"signed"[..]));
}

#[tokio::test]
async fn rs256_token_verifies_with_the_public_key() {
    let broker = key_broker(JwtAlgorithm::RS256, "rs256-public.pem").await;
    rumqttc_clients_use_token(&broker, &rs256(&claims("carol")), "carol").await;
    let (mut raw, _) = connect_ok(&broker, with_token(V311, "carol-raw", &rs256(&claims("carol")))).await;
    assert_is_user(&mut raw, "carol").await;
}

#[tokio::test]
async fn es256_token_verifies_with_the_public_key() {
    let broker = key_broker(JwtAlgorithm::ES256, "es256-public.pem").await;
    rumqttc_clients_use_token(&broker, &es256(&claims("dave")), "dave").await;
    let (mut raw, _) = connect_ok(&broker, with_token(V5, "dave-raw", &es256(&claims("dave")))).await;
    assert_is_user(&mut raw, "dave").await;
    // An RS256 token is not one of ES256's.
    assert_token_refused(&broker, "rs-on-es", &rs256(&claims("dave"))).await;
}

#[tokio::test]
async fn rs256_broker_refuses_hs256_signed_with_its_public_key_and_es256_tokens() {
    let broker = key_broker(JwtAlgorithm::RS256, "rs256-public.pem").await;
    // HS/RS confusion: the public key is no secret, so a token "signed" with it proves nothing.
    let public_pem = read_fixture("rs256-public.pem");
    let confused = sign(Algorithm::HS256, &EncodingKey::from_secret(&public_pem), &claims("carol"));
    assert_token_refused(&broker, "hs-with-public-key", &confused).await;
    assert_token_refused(&broker, "es-on-rs", &es256(&claims("carol"))).await;
    assert_token_refused(&broker, "rs-alg-none", &unsigned(&claims("carol"))).await;
    // The broker does accept its own algorithm, so the refusals above are about the token.
    connect_ok(&broker, with_token(V5, "carol", &rs256(&claims("carol")))).await;
}

// ---------------------------------------------------------------------------------------------
// Roles
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn token_roles_reach_the_session_and_the_rules() {
    let broker = hs256_broker(|config| {
        config.auth.rules = vec![AccessRule { who: "role:ops".into(), topic: "ops/#".into(), access: Access::ReadWrite }];
    })
    .await;
    let ops = hs256(&json!({ "sub": "olga", "exp": unix_now() + 3600, "roles": ["billing", "ops"] }));
    let (mut watcher, _) = connect_ok(&broker, with_token(V5, "ops-watcher", &ops)).await;
    watcher.subscribe_granted(1, "ops/#", QoS::AtLeastOnce).await;

    let (mut olga, _) = connect_ok(&broker, with_token(V5, "olga", &ops)).await;
    let ack = olga.publish_acked(publish("ops/deploy", QoS::AtLeastOnce, 1, b"go")).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS, "{ack:?}");
    let delivered = watcher.next_publish().await;
    assert_eq!((delivered.topic.as_str(), &delivered.payload[..]), ("ops/deploy", &b"go"[..]));
    watcher.puback(delivered.packet_id).await;

    for (id, roles) in [("no-roles", json!([])), ("other-roles", json!(["dev"]))] {
        let token = hs256(&json!({ "sub": "ivan", "exp": unix_now() + 3600, "roles": roles }));
        let (mut ivan, _) = connect_ok(&broker, with_token(V5, id, &token)).await;
        let ack = ivan.publish_acked(publish("ops/deploy", QoS::AtLeastOnce, 1, b"no")).await;
        assert_eq!(ack.reason, ReasonCode::NOT_AUTHORIZED, "{id}: {ack:?}");
        assert_eq!(ivan.subscribe(2, &[("ops/#", QoS::AtLeastOnce)]).await, [ReasonCode::NOT_AUTHORIZED], "{id}");
    }
    let without_claim = hs256(&claims("ivan"));
    let (mut ivan, _) = connect_ok(&broker, with_token(V5, "no-roles-claim", &without_claim)).await;
    let ack = ivan.publish_acked(publish("ops/deploy", QoS::AtLeastOnce, 1, b"no")).await;
    assert_eq!(ack.reason, ReasonCode::NOT_AUTHORIZED, "{ack:?}");
    watcher.nothing_pending().await;
}

// ---------------------------------------------------------------------------------------------
// Password file
// ---------------------------------------------------------------------------------------------

/// Runs `tallymq passwd ARGS` with `stdin` on its standard input.
async fn passwd(args: &[&str], file: &Path, stdin: &str) -> std::process::Output {
    use std::process::Stdio;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tallymq"))
        .arg("passwd")
        .args(args.iter().take_while(|arg| arg.starts_with('-')))
        .arg(file)
        .args(args.iter().skip_while(|arg| arg.starts_with('-')))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tallymq passwd");
    let mut input = child.stdin.take().expect("stdin is piped");
    input.write_all(stdin.as_bytes()).await.expect("password written");
    drop(input);
    within("tallymq passwd", child.wait_with_output()).await.expect("tallymq passwd runs")
}

fn users_in(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).expect("password file readable");
    text.lines().map(|line| line.split_once(':').expect("user:hash").0.to_string()).collect()
}

#[tokio::test]
async fn passwd_writes_the_file_and_the_broker_checks_passwords_against_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("passwords");

    let added = passwd(&["alice"], &file, "wonderland\n").await;
    assert!(added.status.success(), "passwd alice: {added:?}");
    let added = passwd(&["bob"], &file, "builder\n").await;
    assert!(added.status.success(), "passwd bob: {added:?}");
    assert_eq!(users_in(&file), ["alice", "bob"]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.lines().all(|line| line.contains(":$argon2id$")), "argon2id PHC hashes: {text}");
    assert!(!text.contains("wonderland") && !text.contains("builder"), "no password in clear: {text}");

    let removed = passwd(&["-D", "bob"], &file, "").await;
    assert!(removed.status.success(), "passwd -D bob: {removed:?}");
    assert_eq!(users_in(&file), ["alice"]);
    let missing = passwd(&["-D", "bob"], &file, "").await;
    assert!(!missing.status.success(), "removing a user who is not there fails");
    let empty = passwd(&["carol"], &file, "\n").await;
    assert!(!empty.status.success(), "an empty password is refused");
    assert_eq!(users_in(&file), ["alice"]);

    let broker = secure(|config| config.auth.password_file = file.clone()).await;
    for version in [V5, V311] {
        let id = format!("alice-{}", label(version));
        let (mut raw, _) = connect_ok(&broker, connect_as(version, &id, Some("alice"), Some(b"wonderland"))).await;
        assert_is_user(&mut raw, "alice").await;
    }
    let bad = ReasonCode::BAD_USER_NAME_OR_PASSWORD;
    assert_refused(&broker, "wrong-password", Some("alice"), Some(b"looking-glass"), bad, 4).await;
    assert_refused(&broker, "removed-user", Some("bob"), Some(b"builder"), bad, 4).await;
    assert_refused(&broker, "unknown-user", Some("mallory"), Some(b"wonderland"), bad, 4).await;
    assert_refused(&broker, "no-password", Some("alice"), None, bad, 4).await;
}

/// `Server::reload` (what SIGHUP calls) rereads the password file; a broken file keeps the
/// users already loaded.
#[tokio::test]
async fn reload_rereads_the_password_file_and_keeps_it_when_broken() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("passwords");
    let mut users = PasswordFile::default();
    users.set("alice", b"wonderland").unwrap();
    users.save(&file).unwrap();
    let broker = secure(|config| config.auth.password_file = file.clone()).await;
    let bad = ReasonCode::BAD_USER_NAME_OR_PASSWORD;
    assert_refused(&broker, "before-reload", Some("bob"), Some(b"builder"), bad, 4).await;

    users.set("bob", b"builder").unwrap();
    users.save(&file).unwrap();
    let report = broker.server.reload();
    assert!(matches!(report.outcome(Reloadable::PasswordFile), Some(ReloadOutcome::Reloaded)), "{report}");
    connect_ok(&broker, connect_as(V5, "bob-after-reload", Some("bob"), Some(b"builder"))).await;

    std::fs::write(&file, "bob:not-a-hash\n").unwrap();
    let report = broker.server.reload();
    assert!(matches!(report.outcome(Reloadable::PasswordFile), Some(ReloadOutcome::Failed(_))), "{report}");
    assert!(report.to_string().contains("passwords"), "the failure names the file: {report}");
    connect_ok(&broker, connect_as(V5, "alice-after-bad-reload", Some("alice"), Some(b"wonderland"))).await;
}

// ---------------------------------------------------------------------------------------------
// Anonymous clients and enhanced authentication
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn anonymous_clients_from_loopback_connect_but_reach_no_room() {
    let broker = secure(|_| {}).await;
    let (mut v5, _) = connect_ok(&broker, Raw::connect_packet(V5, "anonymous-5")).await;
    let ack = v5.publish_acked(publish("chat/room-1/msg", QoS::AtLeastOnce, 1, b"hi")).await;
    assert_eq!(ack.reason, ReasonCode::NOT_AUTHORIZED, "{ack:?}");
    assert_eq!(v5.subscribe(2, &[("chat/room-1/#", QoS::AtLeastOnce)]).await, [ReasonCode::NOT_AUTHORIZED]);

    let (mut v311, _) = connect_ok(&broker, Raw::connect_packet(V311, "anonymous-311")).await;
    v311.subscribe_granted(1, "$notice/anonymous-311", QoS::AtLeastOnce).await;
    let ack = v311.publish_acked(publish("chat/room-1/msg", QoS::AtLeastOnce, 2, b"hi")).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS, "3.1.1 acknowledges and says why in a notice");
    let notice = v311.next_publish().await;
    assert_eq!(notice.topic, "$notice/anonymous-311");
    let notice: Value = serde_json::from_slice(&notice.payload).expect("notice is JSON");
    assert_eq!((notice["type"].as_str(), notice["reason_code"].as_u64()), (Some("publish_refused"), Some(0x87)), "{notice}");
}

#[tokio::test]
async fn anonymous_never_refuses_clients_without_credentials() {
    let broker = secure(|config| config.auth.anonymous = Anonymous::Never).await;
    assert_refused(&broker, "anonymous", None, None, ReasonCode::NOT_AUTHORIZED, 5).await;
}

#[tokio::test]
async fn authentication_method_is_refused_with_bad_authentication_method() {
    let broker = hs256_broker(|_| {}).await;
    let mut connect = with_token(V5, "scram", &hs256(&claims("alice")));
    connect.properties.authentication_method = Some("SCRAM-SHA-256".into());
    connect.properties.authentication_data = Some(Bytes::from_static(b"client-first"));
    assert_eq!(refused_v5(&broker, connect).await, ReasonCode::BAD_AUTHENTICATION_METHOD);
    let mut anonymous = Raw::connect_packet(V5, "scram-anonymous");
    anonymous.properties.authentication_method = Some("SCRAM-SHA-256".into());
    assert_eq!(refused_v5(&broker, anonymous).await, ReasonCode::BAD_AUTHENTICATION_METHOD);
}

// ---------------------------------------------------------------------------------------------
// Failed logins per address
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn three_failed_logins_ban_the_address_even_for_the_right_password() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("passwords");
    let mut users = PasswordFile::default();
    users.set("alice", b"wonderland").unwrap();
    users.save(&file).unwrap();
    let broker = secure(|config| {
        config.auth.password_file = file.clone();
        config.limits.auth_failures_per_minute = 3;
    })
    .await;

    // The right password works, and successes do not count.
    connect_ok(&broker, connect_as(V5, "alice-before", Some("alice"), Some(b"wonderland"))).await;
    for attempt in 1..=3 {
        let connect = connect_as(V5, &format!("guess-{attempt}"), Some("alice"), Some(b"guess"));
        assert_eq!(refused_v5(&broker, connect).await, ReasonCode::BAD_USER_NAME_OR_PASSWORD, "attempt {attempt}");
    }
    let right = connect_as(V5, "alice-after", Some("alice"), Some(b"wonderland"));
    assert_eq!(refused_v5(&broker, right).await, ReasonCode::BANNED);
    let right = connect_as(V311, "alice-after-311", Some("alice"), Some(b"wonderland"));
    assert_eq!(refused_v311(&broker, right).await, 5);
    // Anonymous CONNECTs from the address are refused as well.
    assert_eq!(refused_v5(&broker, Raw::connect_packet(V5, "anonymous-after")).await, ReasonCode::BANNED);
}

// ---------------------------------------------------------------------------------------------
// Client id ownership
// ---------------------------------------------------------------------------------------------

/// A 5.0 CONNECT with `token` for client id "shared-id" that keeps its session.
fn shared_id(user: &str) -> Connect {
    let mut connect = with_token(V5, "shared-id", &hs256(&claims(user)));
    connect.clean_start = false;
    connect.properties.session_expiry_interval = Some(300);
    connect
}

#[tokio::test]
async fn a_client_id_stays_with_the_user_whose_session_it_holds() {
    let broker = hs256_broker(|_| {}).await;
    let registry = &broker.server.broker;

    let (mut alice, connack) = connect_ok(&broker, shared_id("alice")).await;
    assert!(!connack.session_present);
    alice.subscribe_granted(1, "user/alice/inbox", QoS::AtLeastOnce).await;
    alice.send(Packet::Disconnect(Disconnect::new(ReasonCode::SUCCESS))).await;
    assert_eq!(alice.expect_close().await, None);
    wait_until("alice's connection to detach", || registry.connected_count() == 0).await;
    assert_eq!(registry.session_count(), 1, "alice's session outlives her connection");

    let taken = ReasonCode::CLIENT_IDENTIFIER_NOT_VALID;
    assert_eq!(refused_v5(&broker, shared_id("bob")).await, taken);
    let bob_311 = connect_as(V311, "shared-id", Some("bob"), Some(hs256(&claims("bob")).as_bytes()));
    assert_eq!(refused_v311(&broker, bob_311).await, 2);
    let mut anonymous = Raw::connect_packet(V5, "shared-id");
    anonymous.clean_start = false;
    assert_eq!(refused_v5(&broker, anonymous).await, taken, "an anonymous client cannot take it either");

    let (mut alice, connack) = connect_ok(&broker, shared_id("alice")).await;
    assert!(connack.session_present, "alice's session is still hers");

    // While alice is connected, bob's CONNECT neither succeeds nor takes her session over.
    assert_eq!(refused_v5(&broker, shared_id("bob")).await, taken);
    let mut bob_clean = with_token(V5, "shared-id", &hs256(&claims("bob")));
    bob_clean.clean_start = true;
    assert_eq!(refused_v5(&broker, bob_clean).await, taken, "clean start does not help");
    alice.nothing_pending().await;
    assert_eq!(registry.connected_count(), 1);
    // Her session still has its subscription: a message to her inbox reaches her.
    let (mut sender, _) = connect_ok(&broker, with_token(V5, "alice-phone", &hs256(&claims("alice")))).await;
    let ack = sender.publish_acked(publish("user/alice/inbox", QoS::AtLeastOnce, 1, b"still mine")).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS);
    assert_eq!(&alice.next_publish().await.payload[..], b"still mine");
}

// ---------------------------------------------------------------------------------------------
// Publish rate
// ---------------------------------------------------------------------------------------------

/// A broker that lets one client publish 3 messages at once, then 1 per second.
async fn rate_limited(over: OverRate) -> TestBroker {
    hs256_broker(|config| {
        config.limits.publish_rate = 1;
        config.limits.publish_burst = 3;
        config.limits.over_publish_rate = over;
    })
    .await
}

/// Four QoS 1 publishes to `topic`, packet ids and payloads 1 to 4, in one write: far
/// quicker than the rate refills a token.
fn four_publishes(topic: &str) -> Vec<Packet> {
    (1..=4u8).map(|n| publish_packet(topic, QoS::AtLeastOnce, u16::from(n), &[b'0' + n])).collect()
}

#[tokio::test]
async fn publish_over_the_rate_is_refused_with_0x96_and_the_connection_stays() {
    let broker = rate_limited(OverRate::Refuse).await;
    let token = hs256(&claims("alice"));
    let (mut reader, _) = connect_ok(&broker, with_token(V5, "alice-reader", &token)).await;
    reader.subscribe_granted(1, "user/alice/notes", QoS::AtLeastOnce).await;

    let (mut writer, _) = connect_ok(&broker, with_token(V5, "alice-writer", &token)).await;
    send_together(&mut writer, four_publishes("user/alice/notes")).await;
    let mut reasons = Vec::new();
    for packet_id in 1..=4 {
        match writer.next().await {
            Packet::PubAck(ack) if ack.packet_id == packet_id => reasons.push(ack.reason),
            other => panic!("expected the PUBACK of {packet_id}, got {other:?}"),
        }
    }
    let rate = ReasonCode::MESSAGE_RATE_TOO_HIGH;
    assert_eq!(reasons, [ReasonCode::SUCCESS, ReasonCode::SUCCESS, ReasonCode::SUCCESS, rate]);
    // The connection is still served.
    writer.send(Packet::PingReq).await;
    assert_eq!(writer.next().await, Packet::PingResp);

    // The three admitted messages are delivered, the refused one is not.
    for expected in [b"1", b"2", b"3"] {
        let delivered = reader.next_publish().await;
        assert_eq!(&delivered.payload[..], expected);
        reader.puback(delivered.packet_id).await;
    }
    reader.nothing_pending().await;
}

#[tokio::test]
async fn publish_over_the_rate_disconnects_with_0x96_when_configured() {
    let broker = rate_limited(OverRate::Disconnect).await;
    let (mut writer, _) = connect_ok(&broker, with_token(V5, "alice-writer", &hs256(&claims("alice")))).await;
    send_together(&mut writer, four_publishes("user/alice/notes")).await;
    for packet_id in 1..=3 {
        match writer.next().await {
            Packet::PubAck(ack) => assert_eq!((ack.packet_id, ack.reason), (packet_id, ReasonCode::SUCCESS)),
            other => panic!("expected the PUBACK of {packet_id}, got {other:?}"),
        }
    }
    assert_eq!(writer.expect_close().await, Some(ReasonCode::MESSAGE_RATE_TOO_HIGH));
}

#[tokio::test]
async fn publish_over_the_rate_gets_a_notice_for_a_v311_client() {
    let broker = rate_limited(OverRate::Refuse).await;
    let (mut client, _) = connect_ok(&broker, with_token(V311, "alice-311", &hs256(&claims("alice")))).await;
    client.subscribe_granted(1, "$notice/alice-311", QoS::AtLeastOnce).await;

    send_together(&mut client, four_publishes("user/alice/notes")).await;
    let mut acked = Vec::new();
    let mut notices = Vec::new();
    while acked.len() < 4 || notices.is_empty() {
        match client.next().await {
            Packet::PubAck(ack) => acked.push((ack.packet_id, ack.reason)),
            Packet::Publish(notice) => {
                assert_eq!(notice.topic, "$notice/alice-311");
                client.puback(notice.packet_id).await;
                notices.push(serde_json::from_slice::<Value>(&notice.payload).expect("notice is JSON"));
            }
            other => panic!("expected PUBACKs and a notice, got {other:?}"),
        }
    }
    let ok = ReasonCode::SUCCESS;
    assert_eq!(acked, [(1, ok), (2, ok), (3, ok), (4, ok)], "3.1.1 publishes are acknowledged");
    let notice = &notices[0];
    assert_eq!(notice["type"], "publish_refused", "{notice}");
    assert_eq!(notice["topic"], "user/alice/notes", "{notice}");
    assert_eq!(notice["packet_id"], 4, "{notice}");
    assert_eq!(notice["reason_code"], 0x96, "{notice}");
    client.nothing_pending().await;
}

// ---------------------------------------------------------------------------------------------
// Will topics
// ---------------------------------------------------------------------------------------------

fn with_will(mut connect: Connect, topic: &str) -> Connect {
    connect.will = Some(LastWill {
        topic: topic.to_string(),
        payload: Bytes::from_static(b"gone"),
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: Default::default(),
    });
    connect
}

#[tokio::test]
async fn a_will_on_a_room_the_user_is_not_in_is_refused_at_connect() {
    let broker = hs256_broker(|_| {}).await;
    let token = hs256(&claims("alice"));
    let connect = with_will(with_token(V5, "will-5", &token), "chat/room-x/msg");
    assert_eq!(refused_v5(&broker, connect).await, ReasonCode::NOT_AUTHORIZED);
    let connect = with_will(with_token(V311, "will-311", &token), "chat/room-x/msg");
    assert_eq!(refused_v311(&broker, connect).await, 5);
    // A will on her own topic is hers to leave.
    connect_ok(&broker, with_will(with_token(V5, "will-own", &token), "user/alice/status")).await;
    connect_ok(&broker, with_will(with_token(V311, "will-own-311", &token), "user/alice/status")).await;
}

/// A client id holding a wildcard would make its notice and history-reply topics malformed:
/// refused with 0x85 (3.1.1: return code 2).
#[tokio::test]
async fn client_ids_with_wildcards_are_refused() {
    let broker = secure(|_| {}).await;
    for id in ["phone+1", "phone#1"] {
        assert_eq!(refused_v5(&broker, connect_as(V5, id, None, None)).await, ReasonCode::CLIENT_IDENTIFIER_NOT_VALID, "{id}");
        assert_eq!(refused_v311(&broker, connect_as(V311, id, None, None)).await, 2, "{id}");
    }
}

/// This crate's directory, read when the test runs: a test binary built from another checkout
/// of the same sources can be reused from a shared target directory, and `env!` would point
/// into that checkout.
fn crate_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"))
}
