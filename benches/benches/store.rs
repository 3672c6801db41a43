//! The storage commit path: `Store::append` of one message (sequence number, hash link,
//! RocksDB write, and with `fsync` the WAL sync) and of a batch submitted together, which
//! shares one group commit. Durability `none` and `fsync`, in a temporary directory on the
//! disk under the system temp dir (set TMPDIR to measure another disk; `fsync` on tmpfs is
//! free).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use tallymq_config::{Durability, StorageConfig};
use tallymq_storage::{Append, MessageRecord, Store};

/// Appends submitted together in the batch case.
const BATCH: usize = 64;

fn append(topic: &str) -> Append {
    Append::new(MessageRecord {
        topic: topic.to_string(),
        sequence: 0,
        timestamp_ms: 0,
        sender: Default::default(),
        qos: 1,
        retain: false,
        payload: vec![b'x'; 256],
        properties: Default::default(),
        annotations: vec![],
        client_message_id: None,
        prev_hash: [0; 32],
    })
}

fn store(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("store");
    for (name, durability) in [("none", Durability::None), ("fsync", Durability::Fsync)] {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = StorageConfig {
            data_dir: dir.path().to_path_buf(),
            durability,
            ..StorageConfig::default()
        };
        let store = Store::open(&config).expect("store opens");
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("append 256B {name}"), |b| {
            b.iter_batched(
                || append("chat/room-1/msg"),
                |a| runtime.block_on(async { black_box(store.append(a).await.expect("append")) }),
                BatchSize::SmallInput,
            )
        });
        group.throughput(Throughput::Elements(BATCH as u64));
        group.bench_function(format!("append {BATCH} x 256B together {name}"), |b| {
            b.iter_batched(
                || {
                    (0..BATCH)
                        .map(|i| append(&format!("chat/room-{}/msg", i % 8)))
                        .collect::<Vec<_>>()
                },
                |appends| {
                    runtime.block_on(async {
                        let mut pending = Vec::with_capacity(BATCH);
                        for a in appends {
                            pending.push(store.submit(a).await.expect("submit"));
                        }
                        for p in pending {
                            black_box(p.wait().await.expect("commit"));
                        }
                    })
                },
                BatchSize::SmallInput,
            )
        });
        store.close();
    }
    group.finish();
}

criterion_group!(benches, store);
criterion_main!(benches);
