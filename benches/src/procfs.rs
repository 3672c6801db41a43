//! The broker's CPU time and memory, read from `/proc/PID`.
//!
//! Any broker can be measured this way, whatever it is written in and whether or not it
//! exports metrics: CPU seconds (user + system, all threads, living and exited) come from
//! `/proc/PID/stat`, the resident set from `/proc/PID/status`. CPU times there are in clock
//! ticks, whose length the kernel tells every process in its auxiliary vector.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Clock ticks per second when the auxiliary vector cannot be read: Linux's `USER_HZ` on
/// every mainstream architecture.
pub const DEFAULT_TICKS_PER_SEC: u64 = 100;

/// `AT_CLKTCK`, the auxiliary vector entry holding the clock tick rate.
const AT_CLKTCK: u64 = 17;

/// Samples a [`Sampler`] keeps; at its period that is more than an hour of samples, and the
/// oldest are dropped beyond it.
pub const MAX_SAMPLES: usize = 20_000;

#[derive(Debug, Error)]
pub enum ProcError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("unexpected format in {what}: {detail}")]
    Format { what: &'static str, detail: String },
}

/// CPU ticks of a process: user and system time, threads included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTicks {
    pub user: u64,
    pub system: u64,
}

/// Parses the contents of `/proc/PID/stat`. The command name (field 2) is in parentheses and
/// may itself contain spaces and parentheses, so fields are counted from the last `)`.
pub fn parse_stat(stat: &str) -> Result<CpuTicks, ProcError> {
    let format = |detail: &str| ProcError::Format {
        what: "/proc/PID/stat",
        detail: detail.to_string(),
    };
    let close = stat
        .rfind(')')
        .ok_or_else(|| format("no ')' after the command name"))?;
    // After ')' come field 3 (state) onwards; utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    let field = |number: usize| -> Result<u64, ProcError> {
        let text = fields.get(number - 3).ok_or_else(|| {
            format(&format!(
                "only {} fields after the command name",
                fields.len()
            ))
        })?;
        text.parse::<u64>()
            .map_err(|_| format(&format!("field {number} is {text:?}")))
    };
    Ok(CpuTicks {
        user: field(14)?,
        system: field(15)?,
    })
}

/// Memory figures of `/proc/PID/status`, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Memory {
    /// Resident set size now (`VmRSS`).
    pub rss_kib: u64,
    /// Peak resident set size since the process started (`VmHWM`).
    pub peak_rss_kib: u64,
}

/// Parses the `VmRSS` and `VmHWM` lines of `/proc/PID/status`.
pub fn parse_status(status: &str) -> Result<Memory, ProcError> {
    let value = |key: &str| -> Result<u64, ProcError> {
        let line = status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .ok_or_else(|| ProcError::Format {
                what: "/proc/PID/status",
                detail: format!("no {key} line"),
            })?;
        let mut parts = line.split_whitespace();
        let number = parts.next().unwrap_or("");
        let unit = parts.next().unwrap_or("");
        if unit != "kB" {
            return Err(ProcError::Format {
                what: "/proc/PID/status",
                detail: format!("{key} unit is {unit:?}, not kB"),
            });
        }
        number.parse().map_err(|_| ProcError::Format {
            what: "/proc/PID/status",
            detail: format!("{key} is {number:?}"),
        })
    };
    Ok(Memory {
        rss_kib: value("VmRSS:")?,
        peak_rss_kib: value("VmHWM:")?,
    })
}

/// Finds `AT_CLKTCK` in the bytes of `/proc/self/auxv` (native-endian `u64` pairs, as on
/// every 64-bit Linux).
pub fn parse_auxv_ticks(auxv: &[u8]) -> Option<u64> {
    auxv.chunks_exact(16)
        .find_map(|pair| {
            let mut key = [0u8; 8];
            let mut value = [0u8; 8];
            key.copy_from_slice(&pair[..8]);
            value.copy_from_slice(&pair[8..]);
            (u64::from_ne_bytes(key) == AT_CLKTCK).then(|| u64::from_ne_bytes(value))
        })
        .filter(|&ticks| ticks > 0)
}

/// Clock ticks per second for `/proc/PID/stat` times.
pub fn ticks_per_sec() -> u64 {
    std::fs::read("/proc/self/auxv")
        .ok()
        .and_then(|auxv| parse_auxv_ticks(&auxv))
        .unwrap_or(DEFAULT_TICKS_PER_SEC)
}

/// One reading of a process.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// CPU seconds used so far (user + system).
    pub cpu_secs: f64,
    pub rss_kib: u64,
    pub peak_rss_kib: u64,
}

/// Reads processes' `/proc` entries.
#[derive(Debug, Clone)]
pub struct Probe {
    dir: PathBuf,
    ticks_per_sec: u64,
}

impl Probe {
    /// A probe for process `pid`; fails if it does not exist.
    pub fn new(pid: u32) -> Result<Probe, ProcError> {
        Probe::at(Path::new("/proc").join(pid.to_string()))
    }

    /// A probe of a `/proc/PID`-shaped directory.
    pub fn at(dir: PathBuf) -> Result<Probe, ProcError> {
        let probe = Probe {
            dir,
            ticks_per_sec: ticks_per_sec(),
        };
        probe.sample()?;
        Ok(probe)
    }

    pub fn sample(&self) -> Result<Sample, ProcError> {
        let read = |name: &str| {
            let path = self.dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| ProcError::Read { path, source })
        };
        let ticks = parse_stat(&read("stat")?)?;
        let memory = parse_status(&read("status")?)?;
        Ok(Sample {
            cpu_secs: (ticks.user + ticks.system) as f64 / self.ticks_per_sec as f64,
            rss_kib: memory.rss_kib,
            peak_rss_kib: memory.peak_rss_kib,
        })
    }
}

/// A series of samples taken every `period`, kept for the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimedSample {
    /// Seconds since the sampler started.
    pub at_secs: f64,
    #[serde(flatten)]
    pub sample: Sample,
}

/// Samples a process in the background until dropped or [`Sampler::finish`]ed.
pub struct Sampler {
    samples: std::sync::Arc<parking_lot::Mutex<std::collections::VecDeque<TimedSample>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    pub fn start(probe: Probe, period: Duration) -> Sampler {
        let samples =
            std::sync::Arc::new(parking_lot::Mutex::new(std::collections::VecDeque::new()));
        let sink = samples.clone();
        let task = tokio::spawn(async move {
            let started = std::time::Instant::now();
            let mut ticker = tokio::time::interval(period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                ticker.tick().await;
                let Ok(sample) = probe.sample() else { break };
                let mut samples = sink.lock();
                if samples.len() == MAX_SAMPLES {
                    samples.pop_front();
                }
                samples.push_back(TimedSample {
                    at_secs: started.elapsed().as_secs_f64(),
                    sample,
                });
            }
        });
        Sampler { samples, task }
    }

    /// Stops sampling and returns the samples taken.
    pub fn finish(self) -> Vec<TimedSample> {
        self.task.abort();
        let samples = self.samples.lock();
        samples.iter().cloned().collect()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (my (odd) broker) S 1 4242 4242 0 -1 4194560 2035 0 0 0 \
                        731 96 0 0 20 0 9 0 1234567 123456789 4321 18446744073709551615 \
                        1 1 0 0 0 0 0 4096 17003 0 0 0 17 1 0 0 0 0 0";

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        assert_eq!(
            parse_stat(STAT).unwrap(),
            CpuTicks {
                user: 731,
                system: 96
            }
        );
    }

    #[test]
    fn malformed_stat_is_an_error_not_a_zero() {
        assert!(parse_stat("4242 broker S 1 2").is_err());
        assert!(parse_stat("4242 (broker) S 1 2 3").is_err());
        let garbled = STAT.replace(" 731 ", " x ");
        assert!(parse_stat(&garbled)
            .unwrap_err()
            .to_string()
            .contains("field 14"));
    }

    #[test]
    fn status_gives_rss_and_its_peak() {
        let status = "Name:\tmosquitto\nVmPeak:\t  20000 kB\nVmHWM:\t    9000 kB\nVmRSS:\t    8124 kB\nThreads:\t1\n";
        assert_eq!(
            parse_status(status).unwrap(),
            Memory {
                rss_kib: 8124,
                peak_rss_kib: 9000
            }
        );
        assert!(parse_status("Name:\tx\nVmHWM:\t1 kB\n").is_err());
        assert!(parse_status("VmRSS:\t1 MB\nVmHWM:\t1 kB\n").is_err());
    }

    #[test]
    fn clock_ticks_come_from_the_auxiliary_vector() {
        let mut auxv = Vec::new();
        for (key, value) in [(6u64, 4096u64), (AT_CLKTCK, 250), (0, 0)] {
            auxv.extend_from_slice(&key.to_ne_bytes());
            auxv.extend_from_slice(&value.to_ne_bytes());
        }
        assert_eq!(parse_auxv_ticks(&auxv), Some(250));
        assert_eq!(parse_auxv_ticks(&auxv[..16]), None);
        assert!(ticks_per_sec() > 0);
    }

    #[test]
    fn this_process_can_be_sampled() {
        let probe = Probe::new(std::process::id()).unwrap();
        let sample = probe.sample().unwrap();
        assert!(
            sample.rss_kib > 0 && sample.peak_rss_kib >= sample.rss_kib,
            "{sample:?}"
        );
        assert!(Probe::new(u32::MAX).is_err());
    }

    #[test]
    fn a_fake_proc_directory_is_read_like_the_real_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("stat"), STAT).unwrap();
        std::fs::write(
            dir.path().join("status"),
            "VmHWM:\t 2048 kB\nVmRSS:\t 1024 kB\n",
        )
        .unwrap();
        let probe = Probe {
            dir: dir.path().to_path_buf(),
            ticks_per_sec: 100,
        };
        let sample = probe.sample().unwrap();
        assert!((sample.cpu_secs - 8.27).abs() < 1e-9, "{sample:?}");
        assert_eq!(sample.rss_kib, 1024);
    }
}
