//! When each publish of a paced publisher is due.
//!
//! Publishing follows a fixed schedule from the start of the run (message `i` at
//! `phase + i * interval`) rather than sleeping `interval` after each send: a publisher that
//! falls behind catches up instead of silently lowering the offered rate, so a slow broker
//! shows as latency, not as a lighter load. Phases spread the publishers of a run across one
//! interval, so that a thousand clients at one message a second do not all fire in the same
//! millisecond unless the scenario asks for that.

use std::time::{Duration, Instant};

/// Highest rate a paced publisher may be asked for; above it, ask for no pacing at all.
pub const MAX_RATE_PER_SEC: f64 = 1_000_000.0;

/// A publisher's schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    /// Time between two publishes; `None`: as fast as the in-flight window allows.
    interval: Option<Duration>,
    /// Offset of the first publish from the start of the run.
    phase: Duration,
}

impl Pacing {
    /// No schedule: every publish is due at once.
    pub fn unthrottled() -> Pacing {
        Pacing {
            interval: None,
            phase: Duration::ZERO,
        }
    }

    /// `rate` messages a second, the first at `phase`. A rate of 0 means unthrottled.
    pub fn per_second(rate: f64, phase: Duration) -> Result<Pacing, String> {
        if !(rate.is_finite() && (0.0..=MAX_RATE_PER_SEC).contains(&rate)) {
            return Err(format!(
                "rate {rate} is not within 0..={MAX_RATE_PER_SEC} messages a second"
            ));
        }
        if rate == 0.0 {
            return Ok(Pacing {
                interval: None,
                phase,
            });
        }
        Ok(Pacing {
            interval: Some(Duration::from_secs_f64(1.0 / rate)),
            phase,
        })
    }

    pub fn interval(&self) -> Option<Duration> {
        self.interval
    }

    pub fn phase(&self) -> Duration {
        self.phase
    }

    /// When message `index` (from 0) is due, for a run that started at `start`.
    pub fn due(&self, start: Instant, index: u64) -> Instant {
        let offset = match self.interval {
            Some(interval) => self.phase + mul(interval, index),
            None => self.phase,
        };
        start + offset
    }

    /// How many messages are due `elapsed` after the start (an unthrottled schedule has all
    /// of them due from its phase on; `u64::MAX` stands for "all").
    pub fn due_by(&self, elapsed: Duration) -> u64 {
        if elapsed < self.phase {
            return 0;
        }
        match self.interval {
            None => u64::MAX,
            Some(interval) => {
                let since = (elapsed - self.phase).as_nanos();
                u64::try_from(since / interval.as_nanos().max(1) + 1).unwrap_or(u64::MAX)
            }
        }
    }
}

/// The phase of publisher `k` of `n` that spreads them evenly over one `interval`.
pub fn spread_phase(interval: Duration, k: usize, n: usize) -> Duration {
    if n == 0 {
        return Duration::ZERO;
    }
    let nanos = interval.as_nanos() * (k % n) as u128 / n as u128;
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

fn mul(interval: Duration, index: u64) -> Duration {
    let nanos = interval.as_nanos().saturating_mul(u128::from(index));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// The pacing of connection attempts: attempt `k` at `k / rate` seconds.
pub fn connect_offset(rate_per_sec: f64, k: usize) -> Duration {
    if !(rate_per_sec.is_finite() && rate_per_sec > 0.0) {
        return Duration::ZERO;
    }
    Duration::from_secs_f64(k as f64 / rate_per_sec)
}

/// Sleeps until `deadline`, or forever without one: a `select!` arm for an optional timer.
pub async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_follow_a_fixed_grid_from_the_phase() {
        let start = Instant::now();
        let pacing = Pacing::per_second(4.0, Duration::from_millis(100)).unwrap();
        assert_eq!(pacing.interval(), Some(Duration::from_millis(250)));
        assert_eq!(pacing.due(start, 0), start + Duration::from_millis(100));
        assert_eq!(pacing.due(start, 1), start + Duration::from_millis(350));
        assert_eq!(pacing.due(start, 40), start + Duration::from_millis(10_100));
    }

    #[test]
    fn due_by_counts_messages_whose_time_has_come() {
        let pacing = Pacing::per_second(10.0, Duration::from_millis(50)).unwrap();
        assert_eq!(pacing.due_by(Duration::from_millis(49)), 0);
        assert_eq!(pacing.due_by(Duration::from_millis(50)), 1);
        assert_eq!(pacing.due_by(Duration::from_millis(149)), 1);
        assert_eq!(pacing.due_by(Duration::from_millis(150)), 2);
        // A second at 10/s: 10 messages, the 11th is due exactly at 1.05 s.
        assert_eq!(pacing.due_by(Duration::from_millis(1_049)), 10);
    }

    #[test]
    fn zero_rate_is_unthrottled_and_bad_rates_are_refused() {
        let pacing = Pacing::per_second(0.0, Duration::ZERO).unwrap();
        assert_eq!(pacing.interval(), None);
        assert_eq!(pacing.due_by(Duration::ZERO), u64::MAX);
        let start = Instant::now();
        assert_eq!(Pacing::unthrottled().due(start, 1_000), start);
        for bad in [-1.0, f64::NAN, f64::INFINITY, MAX_RATE_PER_SEC * 2.0] {
            assert!(Pacing::per_second(bad, Duration::ZERO).is_err(), "{bad}");
        }
    }

    #[test]
    fn slow_rates_keep_their_precision() {
        // One message every 3 s: the 1000th is due at 2997 s, not drifted by rounding.
        let pacing = Pacing::per_second(1.0 / 3.0, Duration::ZERO).unwrap();
        let start = Instant::now();
        let due = pacing.due(start, 999) - start;
        assert!((due.as_secs_f64() - 2_997.0).abs() < 1e-3, "{due:?}");
    }

    #[test]
    fn phases_spread_publishers_over_one_interval() {
        let interval = Duration::from_secs(2);
        let phases: Vec<Duration> = (0..4).map(|k| spread_phase(interval, k, 4)).collect();
        assert_eq!(
            phases,
            [0, 500, 1_000, 1_500].map(Duration::from_millis).to_vec()
        );
        assert_eq!(spread_phase(interval, 3, 0), Duration::ZERO);
    }

    #[test]
    fn connections_are_paced_by_rate() {
        assert_eq!(connect_offset(500.0, 0), Duration::ZERO);
        assert_eq!(connect_offset(500.0, 1_000), Duration::from_secs(2));
        assert_eq!(
            connect_offset(0.0, 1_000),
            Duration::ZERO,
            "0: as fast as possible"
        );
    }
}
