//! The broker under test: tallymq started in this process on a fresh data directory, or a
//! broker someone else runs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tallymq::server::Server;
use tallymq_config::{Config, Durability};

/// The `storage.durability` value as written in the configuration.
pub fn durability_name(durability: Durability) -> &'static str {
    match durability {
        Durability::Fsync => "fsync",
        Durability::Flush => "flush",
        Durability::None => "none",
    }
}

/// Parses a `storage.durability` value.
pub fn parse_durability(text: &str) -> Result<Durability, String> {
    match text {
        "fsync" => Ok(Durability::Fsync),
        "flush" => Ok(Durability::Flush),
        "none" => Ok(Durability::None),
        other => Err(format!(
            "unknown durability {other:?}: expected fsync, flush or none"
        )),
    }
}

/// The configuration of every broker this crate starts in-process: the defaults (what
/// production runs) except TCP on 127.0.0.1 with an ephemeral port, no WebSocket listener,
/// `durability`, `data_dir`, and what a load test from one address needs:
///
/// - `auth.mode = "open"`: load clients are anonymous and use topics of their own, which the
///   secure default refuses (`tallymq serve --open` does the same);
/// - the `[limits]` against abuse from one address or client at their maximum: every load
///   client connects from 127.0.0.1, and publishers go faster than one person would.
///
/// Kept in this one function so that a change of defaults that load tools must undo is
/// made once.
pub fn bench_config(durability: Durability, data_dir: &Path) -> Config {
    let mut config = Config::default();
    config.listener.tcp.address = SocketAddr::from(([127, 0, 0, 1], 0));
    config.listener.ws.enabled = false;
    config.storage.data_dir = data_dir.to_path_buf();
    config.storage.durability = durability;
    config.auth.mode = tallymq_config::AuthMode::Open;
    let limits = &mut config.limits;
    limits.max_connections_per_address = limits.max_connections;
    limits.connect_rate_per_address = 1_000_000;
    limits.connect_burst_per_address = 1_000_000;
    limits.publish_rate = 1_000_000;
    limits.publish_burst = 1_000_000;
    config
}

/// A broker ready for publishers.
pub struct RunningBroker {
    pub address: SocketAddr,
    server: Option<Server>,
    data: Option<tempfile::TempDir>,
}

impl RunningBroker {
    /// tallymq configured by [`bench_config`] with a new data directory under `data_parent`
    /// (the system temp dir if `None`), removed when the broker stops.
    pub async fn start(
        durability: Durability,
        data_parent: Option<&Path>,
    ) -> Result<RunningBroker> {
        let parent = data_parent
            .map(Path::to_path_buf)
            .unwrap_or_else(std::env::temp_dir);
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        let data = tempfile::Builder::new()
            .prefix("tallymq-bench-")
            .tempdir_in(&parent)
            .with_context(|| format!("cannot create a data directory in {}", parent.display()))?;
        let config = bench_config(durability, data.path());
        config
            .validate()
            .context("benchmark broker configuration")?;
        let server = Server::start(config)
            .await
            .context("the in-process broker did not start")?;
        let address = server
            .tcp_address
            .context("the in-process broker has no TCP listener")?;
        Ok(RunningBroker {
            address,
            server: Some(server),
            data: Some(data),
        })
    }

    /// A broker at `address` that this process neither starts nor stops.
    pub fn external(address: SocketAddr) -> RunningBroker {
        RunningBroker {
            address,
            server: None,
            data: None,
        }
    }

    pub fn data_dir(&self) -> Option<PathBuf> {
        self.data.as_ref().map(|d| d.path().to_path_buf())
    }

    /// Stops an in-process broker (closing its store) and removes its data directory.
    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
        if let Some(data) = self.data.take() {
            let _ = data.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durability_names_round_trip() {
        for durability in [Durability::Fsync, Durability::Flush, Durability::None] {
            assert_eq!(
                parse_durability(durability_name(durability)),
                Ok(durability)
            );
        }
        assert!(parse_durability("sync")
            .unwrap_err()
            .contains("fsync, flush or none"));
    }
}
