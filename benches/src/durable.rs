//! The durable-publish matrix: for each durability and publisher count, a fresh broker, P
//! QoS 1 publishers each on its own topic, and the ack latency and throughput they saw.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use bytes::Bytes;
use tallymq::codec::ProtocolVersion;
use tallymq_config::Durability;
use tokio::task::JoinSet;

use crate::latency;
use crate::publisher::{Budget, PublishTemplate, Publisher, PublisherStats, Schedule};
use crate::report::{fill_ratios, Cell};
use crate::target::{durability_name, RunningBroker};

/// Label of cells measured against a broker this run did not start.
pub const EXTERNAL: &str = "external";

/// Which broker the cells run against.
#[derive(Debug, Clone)]
pub enum Target {
    /// tallymq in this process, started afresh for every cell with each durability in turn.
    InProcess {
        durabilities: Vec<Durability>,
        data_parent: Option<PathBuf>,
    },
    /// A running broker; its durability is whatever it was configured with.
    External(SocketAddr),
}

/// Everything one matrix run needs.
#[derive(Debug, Clone)]
pub struct MatrixSettings {
    pub target: Target,
    /// Publisher counts, one cell each (per durability).
    pub publishers: Vec<usize>,
    /// Unacknowledged publishes per publisher.
    pub window: usize,
    pub payload_bytes: usize,
    pub protocol: ProtocolVersion,
    /// Publishing before measuring starts, per cell.
    pub warmup: Duration,
    /// Measured publishing per cell.
    pub duration: Duration,
    /// Most publishes per cell (all publishers together, warm-up included).
    pub max_messages: u64,
}

/// Runs every cell in order (durabilities outer, publisher counts inner), reporting each
/// as it completes to `on_cell`, and returns them with their ratios against `none`.
pub async fn run_matrix(
    settings: &MatrixSettings,
    mut on_cell: impl FnMut(&Cell),
) -> Result<Vec<Cell>> {
    let tag = run_tag();
    let mut cells = Vec::new();
    let plan: Vec<(Option<Durability>, usize)> = match &settings.target {
        Target::InProcess { durabilities, .. } => durabilities
            .iter()
            .flat_map(|durability| {
                settings
                    .publishers
                    .iter()
                    .map(move |publishers| (Some(*durability), *publishers))
            })
            .collect(),
        Target::External(_) => settings
            .publishers
            .iter()
            .map(|publishers| (None, *publishers))
            .collect(),
    };
    for (index, (durability, publishers)) in plan.into_iter().enumerate() {
        let broker = match (&settings.target, durability) {
            (Target::InProcess { data_parent, .. }, Some(durability)) => {
                RunningBroker::start(durability, data_parent.as_deref()).await?
            }
            (Target::External(address), _) => RunningBroker::external(*address),
            (Target::InProcess { .. }, None) => unreachable!("in-process cells have a durability"),
        };
        let label = durability.map_or(EXTERNAL, durability_name);
        let cell_tag = format!("{tag}-{index}");
        let outcome = run_cell(broker.address, label, publishers, settings, &cell_tag).await;
        broker.stop().await;
        let cell =
            outcome.with_context(|| format!("cell durability={label} publishers={publishers}"))?;
        on_cell(&cell);
        cells.push(cell);
    }
    fill_ratios(&mut cells);
    Ok(cells)
}

/// One cell against a running broker.
pub async fn run_cell(
    address: SocketAddr,
    durability: &str,
    publishers: usize,
    settings: &MatrixSettings,
    cell_tag: &str,
) -> Result<Cell> {
    let payload = payload(settings.payload_bytes);
    let mut connecting = JoinSet::new();
    for i in 0..publishers {
        let topic = format!("bench/durable/{cell_tag}/{i}");
        let client_id = format!("dp-{cell_tag}-{i}");
        let template = PublishTemplate::new(settings.protocol, &topic, payload.clone())?;
        let (protocol, window) = (settings.protocol, settings.window);
        connecting.spawn(async move {
            Publisher::connect(address, protocol, &client_id, template, window).await
        });
    }
    let mut connected = Vec::with_capacity(publishers);
    while let Some(joined) = connecting.join_next().await {
        connected.push(joined.context("a connecting publisher panicked")??);
    }

    let start = Instant::now();
    let schedule = Schedule {
        measure_from: start + settings.warmup,
        stop_at: start + settings.warmup + settings.duration,
    };
    let budget = Arc::new(Budget::new(settings.max_messages));
    let mut running = JoinSet::new();
    for publisher in connected {
        let budget = budget.clone();
        running.spawn(async move { publisher.run(schedule, &budget).await });
    }
    let mut all = Vec::with_capacity(publishers);
    while let Some(joined) = running.join_next().await {
        all.push(joined.context("a publisher panicked")??);
    }
    Ok(summarize_cell(
        durability, publishers, settings, schedule, &all,
    ))
}

/// Merges what the publishers of one cell saw into its figures.
fn summarize_cell(
    durability: &str,
    publishers: usize,
    settings: &MatrixSettings,
    schedule: Schedule,
    stats: &[PublisherStats],
) -> Cell {
    let mut histogram = latency::histogram();
    for s in stats {
        histogram
            .add(&s.histogram)
            .expect("histograms with the same bounds merge");
    }
    let last_ack = stats.iter().filter_map(|s| s.last_measured_ack).max();
    let measured_secs = last_ack.map_or(0.0, |at| {
        at.saturating_duration_since(schedule.measure_from)
            .as_secs_f64()
    });
    let measured_acks: u64 = stats.iter().map(|s| s.measured_acks).sum();
    Cell {
        durability: durability.to_string(),
        publishers,
        window: settings.window,
        payload_bytes: settings.payload_bytes,
        published: stats.iter().map(|s| s.published).sum(),
        acked: stats.iter().map(|s| s.acked).sum(),
        refused: stats.iter().map(|s| s.refused).sum(),
        measured_acks,
        measured_secs,
        msgs_per_sec: if measured_secs > 0.0 {
            measured_acks as f64 / measured_secs
        } else {
            0.0
        },
        latency: latency::summarize(&histogram),
        ratio_vs_none: None,
    }
}

/// A payload of `len` bytes that does not compress to nothing (xorshift noise).
pub fn payload(len: usize) -> Bytes {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect::<Vec<u8>>();
    Bytes::from(bytes)
}

/// Eight hex digits that keep this run's topics and client ids apart from other runs'.
fn run_tag() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{:08x}",
        (nanos as u64 ^ u64::from(std::process::id()).rotate_left(32)) as u32
    )
}
