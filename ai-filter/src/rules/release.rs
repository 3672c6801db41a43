//! When a held collection message may be delivered: the first instant, at or after it was
//! sent, outside the night window (when the night holds messages) and outside every one of
//! the borrower's do-not-contact slots.
//!
//! Nights and slots can abut (a slot Fri 22:00–Sat 09:00 runs past the night's 08:00), so the
//! search jumps from end to end until nothing applies. Each jump lands on a later end of a
//! night or a slot occurrence, so the search is finite; it is bounded anyway, because slots
//! come from a person's settings.

use super::kst::MS_PER_DAY;
use super::night::night_end;
use super::weekly_window::{blocked_until, WeeklyWindow};

/// How far ahead a release is looked for. Slots block at most 28 hours a week (the broker
/// refuses more) and nights 11 hours a day, so a free instant always comes within a week; a
/// search past 8 days means the slots cover all the time there is.
pub const RELEASE_HORIZON_MS: u64 = 8 * MS_PER_DAY;

/// Most jumps of one search. Within the horizon there are at most 9 night ends and 9
/// occurrence ends per slot; the broker allows 32 slots, so 9 + 9 × 32 = 297 jumps at most.
pub const MAX_RELEASE_STEPS: usize = 512;

/// The release instant of a message held at `now_ms`, or `None` when there is no free instant
/// within [`RELEASE_HORIZON_MS`] (slots covering the whole week).
pub fn release_time(now_ms: u64, hold_at_night: bool, slots: &[WeeklyWindow]) -> Option<u64> {
    let mut at = now_ms;
    for _ in 0..MAX_RELEASE_STEPS {
        let night = if hold_at_night { night_end(at) } else { None };
        match night.max(blocked_until(slots, at)) {
            None => return Some(at),
            // Every end lies after `at`; the check keeps the loop honest against that.
            Some(end) if end > at && end - now_ms <= RELEASE_HORIZON_MS => at = end,
            Some(_) => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::kst::tests::at;
    use super::*;

    const FRI: u8 = 1 << 4;
    const SAT: u8 = 1 << 5;

    #[test]
    fn free_time_is_released_at_once() {
        assert_eq!(release_time(at("2025-03-07 12:00"), true, &[]), Some(at("2025-03-07 12:00")));
    }

    #[test]
    fn the_night_releases_at_eight() {
        assert_eq!(release_time(at("2025-03-07 21:00"), true, &[]), Some(at("2025-03-08 08:00")));
        assert_eq!(release_time(at("2025-03-07 21:00"), false, &[]), Some(at("2025-03-07 21:00")));
    }

    #[test]
    fn nights_and_slots_chain() {
        // Fri 22:00 – Sat 09:00 outlasts the night.
        let friday_night = WeeklyWindow { days: FRI, start_minute: 22 * 60, end_minute: 9 * 60 };
        assert_eq!(release_time(at("2025-03-07 21:30"), true, &[friday_night]), Some(at("2025-03-08 09:00")));
        // A slot starting when the night ends, then another right after it.
        let morning = WeeklyWindow { days: SAT, start_minute: 8 * 60, end_minute: 10 * 60 };
        let late_morning = WeeklyWindow { days: SAT, start_minute: 9 * 60 + 30, end_minute: 11 * 60 };
        assert_eq!(release_time(at("2025-03-08 02:00"), true, &[morning, late_morning]), Some(at("2025-03-08 11:00")));
        // Without the night hold, a slot that ends at night releases into the night.
        let evening = WeeklyWindow { days: FRI, start_minute: 20 * 60, end_minute: 22 * 60 };
        assert_eq!(release_time(at("2025-03-07 20:30"), false, &[evening]), Some(at("2025-03-07 22:00")));
        assert_eq!(release_time(at("2025-03-07 20:30"), true, &[evening]), Some(at("2025-03-08 08:00")));
    }

    #[test]
    fn slots_covering_the_whole_week_have_no_release() {
        let always = WeeklyWindow { days: 0x7f, start_minute: 0, end_minute: 0 };
        assert_eq!(release_time(at("2025-03-07 12:00"), true, &[always]), None);
        let daytime = WeeklyWindow { days: 0x7f, start_minute: 8 * 60, end_minute: 21 * 60 };
        assert_eq!(release_time(at("2025-03-07 12:00"), true, &[daytime]), None);
        assert_eq!(release_time(at("2025-03-07 12:00"), false, &[daytime]), Some(at("2025-03-07 21:00")));
    }
}
