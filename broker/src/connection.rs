//! One task per client connection: CONNECT, then a loop over inbound packets, queued
//! deliveries, keepalive and takeover, until the connection ends.
//!
//! The task is generic over the byte stream, so TCP and WebSocket share all of it. It reads
//! and writes on one task: a client that stops reading only ever blocks its own task, while
//! publishers reach it through its session's bounded queue.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use tallymq_config::OverRate;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::broker::{Attachment, Broker, Departure};
use crate::codec::{
    self, AckProperties, ConnAck, ConnAckProperties, Connect, DecodeError, Disconnect, Packet, ProtocolVersion,
    PubResponse, Publish, PublishProperties, QoS, ReasonCode, RetainHandling, SubAck, Subscribe, UnsubAck, Unsubscribe,
};
use tallymq_storage::{ops, Delivery, DeliveryStage};

use crate::hashing::HashMap;
use crate::history;
use crate::message::Message;
use crate::access::Principal;
use crate::broker::AttachError;
use crate::token_bucket::{Rate, TokenBucket};
use crate::pipeline::{Admitted, ClientInfo, PendingPersist, Refusal};
use crate::read_buffer::ReadBuffer;
use crate::router::{ClientKey, Subscription};
use crate::session::{Inflight, InflightStage, Outgoing};
use crate::topic;

/// A publish owed its acknowledgement, in arrival order.
struct Owed {
    qos: QoS,
    packet_id: u16,
    topic: Arc<str>,
    outcome: Owing,
}

enum Owing {
    /// Submitted to the store; acknowledged once durable. Boxed: it carries the message.
    Persisting(Box<PendingPersist>),
    /// Refused by a stage before persist.
    Refused(Refusal),
    /// Handled by the broker itself (a history query).
    Acknowledge,
    /// A resent QoS 2 publish that is already stored: PUBREC again, deliver nothing.
    RepeatPubrec,
}

/// User property that tells 5.0 subscribers a message's sequence number in its topic log.
pub const SEQUENCE_PROPERTY: &str = "seq";

/// Write buffer size at which a delivery burst is flushed before encoding more.
const FLUSH_THRESHOLD: usize = 64 * 1024;

/// What ended an idle connection's wait.
enum Wake {
    Kicked(ReasonCode),
    /// Bytes arrived (in the read buffer).
    Read,
    /// The client closed the connection, or it failed.
    Closed,
    /// A message was queued for the session.
    Queued,
    /// The keep alive ran out, or the client's token expired.
    Deadline,
}

/// Why the connection loop stopped.
#[derive(Debug)]
enum Ending {
    /// The client sent DISCONNECT.
    ClientDisconnect(Departure),
    /// The socket closed or failed without a DISCONNECT.
    NetworkLost,
    /// The connection broke the protocol: close with this reason.
    Violation(ReasonCode, String),
    /// Another connection with the same client id, or the server, asked this one to leave.
    Kicked(ReasonCode),
}

impl From<DecodeError> for Ending {
    fn from(error: DecodeError) -> Ending {
        Ending::Violation(error.reason, error.message.into_owned())
    }
}

/// Serves one client from its first byte to the end of its connection.
///
/// The task's future is allocated for the life of the connection and is as large as its
/// largest state, so the short-lived phases with large states (the CONNECT checks, and the
/// goodbye, which can publish a will through the pipeline) are boxed: their memory is taken
/// while they run and given back after, and an idle connection holds only the packet loop's.
///
/// Not an `async fn`: its arguments would stay in the future for the life of the
/// connection, while they are needed only to start it.
pub fn serve<S>(broker: Arc<Broker>, stream: S, peer: SocketAddr) -> impl Future<Output = ()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let starting = Box::pin(start(broker, stream, peer));
    async move {
        let Some(mut connection) = starting.await else { return };
        let ending = connection.run().await;
        Box::pin(connection.finish(ending)).await;
    }
}

/// From the first byte to CONNACK: reads the CONNECT within the connect timeout and accepts
/// it, or answers what the protocol lets the server answer. `None`: the connection is over.
async fn start<S>(broker: Arc<Broker>, stream: S, peer: SocketAddr) -> Option<Connection<S>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut stream = stream;
    let mut read_buf = ReadBuffer::new();
    let connect_timeout = Duration::from_secs(u64::from(broker.config.mqtt.connect_timeout_secs));
    let max_packet = broker.config.mqtt.max_packet_size;
    let first = tokio::time::timeout(connect_timeout, read_connect(&mut stream, &mut read_buf, max_packet)).await;
    let connect = match first {
        Err(_) => {
            tracing::debug!(%peer, "no CONNECT within the connect timeout");
            return None;
        }
        Ok(Err(error)) => {
            tracing::debug!(%peer, %error, "bad first packet");
            refuse_bad_connect(&mut stream, read_buf.bytes(), &error).await;
            return None;
        }
        Ok(Ok(None)) => return None,
        Ok(Ok(Some(connect))) => connect,
    };
    Connection::accept(broker, stream, read_buf, connect, peer).await
}

/// Reads until one full packet is there; it must be a CONNECT. `Ok(None)`: closed first.
async fn read_connect<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut ReadBuffer,
    max_packet: u32,
) -> Result<Option<Box<Connect>>, DecodeError> {
    loop {
        match codec::decode(buf.bytes(), None, max_packet)? {
            Some(Packet::Connect(connect)) => return Ok(Some(connect)),
            Some(_) => {
                return Err(DecodeError { reason: ReasonCode::PROTOCOL_ERROR, message: "the first packet must be CONNECT".into() })
            }
            None => {}
        }
        match buf.read_from(stream).await {
            Ok(0) | Err(_) => return Ok(None),
            Ok(_) => {}
        }
    }
}

/// Answers a CONNECT the codec refused, when the protocol lets the server say why: an
/// unsupported protocol level gets the 3.1.1 return code 1; a 5.0 CONNECT gets its reason.
async fn refuse_bad_connect<S: AsyncWrite + Unpin>(stream: &mut S, raw: &[u8], error: &DecodeError) {
    let version = match connect_level(raw) {
        Some(5) => ProtocolVersion::V5,
        Some(_) if error.reason == ReasonCode::UNSUPPORTED_PROTOCOL_VERSION => ProtocolVersion::V311,
        _ => return,
    };
    let connack = ConnAck { session_present: false, reason: error.reason, properties: ConnAckProperties::default() };
    let mut out = BytesMut::new();
    if codec::encode(&Packet::ConnAck(connack), version, &mut out).is_ok() {
        let _ = stream.write_all(&out).await;
        let _ = stream.flush().await;
    }
}

/// The protocol level byte of a CONNECT at the front of `raw`, if it can be read.
fn connect_level(raw: &[u8]) -> Option<u8> {
    if raw.first()? >> 4 != 1 {
        return None;
    }
    let mut at = 1;
    while *raw.get(at)? & 0x80 != 0 {
        at += 1;
        if at > 4 {
            return None;
        }
    }
    let name_len = usize::from(u16::from_be_bytes([*raw.get(at + 1)?, *raw.get(at + 2)?]));
    raw.get(at + 3 + name_len).copied()
}

/// The 5.0 topic aliases of one connection, both ways.
#[derive(Default)]
struct TopicAliases {
    /// Set by the client, at most `mqtt.topic_alias_maximum`.
    inbound: HashMap<u16, Arc<str>>,
    /// Set by the broker, at most what the client's Topic Alias Maximum allows.
    outbound: HashMap<Arc<str>, u16>,
}

struct Connection<S> {
    broker: Arc<Broker>,
    stream: S,
    read_buf: ReadBuffer,
    /// Encoded packets not written yet; allocated when something is sent and released once
    /// written, so an idle connection holds no write buffer.
    write_buf: BytesMut,
    peer: SocketAddr,
    version: ProtocolVersion,
    client: ClientInfo,
    /// The session, and the kick signal that asks the connection to leave (takeover, the
    /// admin API, the server's shutdown); `finish` gives it back to detach.
    attachment: Attachment,
    /// The keep alive granted, in seconds (0: none): the connection is dropped after 1.5
    /// times as long without a packet.
    keep_alive: u16,
    /// Largest packet the client accepts (5.0 Maximum Packet Size).
    client_max_packet: u32,
    /// Outbound QoS 1/2 messages allowed unacknowledged.
    max_inflight: u16,
    /// In-flight messages of a resumed session not yet resent on this connection, in their
    /// original order; they go out as the receive window allows, ahead of queued messages.
    /// Every id here is also in the session's in-flight map. Boxed, and `None` once all
    /// are resent: most connections have none, and the box is one pointer in every
    /// connection's task where the queue itself would be four.
    #[allow(clippy::box_collection)]
    resend: Option<Box<VecDeque<u16>>>,
    /// Boxed, and made when the first alias is set: most clients use none.
    aliases: Option<Box<TopicAliases>>,
    max_outbound_aliases: u16,
    /// 5.0 Request Problem Information: reason strings only if the client wants them.
    problem_information: bool,
    /// The CONNECT asked for session expiry 0, which a DISCONNECT may not raise.
    connected_with_zero_expiry: bool,
    /// This client's bucket for `[limits] publish_rate` and `publish_burst`.
    publish_bucket: TokenBucket,
    /// When the token this client signed in with expires (`auth.jwt.disconnect_at_expiry`).
    credentials_expire: Option<Instant>,
}

impl<S> Connection<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    /// Checks the CONNECT, attaches to the session, sends CONNACK and resumes deliveries.
    async fn accept(
        broker: Arc<Broker>,
        mut stream: S,
        read_buf: ReadBuffer,
        connect: Box<Connect>,
        peer: SocketAddr,
    ) -> Option<Connection<S>> {
        let version = connect.protocol;
        let mqtt = &broker.config.mqtt;
        let client_max_packet = connect.properties.maximum_packet_size.unwrap_or(u32::MAX) as usize;
        let refuse = |reason: ReasonCode, why: &str| {
            tracing::debug!(%peer, client = %connect.client_id, %reason, why, "CONNECT refused");
            let mut out = BytesMut::new();
            let mut properties = ConnAckProperties::default();
            if version == ProtocolVersion::V5 {
                properties.reason_string = Some(why.to_string());
            }
            let mut connack = ConnAck { session_present: false, reason, properties };
            codec::encode(&Packet::ConnAck(connack.clone()), version, &mut out).ok()?;
            if out.len() > client_max_packet {
                // The reason string goes rather than exceed the client's maximum (MQTT-3.2.2-19).
                out.clear();
                connack.properties.reason_string = None;
                codec::encode(&Packet::ConnAck(connack), version, &mut out).ok()?;
            }
            Some(out.freeze())
        };

        // An address that failed too often is refused before its credentials cost anything.
        if broker.admission.auth_blocked(peer.ip()) {
            let out = refuse(ReasonCode::BANNED, "too many failed logins from this address; retry in a minute");
            return send_and_close(&mut stream, out).await;
        }
        let connect_timeout = Duration::from_secs(u64::from(mqtt.connect_timeout_secs));
        let identity = match tokio::time::timeout(connect_timeout, broker.auth.authenticate(&connect, peer.ip())).await {
            Ok(Ok(identity)) => identity,
            Ok(Err(failure)) => {
                tracing::info!(%peer, client = %connect.client_id, reason = %failure.reason, "authentication failed");
                broker.admission.note_auth_failure(peer.ip());
                let out = refuse(failure.code, &failure.reason);
                return send_and_close(&mut stream, out).await;
            }
            Err(_) => {
                let out = refuse(ReasonCode::SERVER_BUSY, "authentication took too long; retry later");
                return send_and_close(&mut stream, out).await;
            }
        };

        let mut assigned_id = None;
        let client_id: ClientKey = if connect.client_id.is_empty() {
            if version == ProtocolVersion::V311 && !connect.clean_start {
                let out = refuse(ReasonCode::CLIENT_IDENTIFIER_NOT_VALID, "an empty client id needs a clean session");
                return send_and_close(&mut stream, out).await;
            }
            let id = format!("auto-{:016x}", rand::random::<u64>());
            assigned_id = Some(id.clone());
            Arc::from(id)
        } else if connect.client_id.len() > usize::from(mqtt.max_client_id_len) {
            let out = refuse(ReasonCode::CLIENT_IDENTIFIER_NOT_VALID, "client id is too long");
            return send_and_close(&mut stream, out).await;
        } else if connect.client_id.contains(['+', '#']) {
            // The client id names topic levels ($notice/{id}, $history/reply/{id}), which
            // cannot hold wildcards; the spec lets a server refuse such ids.
            let out = refuse(ReasonCode::CLIENT_IDENTIFIER_NOT_VALID, "client id cannot contain '+' or '#'");
            return send_and_close(&mut stream, out).await;
        } else {
            Arc::from(connect.client_id.as_str())
        };

        let will_principal = Principal { client_id: &client_id, user: identity.user.as_deref(), roles: &identity.roles };
        if let Some(will) = &connect.will {
            let limits = broker.pipeline.validate.topic_limits();
            let problem = if let Err(e) = topic::validate_name(&will.topic, limits) {
                Some((ReasonCode::TOPIC_NAME_INVALID, format!("will topic: {e}")))
            } else if will.topic.starts_with('$') {
                Some((ReasonCode::TOPIC_NAME_INVALID, "will topic: topics starting with '$' are reserved".to_string()))
            } else if let Err(refusal) = broker.pipeline.authorize.access.publish(&will_principal, &will.topic) {
                Some((ReasonCode::NOT_AUTHORIZED, format!("will topic: {}", refusal.reason)))
            } else if will.retain && !mqtt.retain_available {
                Some((ReasonCode::RETAIN_NOT_SUPPORTED, "will: retained messages are not available".to_string()))
            } else if will.properties.payload_format_indicator == Some(1) && std::str::from_utf8(&will.payload).is_err() {
                Some((ReasonCode::PAYLOAD_FORMAT_INVALID, "will payload is marked UTF-8 but is not".to_string()))
            } else {
                None
            };
            if let Some((reason, why)) = problem {
                // A 3.1.1 client has no return code for most of these: close without CONNACK.
                let answered = version == ProtocolVersion::V5 || reason == ReasonCode::NOT_AUTHORIZED;
                let out = if answered { refuse(reason, &why) } else { None };
                return send_and_close(&mut stream, out).await;
            }
        }

        let max_keep_alive = mqtt.max_keep_alive_secs;
        let mut server_keep_alive = None;
        let keep_alive = match version {
            ProtocolVersion::V5 if connect.keep_alive == 0 || connect.keep_alive > max_keep_alive => {
                server_keep_alive = Some(max_keep_alive);
                max_keep_alive
            }
            _ => connect.keep_alive,
        };

        let max_expiry = mqtt.max_session_expiry_secs;
        let requested_expiry = match version {
            ProtocolVersion::V5 => connect.properties.session_expiry_interval.unwrap_or(0),
            ProtocolVersion::V311 if connect.clean_start => 0,
            ProtocolVersion::V311 => max_expiry,
        };
        let expiry = requested_expiry.min(max_expiry);

        let client = ClientInfo { client_id: client_id.clone(), username: identity.user.clone(), roles: identity.roles.clone(), protocol: version };
        let (attachment, session_present) = match broker.attach(&client, peer, connect.clean_start, expiry, connect.will.clone()).await {
            Ok(attached) => attached,
            Err(AttachError::Superseded) => return None,
            Err(AttachError::ClientIdTaken) => {
                let out = refuse(ReasonCode::CLIENT_IDENTIFIER_NOT_VALID, "this client id is in use by another user");
                return send_and_close(&mut stream, out).await;
            }
        };
        let client_receive_max = connect.properties.receive_maximum.unwrap_or(u16::MAX);
        let max_inflight = client_receive_max.min(mqtt.max_inflight);
        let mut connection = Connection {
            broker: broker.clone(),
            stream,
            read_buf,
            write_buf: BytesMut::new(),
            peer,
            version,
            client,
            attachment,
            keep_alive,
            client_max_packet: connect.properties.maximum_packet_size.unwrap_or(u32::MAX),
            max_inflight,
            resend: None,
            aliases: None,
            max_outbound_aliases: connect.properties.topic_alias_maximum.unwrap_or(0).min(mqtt.max_outbound_topic_aliases),
            problem_information: connect.properties.request_problem_information.unwrap_or(true),
            connected_with_zero_expiry: requested_expiry == 0,
            publish_bucket: TokenBucket::full(Instant::now()),
            credentials_expire: credentials_expire(&broker.config.auth.jwt, identity.expires_at),
        };

        let mut properties = ConnAckProperties::default();
        if version == ProtocolVersion::V5 {
            properties.receive_maximum = Some(mqtt.receive_maximum);
            properties.maximum_packet_size = Some(mqtt.max_packet_size);
            properties.topic_alias_maximum = Some(mqtt.topic_alias_maximum);
            properties.retain_available = (!mqtt.retain_available).then_some(false);
            properties.assigned_client_identifier = assigned_id;
            properties.server_keep_alive = server_keep_alive;
            properties.session_expiry_interval = (expiry != requested_expiry).then_some(expiry);
            if connect.properties.request_response_information == Some(true) {
                properties.response_information = Some(format!("reply/{client_id}"));
            }
        }
        let connack = ConnAck { session_present, reason: ReasonCode::SUCCESS, properties };
        tracing::debug!(%peer, client = %client_id, ?version, session_present, "client connected");
        connection.send(Packet::ConnAck(connack)).ok()?;
        if session_present {
            let ids: VecDeque<u16> = connection.attachment.session.state.lock().inflight_in_order().into_iter().map(|(id, _)| id).collect();
            connection.resend = (!ids.is_empty()).then(|| Box::new(ids));
        }
        Some(connection)
    }

    /// The connection loop: returns how the connection ended.
    async fn run(&mut self) -> Ending {
        if let Err(ending) = self.deliver().await {
            return ending;
        }
        // Clients need not wait for CONNACK: packets that arrived with the CONNECT are
        // already buffered and would otherwise wait for the next read.
        if let Err(ending) = Box::pin(self.handle_input()).await {
            return ending;
        }
        let mut last_heard = Instant::now();
        loop {
            // Every local here lives in every connection's task while it idles, so the wait
            // is one `poll_fn` over the things it waits on rather than a `select!`, whose
            // bookkeeping would cost more than the kick and queue signals themselves.
            let (wake, token_first) = {
                // In a block of their own, so that the deadline and its timer are gone while
                // the wake is handled. Without a deadline the timer is never polled: any
                // instant will do.
                let (at, timed, token_first) = match self.next_deadline(last_heard) {
                    Some((at, token_first)) => (at, true, token_first),
                    None => (last_heard, false, false),
                };
                let mut timer = pin!(tokio::time::sleep_until(at.into()));
                (poll_fn(|cx| self.poll_wake(cx, timer.as_mut(), timed)).await, token_first)
            };
            match wake {
                Wake::Kicked(reason) => return Ending::Kicked(reason),
                Wake::Closed => return Ending::NetworkLost,
                Wake::Read => {
                    last_heard = Instant::now();
                    // Boxed: handling a packet can take it through the whole publish
                    // pipeline, whose state would otherwise be allocated in every
                    // connection's task, also while it idles.
                    if let Err(ending) = Box::pin(self.handle_input()).await {
                        return ending;
                    }
                }
                Wake::Queued => {}
                Wake::Deadline if token_first => {
                    tracing::debug!(client = %self.client.client_id, "token expired; connection closed");
                    return Ending::Kicked(ReasonCode::NOT_AUTHORIZED);
                }
                Wake::Deadline => {
                    return Ending::Violation(ReasonCode::KEEP_ALIVE_TIMEOUT, "no packet within 1.5 times the keep alive".into());
                }
            }
            if let Err(ending) = self.deliver().await {
                return ending;
            }
        }
    }

    /// What the idle connection waits for, in this order: to be asked to leave, a read, a
    /// message queued for its session, its deadline (`timer`, if `timed`).
    fn poll_wake(&mut self, cx: &mut Context<'_>, timer: Pin<&mut tokio::time::Sleep>, timed: bool) -> Poll<Wake> {
        if let Poll::Ready(reason) = self.attachment.kicked.poll_kicked(cx) {
            return Poll::Ready(Wake::Kicked(reason));
        }
        if let Poll::Ready(read) = self.read_buf.poll_read_from(&mut self.stream, cx) {
            return Poll::Ready(match read {
                Ok(0) | Err(_) => Wake::Closed,
                Ok(_) => Wake::Read,
            });
        }
        if self.attachment.session.notify.poll_notified(cx).is_ready() {
            return Poll::Ready(Wake::Queued);
        }
        if timed && timer.poll(cx).is_ready() {
            return Poll::Ready(Wake::Deadline);
        }
        Poll::Pending
    }

    /// When the connection must end unless it hears from the client first: 1.5 times the
    /// keep alive after the last packet, or when the client's token expires, whichever is
    /// first (one timer for both: each timer is part of every connection's task); with
    /// whether it is the token's. `None`: neither applies.
    fn next_deadline(&self, last_heard: Instant) -> Option<(Instant, bool)> {
        let idle_limit = Duration::from_millis(u64::from(self.keep_alive) * 1500);
        let idle_deadline = (self.keep_alive > 0).then(|| last_heard + idle_limit);
        match (idle_deadline, self.credentials_expire) {
            (Some(idle), Some(token)) => Some(if token < idle { (token, true) } else { (idle, false) }),
            (Some(idle), None) => Some((idle, false)),
            (None, Some(token)) => Some((token, true)),
            (None, None) => None,
        }
    }

    /// Decodes and handles every complete packet in the read buffer, then flushes replies.
    ///
    /// Publishes are submitted to the store as they are decoded and settled (acknowledged,
    /// fanned out) in arrival order once their commits return, so the publishes of one read
    /// share group commits. Any other packet first settles the publishes before it.
    async fn handle_input(&mut self) -> Result<(), Ending> {
        let mut owed = VecDeque::new();
        let handled = self.handle_buffered(&mut owed).await;
        // Messages already submitted are settled even if a later packet broke the protocol.
        let settled = self.settle(&mut owed).await;
        handled?;
        settled?;
        self.flush().await
    }

    async fn handle_buffered(&mut self, owed: &mut VecDeque<Owed>) -> Result<(), Ending> {
        let max_packet = self.broker.config.mqtt.max_packet_size;
        while let Some(packet) = codec::decode(self.read_buf.bytes(), Some(self.version), max_packet)? {
            self.handle_packet(packet, owed).await?;
        }
        Ok(())
    }

    /// Acknowledges, in order, every publish still owed an acknowledgement.
    async fn settle(&mut self, owed: &mut VecDeque<Owed>) -> Result<(), Ending> {
        while let Some(entry) = owed.pop_front() {
            self.settle_one(entry).await?;
        }
        Ok(())
    }

    /// Acknowledge, then fan out: the last two stages of the publish pipeline.
    async fn settle_one(&mut self, entry: Owed) -> Result<(), Ending> {
        let Owed { qos, packet_id, topic, outcome } = entry;
        match outcome {
            Owing::Persisting(pending) => match self.broker.complete(*pending).await {
                Ok(Admitted::Stored { message, plan }) => {
                    self.acknowledge(qos, packet_id, None)?;
                    self.broker.fan_out(&message, plan);
                    Ok(())
                }
                Ok(Admitted::Duplicate { sequence }) => {
                    tracing::debug!(client = %self.client.client_id, %topic, sequence, "resent message stored once");
                    self.acknowledge(qos, packet_id, None)
                }
                Err(refusal) => self.refuse(qos, packet_id, &topic, refusal),
            },
            Owing::Refused(refusal) => self.refuse(qos, packet_id, &topic, refusal),
            Owing::Acknowledge => self.acknowledge(qos, packet_id, None),
            Owing::RepeatPubrec => self.send(Packet::PubRec(PubResponse::success(packet_id))),
        }
    }

    fn refuse(&mut self, qos: QoS, packet_id: u16, topic: &str, refusal: Refusal) -> Result<(), Ending> {
        tracing::debug!(client = %self.client.client_id, %topic, %refusal, "publish refused");
        self.refuse_publish(qos, packet_id, topic, refusal)
    }

    async fn handle_packet(&mut self, packet: Packet, owed: &mut VecDeque<Owed>) -> Result<(), Ending> {
        let Packet::Publish(publish) = packet else {
            self.settle(owed).await?;
            return self.handle_control(packet).await;
        };
        // At most a receive window of publishes in flight per connection.
        if owed.len() >= usize::from(self.broker.config.mqtt.receive_maximum) {
            if let Some(oldest) = owed.pop_front() {
                self.settle_one(oldest).await?;
            }
        }
        let entry = self.handle_publish(publish, owed).await?;
        owed.push_back(entry);
        Ok(())
    }

    /// Every packet but PUBLISH.
    async fn handle_control(&mut self, packet: Packet) -> Result<(), Ending> {
        match packet {
            Packet::PubAck(ack) => {
                self.complete_outbound(ack.packet_id, QoS::AtLeastOnce).await;
                Ok(())
            }
            Packet::PubRec(rec) => self.handle_pubrec(rec).await,
            Packet::PubRel(rel) => self.handle_pubrel(rel).await,
            Packet::PubComp(comp) => {
                self.complete_outbound(comp.packet_id, QoS::ExactlyOnce).await;
                Ok(())
            }
            Packet::Subscribe(subscribe) => self.handle_subscribe(subscribe).await,
            Packet::Unsubscribe(unsubscribe) => self.handle_unsubscribe(unsubscribe).await,
            Packet::PingReq => self.send(Packet::PingResp),
            Packet::Disconnect(disconnect) => Err(self.handle_disconnect(disconnect)),
            Packet::Connect(_) => Err(Ending::Violation(ReasonCode::PROTOCOL_ERROR, "a second CONNECT".into())),
            Packet::Auth(_) => Err(Ending::Violation(
                ReasonCode::PROTOCOL_ERROR,
                "AUTH without an authentication method in CONNECT".into(),
            )),
            other => Err(Ending::Violation(ReasonCode::PROTOCOL_ERROR, format!("{} is sent only by servers", other.name()))),
        }
    }

    /// Runs a publish through authorize -> validate -> moderate and submits it to persist;
    /// [`Connection::settle_one`] acknowledges and fans it out once it is durable.
    async fn handle_publish(&mut self, publish: Publish, owed: &VecDeque<Owed>) -> Result<Owed, Ending> {
        if !publish.properties.subscription_identifiers.is_empty() {
            return Err(Ending::Violation(ReasonCode::PROTOCOL_ERROR, "a client may not send subscription identifiers".into()));
        }
        let topic = self.resolve_topic(&publish)?;
        if publish.retain && !self.broker.config.mqtt.retain_available && self.version == ProtocolVersion::V5 {
            // The CONNACK said Retain Available = 0, and PUBACK/PUBREC have no code for this:
            // MQTT 5.0 section 3.3.1.3 has the server disconnect with 0x9A.
            return Err(Ending::Violation(ReasonCode::RETAIN_NOT_SUPPORTED, "retained messages are not available".into()));
        }
        let (qos, packet_id) = (publish.qos, publish.packet_id);
        let owe = |outcome| Ok(Owed { qos, packet_id, topic: topic.clone(), outcome });
        let limits = &self.broker.config.limits;
        // Derived from the configuration when needed rather than kept in every connection.
        let publish_rate = Rate::new(limits.publish_rate, limits.publish_burst);
        if !self.publish_bucket.take(Instant::now(), &publish_rate) {
            let why = format!("more than {} publishes per second (burst {})", limits.publish_rate, limits.publish_burst);
            tracing::debug!(client = %self.client.client_id, "{why}");
            return match limits.over_publish_rate {
                OverRate::Disconnect => Err(Ending::Violation(ReasonCode::MESSAGE_RATE_TOO_HIGH, why)),
                OverRate::Refuse => owe(Owing::Refused(Refusal::new(ReasonCode::MESSAGE_RATE_TOO_HIGH, why))),
            };
        }
        if qos == QoS::ExactlyOnce {
            let owed_qos2 = || owed.iter().filter(|o| o.qos == QoS::ExactlyOnce);
            let state = self.attachment.session.state.lock();
            if state.incoming_qos2.contains(packet_id) || owed_qos2().any(|o| o.packet_id == packet_id) {
                // A resend of a QoS 2 message already stored: acknowledge again, deliver once.
                return owe(Owing::RepeatPubrec);
            }
            if state.incoming_qos2.len() + owed_qos2().count() >= usize::from(self.broker.config.mqtt.receive_maximum) {
                return Err(Ending::Violation(ReasonCode::RECEIVE_MAXIMUM_EXCEEDED, "too many unacknowledged QoS 2 publishes".into()));
            }
        }
        if &*topic == history::QUERY_TOPIC {
            self.answer_history_query(publish).await;
            return owe(Owing::Acknowledge);
        }
        let message = Message::from_publish(
            topic.clone(),
            publish.qos,
            publish.retain,
            publish.properties,
            publish.payload,
            self.client.client_id.clone(),
            Instant::now(),
        );
        // A persistent session's inbound QoS 2 id is stored with the message, so a resend
        // after a broker restart is still recognized.
        let incoming = (qos == QoS::ExactlyOnce && self.attachment.session.is_persistent()).then_some(packet_id);
        match self.broker.submit(&self.client, message, incoming).await {
            Ok(pending) => owe(Owing::Persisting(Box::new(pending))),
            Err(refusal) => owe(Owing::Refused(refusal)),
        }
    }

    /// Answers a `$history/query` publish with one reply delivered to this client only. The
    /// query is a request to the broker, not a message: it is not stored or routed.
    async fn answer_history_query(&mut self, publish: Publish) {
        let reply_body = match history::parse(&publish.payload) {
            Err(error) => serde_json::to_vec(&history::Failure { error }),
            Ok(query) => match self.broker.pipeline.authorize.history(&self.client, &query.topic) {
                Err(refusal) => serde_json::to_vec(&history::Failure { error: refusal.reason }),
                Ok(()) => {
                    let store = self.broker.store.clone();
                    let limit = query.limit.unwrap_or(usize::MAX).clamp(1, store.history_max_page());
                    let (topic, after) = (query.topic.clone(), query.after);
                    let read = tokio::task::spawn_blocking(move || {
                        let stored = store.read_after(&topic, after, limit)?;
                        // Held messages still waiting for release, and blocked ones.
                        let mut withheld = Vec::new();
                        for message in &stored {
                            let sequence = message.record.sequence;
                            let held = || store.is_held(&topic, sequence);
                            if crate::moderation::verdict::withheld(&message.record.annotations, held)? {
                                withheld.push(sequence);
                            }
                        }
                        Ok::<_, tallymq_storage::StorageError>((stored, withheld))
                    })
                    .await;
                    match read {
                        Ok(Ok((stored, withheld))) => {
                            serde_json::to_vec(&history::page(&query, limit, stored, |m| withheld.contains(&m.record.sequence)))
                        }
                        Ok(Err(error)) => serde_json::to_vec(&history::Failure { error: error.to_string() }),
                        Err(_) => serde_json::to_vec(&history::Failure { error: "history read failed".into() }),
                    }
                }
            },
        };
        let reply_topic = match (&publish.properties.response_topic, self.version) {
            (Some(topic), ProtocolVersion::V5) => topic.clone(),
            _ => format!("{}{}", history::REPLY_PREFIX, self.client.client_id),
        };
        let properties = PublishProperties {
            correlation_data: publish.properties.correlation_data.clone(),
            content_type: Some("application/json".into()),
            ..Default::default()
        };
        let reply = Message::from_publish(
            Arc::from(reply_topic),
            QoS::AtLeastOnce,
            false,
            properties,
            Bytes::from(reply_body.unwrap_or_default()),
            Arc::from(""),
            Instant::now(),
        );
        let outgoing = Outgoing { message: Arc::new(reply), qos: QoS::AtLeastOnce, retain: false, subscription_ids: vec![], durable: None };
        if self.attachment.session.enqueue(outgoing, self.broker.queue_limits()).is_err() {
            tracing::debug!(client = %self.client.client_id, "history reply dropped: session queue full");
        }
    }

    /// Sends PUBACK or PUBREC; with a refusal, its reason for 5.0 clients.
    fn acknowledge(&mut self, qos: QoS, packet_id: u16, refusal: Option<&Refusal>) -> Result<(), Ending> {
        let mut response = PubResponse::success(packet_id);
        if let Some(refusal) = refusal.filter(|_| self.version == ProtocolVersion::V5) {
            response.reason = refusal.code;
            if self.problem_information {
                response.properties.reason_string = Some(refusal.reason.clone());
            }
        }
        match qos {
            QoS::AtMostOnce => Ok(()),
            QoS::AtLeastOnce => self.send(Packet::PubAck(response)),
            QoS::ExactlyOnce => {
                if !response.reason.is_error() {
                    self.attachment.session.state.lock().incoming_qos2.insert(packet_id);
                }
                self.send(Packet::PubRec(response))
            }
        }
    }

    /// A refused publish: 5.0 clients read the reason in the acknowledgement; 3.1.1 clients
    /// (and 5.0 QoS 0 publishers, who get no acknowledgement) get a notice on their notice
    /// topic, and the message is acknowledged but not delivered.
    fn refuse_publish(&mut self, qos: QoS, packet_id: u16, topic: &str, refusal: Refusal) -> Result<(), Ending> {
        let acked_with_reason = self.version == ProtocolVersion::V5 && qos != QoS::AtMostOnce;
        self.acknowledge(qos, packet_id, Some(&refusal))?;
        if !acked_with_reason {
            let notice = serde_json::json!({
                "type": "publish_refused",
                "topic": topic,
                "packet_id": packet_id,
                "reason_code": refusal.code.0,
                "reason": refusal.reason,
            });
            let notice_topic = format!("{}{}", self.broker.config.mqtt.notice_topic_prefix, self.client.client_id);
            self.broker.publish_server_message(notice_topic, Bytes::from(notice.to_string()), QoS::AtLeastOnce);
        }
        Ok(())
    }

    /// The topic of a publish, resolving and recording 5.0 topic aliases.
    fn resolve_topic(&mut self, publish: &Publish) -> Result<Arc<str>, Ending> {
        let Some(alias) = publish.properties.topic_alias else {
            if publish.topic.is_empty() {
                return Err(Ending::Violation(ReasonCode::PROTOCOL_ERROR, "empty topic without a topic alias".into()));
            }
            return Ok(Arc::from(publish.topic.as_str()));
        };
        if alias == 0 || alias > self.broker.config.mqtt.topic_alias_maximum {
            return Err(Ending::Violation(ReasonCode::TOPIC_ALIAS_INVALID, format!("topic alias {alias} is out of range")));
        }
        if publish.topic.is_empty() {
            return self
                .aliases
                .as_ref()
                .and_then(|aliases| aliases.inbound.get(&alias))
                .cloned()
                .ok_or_else(|| Ending::Violation(ReasonCode::PROTOCOL_ERROR, format!("topic alias {alias} was never set")));
        }
        let topic: Arc<str> = Arc::from(publish.topic.as_str());
        self.aliases.get_or_insert_default().inbound.insert(alias, topic.clone());
        Ok(topic)
    }

    async fn handle_pubrec(&mut self, rec: PubResponse) -> Result<(), Ending> {
        let refused = rec.reason.is_error();
        let known = {
            let mut state = self.attachment.session.state.lock();
            match state.inflight.get_mut(&rec.packet_id) {
                Some(entry) if entry.outgoing.qos == QoS::ExactlyOnce && refused => {
                    // The receiver refused the message: the flow ends here.
                    state.inflight.remove(&rec.packet_id).map(|entry| entry.outgoing)
                }
                Some(entry) if entry.outgoing.qos == QoS::ExactlyOnce => {
                    entry.stage = InflightStage::AwaitingComp;
                    Some(entry.outgoing.clone())
                }
                _ => None,
            }
        };
        if refused {
            if let Some(outgoing) = known {
                self.forget_resend(rec.packet_id);
                self.forget_durable(outgoing.durable).await;
                return Ok(());
            }
        }
        let known = match known {
            Some(outgoing) => {
                self.forget_resend(rec.packet_id);
                // PUBREL may go out only once the new stage is durable: after a restart the
                // broker must resend PUBREL, not the PUBLISH.
                self.record_delivery(&outgoing, rec.packet_id, DeliveryStage::AwaitingComp).await;
                true
            }
            None => false,
        };
        let mut pubrel = PubResponse::success(rec.packet_id);
        if !known {
            pubrel.reason = ReasonCode::PACKET_IDENTIFIER_NOT_FOUND;
        }
        self.send(Packet::PubRel(pubrel))
    }

    async fn handle_pubrel(&mut self, rel: PubResponse) -> Result<(), Ending> {
        let known = self.attachment.session.state.lock().incoming_qos2.remove(rel.packet_id);
        if known && self.attachment.session.is_persistent() {
            // PUBCOMP frees the packet id for reuse: forget it durably first.
            let change = ops::delete_incoming(&self.client.client_id, rel.packet_id);
            if let Err(error) = self.broker.store.apply(vec![change]).await {
                tracing::warn!(client = %self.client.client_id, %error, "inbound QoS 2 state not cleared on disk");
            }
        }
        let mut pubcomp = PubResponse::success(rel.packet_id);
        if !known {
            pubcomp.reason = ReasonCode::PACKET_IDENTIFIER_NOT_FOUND;
        }
        self.send(Packet::PubComp(pubcomp))
    }

    /// PUBACK (QoS 1) or PUBCOMP (QoS 2) ends an outbound flow and frees its in-flight slot.
    async fn complete_outbound(&mut self, packet_id: u16, qos: QoS) {
        let completed = {
            let mut state = self.attachment.session.state.lock();
            let matches = state.inflight.get(&packet_id).is_some_and(|entry| match qos {
                QoS::AtLeastOnce => entry.outgoing.qos == QoS::AtLeastOnce,
                _ => entry.stage == InflightStage::AwaitingComp,
            });
            if matches {
                state.inflight.remove(&packet_id)
            } else {
                None
            }
        };
        match completed {
            Some(entry) => {
                self.forget_resend(packet_id);
                self.forget_durable(entry.outgoing.durable).await;
            }
            None => tracing::debug!(client = %self.client.client_id, packet_id, "acknowledgement for an unknown packet id ignored"),
        }
    }

    async fn handle_subscribe(&mut self, subscribe: Subscribe) -> Result<(), Ending> {
        let limits = self.broker.pipeline.validate.topic_limits();
        let max_subscriptions = self.broker.config.mqtt.max_subscriptions_per_client as usize;
        let session = self.attachment.session.clone();
        let mut reasons = Vec::with_capacity(subscribe.filters.len());
        for (raw, options) in &subscribe.filters {
            let parsed = match topic::parse_subscription(raw, limits) {
                Ok(parsed) => parsed,
                Err(error) => {
                    tracing::debug!(client = %self.client.client_id, filter = %raw, %error, "subscription refused");
                    reasons.push(ReasonCode::TOPIC_FILTER_INVALID);
                    continue;
                }
            };
            if parsed.share_group.is_some() && options.no_local {
                return Err(Ending::Violation(ReasonCode::PROTOCOL_ERROR, "No Local on a shared subscription".into()));
            }
            let is_new = !session.state.lock().subscriptions.contains_key(raw.as_str());
            if is_new && session.state.lock().subscriptions.len() >= max_subscriptions {
                reasons.push(ReasonCode::QUOTA_EXCEEDED);
                continue;
            }
            if let Err(refusal) = self.broker.pipeline.authorize.subscribe(&self.client, parsed.filter) {
                reasons.push(refusal.code);
                continue;
            }
            let subscription = Subscription { options: *options, identifier: subscribe.subscription_identifier };
            let existed = self.broker.router.subscribe(&self.client.client_id, parsed.share_group, parsed.filter, subscription);
            session.state.lock().subscriptions.insert(Box::from(raw.as_str()), subscription);
            reasons.push(ReasonCode(options.qos as u8));
            let send_retained = parsed.share_group.is_none()
                && match options.retain_handling {
                    RetainHandling::SendAlways => true,
                    RetainHandling::SendIfNew => !existed,
                    RetainHandling::DoNotSend => false,
                };
            if send_retained {
                let access = &self.broker.pipeline.authorize.access;
                let readable = self.broker.retained.matching(parsed.filter).into_iter();
                for message in readable.filter(|m| access.may_read(&Principal::of(&self.client), &m.topic)) {
                    let outgoing = Outgoing {
                        qos: options.qos.min(message.qos),
                        retain: true,
                        subscription_ids: subscribe.subscription_identifier.into_iter().collect(),
                        durable: None,
                        message,
                    };
                    let _ = session.enqueue(outgoing, self.broker.queue_limits());
                }
            }
        }
        // A persistent session's subscriptions are durable before SUBACK.
        if let Err(error) = self.broker.save_session(&session).await {
            tracing::warn!(client = %self.client.client_id, %error, "subscriptions not stored");
        }
        let suback = SubAck { packet_id: subscribe.packet_id, properties: AckProperties::default(), reasons };
        self.send(Packet::SubAck(suback))
    }

    async fn handle_unsubscribe(&mut self, unsubscribe: Unsubscribe) -> Result<(), Ending> {
        let session = self.attachment.session.clone();
        let reasons = unsubscribe
            .filters
            .iter()
            .map(|raw| match session.state.lock().subscriptions.remove(raw.as_str()) {
                Some(_) => {
                    let parsed = topic::split_subscription(raw);
                    self.broker.router.unsubscribe(&self.client.client_id, parsed.share_group, parsed.filter);
                    ReasonCode::SUCCESS
                }
                None => ReasonCode::NO_SUBSCRIPTION_EXISTED,
            })
            .collect();
        if let Err(error) = self.broker.save_session(&session).await {
            tracing::warn!(client = %self.client.client_id, %error, "subscriptions not stored");
        }
        let unsuback = UnsubAck { packet_id: unsubscribe.packet_id, properties: AckProperties::default(), reasons };
        self.send(Packet::UnsubAck(unsuback))
    }

    fn handle_disconnect(&mut self, disconnect: Disconnect) -> Ending {
        if let Some(expiry) = disconnect.properties.session_expiry_interval {
            if self.connected_with_zero_expiry && expiry != 0 {
                return Ending::Violation(ReasonCode::PROTOCOL_ERROR, "session expiry cannot be set at DISCONNECT after 0 at CONNECT".into());
            }
            let capped = expiry.min(self.broker.config.mqtt.max_session_expiry_secs);
            self.attachment.session.state.lock().expiry_interval = capped;
        }
        if disconnect.reason == ReasonCode::DISCONNECT_WITH_WILL {
            Ending::ClientDisconnect(Departure::WithWill)
        } else {
            Ending::ClientDisconnect(Departure::Normal)
        }
    }

    /// After a session resumes: resend unacknowledged publishes (DUP) and pending PUBRELs,
    /// in order, while the client's receive window has room (MQTT 5.0 section 4.9).
    fn resend_inflight(&mut self) {
        while let Some(resend) = &mut self.resend {
            let Some(&packet_id) = resend.front() else {
                self.resend = None;
                return;
            };
            let entry = {
                let state = self.attachment.session.state.lock();
                if state.inflight.len().saturating_sub(resend.len()) >= usize::from(self.max_inflight) {
                    return;
                }
                state.inflight.get(&packet_id).cloned()
            };
            resend.pop_front();
            let Some(entry) = entry else { continue };
            let packet = match entry.stage {
                InflightStage::AwaitingAck => Packet::Publish(self.publish_packet(&entry.outgoing, packet_id, true)),
                InflightStage::AwaitingComp => Packet::PubRel(PubResponse::success(packet_id)),
            };
            if self.send(packet).is_err() {
                self.attachment.session.state.lock().inflight.remove(&packet_id);
            }
        }
    }

    /// An acknowledged id no longer waits for its resend.
    fn forget_resend(&mut self, packet_id: u16) {
        if let Some(resend) = &mut self.resend {
            resend.retain(|id| *id != packet_id);
        }
    }

    /// Moves queued messages to the wire while the client's in-flight window has room.
    async fn deliver(&mut self) -> Result<(), Ending> {
        // Two steps, so that the write does not wait with the encoding loop's state: the
        // larger of the two is part of every connection's task.
        self.encode_queued().await?;
        self.flush().await
    }

    /// Encodes queued messages into the write buffer while the client's in-flight window
    /// has room, writing out what a burst accumulates on the way.
    async fn encode_queued(&mut self) -> Result<(), Ending> {
        self.resend_inflight();
        let session = self.attachment.session.clone();
        let mut finished = Vec::new();
        loop {
            let now = Instant::now();
            let (outgoing, packet_id) = {
                let mut state = session.state.lock();
                let Some(front) = state.queue.front() else { break };
                // Access is checked again at delivery: a member removed from a room since the
                // message was queued does not receive it.
                if front.message.is_expired(now) || !self.may_receive(&front.message) {
                    finished.extend(state.queue.pop_front().and_then(|dropped| dropped.durable));
                    continue;
                }
                if front.qos != QoS::AtMostOnce && state.inflight.len() >= usize::from(self.max_inflight) {
                    break;
                }
                let Some(outgoing) = state.queue.pop_front() else { break };
                let packet_id = if outgoing.qos == QoS::AtMostOnce {
                    0
                } else {
                    let Some(id) = state.allocate_packet_id() else {
                        state.queue.push_front(outgoing);
                        break;
                    };
                    let order = state.next_order();
                    state.inflight.insert(id, Inflight { outgoing: outgoing.clone(), stage: InflightStage::AwaitingAck, order });
                    id
                };
                (outgoing, packet_id)
            };
            if outgoing.qos == QoS::ExactlyOnce {
                // Exactly once across a restart: the packet id is durable before the PUBLISH
                // leaves, so the broker resends it under the same id. Boxed: a store write's
                // state would otherwise sit in the packet loop of every connection.
                Box::pin(self.record_delivery(&outgoing, packet_id, DeliveryStage::AwaitingAck)).await;
            }
            let publish = self.publish_packet(&outgoing, packet_id, false);
            if let Err(too_large) = self.send(Packet::Publish(publish)) {
                // Larger than the client accepts: as if delivered (MQTT 5.0 section 3.1.2.25).
                if let Ending::Violation(..) = too_large {
                    session.state.lock().inflight.remove(&packet_id);
                    finished.extend(outgoing.durable);
                    continue;
                }
                return Err(too_large);
            }
            if self.write_buf.len() >= FLUSH_THRESHOLD {
                // Boxed, as only a burst gets here: the loop's state around a write would
                // otherwise be part of every connection's task.
                Box::pin(self.flush()).await?;
            }
        }
        if !finished.is_empty() {
            let changes = finished.into_iter().map(|order| ops::delete_queue_entry(&self.client.client_id, order)).collect();
            // Boxed, as rarely needed here (expired or refused deliveries).
            let _ = Box::pin(self.broker.store.apply_later(changes)).await;
        }
        Ok(())
    }

    /// Whether this client may still receive `message`. Messages from the server itself
    /// (notices, history replies) were addressed to this client and are not checked.
    fn may_receive(&self, message: &Message) -> bool {
        message.publisher.is_empty() || self.broker.pipeline.authorize.access.may_read(&Principal::of(&self.client), &message.topic)
    }

    /// Records on disk that a durable delivery went out under `packet_id`, at `stage`.
    async fn record_delivery(&self, outgoing: &Outgoing, packet_id: u16, stage: DeliveryStage) {
        let Some(order) = outgoing.durable else { return };
        let entry = outgoing.queue_entry(Some(Delivery { packet_id, stage }));
        let change = ops::put_queue_entry(&self.client.client_id, order, &entry);
        if let Err(error) = self.broker.store.apply(vec![change]).await {
            tracing::warn!(client = %self.client.client_id, %error, "delivery state not stored");
        }
    }

    /// A finished durable delivery leaves the session's stored queue.
    async fn forget_durable(&self, durable: Option<u64>) {
        if let Some(order) = durable {
            let change = ops::delete_queue_entry(&self.client.client_id, order);
            let _ = self.broker.store.apply_later(vec![change]).await;
        }
    }

    /// The PUBLISH for one delivery, with this connection's aliases and properties.
    fn publish_packet(&mut self, outgoing: &Outgoing, packet_id: u16, dup: bool) -> Publish {
        let message = &outgoing.message;
        let mut publish = Publish {
            dup,
            qos: outgoing.qos,
            retain: outgoing.retain,
            topic: message.topic.to_string(),
            packet_id,
            properties: Default::default(),
            payload: message.payload.clone(),
        };
        if self.version == ProtocolVersion::V5 {
            let mut properties = message.properties.clone();
            properties.user_properties.extend(message.annotations.iter().cloned());
            if message.sequence > 0 {
                properties.user_properties.push((SEQUENCE_PROPERTY.to_string(), message.sequence.to_string()));
            }
            properties.subscription_identifiers = outgoing.subscription_ids.clone();
            properties.message_expiry_interval = message.remaining_expiry(Instant::now());
            if self.max_outbound_aliases > 0 {
                let outbound = &mut self.aliases.get_or_insert_default().outbound;
                if let Some(alias) = outbound.get(&message.topic) {
                    properties.topic_alias = Some(*alias);
                    publish.topic.clear();
                } else if outbound.len() < usize::from(self.max_outbound_aliases) {
                    let alias = outbound.len() as u16 + 1;
                    outbound.insert(message.topic.clone(), alias);
                    properties.topic_alias = Some(alias);
                }
            }
            publish.properties = properties;
        }
        publish
    }

    /// Encodes a packet into the write buffer. A packet larger than the client's maximum is
    /// not sent and yields `Violation(PACKET_TOO_LARGE)` for the caller to decide.
    fn send(&mut self, packet: Packet) -> Result<(), Ending> {
        let start = self.write_buf.len();
        if let Err(error) = codec::encode(&packet, self.version, &mut self.write_buf) {
            self.write_buf.truncate(start);
            tracing::warn!(client = %self.client.client_id, %error, "packet could not be encoded");
            return Err(Ending::Violation(ReasonCode::IMPLEMENTATION_SPECIFIC_ERROR, error.to_string()));
        }
        let size = self.write_buf.len() - start;
        if size > self.client_max_packet as usize {
            self.write_buf.truncate(start);
            // Reason strings and user properties are left out rather than exceed the
            // client's maximum (MQTT-3.1.2-25, MQTT-3.4.2-2 and the like for other packets).
            if let Some(plain) = without_diagnostics(&packet) {
                return self.send(plain);
            }
            if let Packet::Publish(publish) = &packet {
                // An alias set by a packet that never left must not be used later.
                let set_here = publish.properties.topic_alias.filter(|_| !publish.topic.is_empty());
                if let (Some(alias), Some(aliases)) = (set_here, &mut self.aliases) {
                    aliases.outbound.retain(|_, a| *a != alias);
                }
            }
            tracing::debug!(client = %self.client.client_id, size, limit = self.client_max_packet, "packet larger than the client accepts not sent");
            return Err(Ending::Violation(ReasonCode::PACKET_TOO_LARGE, "packet exceeds the client's maximum packet size".into()));
        }
        Ok(())
    }

    /// Writes the write buffer out, giving up if the connection is told to leave meanwhile.
    /// Written bytes leave the buffer as they go, so after an interruption the buffer holds
    /// exactly what the client has not received yet, starting at a packet boundary or inside
    /// the packet being written.
    async fn flush(&mut self) -> Result<(), Ending> {
        if self.write_buf.is_empty() {
            self.write_buf = BytesMut::new();
            return Ok(());
        }
        let Connection { stream, write_buf, attachment, .. } = self;
        while !write_buf.is_empty() {
            let written = tokio::select! {
                biased;
                reason = attachment.kicked.kicked() => return Err(Ending::Kicked(reason)),
                written = stream.write(write_buf) => written,
            };
            match written {
                Ok(0) | Err(_) => return Err(Ending::NetworkLost),
                Ok(n) => write_buf.advance(n),
            }
        }
        // All written: the memory goes back until the next packet is encoded.
        *write_buf = BytesMut::new();
        stream.flush().await.map_err(|_| Ending::NetworkLost)
    }

    /// Says goodbye as the ending requires, then detaches from the session.
    async fn finish(mut self, ending: Ending) {
        let departure = match &ending {
            Ending::ClientDisconnect(departure) => *departure,
            _ => Departure::WithWill,
        };
        let goodbye = match &ending {
            Ending::Violation(reason, why) => Some((*reason, why.clone())),
            Ending::Kicked(reason) => Some((*reason, reason.name().to_string())),
            _ => None,
        };
        if let Some((reason, why)) = goodbye {
            tracing::debug!(peer = %self.peer, client = %self.client.client_id, %reason, why, "closing connection");
            if self.version == ProtocolVersion::V5 {
                let mut disconnect = Disconnect::new(reason);
                disconnect.properties.reason_string = Some(why);
                // After whatever is still pending (the CONNACK at least), so the client never
                // sees a DISCONNECT first.
                let _ = self.send(Packet::Disconnect(disconnect));
            }
        }
        if matches!(ending, Ending::NetworkLost) {
            self.write_buf.clear();
        }
        if !self.write_buf.is_empty() {
            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                let _ = self.stream.write_all(&self.write_buf).await;
                let _ = self.stream.flush().await;
            })
            .await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), self.stream.shutdown()).await;
        tracing::debug!(peer = %self.peer, client = %self.client.client_id, ?ending, "client disconnected");
        self.broker.detach(self.attachment, departure).await;
    }
}

/// The packet without its Reason String and User Properties, if it is a response that has any.
fn without_diagnostics(packet: &Packet) -> Option<Packet> {
    let strip = |properties: &AckProperties| {
        (*properties != AckProperties::default()).then(AckProperties::default)
    };
    Some(match packet {
        Packet::PubAck(p) => Packet::PubAck(PubResponse { properties: strip(&p.properties)?, ..p.clone() }),
        Packet::PubRec(p) => Packet::PubRec(PubResponse { properties: strip(&p.properties)?, ..p.clone() }),
        Packet::PubRel(p) => Packet::PubRel(PubResponse { properties: strip(&p.properties)?, ..p.clone() }),
        Packet::PubComp(p) => Packet::PubComp(PubResponse { properties: strip(&p.properties)?, ..p.clone() }),
        Packet::SubAck(p) => Packet::SubAck(SubAck { properties: strip(&p.properties)?, ..p.clone() }),
        Packet::UnsubAck(p) => Packet::UnsubAck(UnsubAck { properties: strip(&p.properties)?, ..p.clone() }),
        Packet::Disconnect(d) if d.properties.reason_string.is_some() || !d.properties.user_properties.is_empty() => {
            let mut plain = d.clone();
            plain.properties.reason_string = None;
            plain.properties.user_properties.clear();
            Packet::Disconnect(plain)
        }
        _ => return None,
    })
}

/// The instant a token expiring at `expires_at` (seconds since the epoch) stops being
/// accepted, if connections close then.
fn credentials_expire(jwt: &tallymq_config::JwtConfig, expires_at: Option<u64>) -> Option<Instant> {
    let expires_at = expires_at.filter(|_| jwt.disconnect_at_expiry)?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let left = expires_at.saturating_add(u64::from(jwt.leeway_secs)).saturating_sub(now);
    // Far-future tokens: no timer worth keeping (and no Instant overflow).
    (left < 10 * 365 * 24 * 3600).then(|| Instant::now() + Duration::from_secs(left))
}

async fn send_and_close<S: AsyncWrite + Unpin, T>(stream: &mut S, bytes: Option<Bytes>) -> Option<T> {
    if let Some(bytes) = bytes {
        let _ = stream.write_all(&bytes).await;
        let _ = stream.flush().await;
    }
    let _ = stream.shutdown().await;
    None
}
