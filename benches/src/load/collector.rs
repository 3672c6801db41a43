//! End-to-end latencies of a run, in total and second by second.
//!
//! Thousands of receiving connections record latencies; giving each its own histogram per
//! second would cost hundreds of KiB per connection. Instead each keeps a small buffer of
//! samples ([`LocalLatencies`]) and empties it into one shared [`Collector`] when it is full
//! and at the end, so memory grows with the run's length, not with its connections.

use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use parking_lot::Mutex;

use crate::latency;

/// Samples a connection buffers before taking the collector's lock.
pub const LOCAL_SAMPLES: usize = 512;

/// Seconds of a run kept second by second; later samples still count in the total.
pub const MAX_SECONDS: usize = 3_600;

/// Latencies of one run.
pub struct Collector {
    total: Histogram<u64>,
    per_second: Vec<Histogram<u64>>,
}

impl Default for Collector {
    fn default() -> Self {
        Collector::new()
    }
}

impl Collector {
    pub fn new() -> Collector {
        Collector {
            total: latency::histogram(),
            per_second: Vec::new(),
        }
    }

    /// Records a latency observed during second `second` of the run.
    pub fn record(&mut self, second: usize, value: Duration) {
        latency::record(&mut self.total, value);
        if second < MAX_SECONDS {
            while self.per_second.len() <= second {
                self.per_second.push(latency::histogram());
            }
            latency::record(&mut self.per_second[second], value);
        }
    }

    pub fn total(&self) -> &Histogram<u64> {
        &self.total
    }

    /// One histogram per second of the run, from its start (possibly empty ones).
    pub fn per_second(&self) -> &[Histogram<u64>] {
        &self.per_second
    }
}

/// A connection's buffer in front of the shared [`Collector`].
pub struct LocalLatencies {
    shared: Arc<Mutex<Collector>>,
    buffer: Vec<(u32, u64)>,
}

impl LocalLatencies {
    pub fn new(shared: Arc<Mutex<Collector>>) -> LocalLatencies {
        LocalLatencies {
            shared,
            buffer: Vec::new(),
        }
    }

    pub fn record(&mut self, second: u32, nanos: u64) {
        if self.buffer.capacity() == 0 {
            self.buffer.reserve_exact(LOCAL_SAMPLES);
        }
        self.buffer.push((second, nanos));
        if self.buffer.len() >= LOCAL_SAMPLES {
            self.flush();
        }
    }

    pub fn flush(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        let mut shared = self.shared.lock();
        for (second, nanos) in self.buffer.drain(..) {
            shared.record(second as usize, Duration::from_nanos(nanos));
        }
    }
}

impl Drop for LocalLatencies {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffered_samples_all_reach_the_collector() {
        let shared = Arc::new(Mutex::new(Collector::new()));
        {
            let mut local = LocalLatencies::new(shared.clone());
            for i in 0..(LOCAL_SAMPLES as u64 + 10) {
                local.record((i % 3) as u32, 1_000 + i);
            }
            assert_eq!(
                shared.lock().total().len(),
                LOCAL_SAMPLES as u64,
                "one flush so far"
            );
        }
        let collector = shared.lock();
        assert_eq!(collector.total().len(), LOCAL_SAMPLES as u64 + 10);
        assert_eq!(collector.per_second().len(), 3);
        let per_second: u64 = collector.per_second().iter().map(Histogram::len).sum();
        assert_eq!(per_second, collector.total().len());
    }

    #[test]
    fn late_samples_count_in_the_total_only() {
        let mut collector = Collector::new();
        collector.record(MAX_SECONDS + 5, Duration::from_millis(1));
        collector.record(2, Duration::from_millis(1));
        assert_eq!(collector.total().len(), 2);
        assert_eq!(collector.per_second().len(), 3);
        assert!(collector.per_second()[0].is_empty());
    }
}
