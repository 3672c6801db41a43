//! Connection limits at accept (`[limits]`): the total cap over every listener, the cap per
//! address, the connect rate per address (burst, then refused, then refilled), and slots
//! given back when connections close. A refused socket is closed before anything is read:
//! the client sees the connection end without a single byte, never a CONNACK.
mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::*;
use futures_util::{SinkExt, StreamExt};
use tallymq::codec::{self, Packet, ProtocolVersion};
use tallymq_config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

/// A loopback address other than 127.0.0.1, from which Linux lets a client connect to the
/// broker on 127.0.0.1: a second "address" for the per-address limits.
const OTHER: &str = "127.0.0.2";

/// Accept limits as a test sets them, everything else from the harness.
async fn broker_with_limits(set: impl FnOnce(&mut Config)) -> TestBroker {
    start_with(|config| {
        config.auth.mode = tallymq_config::AuthMode::Open;
        set(config);
    })
    .await
}

/// An MQTT 3.1.1 CONNECT for `id`, as bytes.
fn connect_bytes(id: &str) -> BytesMut {
    let mut out = BytesMut::new();
    let connect = Raw::connect_packet(ProtocolVersion::V311, id);
    codec::encode(&Packet::Connect(Box::new(connect)), ProtocolVersion::V311, &mut out).expect("CONNECT encodes");
    out
}

/// A TCP connection to `broker` from `from` (any loopback address), with a CONNECT sent.
/// Returns the stream and whether a CONNACK came back (`false`: closed without a byte).
async fn mqtt_from(from: &str, broker: SocketAddr, id: &str) -> (TcpStream, bool) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from.parse::<IpAddr>().unwrap(), 0)).expect("bind the client's source address");
    let mut stream = within("TCP connect", socket.connect(broker)).await.expect("the kernel accepts the connection");
    // The broker may already have closed a refused connection.
    let _ = stream.write_all(&connect_bytes(id)).await;
    let mut first = [0u8; 4];
    let answered = match within("a CONNACK or the close", stream.read(&mut first)).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            assert_eq!(first[0], 0x20, "the broker's first byte is a CONNACK's, got {:?}", &first[..n]);
            true
        }
    };
    (stream, answered)
}

async fn mqtt(broker: SocketAddr, id: &str) -> (TcpStream, bool) {
    mqtt_from("127.0.0.1", broker, id).await
}

/// An MQTT client over WebSocket; `None` if the broker closed the socket instead of
/// answering the upgrade.
async fn websocket(broker: SocketAddr, id: &str) -> Option<tokio_tungstenite::WebSocketStream<TcpStream>> {
    let stream = TcpStream::connect(broker).await.unwrap();
    let mut request = format!("ws://{broker}/mqtt").into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("mqtt"));
    let (mut ws, _) = within("the WebSocket handshake", tokio_tungstenite::client_async(request, stream)).await.ok()?;
    ws.send(Message::Binary(connect_bytes(id).to_vec())).await.unwrap();
    match within("a CONNACK", ws.next()).await {
        Some(Ok(Message::Binary(data))) => assert_eq!(data.first(), Some(&0x20), "CONNACK"),
        other => panic!("expected a CONNACK over WebSocket, got {other:?}"),
    }
    Some(ws)
}

#[tokio::test]
async fn total_cap_counts_every_listener_and_frees_a_slot_when_a_connection_closes() {
    let broker = broker_with_limits(|c| c.limits.max_connections = 3).await;
    let admission = &broker.server.broker.admission;

    let (tcp_a, ok_a) = mqtt(broker.tcp, "a").await;
    let (_tcp_b, ok_b) = mqtt(broker.tcp, "b").await;
    assert!(ok_a && ok_b);
    let ws = websocket(broker.ws, "c").await.expect("the third connection is admitted over WebSocket");
    assert_eq!(admission.open_connections(), 3);

    // Full: refused on either listener, and from any address.
    let (_, refused_tcp) = mqtt(broker.tcp, "d").await;
    assert!(!refused_tcp, "a fourth connection is closed without a CONNACK");
    assert!(websocket(broker.ws, "e").await.is_none(), "the WebSocket upgrade is not even answered");
    let (_, refused_other) = mqtt_from(OTHER, broker.tcp, "f").await;
    assert!(!refused_other);
    assert_eq!(admission.refusals().total_limit, 3);
    assert_eq!(admission.open_connections(), 3, "refused sockets hold no slot");

    // A TCP client leaves: its slot is given back.
    drop(tcp_a);
    wait_until("the closed connection's slot to be given back", || admission.open_connections() == 2).await;
    let (_tcp_g, ok_g) = mqtt(broker.tcp, "g").await;
    assert!(ok_g, "admitted into the freed slot");

    // A WebSocket client leaves: the same.
    drop(ws);
    wait_until("the WebSocket connection's slot to be given back", || admission.open_connections() == 2).await;
    assert!(websocket(broker.ws, "h").await.is_some());
    assert_eq!(admission.refusals().sum(), 3);
}

#[tokio::test]
async fn per_address_cap_refuses_only_that_address() {
    let broker = broker_with_limits(|c| c.limits.max_connections_per_address = 2).await;
    let admission = &broker.server.broker.admission;

    let (first, ok1) = mqtt(broker.tcp, "local-1").await;
    let (_second, ok2) = mqtt(broker.tcp, "local-2").await;
    assert!(ok1 && ok2);
    let (_, ok3) = mqtt(broker.tcp, "local-3").await;
    assert!(!ok3, "a third connection from 127.0.0.1 is refused");
    let (_other, other_ok) = mqtt_from(OTHER, broker.tcp, "other-1").await;
    assert!(other_ok, "another address has its own allowance");
    assert_eq!(admission.refusals().address_limit, 1);

    drop(first);
    let local: IpAddr = "127.0.0.1".parse().unwrap();
    wait_until("127.0.0.1's slot to be given back", || admission.open_connections_from(local) == 1).await;
    let (_again, ok_again) = mqtt(broker.tcp, "local-4").await;
    assert!(ok_again, "admitted again once a connection from the address closed");
}

#[tokio::test]
async fn connect_rate_allows_the_burst_then_refuses_until_a_token_is_back() {
    let broker = broker_with_limits(|c| {
        c.limits.connect_rate_per_address = 1;
        c.limits.connect_burst_per_address = 3;
    })
    .await;
    let admission = &broker.server.broker.admission;

    let started = Instant::now();
    for n in 0..3 {
        // Each closes at once: the rate counts new connections, not open ones.
        let (_, ok) = mqtt(broker.tcp, &format!("burst-{n}")).await;
        assert!(ok, "connection {n} is within the burst");
    }
    let (_, fourth) = mqtt(broker.tcp, "too-fast").await;
    // At 1 per second, a token comes back 1 s after the first connection.
    assert!(started.elapsed() < Duration::from_secs(1), "the burst took too long to test the rate");
    assert!(!fourth, "a fourth connection within the second is refused");
    assert_eq!(admission.refusals().rate_limit, 1);
    let (_, other) = mqtt_from(OTHER, broker.tcp, "other").await;
    assert!(other, "another address has its own bucket");

    // One token per second comes back.
    let mut refused_meanwhile = 0;
    within("a token to come back", async {
        loop {
            let (_, ok) = mqtt(broker.tcp, "later").await;
            if ok {
                break;
            }
            refused_meanwhile += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(started.elapsed() >= Duration::from_millis(900), "admitted again after {:?}", started.elapsed());
    assert_eq!(admission.refusals().rate_limit, 1 + refused_meanwhile);
}
