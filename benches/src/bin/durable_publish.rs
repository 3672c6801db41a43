//! `durable-publish`: ack latency and throughput of QoS 1 publishes that the broker stores
//! before it acknowledges them, for each `storage.durability` and publisher count.
//!
//! ```sh
//! durable-publish --durability fsync,flush,none --publishers 1,100 --json results.json
//! ```

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use tallymq::codec::ProtocolVersion;
use tallymq_benches::disk::{probe_sync, syncs_per_sec, SyncProbe};
use tallymq_benches::durable::{run_matrix, MatrixSettings, Target};
use tallymq_benches::latency::format_us;
use tallymq_benches::report::{render_table, thousands, Report, RunInfo};
use tallymq_benches::target::parse_durability;
use tallymq_config::Durability;

/// Longest measured period of one cell.
const MAX_DURATION_SECS: f64 = 300.0;
/// Longest warm-up of one cell.
const MAX_WARMUP_SECS: f64 = 60.0;
/// Most publishes of one cell.
const MAX_MESSAGES: u64 = 100_000_000;
/// Most publisher connections of one cell.
const MAX_PUBLISHERS: usize = 10_000;
/// fdatasync calls timed on the data disk before and after the matrix.
const SYNC_PROBE_SAMPLES: u64 = 50;
/// Largest payload (the broker's default maximum packet size is 1 MiB).
const MAX_PAYLOAD: usize = 1_000_000;

/// Measures how fast tallymq acknowledges QoS 1 publishes it must store first.
///
/// Each cell of the matrix (durability x publisher count) gets a fresh in-process broker and
/// data directory. Every publisher has its own topic and keeps `--window` publishes
/// unacknowledged; the latency of a publish is from sending it to its PUBACK. The table's
/// last column compares msgs/s with the `none` cell of the same publisher count.
#[derive(Debug, Parser)]
#[command(name = "durable-publish", version)]
struct Args {
    /// Durabilities to measure (storage.durability), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "fsync,flush,none", value_parser = parse_durability)]
    durability: Vec<Durability>,

    /// Publisher counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,100")]
    publishers: Vec<usize>,

    /// Unacknowledged publishes per publisher. 1 measures each publish's ack latency alone.
    #[arg(long, default_value_t = 1)]
    window: usize,

    /// Payload size of each message, in bytes.
    #[arg(long, default_value_t = 256)]
    payload: usize,

    /// MQTT protocol version: 5 or 3.1.1.
    #[arg(long, default_value = "5", value_parser = parse_protocol)]
    protocol: ProtocolVersion,

    /// Seconds of publishing before measuring, per cell.
    #[arg(long, default_value_t = 1.0)]
    warmup_secs: f64,

    /// Seconds of measured publishing per cell.
    #[arg(long, default_value_t = 8.0)]
    duration_secs: f64,

    /// Most publishes per cell, warm-up included; a cell ends at whichever limit comes first.
    #[arg(long, default_value_t = 2_000_000)]
    max_messages: u64,

    /// Measure a running broker at this host instead of starting tallymq in-process
    /// (`--durability` then does not apply).
    #[arg(long)]
    host: Option<String>,

    /// Port of the broker given with --host.
    #[arg(long, default_value_t = 1883, requires = "host")]
    port: u16,

    /// Directory in which each in-process broker gets its fresh data directory (default: the
    /// system temp directory). It must be on the disk to measure: fsync on tmpfs is free.
    #[arg(long)]
    data_parent: Option<PathBuf>,

    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn parse_protocol(text: &str) -> Result<ProtocolVersion, String> {
    match text {
        "5" | "5.0" => Ok(ProtocolVersion::V5),
        "3.1.1" | "311" | "4" => Ok(ProtocolVersion::V311),
        other => Err(format!("unknown protocol {other:?}: expected 5 or 3.1.1")),
    }
}

fn protocol_name(protocol: ProtocolVersion) -> &'static str {
    match protocol {
        ProtocolVersion::V5 => "5.0",
        ProtocolVersion::V311 => "3.1.1",
    }
}

impl Args {
    /// Every value within its bound.
    fn check(&self) -> Result<()> {
        if self.durability.is_empty() || self.publishers.is_empty() {
            bail!("--durability and --publishers need at least one value each");
        }
        if let Some(&p) = self
            .publishers
            .iter()
            .find(|&&p| p == 0 || p > MAX_PUBLISHERS)
        {
            bail!("--publishers {p}: each count must be between 1 and {MAX_PUBLISHERS}");
        }
        if self.window == 0 || self.window > usize::from(u16::MAX) {
            bail!(
                "--window {}: must be between 1 and 65535 (MQTT packet ids)",
                self.window
            );
        }
        if self.payload > MAX_PAYLOAD {
            bail!("--payload {}: at most {MAX_PAYLOAD} bytes", self.payload);
        }
        if !(self.duration_secs > 0.0 && self.duration_secs <= MAX_DURATION_SECS) {
            bail!(
                "--duration-secs {}: must be above 0 and at most {MAX_DURATION_SECS}",
                self.duration_secs
            );
        }
        if !(self.warmup_secs >= 0.0 && self.warmup_secs <= MAX_WARMUP_SECS) {
            bail!(
                "--warmup-secs {}: must be between 0 and {MAX_WARMUP_SECS}",
                self.warmup_secs
            );
        }
        if self.max_messages == 0 || self.max_messages > MAX_MESSAGES {
            bail!(
                "--max-messages {}: must be between 1 and {MAX_MESSAGES}",
                self.max_messages
            );
        }
        Ok(())
    }

    fn external(&self) -> Result<Option<SocketAddr>> {
        let Some(host) = &self.host else {
            return Ok(None);
        };
        let address = (host.as_str(), self.port)
            .to_socket_addrs()
            .with_context(|| format!("cannot resolve {host}:{}", self.port))?
            .next()
            .with_context(|| format!("{host}:{} has no address", self.port))?;
        Ok(Some(address))
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    args.check()?;
    let external = args.external()?;
    let target = match external {
        Some(address) => Target::External(address),
        None => Target::InProcess {
            durabilities: args.durability.clone(),
            data_parent: args.data_parent.clone(),
        },
    };
    let settings = MatrixSettings {
        target,
        publishers: args.publishers.clone(),
        window: args.window,
        payload_bytes: args.payload,
        protocol: args.protocol,
        warmup: Duration::from_secs_f64(args.warmup_secs),
        duration: Duration::from_secs_f64(args.duration_secs),
        max_messages: args.max_messages,
    };
    let data_parent = external
        .is_none()
        .then(|| args.data_parent.clone().unwrap_or_else(std::env::temp_dir));
    let probe = |when: &str| -> Result<Option<SyncProbe>> {
        let Some(dir) = &data_parent else {
            return Ok(None);
        };
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let probe = probe_sync(dir, SYNC_PROBE_SAMPLES)?;
        eprintln!(
            "data disk fdatasync of {} B appends {when}: p50 {} p99 {} max {} (at most {} syncs/s)",
            probe.append_bytes,
            format_us(probe.latency.p50_us),
            format_us(probe.latency.p99_us),
            format_us(probe.latency.max_us),
            syncs_per_sec(&probe).map_or_else(|| "-".to_string(), |r| thousands(r.round() as u64)),
        );
        Ok(Some(probe))
    };
    let mut run = RunInfo {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        broker: external.map_or_else(|| "in-process".to_string(), |a| a.to_string()),
        protocol: protocol_name(args.protocol).to_string(),
        qos: 1,
        payload_bytes: args.payload,
        window: args.window,
        warmup_secs: args.warmup_secs,
        duration_secs: args.duration_secs,
        max_messages_per_cell: args.max_messages,
        data_parent: data_parent.as_ref().map(|d| d.display().to_string()),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        disk_sync_before: None,
        disk_sync_after: None,
    };
    eprintln!(
        "durable publish: QoS 1, MQTT {}, {}-byte payloads, window {}, {} s warm-up + {} s per cell (at most {} messages), {} broker{}, {} CPUs",
        run.protocol,
        run.payload_bytes,
        run.window,
        run.warmup_secs,
        run.duration_secs,
        thousands(run.max_messages_per_cell),
        run.broker,
        run.data_parent.as_deref().map(|d| format!(" with data under {d}")).unwrap_or_default(),
        run.cpus,
    );
    run.disk_sync_before = probe("before")?;
    let cells = run_matrix(&settings, |cell| {
        eprintln!(
            "  {:<8} publishers={:<5} acked={:<9} msgs/s={:<9} p50={} p99={}{}",
            cell.durability,
            cell.publishers,
            cell.measured_acks,
            cell.msgs_per_sec.round() as u64,
            format_us(cell.latency.p50_us),
            format_us(cell.latency.p99_us),
            if cell.refused > 0 {
                format!(" refused={}", cell.refused)
            } else {
                String::new()
            },
        );
    })
    .await?;
    run.disk_sync_after = probe("after")?;
    print!("{}", render_table(&cells));
    let refused: u64 = cells.iter().map(|c| c.refused).sum();
    if refused > 0 {
        eprintln!("warning: {refused} publishes were refused (PUBACK with an error reason code)");
    }
    if let Some(path) = &args.json {
        let report = Report::new("durable-publish", run, cells);
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
