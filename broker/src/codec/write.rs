//! Writing the MQTT data representations, either into a buffer or into a byte counter.
//!
//! The remaining length precedes the body it measures and is itself of variable size, so the
//! encoder runs each body twice: once into a [`Counter`] and once into the output buffer. That
//! keeps one description of every layout and copies a publish payload exactly once.

use std::borrow::Cow;

use bytes::{BufMut, BytesMut};

use super::read::VBI_MAX;

/// Why a value cannot be written; the encoder adds the packet name.
pub(super) type Fault = Cow<'static, str>;

/// Where encoded bytes go.
pub(super) trait Sink {
    fn put_u8(&mut self, value: u8);
    fn put_slice(&mut self, value: &[u8]);

    fn put_u16(&mut self, value: u16) {
        self.put_slice(&value.to_be_bytes());
    }

    fn put_u32(&mut self, value: u32) {
        self.put_slice(&value.to_be_bytes());
    }
}

impl Sink for BytesMut {
    fn put_u8(&mut self, value: u8) {
        BufMut::put_u8(self, value);
    }

    fn put_slice(&mut self, value: &[u8]) {
        self.extend_from_slice(value);
    }
}

/// A sink that only counts.
#[derive(Default)]
pub(super) struct Counter {
    pub(super) len: usize,
}

impl Sink for Counter {
    fn put_u8(&mut self, _: u8) {
        self.len = self.len.saturating_add(1);
    }

    fn put_slice(&mut self, value: &[u8]) {
        self.len = self.len.saturating_add(value.len());
    }
}

/// Writes a variable byte integer; values above 268,435,455 cannot be represented.
pub(super) fn put_vbi(s: &mut dyn Sink, value: usize, what: &str) -> Result<(), Fault> {
    let mut value = match u32::try_from(value) {
        Ok(v) if v <= VBI_MAX => v,
        _ => return Err(format!("{what} {value} exceeds {VBI_MAX}").into()),
    };
    loop {
        let mut byte = (value % 128) as u8;
        value /= 128;
        if value > 0 {
            byte |= 0x80;
        }
        s.put_u8(byte);
        if value == 0 {
            return Ok(());
        }
    }
}

/// Binary data: two byte length, then the bytes.
pub(super) fn put_binary(s: &mut dyn Sink, value: &[u8], what: &str) -> Result<(), Fault> {
    let len = u16::try_from(value.len())
        .map_err(|_| Fault::from(format!("{what} is {} bytes, more than 65535", value.len())))?;
    s.put_u16(len);
    s.put_slice(value);
    Ok(())
}

/// A UTF-8 string; U+0000 is refused because the peer must treat it as malformed.
pub(super) fn put_string(s: &mut dyn Sink, value: &str, what: &str) -> Result<(), Fault> {
    if value.contains('\0') {
        return Err(format!("{what} contains U+0000").into());
    }
    put_binary(s, value.as_bytes(), what)
}

/// Runs `body` against a counter and returns how many bytes it writes.
pub(super) fn measure(body: &dyn Fn(&mut dyn Sink) -> Result<(), Fault>) -> Result<usize, Fault> {
    let mut counter = Counter::default();
    body(&mut counter)?;
    Ok(counter.len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::read::parse_vbi;

    #[test]
    fn vbi_round_trips_at_boundaries() {
        for value in [0usize, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455] {
            let mut buf = BytesMut::new();
            put_vbi(&mut buf, value, "value").unwrap();
            let parsed = parse_vbi(&buf).unwrap().unwrap();
            assert_eq!(parsed, (value as u32, buf.len()));
        }
        assert!(put_vbi(&mut BytesMut::new(), 268_435_456, "value").is_err());
    }

    #[test]
    fn long_strings_are_refused() {
        let long = "x".repeat(65_536);
        assert!(put_string(&mut Counter::default(), &long, "s").is_err());
        assert!(put_string(&mut Counter::default(), &long[..65_535], "s").is_ok());
        assert!(put_string(&mut Counter::default(), "a\0b", "s").is_err());
    }
}
