//! Listeners: accept TCP, WebSocket, TLS and secure WebSocket connections and spawn a
//! connection task for each.
//!
//! `Server::start` binds every enabled listener before it returns, so callers (the binary and
//! the tests) know the real addresses, including ephemeral ports. It reads the TLS certificate
//! first, so that a bad certificate file stops the broker before anything is opened.
//!
//! Every accepted socket is first put to admission (`Broker::admission`): a socket over a
//! connection limit is closed before any handshake and before anything is read. An admitted
//! connection holds its permit until its task ends. The TLS and WebSocket handshakes run in
//! the connection's task, within `mqtt.connect_timeout_secs`, so a client that stalls its
//! handshake holds one task for at most that long and never holds up the accept loop.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::admission::ConnectionPermit;
use crate::broker::Broker;
use crate::connection;
use crate::reload::{ReloadOutcome, ReloadReport, Reloadable};
use crate::tls::{ServerTls, TlsError};

/// Extra room over the largest MQTT packet for WebSocket framing.
const WS_FRAME_SLACK: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen for {what} on {address}: {source}")]
    Bind { what: &'static str, address: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Open(#[from] crate::broker::OpenError),
    #[error(transparent)]
    Admin(#[from] crate::admin::AdminError),
}

/// What a listener speaks on top of TCP.
#[derive(Clone)]
enum Transport {
    Tcp,
    Ws { path: Arc<str> },
    Tls { tls: Arc<ServerTls> },
    Wss { tls: Arc<ServerTls>, path: Arc<str> },
}

impl Transport {
    /// For logs and bind errors.
    fn name(&self) -> &'static str {
        match self {
            Transport::Tcp => "MQTT over TCP",
            Transport::Ws { .. } => "MQTT over WebSocket",
            Transport::Tls { .. } => "MQTT over TLS",
            Transport::Wss { .. } => "MQTT over secure WebSocket",
        }
    }
}

/// A handshake before MQTT starts (TLS, WebSocket) that did not complete.
#[derive(Debug, thiserror::Error)]
enum HandshakeError {
    #[error("TLS handshake failed: {0}")]
    Tls(std::io::Error),
    #[error("WebSocket handshake failed: {0}")]
    Ws(tokio_tungstenite::tungstenite::Error),
}

/// A running broker.
pub struct Server {
    pub broker: Arc<Broker>,
    pub tcp_address: Option<SocketAddr>,
    pub ws_address: Option<SocketAddr>,
    /// MQTT over TLS, if `[listener.tls]` is enabled.
    pub tls_address: Option<SocketAddr>,
    /// MQTT over secure WebSocket, if `[listener.wss]` is enabled.
    pub wss_address: Option<SocketAddr>,
    /// The HTTP admin API, if `[admin]` is enabled.
    pub admin_address: Option<SocketAddr>,
    /// The certificate of the TLS listeners, if any is enabled.
    tls: Option<Arc<ServerTls>>,
    shutdown: watch::Sender<bool>,
    listeners: JoinSet<()>,
}

impl Server {
    pub async fn start(config: tallymq_config::Config) -> Result<Server, ServerError> {
        let listener_config = config.listener.clone();
        let tls = if listener_config.tls_enabled() {
            let tls = ServerTls::load(&listener_config.certificate)?;
            tracing::info!(chain = %tls.chain_file().display(), "TLS certificate loaded");
            Some(Arc::new(tls))
        } else {
            None
        };

        // The admin token is read before anything opens: a missing one stops the start.
        let admin = crate::admin::AdminListener::bind(&config.admin).await?;
        let broker = Broker::open(config)?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let ws_path = Arc::<str>::from(listener_config.ws.path.as_str());
        let wss_path = Arc::<str>::from(listener_config.wss.path.as_str());
        let mut server = Server {
            broker,
            tcp_address: None,
            ws_address: None,
            tls_address: None,
            wss_address: None,
            admin_address: None,
            tls: tls.clone(),
            shutdown,
            listeners: JoinSet::new(),
        };

        // A TLS transport exists only if the certificate was loaded, that is, if a TLS
        // listener is enabled.
        let wanted = [
            (listener_config.tcp.enabled, listener_config.tcp.address, Some(Transport::Tcp)),
            (listener_config.ws.enabled, listener_config.ws.address, Some(Transport::Ws { path: ws_path })),
            (listener_config.tls.enabled, listener_config.tls.address, tls.clone().map(|tls| Transport::Tls { tls })),
            (listener_config.wss.enabled, listener_config.wss.address, tls.map(|tls| Transport::Wss { tls, path: wss_path })),
        ];
        for (enabled, address, transport) in wanted {
            let Some(transport) = transport.filter(|_| enabled) else { continue };
            let what = transport.name();
            let bind_error = |source| ServerError::Bind { what, address, source };
            let listener = TcpListener::bind(address).await.map_err(bind_error)?;
            let bound = listener.local_addr().map_err(bind_error)?;
            let slot = match &transport {
                Transport::Tcp => &mut server.tcp_address,
                Transport::Ws { .. } => &mut server.ws_address,
                Transport::Tls { .. } => &mut server.tls_address,
                Transport::Wss { .. } => &mut server.wss_address,
            };
            *slot = Some(bound);
            match &transport {
                Transport::Ws { path } | Transport::Wss { path, .. } => tracing::info!(address = %bound, %path, "{what} listening"),
                Transport::Tcp | Transport::Tls { .. } => tracing::info!(address = %bound, "{what} listening"),
            }
            server.listeners.spawn(accept_loop(server.broker.clone(), listener, transport, shutdown_rx.clone()));
        }
        if let Some(admin) = admin {
            server.admin_address = Some(admin.local_addr());
            server.listeners.spawn(crate::admin::serve(server.broker.clone(), admin, shutdown_rx.clone()));
        }
        Ok(server)
    }

    /// Rereads what can change while the broker runs (see [`crate::reload`]): the TLS
    /// certificate and key, and the password file. New connections use what was reread; open connections keep what
    /// they have. An item that fails to load keeps its current version; the failure is logged
    /// naming the file, and returned in the report.
    pub fn reload(&self) -> ReloadReport {
        let mut report = ReloadReport::default();

        let certificate = match &self.tls {
            None => ReloadOutcome::NotConfigured,
            Some(tls) => match tls.reload() {
                Ok(()) => {
                    tracing::info!(chain = %tls.chain_file().display(), key = %tls.key_file().display(), "TLS certificate reloaded");
                    ReloadOutcome::Reloaded
                }
                Err(error) => {
                    tracing::error!(%error, "TLS certificate not reloaded; the current one stays in use");
                    ReloadOutcome::Failed(error.into())
                }
            },
        };
        report.push(Reloadable::TlsCertificate, certificate);

        let passwords = match self.broker.auth.reload_passwords() {
            Ok(None) => ReloadOutcome::NotConfigured,
            Ok(Some(_)) => ReloadOutcome::Reloaded,
            Err(error) => {
                tracing::error!(%error, "password file not reloaded; the users already loaded stay");
                ReloadOutcome::Failed(error.into())
            }
        };
        report.push(Reloadable::PasswordFile, passwords);

        report
    }

    /// Stops accepting, asks every connection to leave (5.0 clients get DISCONNECT 0x8B),
    /// waits briefly for their tasks to end (they write wills and session records on the way
    /// out), then closes the store. Once every task has ended, the data directory is released
    /// when this returns.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        self.broker.shut_down_connections();
        self.listeners.shutdown().await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        // Connection tasks hold the broker until they have detached; timers hold it weakly.
        while Arc::strong_count(&self.broker) > 1 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let broker = self.broker;
        let _ = tokio::task::spawn_blocking(move || {
            broker.close();
            drop(broker);
        })
        .await;
    }
}

async fn accept_loop(broker: Arc<Broker>, listener: TcpListener, transport: Transport, mut stop: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Over a limit: closed here, unread (admission logs and counts it).
        let Ok(permit) = broker.admission.admit(peer.ip()) else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        spawn_connection(broker.clone(), stream, peer, &transport, permit);
    }
}

/// Starts the task of an accepted connection: the transport's handshakes (bounded by the
/// connect timeout), then MQTT. The permit is held until the task ends.
///
/// A task's future is allocated for the life of the connection and is as large as its
/// largest state, so each transport gets a task of its own type, sized for its own stream,
/// and the handshakes are boxed and dropped once done. The server's shutdown reaches a
/// connection through its kick signal (`Broker::shut_down_connections`), which it waits on
/// anyway, rather than through a wait of its own on the shutdown channel.
fn spawn_connection(broker: Arc<Broker>, stream: TcpStream, peer: SocketAddr, transport: &Transport, permit: ConnectionPermit) {
    let timeout = Duration::from_secs(u64::from(broker.config.mqtt.connect_timeout_secs));
    let max_message = broker.config.mqtt.max_packet_size as usize + WS_FRAME_SLACK;
    match transport.clone() {
        Transport::Tcp => {
            tokio::spawn(tcp_task(broker, stream, peer, permit));
        }
        Transport::Ws { path } => {
            let handshake = async move { crate::ws::accept(stream, &path, max_message).await.map_err(HandshakeError::Ws) };
            let serving = serve_after(broker, peer, timeout, Box::pin(handshake));
            tokio::spawn(serving.map(move |()| drop(permit)));
        }
        Transport::Tls { tls } => {
            let handshake = async move { tls.acceptor().accept(stream).await.map_err(HandshakeError::Tls) };
            let serving = serve_after(broker, peer, timeout, Box::pin(handshake));
            tokio::spawn(serving.map(move |()| drop(permit)));
        }
        Transport::Wss { tls, path } => {
            let handshake = async move {
                let stream = tls.acceptor().accept(stream).await.map_err(HandshakeError::Tls)?;
                crate::ws::accept(stream, &path, max_message).await.map_err(HandshakeError::Ws)
            };
            let serving = serve_after(broker, peer, timeout, Box::pin(handshake));
            tokio::spawn(serving.map(move |()| drop(permit)));
        }
    }
}

/// The task of a plain TCP connection: the connection's future itself, releasing the permit
/// when it ends (no wrapping `async` block, which would keep a second copy of the arguments).
fn tcp_task(broker: Arc<Broker>, stream: TcpStream, peer: SocketAddr, permit: ConnectionPermit) -> impl Future<Output = ()> + Send {
    connection::serve(broker, stream, peer).map(move |()| drop(permit))
}

/// Serves MQTT on the stream `handshake` yields, if it completes within `timeout`.
///
/// The handshake comes boxed and is dropped once it has yielded the stream, so that its state
/// (TLS handshake, HTTP upgrade) does not stay allocated in the connection's task.
async fn serve_after<S>(
    broker: Arc<Broker>,
    peer: SocketAddr,
    timeout: Duration,
    handshake: Pin<Box<impl Future<Output = Result<S, HandshakeError>>>>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let handshaken = tokio::time::timeout(timeout, handshake).await;
    match handshaken {
        Ok(Ok(stream)) => connection::serve(broker, stream, peer).await,
        Ok(Err(error)) => tracing::debug!(%peer, %error, "handshake failed"),
        Err(_) => tracing::debug!(%peer, "handshake not completed within the connect timeout"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Most bytes the future of a TCP connection's task may take. It is allocated for the
    /// life of every connection, idle or not, and is as large as the largest state of the
    /// packet loop: 528 bytes when this bound was set (1,048 before the idle wait lost its
    /// waiter nodes and shutdown channel, 26 KiB before the CONNECT phase, the handshakes and
    /// the publish pipeline were boxed out of it). tokio adds 104 bytes to a task's future
    /// and rounds the allocation up to 128, so 536 is the most that keeps a connection's task
    /// at 640 bytes. Past the bound, a large state is back in the loop: box it, or raise the
    /// bound knowingly, to 664 for the next 128.
    const TCP_TASK_MAX_BYTES: usize = 536;

    /// The size of the future `task` returns, known from its type alone.
    fn output_size<A, B, C, D, F>(_task: impl FnOnce(A, B, C, D) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    #[test]
    fn a_tcp_connection_task_stays_small() {
        let size = output_size(tcp_task);
        assert!(size <= TCP_TASK_MAX_BYTES, "a TCP connection's task takes {size} bytes, more than {TCP_TASK_MAX_BYTES}");
    }
}
