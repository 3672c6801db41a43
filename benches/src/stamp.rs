//! The stamp every load-generator payload starts with: who published it, its place in that
//! publisher's sequence and when it was sent.
//!
//! Receivers learn everything they account for from the payload itself, so loss, duplicates
//! and end-to-end latency are measured the same way whatever the broker does with MQTT
//! metadata (packet ids are per hop, properties may be dropped by a 3.1.1 path).
//!
//! Send times are nanoseconds on this process's monotonic clock ([`now_nanos`]): publishers
//! and subscribers of one run live in one process, so the latency is exact and never negative
//! whatever the wall clock does.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use thiserror::Error;

/// Marks a payload as one of ours: `tmqb` in ASCII.
pub const MAGIC: [u8; 4] = *b"tmqb";

/// Bytes of the stamp: magic, publisher id (u32), sequence (u64), send time (u64), all
/// big-endian. Payloads are at least this long.
pub const STAMP_LEN: usize = 4 + 4 + 8 + 8;

/// What a payload says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The publishing client, numbered from 0 within a run.
    pub publisher: u32,
    /// Position in that publisher's messages, from 0.
    pub sequence: u64,
    /// [`now_nanos`] when the publish was written to the socket buffer.
    pub sent_nanos: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StampError {
    #[error("payload of {0} bytes is shorter than a stamp ({STAMP_LEN} bytes)")]
    TooShort(usize),
    #[error("payload does not start with the load generator's magic bytes")]
    NotOurs,
}

impl Stamp {
    /// Writes the stamp over the first [`STAMP_LEN`] bytes of `payload`.
    ///
    /// # Panics
    /// If `payload` is shorter than [`STAMP_LEN`]; payload buffers are sized by the caller.
    pub fn write(&self, payload: &mut [u8]) {
        payload[..4].copy_from_slice(&MAGIC);
        payload[4..8].copy_from_slice(&self.publisher.to_be_bytes());
        payload[8..16].copy_from_slice(&self.sequence.to_be_bytes());
        payload[16..24].copy_from_slice(&self.sent_nanos.to_be_bytes());
    }

    /// Reads the stamp from the start of a received payload.
    pub fn read(payload: &[u8]) -> Result<Stamp, StampError> {
        if payload.len() < STAMP_LEN {
            return Err(StampError::TooShort(payload.len()));
        }
        if payload[..4] != MAGIC {
            return Err(StampError::NotOurs);
        }
        let u64_at = |at: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&payload[at..at + 8]);
            u64::from_be_bytes(bytes)
        };
        let mut publisher = [0u8; 4];
        publisher.copy_from_slice(&payload[4..8]);
        Ok(Stamp {
            publisher: u32::from_be_bytes(publisher),
            sequence: u64_at(8),
            sent_nanos: u64_at(16),
        })
    }
}

/// A payload of `size` bytes (at least [`STAMP_LEN`]): room for the stamp, then filler.
pub fn payload_buffer(size: usize) -> Vec<u8> {
    let mut payload = vec![b'x'; size.max(STAMP_LEN)];
    payload[..STAMP_LEN].fill(0);
    payload
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds since this process first asked for the time.
pub fn now_nanos() -> u64 {
    u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The instant of a [`now_nanos`] reading.
pub fn instant_of(nanos: u64) -> Instant {
    epoch() + Duration::from_nanos(nanos)
}

/// From the send time in a stamp to `received_nanos`; zero if the clock reading is older
/// (which the monotonic clock rules out for stamps of this process).
pub fn latency(stamp: &Stamp, received_nanos: u64) -> Duration {
    Duration::from_nanos(received_nanos.saturating_sub(stamp.sent_nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_round_trips_and_leaves_the_filler_alone() {
        let stamp = Stamp {
            publisher: 0xDEAD_BEEF,
            sequence: u64::MAX - 3,
            sent_nanos: 123_456_789_012,
        };
        let mut payload = payload_buffer(64);
        stamp.write(&mut payload);
        assert_eq!(payload.len(), 64);
        assert_eq!(Stamp::read(&payload), Ok(stamp));
        assert!(payload[STAMP_LEN..].iter().all(|&b| b == b'x'));
    }

    #[test]
    fn payloads_are_never_shorter_than_a_stamp() {
        assert_eq!(payload_buffer(0).len(), STAMP_LEN);
        assert_eq!(payload_buffer(STAMP_LEN + 1).len(), STAMP_LEN + 1);
    }

    #[test]
    fn foreign_and_truncated_payloads_are_refused() {
        assert_eq!(Stamp::read(b"hello"), Err(StampError::TooShort(5)));
        assert_eq!(Stamp::read(&[0u8; 40]), Err(StampError::NotOurs));
        let mut payload = payload_buffer(STAMP_LEN);
        Stamp {
            publisher: 1,
            sequence: 2,
            sent_nanos: 3,
        }
        .write(&mut payload);
        assert_eq!(
            Stamp::read(&payload[..STAMP_LEN - 1]),
            Err(StampError::TooShort(STAMP_LEN - 1))
        );
    }

    #[test]
    fn latency_is_receive_minus_send_and_never_negative() {
        let stamp = Stamp {
            publisher: 0,
            sequence: 0,
            sent_nanos: 1_000,
        };
        assert_eq!(latency(&stamp, 251_000), Duration::from_micros(250));
        assert_eq!(latency(&stamp, 10), Duration::ZERO);
        let before = now_nanos();
        let after = now_nanos();
        assert!(after >= before);
        assert!(instant_of(after) >= instant_of(before));
    }
}
