//! The wall clock that the legal rules and held messages read.
//!
//! The night window, do-not-contact slots and the weekly contact limit are about the time in
//! Asia/Seoul, so the rules need the wall clock, not a monotonic one. The broker reads it
//! through this one place, which can be stopped at a given instant: tests stand at 20:59 or
//! exactly seven days after a contact without waiting, and an operator never needs it (the
//! clock runs unless stopped through the library).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::message;

/// The real wall clock, or an instant it was stopped at.
#[derive(Debug, Default)]
pub struct Clock {
    /// Milliseconds since the epoch the clock stands at; 0: it runs.
    stopped_at_ms: AtomicU64,
}

impl Clock {
    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        match self.stopped_at_ms.load(Ordering::Relaxed) {
            0 => message::now_ms(),
            at => at,
        }
    }

    /// Stops the clock at `at_ms` (until set again or resumed).
    pub fn set_now_ms(&self, at_ms: u64) {
        self.stopped_at_ms.store(at_ms.max(1), Ordering::Relaxed);
    }

    /// Lets the clock run with the real time again.
    pub fn resume(&self) {
        self.stopped_at_ms.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_clock_stands_still_until_resumed() {
        let clock = Clock::default();
        let real = clock.now_ms();
        assert!(real > 1_700_000_000_000);
        clock.set_now_ms(1_000_000);
        assert_eq!(clock.now_ms(), 1_000_000);
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert_eq!(clock.now_ms(), 1_000_000);
        clock.resume();
        assert!(clock.now_ms() >= real);
    }
}
