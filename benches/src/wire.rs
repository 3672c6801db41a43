//! A minimal MQTT client connection over raw TCP, speaking both protocol versions with
//! tallymq's own codec.
//!
//! The load generator opens thousands of these from one core, so a connection is a socket,
//! two buffers and nothing else: no task of its own, no channel per packet. It connects and
//! subscribes here; the publish and acknowledgement flows are driven by the load client
//! (`load::client`). A PUBLISH is encoded once into a [`PublishFrame`] and copied per message
//! with its packet id and stamp patched in, so the generator spends its time on the socket,
//! not in the encoder.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tallymq::codec::{
    self, ConnAck, Connect, ConnectProperties, Packet, ProtocolVersion, Publish, QoS, ReasonCode,
    Subscribe, SubscriptionOptions,
};
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::stamp::{Stamp, STAMP_LEN};

/// Largest packet accepted from the broker: payloads of the load generator are far smaller,
/// and anything larger means the stream is garbled.
pub const MAX_INBOUND_PACKET: u32 = 16 * 1024 * 1024;

/// Initial capacity of a connection's read buffer; it grows with the packets it holds.
pub const READ_BUFFER: usize = 4 * 1024;

#[derive(Debug, Error)]
pub enum WireError {
    #[error("cannot connect to {address}: {source}")]
    Connect {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("socket error: {0}")]
    Io(#[from] std::io::Error),
    #[error("the broker closed the connection{0}")]
    Closed(String),
    #[error("undecodable packet from the broker: {0}")]
    Decode(String),
    #[error("cannot encode {what}: {detail}")]
    Encode { what: &'static str, detail: String },
    #[error("CONNECT refused: {0}")]
    Refused(String),
    #[error("SUBSCRIBE refused for {filter}: {reason}")]
    SubscribeRefused { filter: String, reason: String },
    #[error("expected {expected}, got {got}")]
    Unexpected {
        expected: &'static str,
        got: &'static str,
    },
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// How a connection introduces itself.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub version: ProtocolVersion,
    /// Keep the session after disconnecting: 3.1.1 clean session 0, 5.0 clean start 0 with
    /// `session_expiry_secs`.
    pub persistent: bool,
    pub session_expiry_secs: u32,
    pub keep_alive_secs: u16,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// An MQTT connection after a successful CONNACK.
pub struct Wire {
    pub stream: TcpStream,
    pub version: ProtocolVersion,
    pub read_buf: BytesMut,
    /// Packets that arrived while waiting for a specific answer, in order, for the caller.
    pub early: Vec<Packet>,
    pub connack: ConnAck,
}

impl Wire {
    /// Connects, sends CONNECT and waits for a successful CONNACK, all within `timeout`.
    pub async fn connect(
        address: SocketAddr,
        client_id: &str,
        options: &ConnectOptions,
        timeout: Duration,
    ) -> Result<Wire, WireError> {
        let connecting = async {
            let stream = TcpStream::connect(address)
                .await
                .map_err(|source| WireError::Connect { address, source })?;
            stream.set_nodelay(true)?;
            let properties = ConnectProperties {
                session_expiry_interval: (options.persistent
                    && options.version == ProtocolVersion::V5)
                    .then_some(options.session_expiry_secs),
                ..ConnectProperties::default()
            };
            let connect = Connect {
                protocol: options.version,
                clean_start: !options.persistent,
                keep_alive: options.keep_alive_secs,
                properties,
                client_id: client_id.to_string(),
                will: None,
                username: options.username.clone(),
                password: options.password.clone().map(Bytes::from),
            };
            let mut wire = Wire {
                stream,
                version: options.version,
                read_buf: BytesMut::with_capacity(READ_BUFFER),
                early: Vec::new(),
                connack: ConnAck {
                    session_present: false,
                    reason: ReasonCode::SUCCESS,
                    properties: Default::default(),
                },
            };
            wire.send(&Packet::Connect(Box::new(connect))).await?;
            match wire.next_packet().await? {
                Packet::ConnAck(connack) if connack.reason.is_error() => Err(WireError::Refused(
                    match &connack.properties.reason_string {
                        Some(reason) => format!("{} ({reason})", connack.reason),
                        None => connack.reason.to_string(),
                    },
                )),
                Packet::ConnAck(connack) => {
                    wire.connack = connack;
                    Ok(wire)
                }
                other => Err(WireError::Unexpected {
                    expected: "CONNACK",
                    got: other.name(),
                }),
            }
        };
        tokio::time::timeout(timeout, connecting)
            .await
            .map_err(|_| WireError::Timeout(timeout))?
    }

    /// Subscribes to `filters` at `qos` in one SUBSCRIBE and waits for the SUBACK; every
    /// filter must be granted. Other packets arriving meanwhile are kept in `early`.
    pub async fn subscribe(
        &mut self,
        filters: &[String],
        qos: QoS,
        packet_id: u16,
        timeout: Duration,
    ) -> Result<(), WireError> {
        if filters.is_empty() {
            return Ok(());
        }
        let subscribe = Subscribe {
            packet_id,
            subscription_identifier: None,
            user_properties: Vec::new(),
            filters: filters
                .iter()
                .map(|f| {
                    (
                        f.clone(),
                        SubscriptionOptions {
                            qos,
                            ..Default::default()
                        },
                    )
                })
                .collect(),
        };
        self.send(&Packet::Subscribe(subscribe)).await?;
        let waiting = async {
            loop {
                match self.next_packet().await? {
                    Packet::SubAck(suback) if suback.packet_id == packet_id => {
                        for (filter, reason) in filters.iter().zip(&suback.reasons) {
                            if reason.is_error() {
                                return Err(WireError::SubscribeRefused {
                                    filter: filter.clone(),
                                    reason: reason.to_string(),
                                });
                            }
                        }
                        if suback.reasons.len() != filters.len() {
                            return Err(WireError::Decode(format!(
                                "SUBACK with {} reasons for {} filters",
                                suback.reasons.len(),
                                filters.len()
                            )));
                        }
                        return Ok(());
                    }
                    Packet::Disconnect(d) => {
                        return Err(WireError::Closed(format!(" with DISCONNECT {}", d.reason)))
                    }
                    other => self.early.push(other),
                }
            }
        };
        tokio::time::timeout(timeout, waiting)
            .await
            .map_err(|_| WireError::Timeout(timeout))?
    }

    /// Encodes and writes one packet.
    pub async fn send(&mut self, packet: &Packet) -> Result<(), WireError> {
        let mut out = BytesMut::new();
        encode_into(packet, self.version, &mut out)?;
        self.stream.write_all(&out).await?;
        Ok(())
    }

    /// Reads until one whole packet is buffered and returns it.
    pub async fn next_packet(&mut self) -> Result<Packet, WireError> {
        loop {
            if let Some(packet) = self.decode_buffered()? {
                return Ok(packet);
            }
            if self.stream.read_buf(&mut self.read_buf).await? == 0 {
                return Err(WireError::Closed(String::new()));
            }
        }
    }

    /// The next packet already in the read buffer, if a whole one is there.
    pub fn decode_buffered(&mut self) -> Result<Option<Packet>, WireError> {
        decode_from(&mut self.read_buf, self.version)
    }
}

/// Appends the encoding of `packet` to `out`.
pub fn encode_into(
    packet: &Packet,
    version: ProtocolVersion,
    out: &mut BytesMut,
) -> Result<(), WireError> {
    codec::encode(packet, version, out).map_err(|e| WireError::Encode {
        what: packet.name(),
        detail: e.to_string(),
    })
}

/// Decodes one packet from the front of `buf`, if a whole one is there.
pub fn decode_from(
    buf: &mut BytesMut,
    version: ProtocolVersion,
) -> Result<Option<Packet>, WireError> {
    codec::decode(buf, Some(version), MAX_INBOUND_PACKET)
        .map_err(|e| WireError::Decode(e.to_string()))
}

/// A PUBLISH encoded once; each message patches in its packet id and payload stamp.
#[derive(Debug, Clone)]
pub struct PublishFrame {
    bytes: Vec<u8>,
    /// Offset of the packet id (QoS 1 and 2 only).
    packet_id_at: Option<usize>,
    /// Offset of the payload, whose first bytes are the stamp.
    payload_at: usize,
}

impl PublishFrame {
    pub fn new(
        version: ProtocolVersion,
        topic: &str,
        qos: QoS,
        payload: &[u8],
    ) -> Result<PublishFrame, WireError> {
        let encode = |packet_id: u16| -> Result<Vec<u8>, WireError> {
            let publish = Publish {
                dup: false,
                qos,
                retain: false,
                topic: topic.to_string(),
                packet_id,
                properties: Default::default(),
                payload: Bytes::copy_from_slice(payload),
            };
            let mut out = BytesMut::new();
            encode_into(&Packet::Publish(publish), version, &mut out)?;
            Ok(out.to_vec())
        };
        let layout = |detail: &str| WireError::Encode {
            what: "PUBLISH",
            detail: detail.to_string(),
        };
        if payload.len() < STAMP_LEN {
            return Err(layout("payload shorter than a stamp"));
        }
        let bytes = encode(0x0101)?;
        let payload_at = bytes.len() - payload.len();
        let packet_id_at = if qos == QoS::AtMostOnce {
            None
        } else {
            // The packet id is wherever two encodings that differ only in it differ.
            let other = encode(0xFEFE)?;
            let differing: Vec<usize> =
                (0..bytes.len()).filter(|&i| bytes[i] != other[i]).collect();
            match differing[..] {
                [high, low] if low == high + 1 && other.len() == bytes.len() => Some(high),
                _ => return Err(layout("cannot locate the packet id")),
            }
        };
        Ok(PublishFrame {
            bytes,
            packet_id_at,
            payload_at,
        })
    }

    /// Appends the PUBLISH with `packet_id` (ignored at QoS 0) and `stamp` to `out`.
    pub fn write(&self, packet_id: u16, stamp: &Stamp, out: &mut BytesMut) {
        let start = out.len();
        out.extend_from_slice(&self.bytes);
        if let Some(at) = self.packet_id_at {
            out[start + at..start + at + 2].copy_from_slice(&packet_id.to_be_bytes());
        }
        stamp.write(&mut out[start + self.payload_at..start + self.payload_at + STAMP_LEN]);
    }

    /// Encoded size of one PUBLISH.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stamp::payload_buffer;

    #[test]
    fn frames_patch_packet_id_and_stamp_for_every_version_and_qos() {
        for version in [ProtocolVersion::V5, ProtocolVersion::V311] {
            for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
                let payload = payload_buffer(100);
                let frame = PublishFrame::new(version, "bench/x/1", qos, &payload).unwrap();
                let mut out = BytesMut::new();
                let stamps = [
                    Stamp {
                        publisher: 3,
                        sequence: 0,
                        sent_nanos: 11,
                    },
                    Stamp {
                        publisher: 3,
                        sequence: 1,
                        sent_nanos: 99_999,
                    },
                ];
                frame.write(7, &stamps[0], &mut out);
                frame.write(0xBEEF, &stamps[1], &mut out);
                assert_eq!(out.len(), 2 * frame.len());
                for (stamp, id) in stamps.iter().zip([7u16, 0xBEEF]) {
                    match decode_from(&mut out, version).unwrap() {
                        Some(Packet::Publish(p)) => {
                            assert_eq!(p.qos, qos);
                            assert_eq!(p.topic, "bench/x/1");
                            assert_eq!(p.payload.len(), 100);
                            assert_eq!(Stamp::read(&p.payload).unwrap(), *stamp);
                            if qos != QoS::AtMostOnce {
                                assert_eq!(p.packet_id, id);
                            }
                        }
                        other => panic!("{other:?}"),
                    }
                }
                assert!(out.is_empty());
            }
        }
    }

    #[test]
    fn a_payload_without_room_for_the_stamp_is_refused() {
        assert!(PublishFrame::new(ProtocolVersion::V5, "t", QoS::AtLeastOnce, b"short").is_err());
    }
}
