//! One load-generator connection: connects, subscribes, then publishes on its schedule and
//! receives, until the run tells it to stop.
//!
//! A single task per connection does both directions with one `select!` over the socket and
//! its timers, so thousands of connections cost thousands of small tasks and nothing more.
//! Every acknowledgement flow is followed to the letter (QoS 1 PUBACK, QoS 2
//! PUBREC/PUBREL/PUBCOMP in both roles), because an unacknowledged message would be
//! redelivered and counted as a duplicate. Receipts are accounted by the stamp in the
//! payload ([`crate::stamp`]), never by packet ids, which are per hop.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use parking_lot::Mutex;
use tallymq::codec::{
    Disconnect, DisconnectProperties, Packet, ProtocolVersion, Publish, QoS, ReasonCode,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

use crate::accounting::ReceiveLog;
use crate::load::collector::{Collector, LocalLatencies};
use crate::load::scenario::{ClientSpec, PublishSpec};
use crate::pacing::sleep_until_opt;
use crate::stamp::{self, payload_buffer, Stamp};
use crate::wire::{decode_from, encode_into, ConnectOptions, PublishFrame, Wire, WireError};

/// Bytes waiting for the socket above which a QoS 0 publisher stops adding publishes: QoS 0
/// has no acknowledgement window, so this is what keeps its buffer bounded.
pub const WRITE_HIGH_WATER: usize = 64 * 1024;

/// How long a stopping connection may take to flush what it still has to write.
pub const FLUSH_ON_STOP: Duration = Duration::from_secs(2);

/// Packet id of the one SUBSCRIBE a connection sends before the run.
const SUBSCRIBE_PACKET_ID: u16 = 1;

/// How every connection of a run behaves.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub connect: ConnectOptions,
    /// QoS of publishes and subscriptions.
    pub qos: QoS,
    pub payload_bytes: usize,
    /// Publishes awaiting their acknowledgement per publisher (QoS 1 and 2).
    pub inflight: usize,
    /// Limit for connecting and for the SUBACK.
    pub setup_timeout: Duration,
}

/// When the run publishes, sent to every connection once all are ready.
#[derive(Debug, Clone, Copy)]
pub struct RunClock {
    pub start: Instant,
    /// No publish is due from here on.
    pub stop_publishing: Instant,
}

/// Live counters of a run, shared by all its connections.
#[derive(Debug, Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub acked: AtomicU64,
    pub refused: AtomicU64,
    /// Deliveries received, duplicates included.
    pub received: AtomicU64,
    /// Deliveries new to the connection that received them.
    pub fresh: AtomicU64,
    /// Publishers that sent everything due and have nothing unacknowledged.
    pub publishers_done: AtomicUsize,
    /// [`stamp::now_nanos`] of the last successful acknowledgement and the last fresh
    /// delivery (0: none yet).
    pub last_ack_nanos: AtomicU64,
    pub last_delivery_nanos: AtomicU64,
}

/// What the connections of a run share.
pub struct Shared {
    pub settings: ClientSettings,
    pub counters: Counters,
    /// End-to-end latencies (stamp to receipt) of fresh deliveries.
    pub delivery_latencies: Arc<Mutex<Collector>>,
    /// Publish to PUBACK (QoS 1) or PUBCOMP (QoS 2).
    pub ack_latencies: Arc<Mutex<Collector>>,
    /// Messages sent by each publisher, numbered `0..sent`.
    pub published: Vec<AtomicU64>,
}

impl Shared {
    pub fn new(settings: ClientSettings, publishers: usize) -> Shared {
        Shared {
            settings,
            counters: Counters::default(),
            delivery_latencies: Arc::new(Mutex::new(Collector::new())),
            ack_latencies: Arc::new(Mutex::new(Collector::new())),
            published: (0..publishers).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// What a connection reports when it ends.
#[derive(Debug)]
pub struct ClientOutcome {
    pub index: usize,
    pub log: ReceiveLog,
    /// Publishes still unacknowledged when it stopped.
    pub unacked: u64,
    pub error: Option<String>,
}

/// Signals from a connection to the run.
#[derive(Debug)]
pub enum Event {
    /// Connected and subscribed (or not).
    Ready {
        index: usize,
        result: Result<(), String>,
    },
    /// The connection failed during the run.
    Failed { index: usize, error: String },
}

/// The channels a connection listens to.
pub struct Control {
    pub clock: watch::Receiver<Option<RunClock>>,
    pub stop: watch::Receiver<bool>,
    pub events: mpsc::UnboundedSender<Event>,
}

/// Connects, subscribes, reports ready, then runs until stopped.
pub async fn run_client(
    index: usize,
    spec: ClientSpec,
    address: SocketAddr,
    shared: Arc<Shared>,
    control: Control,
) -> ClientOutcome {
    let settings = &shared.settings;
    let mut options = settings.connect.clone();
    options.persistent = spec.persistent;
    let setup = async {
        let mut wire =
            Wire::connect(address, &spec.client_id, &options, settings.setup_timeout).await?;
        wire.subscribe(
            &spec.subscriptions,
            settings.qos,
            SUBSCRIBE_PACKET_ID,
            settings.setup_timeout,
        )
        .await?;
        Ok::<Wire, WireError>(wire)
    };
    let wire = match setup.await {
        Ok(wire) => {
            let _ = control.events.send(Event::Ready {
                index,
                result: Ok(()),
            });
            wire
        }
        Err(e) => {
            let error = format!("{}: {e}", spec.client_id);
            let _ = control.events.send(Event::Ready {
                index,
                result: Err(error.clone()),
            });
            return ClientOutcome {
                index,
                log: ReceiveLog::default(),
                unacked: 0,
                error: Some(error),
            };
        }
    };
    let events = control.events.clone();
    let mut client = match LoadClient::new(wire, spec, shared.clone()) {
        Ok(client) => client,
        Err(e) => {
            let error = e.to_string();
            let _ = events.send(Event::Failed {
                index,
                error: error.clone(),
            });
            return ClientOutcome {
                index,
                log: ReceiveLog::default(),
                unacked: 0,
                error: Some(error),
            };
        }
    };
    let result = client.run(control).await;
    let error = match result {
        Ok(()) => None,
        Err(e) => {
            let error = format!("{}: {e}", client.client_id);
            let _ = events.send(Event::Failed {
                index,
                error: error.clone(),
            });
            Some(error)
        }
    };
    client.latencies.flush();
    client.acks.flush();
    ClientOutcome {
        index,
        unacked: client
            .publishing
            .as_ref()
            .map_or(0, |p| p.in_flight.len() as u64),
        log: std::mem::take(&mut client.log),
        error,
    }
}

/// A publisher's state once the run has started.
struct Publishing {
    spec: PublishSpec,
    frame: PublishFrame,
    clock: RunClock,
    next_sequence: u64,
    /// Packet id -> (send time, PUBREL sent).
    in_flight: HashMap<u16, (u64, bool)>,
    next_packet_id: u16,
    /// Nothing more is due.
    finished_sending: bool,
    /// Reported to the run as done.
    reported_done: bool,
}

struct LoadClient {
    client_id: String,
    persistent: bool,
    wire: Wire,
    shared: Arc<Shared>,
    publish_spec: Option<PublishSpec>,
    publishing: Option<Publishing>,
    clock: Option<RunClock>,
    write_buf: BytesMut,
    /// Inbound QoS 2 packet ids awaiting PUBREL (bounded by the broker's in-flight window).
    awaiting_release: HashSet<u16>,
    log: ReceiveLog,
    latencies: LocalLatencies,
    acks: LocalLatencies,
    keep_alive: Option<Duration>,
    last_write: Instant,
}

impl LoadClient {
    fn new(wire: Wire, spec: ClientSpec, shared: Arc<Shared>) -> Result<LoadClient, WireError> {
        let settings = &shared.settings;
        // A 5.0 broker may impose its own keep alive (Server Keep Alive).
        let keep_alive_secs = wire
            .connack
            .properties
            .server_keep_alive
            .unwrap_or(settings.connect.keep_alive_secs);
        let keep_alive =
            (keep_alive_secs > 0).then(|| Duration::from_secs(u64::from(keep_alive_secs)));
        if let Some(publish) = &spec.publish {
            // Validate the frame now rather than at the start signal.
            PublishFrame::new(
                wire.version,
                &publish.topic,
                settings.qos,
                &payload_buffer(settings.payload_bytes),
            )?;
        }
        Ok(LoadClient {
            client_id: spec.client_id,
            persistent: spec.persistent,
            latencies: LocalLatencies::new(shared.delivery_latencies.clone()),
            acks: LocalLatencies::new(shared.ack_latencies.clone()),
            wire,
            publish_spec: spec.publish,
            publishing: None,
            clock: None,
            write_buf: BytesMut::new(),
            awaiting_release: HashSet::new(),
            log: ReceiveLog::default(),
            keep_alive,
            last_write: Instant::now(),
            shared,
        })
    }

    /// The window a 5.0 broker allows (its Receive Maximum) and the one asked for.
    fn window(&self) -> usize {
        let asked = self.shared.settings.inflight.max(1);
        match self.wire.connack.properties.receive_maximum {
            Some(max) => asked.min(usize::from(max)),
            None => asked,
        }
    }

    async fn run(&mut self, mut control: Control) -> Result<(), WireError> {
        // Packets that came with the SUBACK are handled first.
        for packet in std::mem::take(&mut self.wire.early) {
            self.on_packet(packet)?;
        }
        let mut clock_open = true;
        let clock = *control.clock.borrow_and_update();
        if let Some(clock) = clock {
            self.start(clock)?;
        }
        loop {
            self.fill_publishes();
            self.check_done();
            let wake = self.next_wake();
            let (mut reader, mut writer) = self.wire.stream.split();
            tokio::select! {
                biased;
                changed = control.stop.changed() => {
                    if changed.is_err() || *control.stop.borrow() {
                        break;
                    }
                }
                changed = control.clock.changed(), if clock_open => {
                    match changed {
                        Ok(()) => {
                            let clock = *control.clock.borrow_and_update();
                            if let Some(clock) = clock {
                                self.start(clock)?;
                            }
                        }
                        Err(_) => clock_open = false,
                    }
                }
                read = reader.read_buf(&mut self.wire.read_buf) => {
                    if read? == 0 {
                        return Err(WireError::Closed(String::new()));
                    }
                    while let Some(packet) = decode_from(&mut self.wire.read_buf, self.wire.version)? {
                        self.on_packet(packet)?;
                    }
                }
                written = writer.write(&self.write_buf), if !self.write_buf.is_empty() => {
                    let written = written?;
                    if written == 0 {
                        return Err(WireError::Closed(" while writing".to_string()));
                    }
                    let _ = self.write_buf.split_to(written);
                    self.last_write = Instant::now();
                }
                _ = sleep_until_opt(wake) => {
                    if let Some(keep_alive) = self.keep_alive {
                        if self.last_write.elapsed() >= keep_alive / 2 && self.write_buf.is_empty() {
                            encode_into(&Packet::PingReq, self.wire.version, &mut self.write_buf)?;
                        }
                    }
                }
            }
        }
        self.leave().await
    }

    /// Flushes what is still to be written, says goodbye (ending a persistent 5.0 session,
    /// so that runs leave nothing behind) and closes the socket.
    async fn leave(&mut self) -> Result<(), WireError> {
        let mut disconnect = Disconnect::new(ReasonCode::NORMAL_DISCONNECTION);
        if self.wire.version == ProtocolVersion::V5 && self.persistent {
            disconnect.properties = DisconnectProperties {
                session_expiry_interval: Some(0),
                ..Default::default()
            };
        }
        encode_into(
            &Packet::Disconnect(disconnect),
            self.wire.version,
            &mut self.write_buf,
        )?;
        let flushing = async {
            self.wire.stream.write_all(&self.write_buf).await?;
            self.wire.stream.shutdown().await
        };
        // A broker that stopped reading is reported by the accounting, not here.
        let _ = tokio::time::timeout(FLUSH_ON_STOP, flushing).await;
        self.write_buf.clear();
        Ok(())
    }

    fn start(&mut self, clock: RunClock) -> Result<(), WireError> {
        self.clock = Some(clock);
        if let Some(spec) = self.publish_spec.take() {
            let settings = &self.shared.settings;
            let frame = PublishFrame::new(
                self.wire.version,
                &spec.topic,
                settings.qos,
                &payload_buffer(settings.payload_bytes),
            )?;
            self.publishing = Some(Publishing {
                spec,
                frame,
                clock,
                next_sequence: 0,
                in_flight: HashMap::new(),
                next_packet_id: 0,
                finished_sending: false,
                reported_done: false,
            });
        }
        Ok(())
    }

    /// Writes every publish that is due and fits the window.
    fn fill_publishes(&mut self) {
        let window = self.window();
        let qos = self.shared.settings.qos;
        let Some(p) = self.publishing.as_mut() else {
            return;
        };
        if p.finished_sending {
            return;
        }
        let now = Instant::now();
        loop {
            if p.next_sequence >= p.spec.max_messages {
                p.finished_sending = true;
                return;
            }
            let due = p.spec.pacing.due(p.clock.start, p.next_sequence);
            if due >= p.clock.stop_publishing || now >= p.clock.stop_publishing {
                p.finished_sending = true;
                return;
            }
            if due > now {
                return;
            }
            let room = match qos {
                QoS::AtMostOnce => self.write_buf.len() < WRITE_HIGH_WATER,
                _ => p.in_flight.len() < window,
            };
            if !room {
                return;
            }
            let packet_id = if qos == QoS::AtMostOnce {
                0
            } else {
                loop {
                    p.next_packet_id = p.next_packet_id.checked_add(1).unwrap_or(1);
                    if !p.in_flight.contains_key(&p.next_packet_id) {
                        break p.next_packet_id;
                    }
                }
            };
            let sent_nanos = stamp::now_nanos();
            let stamp = Stamp {
                publisher: p.spec.publisher,
                sequence: p.next_sequence,
                sent_nanos,
            };
            p.frame.write(packet_id, &stamp, &mut self.write_buf);
            p.next_sequence += 1;
            let counters = &self.shared.counters;
            counters.sent.fetch_add(1, Ordering::Relaxed);
            if let Some(published) = self.shared.published.get(p.spec.publisher as usize) {
                published.fetch_add(1, Ordering::Relaxed);
            }
            if qos == QoS::AtMostOnce {
                counters.acked.fetch_add(1, Ordering::Relaxed);
            } else {
                p.in_flight.insert(packet_id, (sent_nanos, false));
            }
        }
    }

    fn check_done(&mut self) {
        let Some(p) = self.publishing.as_mut() else {
            return;
        };
        let qos0_flushed = self.shared.settings.qos != QoS::AtMostOnce || self.write_buf.is_empty();
        if p.finished_sending && p.in_flight.is_empty() && qos0_flushed && !p.reported_done {
            p.reported_done = true;
            self.shared
                .counters
                .publishers_done
                .fetch_add(1, Ordering::Release);
        }
    }

    /// The next moment a timer must wake the loop: a publish due, or a keep-alive ping.
    fn next_wake(&self) -> Option<tokio::time::Instant> {
        let mut wake: Option<Instant> = None;
        if let Some(p) = &self.publishing {
            let window_open = match self.shared.settings.qos {
                QoS::AtMostOnce => self.write_buf.len() < WRITE_HIGH_WATER,
                _ => p.in_flight.len() < self.window(),
            };
            if !p.finished_sending && window_open {
                wake = Some(p.spec.pacing.due(p.clock.start, p.next_sequence));
            }
        }
        if let Some(keep_alive) = self.keep_alive {
            let ping = self.last_write + keep_alive / 2;
            wake = Some(wake.map_or(ping, |w| w.min(ping)));
        }
        wake.map(tokio::time::Instant::from_std)
    }

    fn on_packet(&mut self, packet: Packet) -> Result<(), WireError> {
        match packet {
            Packet::Publish(publish) => self.on_publish(publish),
            Packet::PubAck(ack) => {
                self.on_acknowledged(ack.packet_id, ack.reason, QoS::AtLeastOnce);
                Ok(())
            }
            Packet::PubRec(rec) => {
                if rec.reason.is_error() {
                    self.on_acknowledged(rec.packet_id, rec.reason, QoS::ExactlyOnce);
                } else if let Some(p) = self.publishing.as_mut() {
                    if let Some(entry) = p.in_flight.get_mut(&rec.packet_id) {
                        entry.1 = true;
                        write_short(&mut self.write_buf, 0x62, rec.packet_id);
                    }
                }
                Ok(())
            }
            Packet::PubComp(comp) => {
                self.on_acknowledged(comp.packet_id, comp.reason, QoS::ExactlyOnce);
                Ok(())
            }
            Packet::PubRel(rel) => {
                self.awaiting_release.remove(&rel.packet_id);
                write_short(&mut self.write_buf, 0x70, rel.packet_id);
                Ok(())
            }
            Packet::Disconnect(d) => Err(WireError::Closed(match d.properties.reason_string {
                Some(reason) => format!(" with DISCONNECT {} ({reason})", d.reason),
                None => format!(" with DISCONNECT {}", d.reason),
            })),
            // PINGRESP, late SUBACKs: nothing to do.
            _ => Ok(()),
        }
    }

    /// The end of a publish's flow: PUBACK, PUBCOMP, or a refusal in PUBACK/PUBREC.
    fn on_acknowledged(&mut self, packet_id: u16, reason: ReasonCode, flow: QoS) {
        let Some(p) = self.publishing.as_mut() else {
            return;
        };
        if self.shared.settings.qos != flow {
            return;
        }
        let Some((sent_nanos, _)) = p.in_flight.remove(&packet_id) else {
            return;
        };
        let counters = &self.shared.counters;
        if reason.is_error() {
            counters.refused.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let now = stamp::now_nanos();
        counters.acked.fetch_add(1, Ordering::Relaxed);
        counters.last_ack_nanos.fetch_max(now, Ordering::Relaxed);
        self.acks
            .record(second_of(&p.clock, now), now.saturating_sub(sent_nanos));
    }

    fn on_publish(&mut self, publish: Publish) -> Result<(), WireError> {
        match publish.qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => write_short(&mut self.write_buf, 0x40, publish.packet_id),
            QoS::ExactlyOnce => {
                write_short(&mut self.write_buf, 0x50, publish.packet_id);
                if !self.awaiting_release.insert(publish.packet_id) {
                    // Already received under this packet id; it is not a new delivery.
                    return Ok(());
                }
            }
        }
        let now = stamp::now_nanos();
        let counters = &self.shared.counters;
        counters.received.fetch_add(1, Ordering::Relaxed);
        match Stamp::read(&publish.payload) {
            Ok(stamp) => {
                if self.log.record(stamp.publisher, stamp.sequence) {
                    counters.fresh.fetch_add(1, Ordering::Relaxed);
                    counters
                        .last_delivery_nanos
                        .fetch_max(now, Ordering::Relaxed);
                    let second = self.clock.as_ref().map_or(0, |c| second_of(c, now));
                    self.latencies
                        .record(second, stamp::latency(&stamp, now).as_nanos() as u64);
                }
            }
            Err(_) => self.log.record_foreign(),
        }
        Ok(())
    }
}

/// Second of the run in which `nanos` ([`stamp::now_nanos`]) falls.
fn second_of(clock: &RunClock, nanos: u64) -> u32 {
    let at = stamp::instant_of(nanos);
    u32::try_from(at.saturating_duration_since(clock.start).as_secs()).unwrap_or(u32::MAX)
}

/// Appends a PUBACK (0x40), PUBREC (0x50), PUBREL (0x62) or PUBCOMP (0x70) with reason
/// Success: four bytes, the same in 3.1.1 and 5.0 (which omits a Success reason code).
fn write_short(out: &mut BytesMut, first_byte: u8, packet_id: u16) {
    let [high, low] = packet_id.to_be_bytes();
    out.extend_from_slice(&[first_byte, 0x02, high, low]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tallymq::codec::PubResponse;

    #[test]
    fn short_acknowledgements_decode_as_success_in_both_versions() {
        for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
            let mut out = BytesMut::new();
            write_short(&mut out, 0x40, 7);
            write_short(&mut out, 0x50, 8);
            write_short(&mut out, 0x62, 9);
            write_short(&mut out, 0x70, 10);
            let expected = [
                Packet::PubAck(PubResponse::success(7)),
                Packet::PubRec(PubResponse::success(8)),
                Packet::PubRel(PubResponse::success(9)),
                Packet::PubComp(PubResponse::success(10)),
            ];
            for packet in expected {
                assert_eq!(decode_from(&mut out, version).unwrap(), Some(packet));
            }
        }
    }

    #[test]
    fn seconds_are_counted_from_the_run_start() {
        let start = stamp::instant_of(stamp::now_nanos());
        let clock = RunClock {
            start,
            stop_publishing: start + Duration::from_secs(10),
        };
        let nanos_at = |offset: Duration| {
            u64::try_from(
                (start + offset)
                    .duration_since(stamp::instant_of(0))
                    .as_nanos(),
            )
            .unwrap()
        };
        assert_eq!(second_of(&clock, nanos_at(Duration::from_millis(999))), 0);
        assert_eq!(second_of(&clock, nanos_at(Duration::from_millis(2_500))), 2);
        assert_eq!(
            second_of(&clock, 0),
            0,
            "before the start counts as the first second"
        );
    }
}
