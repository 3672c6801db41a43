//! A connection's read buffer, holding only what arrived and is not decoded yet.
//!
//! Most connections are idle most of the time (apps waiting for a notification), and what an
//! idle client sends is tiny: PINGREQ, an acknowledgement, now and then a subscription. A
//! read buffer per connection, sized for busy clients, would cost more than everything else
//! an idle connection holds. So each read goes into scratch space on the stack of the poll
//! that performs it, and only the bytes that arrived are copied into the connection's
//! buffer, which is given back once everything in it is decoded: a waiting connection holds
//! no read buffer at all. A busy connection still reads up to [`READ_SIZE`] bytes per system
//! call; the price is one copy of what was read. Only a packet in progress, which has a
//! buffer anyway, is read into directly, its buffer growing as the packet arrives.

use std::future::{poll_fn, Future};
use std::io;
use std::mem::MaybeUninit;
use std::pin::{pin, Pin};
use std::task::{ready, Context, Poll};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

/// Most bytes one read takes from the stream: the scratch space, on the stack only while the
/// read is polled.
pub const READ_SIZE: usize = 16 * 1024;

/// Bytes received and not decoded yet. At most one packet in progress (bounded by
/// `mqtt.max_packet_size`) and what one read brought after it.
#[derive(Debug, Default)]
pub struct ReadBuffer {
    buf: BytesMut,
}

impl ReadBuffer {
    /// An empty buffer that holds no memory.
    pub fn new() -> ReadBuffer {
        ReadBuffer::default()
    }

    /// The bytes received and not decoded yet; decoding takes complete packets off the front.
    pub fn bytes(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Heap memory held for reading.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Reads once from `stream`, appending what arrives; `Ok(0)` when the stream ended.
    ///
    /// Cancel-safe, as `AsyncReadExt::read`: if the future is dropped before it completes,
    /// nothing was read.
    pub async fn read_from<S: AsyncRead + Unpin>(&mut self, stream: &mut S) -> io::Result<usize> {
        poll_fn(|cx| self.poll_read_from(stream, cx)).await
    }

    /// [`ReadBuffer::read_from`] as a poll, for a task that waits on several things at once.
    pub fn poll_read_from<S: AsyncRead + Unpin>(&mut self, stream: &mut S, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.buf.is_empty() {
            // Everything received is decoded: the memory goes back before the wait (decoded
            // packets keep only the part they share).
            self.buf = BytesMut::new();
            return self.poll_read_scratch(stream, cx);
        }
        // A packet in progress, possibly a large one: its buffer grows and is read into
        // directly, without the copy. A read that is not ready reads nothing, so a fresh
        // one on every poll does what one kept across polls would.
        self.buf.reserve(READ_SIZE);
        pin!(stream.read_buf(&mut self.buf)).poll(cx)
    }

    fn poll_read_scratch<S: AsyncRead + Unpin>(&mut self, stream: &mut S, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let mut scratch = [MaybeUninit::<u8>::uninit(); READ_SIZE];
        let mut read = ReadBuf::uninit(&mut scratch);
        ready!(Pin::new(stream).poll_read(cx, &mut read))?;
        let arrived = read.filled();
        self.buf.extend_from_slice(arrived);
        Poll::Ready(Ok(arrived.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn a_waiting_connection_holds_no_buffer_and_keeps_only_what_arrived() {
        let (mut client, mut server) = tokio::io::duplex(64 * 1024);
        let mut buffer = ReadBuffer::new();
        client.write_all(&[0xC0, 0x00]).await.unwrap();
        assert_eq!(buffer.read_from(&mut server).await.unwrap(), 2);
        assert_eq!(&buffer.bytes()[..], &[0xC0, 0x00]);
        assert!(buffer.capacity() < 64, "only what arrived is kept: {}", buffer.capacity());
        let _ = buffer.bytes().split_to(2);

        // Decoded: the next read gives the memory back before it waits.
        let mut reading = Box::pin(buffer.read_from(&mut server));
        let first_poll = poll_fn(|cx| Poll::Ready(reading.as_mut().poll(cx))).await;
        assert!(first_poll.is_pending());
        drop(reading);
        assert_eq!(buffer.capacity(), 0);
    }

    #[tokio::test]
    async fn busy_reads_take_up_to_read_size_and_a_packet_in_progress_grows() {
        let (mut client, mut server) = tokio::io::duplex(1024 * 1024);
        let burst: Vec<u8> = (0..5 * READ_SIZE + 100).map(|i| i as u8).collect();
        client.write_all(&burst).await.unwrap();
        let mut buffer = ReadBuffer::new();
        let mut sizes = Vec::new();
        while buffer.bytes().len() < burst.len() {
            sizes.push(buffer.read_from(&mut server).await.unwrap());
        }
        // The first read into the scratch space; then the buffer holds a packet in
        // progress, and reads go straight into it as it grows.
        assert_eq!(sizes[0], READ_SIZE, "{sizes:?}");
        assert!(sizes.len() < 5, "reads grow with the packet in progress: {sizes:?}");
        assert_eq!(&buffer.bytes()[..], &burst[..]);
        drop(client);
        assert_eq!(buffer.read_from(&mut server).await.unwrap(), 0);
    }
}
