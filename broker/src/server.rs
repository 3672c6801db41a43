//! Listeners: accept TCP and WebSocket connections and spawn a connection task for each.
//!
//! `Server::start` binds every enabled listener before it returns, so callers (the binary and
//! the tests) know the real addresses, including ephemeral ports.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::broker::Broker;
use crate::connection;

/// Extra room over the largest MQTT packet for WebSocket framing.
const WS_FRAME_SLACK: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen for {what} on {address}: {source}")]
    Bind { what: &'static str, address: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Storage(#[from] tallymq_storage::StorageError),
}

/// A running broker.
pub struct Server {
    pub broker: Arc<Broker>,
    pub tcp_address: Option<SocketAddr>,
    pub ws_address: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    listeners: JoinSet<()>,
}

impl Server {
    pub async fn start(config: tallymq_config::Config) -> Result<Server, ServerError> {
        let broker = Broker::open(config)?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut listeners = JoinSet::new();
        let listener_config = broker.config.listener.clone();

        let mut tcp_address = None;
        if listener_config.tcp.enabled {
            let address = listener_config.tcp.address;
            let listener = TcpListener::bind(address).await.map_err(|source| ServerError::Bind { what: "MQTT", address, source })?;
            let bound = listener.local_addr().map_err(|source| ServerError::Bind { what: "MQTT", address, source })?;
            tracing::info!(address = %bound, "MQTT over TCP listening");
            tcp_address = Some(bound);
            listeners.spawn(accept_loop(broker.clone(), listener, None, shutdown_rx.clone()));
        }

        let mut ws_address = None;
        if listener_config.ws.enabled {
            let address = listener_config.ws.address;
            let listener =
                TcpListener::bind(address).await.map_err(|source| ServerError::Bind { what: "MQTT over WebSocket", address, source })?;
            let bound =
                listener.local_addr().map_err(|source| ServerError::Bind { what: "MQTT over WebSocket", address, source })?;
            tracing::info!(address = %bound, path = %listener_config.ws.path, "MQTT over WebSocket listening");
            ws_address = Some(bound);
            let path = Arc::<str>::from(listener_config.ws.path.as_str());
            listeners.spawn(accept_loop(broker.clone(), listener, Some(path), shutdown_rx.clone()));
        }

        Ok(Server { broker, tcp_address, ws_address, shutdown, listeners })
    }

    /// Stops accepting, asks every connection to leave (5.0 clients get DISCONNECT 0x8B),
    /// waits briefly for their tasks to end (they write wills and session records on the way
    /// out), then closes the store. Once every task has ended, the data directory is released
    /// when this returns.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
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

async fn accept_loop(broker: Arc<Broker>, listener: TcpListener, ws_path: Option<Arc<str>>, shutdown: watch::Receiver<bool>) {
    let mut stop = shutdown.clone();
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
        let _ = stream.set_nodelay(true);
        tokio::spawn(handle(broker.clone(), stream, peer, ws_path.clone(), shutdown.clone()));
    }
}

async fn handle(broker: Arc<Broker>, stream: TcpStream, peer: SocketAddr, ws_path: Option<Arc<str>>, shutdown: watch::Receiver<bool>) {
    match ws_path {
        None => connection::serve(broker, stream, peer, shutdown).await,
        Some(path) => {
            let max_message = broker.config.mqtt.max_packet_size as usize + WS_FRAME_SLACK;
            let timeout = Duration::from_secs(u64::from(broker.config.mqtt.connect_timeout_secs));
            match tokio::time::timeout(timeout, crate::ws::accept(stream, &path, max_message)).await {
                Ok(Ok(ws)) => connection::serve(broker, ws, peer, shutdown).await,
                Ok(Err(error)) => tracing::debug!(%peer, %error, "WebSocket handshake failed"),
                Err(_) => tracing::debug!(%peer, "WebSocket handshake timed out"),
            }
        }
    }
}
