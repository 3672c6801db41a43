//! A token bucket kept as one instant (the generic cell rate algorithm): `burst` tokens,
//! refilled at `rate` per second, with exact time arithmetic and no timer. The rate is kept
//! apart from the bucket so that many buckets with one rate (one per address) cost one
//! instant each.

use std::time::{Duration, Instant};

/// A rate and burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Time one token takes to refill: 1 s / rate.
    interval: Duration,
    /// How far ahead of now a bucket may have spent its allowance: (burst - 1) intervals.
    tolerance: Duration,
}

impl Rate {
    /// `rate` tokens per second, `burst` at once; both at least 1 (the configuration
    /// guarantees it, `max(1)` keeps this total anyway).
    pub fn new(per_second: u32, burst: u32) -> Rate {
        let interval = Duration::from_secs(1) / per_second.max(1);
        Rate { interval, tolerance: interval * burst.max(1).saturating_sub(1) }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    /// When the bucket is full again; at or before now: it is full.
    full_at: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn full(now: Instant) -> TokenBucket {
        TokenBucket { full_at: now }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Instant, rate: &Rate) -> bool {
        let full_at = self.full_at.max(now);
        if full_at - now > rate.tolerance {
            return false;
        }
        self.full_at = full_at + rate.interval;
        true
    }

    /// Whether the bucket is full: forgetting it changes nothing.
    pub fn is_full(&self, now: Instant) -> bool {
        self.full_at <= now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate() {
        let start = Instant::now();
        let rate = Rate::new(10, 5);
        let mut bucket = TokenBucket::full(start);
        assert_eq!((0..10).filter(|_| bucket.take(start, &rate)).count(), 5);
        // One token every 100 ms.
        assert!(!bucket.take(start + Duration::from_millis(99), &rate));
        assert!(bucket.take(start + Duration::from_millis(100), &rate));
        assert!(!bucket.take(start + Duration::from_millis(150), &rate));
        assert!(!bucket.is_full(start + Duration::from_millis(150)));
        // Idle long enough: full again, but never more than the burst.
        let later = start + Duration::from_secs(60);
        assert!(bucket.is_full(later));
        assert_eq!((0..10).filter(|_| bucket.take(later, &rate)).count(), 5);
    }

    #[test]
    fn burst_of_one_is_a_plain_rate() {
        let start = Instant::now();
        let rate = Rate::new(2, 1);
        let mut bucket = TokenBucket::full(start);
        assert!(bucket.take(start, &rate));
        assert!(!bucket.take(start + Duration::from_millis(499), &rate));
        assert!(bucket.take(start + Duration::from_millis(500), &rate));
    }
}
