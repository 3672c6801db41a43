//! Bounds-checked reading of the MQTT data representations (MQTT 5.0 section 1.5).
//!
//! Every read checks the length it is about to consume against the bytes actually present, so a
//! length claimed by a peer can neither cause a panic nor an allocation larger than the packet
//! that is already in memory. Binary fields are `Bytes` slices of the packet, not copies.

use bytes::{Buf, Bytes};

use super::decode::DecodeError;

/// Largest value of a variable byte integer (four bytes of seven bits each).
pub(super) const VBI_MAX: u32 = 268_435_455;

/// Parses a variable byte integer at the front of `bytes`, returning the value and how many
/// bytes it took, or `None` if `bytes` ends before the integer does.
pub(super) fn parse_vbi(bytes: &[u8]) -> Result<Option<(u32, usize)>, DecodeError> {
    let mut value: u32 = 0;
    for (i, &byte) in bytes.iter().take(4).enumerate() {
        value |= u32::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            // A final zero byte after a continuation is a longer encoding than needed, which
            // the spec forbids (MQTT-1.5.5-1).
            if i > 0 && byte == 0 {
                return Err(DecodeError::malformed(
                    "variable byte integer is not minimally encoded",
                ));
            }
            return Ok(Some((value, i + 1)));
        }
    }
    if bytes.len() >= 4 {
        Err(DecodeError::malformed("variable byte integer longer than 4 bytes"))
    } else {
        Ok(None)
    }
}

/// A cursor over one packet's (or one property block's) bytes.
pub(super) struct Reader {
    buf: Bytes,
}

impl Reader {
    pub(super) fn new(buf: Bytes) -> Reader {
        Reader { buf }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn need(&self, n: usize, what: &str) -> Result<(), DecodeError> {
        if self.buf.len() < n {
            Err(DecodeError::malformed(format!("packet ends inside {what}")))
        } else {
            Ok(())
        }
    }

    pub(super) fn u8(&mut self, what: &str) -> Result<u8, DecodeError> {
        self.need(1, what)?;
        Ok(self.buf.get_u8())
    }

    pub(super) fn u16(&mut self, what: &str) -> Result<u16, DecodeError> {
        self.need(2, what)?;
        Ok(self.buf.get_u16())
    }

    pub(super) fn u32(&mut self, what: &str) -> Result<u32, DecodeError> {
        self.need(4, what)?;
        Ok(self.buf.get_u32())
    }

    pub(super) fn vbi(&mut self, what: &str) -> Result<u32, DecodeError> {
        match parse_vbi(&self.buf)? {
            Some((value, len)) => {
                self.buf.advance(len);
                Ok(value)
            }
            None => Err(DecodeError::malformed(format!("packet ends inside {what}"))),
        }
    }

    /// The next `n` bytes, as a slice of the packet.
    pub(super) fn take(&mut self, n: usize, what: &str) -> Result<Bytes, DecodeError> {
        self.need(n, what)?;
        Ok(self.buf.split_to(n))
    }

    /// Binary data: a two byte length and that many bytes.
    pub(super) fn binary(&mut self, what: &str) -> Result<Bytes, DecodeError> {
        let len = self.u16(what)?;
        self.take(usize::from(len), what)
    }

    /// A UTF-8 encoded string. Invalid UTF-8 (including surrogates) and U+0000 are malformed
    /// (MQTT-1.5.4-1, MQTT-1.5.4-2); other control characters are accepted.
    pub(super) fn string(&mut self, what: &str) -> Result<String, DecodeError> {
        let raw = self.binary(what)?;
        let text = std::str::from_utf8(&raw)
            .map_err(|_| DecodeError::malformed(format!("{what} is not valid UTF-8")))?;
        if text.contains('\0') {
            return Err(DecodeError::malformed(format!("{what} contains U+0000")));
        }
        Ok(text.to_owned())
    }

    /// Everything that is left, e.g. a PUBLISH payload.
    pub(super) fn rest(&mut self) -> Bytes {
        std::mem::take(&mut self.buf)
    }

    /// Fails unless every byte has been consumed: surplus bytes make a packet malformed.
    pub(super) fn finish(&self, packet: &str) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::malformed(format!(
                "{packet} has {} unexpected trailing bytes",
                self.buf.len()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::ReasonCode;

    #[test]
    fn vbi_boundaries() {
        assert_eq!(parse_vbi(&[0x00]).ok(), Some(Some((0, 1))));
        assert_eq!(parse_vbi(&[0x7F]).ok(), Some(Some((127, 1))));
        assert_eq!(parse_vbi(&[0x80, 0x01]).ok(), Some(Some((128, 2))));
        assert_eq!(parse_vbi(&[0xFF, 0x7F]).ok(), Some(Some((16_383, 2))));
        assert_eq!(parse_vbi(&[0x80, 0x80, 0x01]).ok(), Some(Some((16_384, 3))));
        assert_eq!(parse_vbi(&[0xFF, 0xFF, 0xFF, 0x7F]).ok(), Some(Some((VBI_MAX, 4))));
    }

    #[test]
    fn vbi_incomplete_and_invalid() {
        assert_eq!(parse_vbi(&[]).ok(), Some(None));
        assert_eq!(parse_vbi(&[0x80, 0x80, 0x80]).ok(), Some(None));
        let too_long = parse_vbi(&[0xFF, 0xFF, 0xFF, 0xFF, 0x01]);
        assert_eq!(too_long.map_err(|e| e.reason), Err(ReasonCode::MALFORMED_PACKET));
        let overlong = parse_vbi(&[0x80, 0x00]);
        assert_eq!(overlong.map_err(|e| e.reason), Err(ReasonCode::MALFORMED_PACKET));
    }

    #[test]
    fn reader_checks_lengths_before_reading() {
        // Claims five bytes, has two.
        let mut r = Reader::new(Bytes::from_static(&[0x00, 0x05, b'a', b'b']));
        assert_eq!(r.string("test").map_err(|e| e.reason), Err(ReasonCode::MALFORMED_PACKET));
        let mut r = Reader::new(Bytes::from_static(&[0x00]));
        assert_eq!(r.u16("test").map_err(|e| e.reason), Err(ReasonCode::MALFORMED_PACKET));
    }
}
