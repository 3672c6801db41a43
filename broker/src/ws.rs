//! MQTT over WebSocket: the handshake and a byte-stream view of a WebSocket.
//!
//! MQTT treats a WebSocket connection as a byte stream carried in binary frames: a frame may
//! hold part of a packet or several packets. `WsByteStream` therefore implements
//! `AsyncRead`/`AsyncWrite`, so the connection task serves WebSocket clients exactly as TCP ones.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use futures_util::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tokio_tungstenite::WebSocketStream;

/// Subprotocol names MQTT clients offer; the first one offered that we know is echoed.
const SUBPROTOCOLS: [&str; 3] = ["mqtt", "mqttv3.1", "mqttv5"];

/// Accepts a WebSocket handshake on `path`, negotiating the MQTT subprotocol.
pub async fn accept<S>(stream: S, path: &str, max_message_size: usize) -> Result<WsByteStream<S>, WsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // The callback's signature is tungstenite's, large error variant included.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, mut response: Response| -> Result<Response, ErrorResponse> {
        if request.uri().path() != path {
            let mut refusal = ErrorResponse::new(Some(format!("no MQTT endpoint at {}", request.uri().path())));
            *refusal.status_mut() = StatusCode::NOT_FOUND;
            return Err(refusal);
        }
        let offered = request.headers().get_all("Sec-WebSocket-Protocol").iter().filter_map(|v| v.to_str().ok());
        let chosen = offered.flat_map(|v| v.split(',')).map(str::trim).find(|p| SUBPROTOCOLS.contains(p));
        if let Some(protocol) = chosen.and_then(|p| HeaderValue::from_str(p).ok()) {
            response.headers_mut().insert("Sec-WebSocket-Protocol", protocol);
        }
        Ok(response)
    };
    let config = WebSocketConfig {
        max_message_size: Some(max_message_size),
        max_frame_size: Some(max_message_size),
        ..WebSocketConfig::default()
    };
    let ws = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config)).await?;
    Ok(WsByteStream { inner: ws, pending: Bytes::new() })
}

pub struct WsByteStream<S> {
    inner: WebSocketStream<S>,
    /// Unread rest of the last binary frame.
    pending: Bytes,
}

fn to_io(error: WsError) -> io::Error {
    match error {
        WsError::Io(e) => e,
        WsError::ConnectionClosed | WsError::AlreadyClosed => io::ErrorKind::BrokenPipe.into(),
        other => io::Error::new(io::ErrorKind::InvalidData, other),
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for WsByteStream<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        loop {
            if !self.pending.is_empty() {
                let n = self.pending.len().min(buf.remaining());
                buf.put_slice(&self.pending[..n]);
                self.pending.advance(n);
                return Poll::Ready(Ok(()));
            }
            match ready!(Pin::new(&mut self.inner).poll_next(cx)) {
                None | Some(Ok(WsMessage::Close(_))) => return Poll::Ready(Ok(())),
                Some(Ok(WsMessage::Binary(data))) => self.pending = Bytes::from(data),
                Some(Ok(WsMessage::Text(_))) => {
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, "MQTT over WebSocket needs binary frames")))
                }
                // Pings are answered by tungstenite on the next write or flush.
                Some(Ok(_)) => {}
                Some(Err(e)) => return Poll::Ready(Err(to_io(e))),
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WsByteStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        ready!(Pin::new(&mut self.inner).poll_ready(cx)).map_err(to_io)?;
        Pin::new(&mut self.inner).start_send(WsMessage::Binary(data.to_vec())).map_err(to_io)?;
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx).map_err(to_io)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx).map_err(to_io)
    }
}
