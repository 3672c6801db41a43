//! `tallymq-bench`: a load generator for any MQTT broker, with scenarios named after what the
//! apps do, exact loss and duplicate accounting, end-to-end latency and, given the broker's
//! pid, its CPU per delivered message and memory per connection.
//!
//! ```sh
//! tallymq-bench fanout --clients 10 --qos 1 --duration-secs 15 --broker-pid "$(pidof mosquitto)"
//! tallymq-bench chat --clients 200 --json chat.json --plot chat.svg
//! tallymq-bench table results/*.json --reference mosquitto
//! ```

use std::io::IsTerminal;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tallymq::codec::{ProtocolVersion, QoS};
use tallymq_benches::accounting::MAX_TRACKED_SEQUENCE;
use tallymq_benches::load::client::ClientSettings;
use tallymq_benches::load::compare::render_comparison;
use tallymq_benches::load::plot::render_svg;
use tallymq_benches::load::result::{render_summary, RunResult};
use tallymq_benches::load::run::{run, Phase, Progress, RunSettings};
use tallymq_benches::load::scenario::{ScenarioKind, ScenarioParams};
use tallymq_benches::wire::ConnectOptions;

/// Longest publishing or holding time of one run.
const MAX_DURATION_SECS: f64 = 3_600.0;

#[derive(Parser)]
#[command(
    name = "tallymq-bench",
    about = "Load generator for MQTT brokers: tallymq's scenarios, exact accounting, latency and broker cost"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// N publisher/subscriber pairs, each pair on its own topic (--clients = pairs).
    P2p(LoadArgs),
    /// One publisher to N subscribers, a live stream's donation feed (--clients = subscribers).
    Fanout(LoadArgs),
    /// N publishers to one subscriber of all their topics (--clients = publishers).
    Fanin(LoadArgs),
    /// N publishers to one shared-subscription group of --shared-members members.
    FaninShared(LoadArgs),
    /// N 1:1 rooms, both members sending at human rates on persistent sessions (--clients = rooms).
    Chat(LoadArgs),
    /// N connected clients each publish within one window, an auction closing (--clients = bidders).
    Spike(LoadArgs),
    /// Open N idle connections at --conn-rate and hold them; memory per connection.
    Conn(LoadArgs),
    /// The side-by-side table of result files written with --json, with ratios against a reference broker.
    Table {
        /// Result files; scenarios are grouped in the order they first appear.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The broker label the ratios are taken against.
        #[arg(long, default_value = "mosquitto")]
        reference: String,
    },
}

#[derive(Args, Clone)]
struct LoadArgs {
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 1883)]
    port: u16,
    /// MQTT version: 3 (3.1.1) or 5.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(3..=5))]
    mqtt: u8,
    /// QoS of publishes and subscriptions: 0, 1 or 2.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=2))]
    qos: u8,
    /// Payload bytes (at least 24, the stamp).
    #[arg(long, default_value_t = 64)]
    payload: usize,
    /// Scenario size: pairs, subscribers, publishers, rooms or connections
    /// [default: p2p/fanout/fanin 10, chat 200, spike 1000, conn 5000].
    #[arg(long)]
    clients: Option<usize>,
    /// Messages a second per publisher, 0 for as fast as the in-flight window allows
    /// [default: chat 0.5, others 0].
    #[arg(long)]
    rate: Option<f64>,
    /// Publishes awaiting acknowledgement per publisher (QoS 1/2; capped by a 5.0 broker's
    /// Receive Maximum).
    #[arg(long, default_value_t = 10)]
    inflight: usize,
    /// Publishing time; conn: how long the connections are held [default: 10, spike 5].
    #[arg(long)]
    duration_secs: Option<f64>,
    /// Messages per publisher at most [default: spike 1, others unlimited].
    #[arg(long)]
    count: Option<u64>,
    /// Connections opened per second, 0 for as fast as accepted.
    #[arg(long, default_value_t = 1000.0)]
    conn_rate: f64,
    /// Members of the shared group (fanin-shared).
    #[arg(long, default_value_t = 2)]
    shared_members: usize,
    /// Window in which spike clients publish.
    #[arg(long, default_value_t = 1000)]
    spike_window_ms: u64,
    /// Longest wait for deliveries after the last publish.
    #[arg(long, default_value_t = 10.0)]
    drain_secs: f64,
    /// Pause between the last connection and the memory reading (conn).
    #[arg(long, default_value_t = 2.0)]
    settle_secs: f64,
    /// Keep alive asked for, in seconds (pings are sent at half of it).
    #[arg(long, default_value_t = 60)]
    keep_alive: u16,
    /// Session expiry of persistent sessions (chat, MQTT 5), in seconds.
    #[arg(long, default_value_t = 300)]
    session_expiry: u32,
    #[arg(long)]
    username: Option<String>,
    #[arg(long)]
    password: Option<String>,
    /// Sample this process's CPU and memory from /proc (the broker's pid).
    #[arg(long)]
    broker_pid: Option<u32>,
    /// The broker's name in reports.
    #[arg(long, default_value = "broker")]
    label: String,
    /// Seeds the spike moments and chat phases.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write the result as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Draw end-to-end latency percentiles over time as SVG.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// Exit with an error if any message was lost, duplicated or unexpected.
    #[arg(long)]
    strict: bool,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let (kind, args) = match cli.command {
        Command::Table { files, reference } => return table(&files, &reference),
        Command::P2p(a) => (ScenarioKind::P2p, a),
        Command::Fanout(a) => (ScenarioKind::Fanout, a),
        Command::Fanin(a) => (ScenarioKind::Fanin, a),
        Command::FaninShared(a) => (ScenarioKind::FaninShared, a),
        Command::Chat(a) => (ScenarioKind::Chat, a),
        Command::Spike(a) => (ScenarioKind::Spike, a),
        Command::Conn(a) => (ScenarioKind::Conn, a),
    };
    let settings = settings(kind, &args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let bar = progress_bar();
    let result = runtime.block_on(run(&settings, |p| show(&bar, p)));
    bar.finish_and_clear();
    let result = result?;
    print!("{}", render_summary(&result));
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&result)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.plot {
        let title = format!(
            "{} against {}: end-to-end latency",
            kind.name(),
            result.label
        );
        std::fs::write(path, render_svg(&title, &result.timeline))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    check(&result, args.strict)
}

fn settings(kind: ScenarioKind, args: &LoadArgs) -> Result<RunSettings> {
    let address: SocketAddr = (args.host.as_str(), args.port)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {}", args.host))?
        .next()
        .with_context(|| format!("{} has no address", args.host))?;
    let version = if args.mqtt == 5 {
        ProtocolVersion::V5
    } else {
        ProtocolVersion::V311
    };
    if args.mqtt == 4 {
        bail!("--mqtt is 3 (for 3.1.1) or 5");
    }
    let qos = QoS::from_u8(args.qos).context("--qos is 0, 1 or 2")?;
    let clients = args.clients.unwrap_or(match kind {
        ScenarioKind::Chat => 200,
        ScenarioKind::Spike => 1000,
        ScenarioKind::Conn => 5000,
        _ => 10,
    });
    let rate = args
        .rate
        .unwrap_or(if kind == ScenarioKind::Chat { 0.5 } else { 0.0 });
    let duration = args
        .duration_secs
        .unwrap_or(if kind == ScenarioKind::Spike {
            5.0
        } else {
            10.0
        });
    if !(duration > 0.0 && duration <= MAX_DURATION_SECS) {
        bail!("--duration-secs is within (0, {MAX_DURATION_SECS}]");
    }
    let count = args.count.unwrap_or(if kind == ScenarioKind::Spike {
        1
    } else {
        MAX_TRACKED_SEQUENCE
    });
    if count == 0 || count > MAX_TRACKED_SEQUENCE {
        bail!("--count is within 1..={MAX_TRACKED_SEQUENCE}");
    }
    for (name, value) in [
        ("--drain-secs", args.drain_secs),
        ("--settle-secs", args.settle_secs),
    ] {
        if !(0.0..=MAX_DURATION_SECS).contains(&value) {
            bail!("{name} is within 0..={MAX_DURATION_SECS}");
        }
    }
    Ok(RunSettings {
        scenario: ScenarioParams {
            kind,
            clients,
            shared_members: args.shared_members,
            rate,
            count,
            spike_window: Duration::from_millis(args.spike_window_ms),
            seed: args.seed,
            run_id: run_id(),
        },
        client: ClientSettings {
            connect: ConnectOptions {
                version,
                persistent: false,
                session_expiry_secs: args.session_expiry,
                keep_alive_secs: args.keep_alive,
                username: args.username.clone(),
                password: args.password.clone(),
            },
            qos,
            payload_bytes: args.payload,
            inflight: args.inflight,
            setup_timeout: Duration::from_secs(30),
        },
        address,
        duration: Duration::from_secs_f64(duration),
        connect_rate: args.conn_rate,
        drain: Duration::from_secs_f64(args.drain_secs),
        settle: Duration::from_secs_f64(args.settle_secs),
        broker_pid: args.broker_pid,
        label: args.label.clone(),
    })
}

/// Distinguishes this run's client ids and topics from earlier runs' (persistent sessions).
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{:x}",
        (nanos as u64) ^ u64::from(std::process::id()).rotate_left(40)
    )
}

fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{prefix:>11} [{bar:20}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

fn show(bar: &ProgressBar, p: &Progress) {
    if bar.is_hidden() {
        return;
    }
    let fraction = p.planned.map_or(0.0, |planned| {
        (p.elapsed.as_secs_f64() / planned.as_secs_f64().max(1e-9)).min(1.0)
    });
    let (prefix, message) = match p.phase {
        Phase::Connecting => (
            "connecting",
            format!(
                "{}/{} connected, {} failed",
                p.connected, p.connections, p.failed
            ),
        ),
        Phase::Holding => (
            "holding",
            format!(
                "{} connections, {:.0}s",
                p.connected,
                p.elapsed.as_secs_f64()
            ),
        ),
        Phase::Publishing | Phase::Draining => (
            if p.phase == Phase::Publishing {
                "publishing"
            } else {
                "draining"
            },
            format!(
                "{:.0}s  sent {}  acked {}  delivered {}{}",
                p.elapsed.as_secs_f64(),
                p.sent,
                p.acked,
                p.delivered,
                p.expected.map_or_else(String::new, |e| format!(" of {e}"))
            ),
        ),
    };
    bar.set_prefix(prefix);
    bar.set_message(message);
    bar.set_position((fraction * 1000.0) as u64);
}

/// Loss and duplicates are printed in the table either way; `--strict` makes them fatal.
fn check(result: &RunResult, strict: bool) -> Result<()> {
    let t = &result.counts.tally;
    let exact = t.is_exact() && result.counts.unacked == 0 && result.counts.refused == 0;
    if !exact {
        eprintln!(
            "warning: {} lost, {} duplicates, {} unexpected, {} unacked, {} refused",
            t.lost, t.duplicates, t.unexpected, result.counts.unacked, result.counts.refused
        );
        if strict {
            bail!("the broker did not deliver every message exactly once");
        }
    }
    Ok(())
}

fn table(files: &[PathBuf], reference: &str) -> Result<()> {
    let mut results = Vec::with_capacity(files.len());
    for file in files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let result: RunResult = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a tallymq-bench result", file.display()))?;
        results.push(result);
    }
    print!("{}", render_comparison(&results, reference));
    Ok(())
}
