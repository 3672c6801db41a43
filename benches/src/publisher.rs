//! One QoS 1 publisher connection over raw TCP, speaking MQTT with tallymq's codec.
//!
//! A publisher keeps up to `window` PUBLISH packets unacknowledged, records the time from
//! queuing each PUBLISH for the socket to reading its PUBACK, and stops at a deadline or when
//! the shared message budget runs out; then it waits for the PUBACKs still due and leaves
//! with a DISCONNECT.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use bytes::{Bytes, BytesMut};
use hdrhistogram::Histogram;
use tallymq::codec::{
    self, Connect, ConnectProperties, Disconnect, Packet, ProtocolVersion, Publish, QoS, ReasonCode,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::latency;
use crate::pacing::sleep_until_opt;

/// How long connecting and the CONNACK may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the PUBACKs still due may take after the last PUBLISH.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// A QoS 1 PUBLISH encoded once; each message patches in its packet id.
#[derive(Debug, Clone)]
pub struct PublishTemplate {
    bytes: Vec<u8>,
    packet_id_at: usize,
}

impl PublishTemplate {
    pub fn new(version: ProtocolVersion, topic: &str, payload: Bytes) -> Result<PublishTemplate> {
        let encode = |packet_id: u16| -> Result<Vec<u8>> {
            let publish = Publish {
                dup: false,
                qos: QoS::AtLeastOnce,
                retain: false,
                topic: topic.to_string(),
                packet_id,
                properties: Default::default(),
                payload: payload.clone(),
            };
            let mut out = BytesMut::new();
            codec::encode(&Packet::Publish(publish), version, &mut out)
                .map_err(|e| anyhow!("cannot encode PUBLISH: {e}"))?;
            Ok(out.to_vec())
        };
        // The packet id is wherever two encodings that differ only in it differ.
        let (a, b) = (encode(0x0101)?, encode(0xFEFE)?);
        let differing: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
        match differing[..] {
            [high, low] if low == high + 1 && a.len() == b.len() => Ok(PublishTemplate {
                bytes: a,
                packet_id_at: high,
            }),
            _ => bail!("cannot locate the packet id in an encoded PUBLISH"),
        }
    }

    /// Appends the PUBLISH with `packet_id` to `out`.
    pub fn write(&self, packet_id: u16, out: &mut BytesMut) {
        let start = out.len();
        out.extend_from_slice(&self.bytes);
        out[start + self.packet_id_at..start + self.packet_id_at + 2]
            .copy_from_slice(&packet_id.to_be_bytes());
    }

    /// Encoded size of one PUBLISH.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// Messages the publishers of one cell may still send, shared by all of them.
#[derive(Debug)]
pub struct Budget(AtomicU64);

impl Budget {
    pub fn new(messages: u64) -> Budget {
        Budget(AtomicU64::new(messages))
    }

    /// Takes one message from the budget; `false` once it is spent.
    pub fn take(&self) -> bool {
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(1)
            })
            .is_ok()
    }
}

/// When a cell measures and stops.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Publishes sent from here on are measured; earlier ones are warm-up.
    pub measure_from: Instant,
    /// No publish is sent from here on.
    pub stop_at: Instant,
}

/// What one publisher saw.
#[derive(Debug, Clone)]
pub struct PublisherStats {
    pub published: u64,
    pub acked: u64,
    pub refused: u64,
    /// Successful acks of measured publishes; their latencies are in `histogram`.
    pub measured_acks: u64,
    pub histogram: Histogram<u64>,
    /// When the last measured ack arrived.
    pub last_measured_ack: Option<Instant>,
}

/// A connected publisher, ready to run.
pub struct Publisher {
    stream: TcpStream,
    version: ProtocolVersion,
    template: PublishTemplate,
    window: usize,
    read_buf: BytesMut,
}

impl Publisher {
    /// Connects with a clean start and no session expiry, and checks the CONNACK. A 5.0
    /// broker's Receive Maximum must allow `window`.
    pub async fn connect(
        address: SocketAddr,
        version: ProtocolVersion,
        client_id: &str,
        template: PublishTemplate,
        window: usize,
    ) -> Result<Publisher> {
        let connecting = async {
            let mut stream = TcpStream::connect(address)
                .await
                .with_context(|| format!("cannot connect to {address}"))?;
            stream.set_nodelay(true)?;
            let connect = Connect {
                protocol: version,
                clean_start: true,
                keep_alive: 600,
                properties: ConnectProperties::default(),
                client_id: client_id.to_string(),
                will: None,
                username: None,
                password: None,
            };
            let mut out = BytesMut::new();
            codec::encode(&Packet::Connect(Box::new(connect)), version, &mut out)
                .map_err(|e| anyhow!("{e}"))?;
            stream.write_all(&out).await?;
            let mut read_buf = BytesMut::with_capacity(16 * 1024);
            let connack = loop {
                if let Some(packet) = codec::decode(&mut read_buf, Some(version), u32::MAX)
                    .map_err(|e| anyhow!("{e}"))?
                {
                    break packet;
                }
                if stream.read_buf(&mut read_buf).await? == 0 {
                    bail!("the broker closed the connection before CONNACK");
                }
            };
            let connack = match connack {
                Packet::ConnAck(connack) => connack,
                other => bail!("expected CONNACK, got {}", other.name()),
            };
            if connack.reason != ReasonCode::SUCCESS {
                bail!("CONNECT refused: {}", connack.reason);
            }
            if let Some(receive_maximum) = connack.properties.receive_maximum {
                if window > usize::from(receive_maximum) {
                    bail!("window {window} exceeds the broker's Receive Maximum {receive_maximum}");
                }
            }
            Ok(Publisher {
                stream,
                version,
                template,
                window,
                read_buf,
            })
        };
        tokio::time::timeout(CONNECT_TIMEOUT, connecting)
            .await
            .map_err(|_| anyhow!("no CONNACK from {address} within {CONNECT_TIMEOUT:?}"))?
            .with_context(|| format!("publisher {client_id}"))
    }

    /// Publishes until `schedule.stop_at` or until `budget` is spent, then collects the
    /// outstanding acks and disconnects.
    pub async fn run(mut self, schedule: Schedule, budget: &Budget) -> Result<PublisherStats> {
        let mut stats = PublisherStats {
            published: 0,
            acked: 0,
            refused: 0,
            measured_acks: 0,
            histogram: latency::histogram(),
            last_measured_ack: None,
        };
        let mut in_flight: HashMap<u16, Instant> = HashMap::with_capacity(self.window);
        let mut next_id: u16 = 0;
        let mut write_buf = BytesMut::with_capacity(self.template.len() * self.window.min(64));
        let mut sending = true;
        let mut drain_deadline = None;
        let (mut reader, mut writer) = self.stream.split();
        loop {
            if sending {
                while in_flight.len() < self.window {
                    if Instant::now() >= schedule.stop_at || !budget.take() {
                        sending = false;
                        break;
                    }
                    next_id = if next_id == u16::MAX { 1 } else { next_id + 1 };
                    while in_flight.contains_key(&next_id) {
                        next_id = if next_id == u16::MAX { 1 } else { next_id + 1 };
                    }
                    self.template.write(next_id, &mut write_buf);
                    in_flight.insert(next_id, Instant::now());
                    stats.published += 1;
                }
            }
            if !sending {
                if in_flight.is_empty() {
                    break;
                }
                drain_deadline.get_or_insert_with(|| tokio::time::Instant::now() + DRAIN_TIMEOUT);
            }
            tokio::select! {
                biased;
                written = writer.write(&write_buf), if !write_buf.is_empty() => {
                    let written = written.context("write to the broker failed")?;
                    if written == 0 {
                        bail!("the broker closed the connection");
                    }
                    let _ = write_buf.split_to(written);
                }
                read = reader.read_buf(&mut self.read_buf) => {
                    if read.context("read from the broker failed")? == 0 {
                        bail!("the broker closed the connection with {} publishes unacknowledged", in_flight.len());
                    }
                    let now = Instant::now();
                    while let Some(packet) = codec::decode(&mut self.read_buf, Some(self.version), u32::MAX)
                        .map_err(|e| anyhow!("undecodable packet from the broker: {e}"))?
                    {
                        match packet {
                            Packet::PubAck(ack) => {
                                let sent = in_flight
                                    .remove(&ack.packet_id)
                                    .ok_or_else(|| anyhow!("PUBACK for packet id {} not in flight", ack.packet_id))?;
                                if ack.reason.is_error() {
                                    stats.refused += 1;
                                    continue;
                                }
                                stats.acked += 1;
                                if sent >= schedule.measure_from {
                                    stats.measured_acks += 1;
                                    latency::record(&mut stats.histogram, now.saturating_duration_since(sent));
                                    stats.last_measured_ack = Some(now);
                                }
                            }
                            Packet::Disconnect(disconnect) => bail!("the broker disconnected: {}", disconnect.reason),
                            _ => {}
                        }
                    }
                }
                _ = sleep_until_opt(drain_deadline) => {
                    bail!("{} publishes unacknowledged {DRAIN_TIMEOUT:?} after the last one was sent", in_flight.len());
                }
            }
        }
        let mut out = BytesMut::new();
        let disconnect = Packet::Disconnect(Disconnect::new(ReasonCode::NORMAL_DISCONNECTION));
        if codec::encode(&disconnect, self.version, &mut out).is_ok() {
            let _ = self.stream.write_all(&out).await;
        }
        let _ = self.stream.shutdown().await;
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_patches_the_packet_id_for_both_versions() {
        for version in [ProtocolVersion::V5, ProtocolVersion::V311] {
            let payload = Bytes::from(vec![7u8; 300]);
            let template = PublishTemplate::new(version, "bench/t/1", payload.clone()).unwrap();
            let mut out = BytesMut::new();
            template.write(1, &mut out);
            template.write(0xABCD, &mut out);
            assert_eq!(out.len(), 2 * template.len());
            for expected in [1u16, 0xABCD] {
                match codec::decode(&mut out, Some(version), u32::MAX).unwrap() {
                    Some(Packet::Publish(p)) => {
                        assert_eq!(p.packet_id, expected);
                        assert_eq!(p.qos, QoS::AtLeastOnce);
                        assert_eq!(p.topic, "bench/t/1");
                        assert_eq!(p.payload, payload);
                    }
                    other => panic!("{other:?}"),
                }
            }
            assert!(out.is_empty());
        }
    }

    #[test]
    fn budget_is_shared_and_never_overspent() {
        let budget = Budget::new(3);
        assert!(budget.take());
        assert!(budget.take());
        assert!(budget.take());
        assert!(!budget.take());
        assert!(!budget.take());
    }
}
