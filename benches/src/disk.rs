//! How long the data disk takes to make a small append durable (`fdatasync`), measured
//! beside the broker's data so the `fsync` figures can be read against it.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::latency::{self, LatencySummary};

/// Bytes appended before each sync: about one group commit of small messages.
const APPEND_BYTES: usize = 4096;

/// Latency of `fdatasync` after a small append, in the summary's microseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SyncProbe {
    pub samples: u64,
    pub append_bytes: usize,
    pub latency: LatencySummary,
}

/// Appends [`APPEND_BYTES`] and syncs the data, `samples` times, in a scratch file in `dir`
/// that is removed afterwards.
pub fn probe_sync(dir: &Path, samples: u64) -> Result<SyncProbe> {
    let scratch = tempfile::Builder::new()
        .prefix("tallymq-bench-sync-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a scratch file in {}", dir.display()))?;
    let mut file = OpenOptions::new().append(true).open(scratch.path())?;
    let block = vec![0x5Au8; APPEND_BYTES];
    let mut histogram = latency::histogram();
    for _ in 0..samples {
        file.write_all(&block)?;
        let started = Instant::now();
        file.sync_data().context("fdatasync failed")?;
        latency::record(&mut histogram, started.elapsed());
    }
    Ok(SyncProbe {
        samples,
        append_bytes: APPEND_BYTES,
        latency: latency::summarize(&histogram),
    })
}

/// Syncs per second at the probe's median latency: an upper bound on the group commits per
/// second of one writer that syncs each commit.
pub fn syncs_per_sec(probe: &SyncProbe) -> Option<f64> {
    (probe.latency.p50_us > 0.0)
        .then(|| Duration::from_secs(1).as_secs_f64() * 1e6 / probe.latency.p50_us)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_takes_every_sample_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let probe = probe_sync(dir.path(), 5).unwrap();
        assert_eq!(probe.samples, 5);
        assert_eq!(probe.latency.count, 5);
        assert!(probe.latency.max_us > 0.0);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn sync_rate_is_the_inverse_of_the_median() {
        let mut probe = SyncProbe {
            samples: 1,
            append_bytes: APPEND_BYTES,
            latency: LatencySummary::EMPTY,
        };
        assert_eq!(syncs_per_sec(&probe), None);
        probe.latency.p50_us = 4_000.0;
        assert_eq!(syncs_per_sec(&probe), Some(250.0));
    }
}
