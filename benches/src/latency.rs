//! Latency recording and its summary: an HDR histogram of nanoseconds, summarized as the
//! percentiles the reports print.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Largest latency recorded exactly; anything slower is recorded as this value.
pub const MAX_TRACKABLE: Duration = Duration::from_secs(60);

/// Significant decimal digits kept by the histogram (relative error at most 0.1%).
const SIGNIFICANT_DIGITS: u8 = 3;

/// An empty latency histogram in nanoseconds, 1 ns to [`MAX_TRACKABLE`].
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_TRACKABLE.as_nanos() as u64, SIGNIFICANT_DIGITS)
        .expect("constant histogram bounds are valid")
}

/// Records one latency; values outside the trackable range are clamped into it.
pub fn record(histogram: &mut Histogram<u64>, latency: Duration) {
    let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX).max(1);
    histogram.saturating_record(nanos);
}

/// The latency figures of one benchmark cell, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Number of recorded latencies.
    pub count: u64,
    pub mean_us: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
}

impl LatencySummary {
    pub const EMPTY: LatencySummary = LatencySummary {
        count: 0,
        mean_us: 0.0,
        p50_us: 0.0,
        p90_us: 0.0,
        p99_us: 0.0,
        p999_us: 0.0,
        max_us: 0.0,
    };
}

/// Summarizes a histogram of nanoseconds. Percentiles are the histogram's values at those
/// quantiles (within its 0.1% precision); an empty histogram gives all zeros.
pub fn summarize(histogram: &Histogram<u64>) -> LatencySummary {
    if histogram.is_empty() {
        return LatencySummary::EMPTY;
    }
    let us = |nanos: u64| nanos as f64 / 1_000.0;
    LatencySummary {
        count: histogram.len(),
        mean_us: histogram.mean() / 1_000.0,
        p50_us: us(histogram.value_at_quantile(0.50)),
        p90_us: us(histogram.value_at_quantile(0.90)),
        p99_us: us(histogram.value_at_quantile(0.99)),
        p999_us: us(histogram.value_at_quantile(0.999)),
        max_us: us(histogram.max()),
    }
}

/// A latency for a table cell: microseconds below 1 ms, milliseconds below 1 s, else
/// seconds, with three significant digits.
pub fn format_us(us: f64) -> String {
    if us <= 0.0 {
        return "-".to_string();
    }
    let (value, unit) = if us < 1_000.0 {
        (us, "us")
    } else if us < 1_000_000.0 {
        (us / 1_000.0, "ms")
    } else {
        (us / 1_000_000.0, "s")
    };
    let decimals = if value < 10.0 {
        2
    } else if value < 100.0 {
        1
    } else {
        0
    };
    format!("{value:.decimals$}{unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() <= expected * 0.001 + 1e-9
    }

    #[test]
    fn empty_histogram_summarizes_to_zeros() {
        assert_eq!(summarize(&histogram()), LatencySummary::EMPTY);
    }

    #[test]
    fn percentiles_of_a_uniform_spread() {
        // 1..=1000 microseconds, once each.
        let mut h = histogram();
        for us in 1..=1000u64 {
            record(&mut h, Duration::from_micros(us));
        }
        let s = summarize(&h);
        assert_eq!(s.count, 1000);
        assert!(close(s.p50_us, 500.0), "{s:?}");
        assert!(close(s.p90_us, 900.0), "{s:?}");
        assert!(close(s.p99_us, 990.0), "{s:?}");
        assert!(close(s.p999_us, 999.0), "{s:?}");
        assert!(close(s.max_us, 1000.0), "{s:?}");
        assert!(close(s.mean_us, 500.5), "{s:?}");
    }

    #[test]
    fn rare_outliers_show_in_the_tail_only() {
        // 998 fast acks and 2 slow ones: the median stays fast, p99.9 and max see the slow.
        let mut h = histogram();
        for _ in 0..998 {
            record(&mut h, Duration::from_micros(100));
        }
        record(&mut h, Duration::from_millis(50));
        record(&mut h, Duration::from_millis(80));
        let s = summarize(&h);
        assert!(close(s.p50_us, 100.0), "{s:?}");
        assert!(close(s.p99_us, 100.0), "{s:?}");
        assert!(close(s.p999_us, 50_000.0), "{s:?}");
        assert!(close(s.max_us, 80_000.0), "{s:?}");
    }

    #[test]
    fn out_of_range_latencies_are_clamped_not_lost() {
        let mut h = histogram();
        record(&mut h, Duration::ZERO);
        record(&mut h, Duration::from_secs(3600));
        let s = summarize(&h);
        assert_eq!(s.count, 2);
        assert!(close(s.max_us, MAX_TRACKABLE.as_micros() as f64), "{s:?}");
    }

    #[test]
    fn merged_histograms_summarize_like_one() {
        let (mut a, mut b, mut both) = (histogram(), histogram(), histogram());
        for us in 1..=500u64 {
            record(&mut a, Duration::from_micros(us));
            record(&mut both, Duration::from_micros(us));
        }
        for us in 501..=1000u64 {
            record(&mut b, Duration::from_micros(us));
            record(&mut both, Duration::from_micros(us));
        }
        a.add(&b).unwrap();
        assert_eq!(summarize(&a), summarize(&both));
    }

    #[test]
    fn formatting_picks_the_unit() {
        assert_eq!(format_us(0.0), "-");
        assert_eq!(format_us(87.4), "87.4us");
        assert_eq!(format_us(412.0), "412us");
        assert_eq!(format_us(1_234.0), "1.23ms");
        assert_eq!(format_us(56_789.0), "56.8ms");
        assert_eq!(format_us(2_500_000.0), "2.50s");
    }
}
