//! A full disk: the data dir lives on a small tmpfs. Publishes are refused once storage
//! writes fail (5.0: PUBACK 0x83 with a reason naming storage; 3.1.1: a notice), the broker
//! keeps serving reads, every acknowledged message is in the history intact and gapless, and
//! once space is freed writes succeed again and sequence numbers continue without a gap.
//!
//! Needs to mount a tmpfs (root or CAP_SYS_ADMIN, and the `mount`/`umount` commands).
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use common::*;
use serde_json::Value;
use tallymq::codec::{ProtocolVersion, Publish, PubResponse, QoS, ReasonCode};

const MIB: usize = 1024 * 1024;
/// Payload of each message: large, so that the disk fills after a few dozen messages.
const PAYLOAD: usize = 256 * 1024;
/// Size of the tmpfs, and of the file that fills most of it until the test frees it. RocksDB
/// clears a no-space error only once the free space reaches its reserved disk buffer, the
/// largest `write_buffer_size` (64 MiB by default): freeing less never lets writes resume.
const TMPFS_MIB: usize = 96;
const FILLER_MIB: usize = 76;
/// How long writes may take to come back after space is freed. RocksDB retries its
/// recovery from a no-space error every 5 s.
const RECOVERY: Duration = Duration::from_secs(30);

/// A tmpfs mounted on a fresh temp dir, unmounted on drop.
struct Tmpfs {
    dir: Option<tempfile::TempDir>,
}

impl Tmpfs {
    fn mount(size_mib: usize) -> Tmpfs {
        let dir = tempfile::tempdir().expect("temp dir");
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mib}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .unwrap_or_else(|e| panic!("disk_full tests need the `mount` command to mount a tmpfs: {e}"));
        assert!(
            output.status.success(),
            "disk_full tests need to mount a {size_mib} MiB tmpfs (run as root or with CAP_SYS_ADMIN): mount failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Tmpfs { dir: Some(dir) }
    }

    fn path(&self) -> &Path {
        self.dir.as_ref().unwrap().path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let path = self.path().to_path_buf();
        let unmounted = Command::new("umount").arg(&path).status().is_ok_and(|s| s.success());
        if !unmounted {
            // Still busy (a test failed with the broker running): detach it now, the kernel
            // frees it when the last file closes.
            let _ = Command::new("umount").arg("--lazy").arg(&path).status();
        }
        drop(self.dir.take());
    }
}

/// Deterministic, incompressible payload of message `n`.
fn payload(n: u64) -> Vec<u8> {
    let mut state = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(PAYLOAD);
    while out.len() < PAYLOAD {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(PAYLOAD);
    out
}

/// FNV-1a, 64 bit.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

fn fill(path: &Path, bytes: usize) {
    std::fs::write(path, vec![0x5a; bytes]).expect("filler file written");
}

/// Starts a broker on `data_dir` with room for the large messages.
async fn start_on(data_dir: PathBuf) -> TestBroker {
    start_with(move |config| {
        config.storage.data_dir = data_dir;
        config.mqtt.max_packet_size = 2 * MIB as u32;
    })
    .await
}

async fn connect(broker: &TestBroker, version: ProtocolVersion, id: &str) -> Raw {
    connect_ok(broker, Raw::connect_packet(version, id)).await.0
}

/// The lines of RocksDB's info log about background errors and recovery from them.
fn recovery_log(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_else(|e| format!("(no log: {e})"));
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| ["ErrorHandler", "free space", "clear", "Recover", "resume", "Resum"].iter().any(|word| line.contains(word)))
        .collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}

/// `(seq, checksum of the payload)` of every message of `topic`, read page by page.
async fn history_checksums(client: &mut Raw, topic: &str, first_packet_id: u16) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut after = 0;
    for packet_id in first_packet_id.. {
        let page = client.history(packet_id, topic, after, Some(8)).await;
        for message in page["messages"].as_array().expect("messages") {
            assert_eq!(message["payload"], Value::Null, "binary payloads come as base64 only");
            let bytes = base64::engine::general_purpose::STANDARD.decode(message["payload_base64"].as_str().unwrap()).unwrap();
            assert_eq!(bytes.len(), PAYLOAD);
            out.push((message["seq"].as_u64().unwrap(), checksum(&bytes)));
        }
        if page["more"] == false {
            break;
        }
        after = page["next_after"].as_u64().unwrap();
    }
    out
}

/// The sequence number the broker gave a delivery (5.0 `seq` user property).
fn seq_of(publish: &Publish) -> u64 {
    publish.properties.user_properties.iter().find(|(n, _)| n == "seq").expect("seq property").1.parse().unwrap()
}

#[tokio::test]
async fn full_disk_refuses_writes_keeps_reads_and_recovers_when_space_is_freed() {
    let tmpfs = Tmpfs::mount(TMPFS_MIB);
    let filler = tmpfs.path().join("filler");
    fill(&filler, FILLER_MIB * MIB);
    let broker = start_on(tmpfs.path().join("data")).await;
    let topic = "disk/full/msg";

    let mut publisher = connect(&broker, ProtocolVersion::V5, "filler-pub").await;
    let mut acked: Vec<(u64, u64)> = Vec::new();
    let refusal = loop {
        let n = acked.len() as u64 + 1;
        assert!(n < 200, "the disk never filled up: {} MiB acknowledged", acked.len() * PAYLOAD / MIB);
        let body = payload(n);
        let ack = publisher.publish_acked(publish(topic, QoS::AtLeastOnce, (n % 60_000) as u16 + 1, &body)).await;
        if ack.reason != ReasonCode::SUCCESS {
            break ack;
        }
        acked.push((n, checksum(&body)));
    };
    assert!(!acked.is_empty(), "some messages fit before the disk was full");
    assert_eq!(refusal.reason, ReasonCode::IMPLEMENTATION_SPECIFIC_ERROR, "{refusal:?}");
    let reason = refusal.properties.reason_string.clone().expect("a reason string");
    let expected = "message not stored, storage unavailable: storage write failed: IO error: No space left on device";
    assert!(reason.starts_with(expected), "reason names storage and the cause once: {reason}");

    // (a) Reads are still served: a new subscriber connects and pings, history answers.
    let mut subscriber = connect(&broker, ProtocolVersion::V5, "reader").await;
    subscriber.subscribe_granted(1, topic, QoS::AtLeastOnce).await;
    subscriber.nothing_pending().await;
    // (b) Every acknowledged message is there, intact, in order, gapless; nothing else is.
    assert_eq!(history_checksums(&mut subscriber, topic, 10).await, acked);

    // A 3.1.1 publisher cannot read a reason in PUBACK: it gets a notice instead.
    let mut v4 = connect(&broker, ProtocolVersion::V311, "filler-v4").await;
    v4.subscribe_granted(1, "$notice/filler-v4", QoS::AtLeastOnce).await;
    let ack = v4.publish_acked(publish(topic, QoS::AtLeastOnce, 2, &payload(1000))).await;
    assert_eq!(ack, PubResponse::success(2));
    let notice = v4.next_publish().await;
    assert_eq!(notice.topic, "$notice/filler-v4");
    v4.puback(notice.packet_id).await;
    let notice: Value = serde_json::from_slice(&notice.payload).expect("JSON notice");
    assert_eq!((&notice["type"], &notice["topic"], &notice["packet_id"], &notice["reason_code"]), (&"publish_refused".into(), &topic.into(), &2.into(), &0x83.into()));
    assert!(notice["reason"].as_str().unwrap().starts_with(expected), "{notice}");
    subscriber.nothing_pending().await;
    assert_eq!(history_checksums(&mut subscriber, topic, 100).await, acked);

    // (c) Space is freed: publishes succeed again (within RocksDB's recovery), sequence
    // numbers continue where the acknowledged ones ended.
    std::fs::remove_file(&filler).expect("filler removed");
    let next = acked.len() as u64 + 1;
    let body = payload(next);
    let deadline = Instant::now() + RECOVERY;
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let ack = publisher.publish_acked(publish(topic, QoS::AtLeastOnce, 60_001 + (attempts % 1000) as u16, &body)).await;
        if ack.reason == ReasonCode::SUCCESS {
            break;
        }
        assert_eq!(ack.reason, ReasonCode::IMPLEMENTATION_SPECIFIC_ERROR, "{ack:?}");
        assert!(
            Instant::now() < deadline,
            "writes did not recover within {RECOVERY:?} after freeing {FILLER_MIB} MiB ({attempts} attempts); last refusal: {:?}\nRocksDB's log on recovery:\n{}",
            ack.properties.reason_string,
            recovery_log(&tmpfs.path().join("data/rocksdb/LOG"))
        );
    }
    acked.push((next, checksum(&body)));
    let delivery = subscriber.next_publish().await;
    subscriber.puback(delivery.packet_id).await;
    assert_eq!((seq_of(&delivery), checksum(&delivery.payload)), acked[acked.len() - 1]);
    subscriber.nothing_pending().await;
    assert_eq!(history_checksums(&mut subscriber, topic, 200).await, acked);

    // What was acknowledged before the disk filled and after it recovered survives a restart
    // (the log written up to the failed write is replayed or was flushed).
    drop((publisher, subscriber, v4));
    let broker = broker.restart().await;
    let mut publisher = connect(&broker, ProtocolVersion::V5, "filler-pub").await;
    let next = acked.len() as u64 + 1;
    let body = payload(next);
    let ack = publisher.publish_acked(publish(topic, QoS::AtLeastOnce, 1, &body)).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS, "{ack:?}");
    acked.push((next, checksum(&body)));
    assert_eq!(history_checksums(&mut publisher, topic, 300).await, acked);
    let report = broker.server.broker.store.verify(topic).expect("verify");
    assert!(report.broken.is_none() && report.last_sequence == Some(next), "{report:?}");

    let stopped = broker.stop().await;
    drop(stopped);
    drop(tmpfs);
}
