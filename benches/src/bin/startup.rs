//! `startup`: how long `tallymq serve` takes to accept connections on a data directory that
//! holds many messages. Start-up reads live state only (sessions, retained messages), so the
//! time must not grow with the history.
//!
//! ```sh
//! startup --messages 10000000 --tallymq target/release/tallymq
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use tallymq_config::{Durability, StorageConfig};
use tallymq_storage::{Append, MessageRecord, Store};

/// Most messages written into the data directory.
const MAX_MESSAGES: u64 = 100_000_000;
/// Appends submitted before waiting for their commits.
const SUBMIT_WINDOW: usize = 20_000;

/// Fills a data directory with messages, then times `tallymq serve` on it until its first
/// CONNACK.
#[derive(Parser)]
struct Args {
    /// Messages to write before starting the broker.
    #[arg(long, default_value_t = 10_000_000)]
    messages: u64,
    /// Topics the messages are spread over.
    #[arg(long, default_value_t = 10_000)]
    topics: u64,
    /// Payload bytes per message.
    #[arg(long, default_value_t = 100)]
    payload: usize,
    /// The tallymq binary to start.
    #[arg(long, default_value = "target/release/tallymq")]
    tallymq: PathBuf,
    /// Where the data directory is created (a temporary directory inside it).
    #[arg(long, default_value = "/tmp")]
    data_parent: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.messages > MAX_MESSAGES || args.topics == 0 {
        bail!("--messages is at most {MAX_MESSAGES} and --topics at least 1");
    }
    let data = tempfile::tempdir_in(&args.data_parent).context("cannot create the data directory")?;
    let started = Instant::now();
    tokio::runtime::Runtime::new()?.block_on(fill(&args, data.path().to_path_buf()))?;
    eprintln!("wrote {} messages over {} topics in {:.1?}", args.messages, args.topics, started.elapsed());
    let (listening, connack) = time_startup(&args.tallymq, data.path())?;
    println!(
        "{} messages: tallymq started in {} ms, first CONNACK after {} ms",
        args.messages,
        listening.as_millis(),
        connack.as_millis()
    );
    Ok(())
}

async fn fill(args: &Args, data_dir: PathBuf) -> Result<()> {
    let config = StorageConfig { data_dir, durability: Durability::None, ..StorageConfig::default() };
    let store = Store::open(&config)?;
    let payload = vec![b'x'; args.payload];
    let mut pending = Vec::with_capacity(SUBMIT_WINDOW);
    for i in 0..args.messages {
        let record = MessageRecord {
            topic: format!("chat/{}/msg", i % args.topics),
            sequence: 0,
            timestamp_ms: 0,
            sender: Default::default(),
            qos: 1,
            retain: false,
            payload: payload.clone(),
            properties: Default::default(),
            annotations: vec![],
            client_message_id: None,
            prev_hash: [0; 32],
        };
        pending.push(store.submit(Append::new(record)).await?);
        if pending.len() == SUBMIT_WINDOW {
            for append in pending.drain(..) {
                append.wait().await?;
            }
        }
    }
    for append in pending {
        append.wait().await?;
    }
    store.close();
    Ok(())
}

/// Starts the broker on the data directory; returns the time to its "started" line and to
/// the CONNACK of a first client.
fn time_startup(tallymq: &PathBuf, data_dir: &std::path::Path) -> Result<(Duration, Duration)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let started = Instant::now();
    let mut child = Command::new(tallymq)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--ws-listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", tallymq.display()))?;
    let stderr = child.stderr.take().context("no stderr")?;
    let ready = BufReader::new(stderr).lines().map_while(Result::ok).any(|line| line.contains("tallymq started"));
    let listening = started.elapsed();
    let connack = if ready { first_connack(port).map(|_| started.elapsed()) } else { Err(anyhow::anyhow!("tallymq exited")) };
    let _ = child.kill();
    let _ = child.wait();
    Ok((listening, connack?))
}

fn first_connack(port: u16) -> Result<()> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    // CONNECT, MQTT 3.1.1, clean session, keepalive 60, client id "s".
    stream.write_all(&[0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 1, b's'])?;
    let mut connack = [0u8; 4];
    stream.read_exact(&mut connack)?;
    if connack != [0x20, 2, 0, 0] {
        bail!("unexpected CONNACK {connack:02x?}");
    }
    Ok(())
}
