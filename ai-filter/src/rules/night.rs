//! The night window: no collection contact between 21:00 and 08:00 in Seoul.
//!
//! The Fair Debt Collection Act (art. 9) forbids contacting a debtor at night; messages count
//! as contact. The window is half-open, [21:00, 08:00): 20:59:59.999 is day, 21:00:00.000 is
//! night, 07:59:59.999 is night and 08:00:00.000 is day again.

use super::kst::{self, MS_PER_MINUTE};

/// Local minute at which the night starts (21:00).
pub const NIGHT_START_MINUTE: u16 = 21 * 60;
/// Local minute at which the night ends (08:00).
pub const NIGHT_END_MINUTE: u16 = 8 * 60;

/// Whether the instant falls in the night window.
pub fn is_night(now_ms: u64) -> bool {
    let ms = u64::from(kst::local(now_ms).ms_of_day);
    ms >= u64::from(NIGHT_START_MINUTE) * MS_PER_MINUTE || ms < u64::from(NIGHT_END_MINUTE) * MS_PER_MINUTE
}

/// The end of the night containing `now_ms` (the next 08:00 in Seoul), or `None` by day.
pub fn night_end(now_ms: u64) -> Option<u64> {
    is_night(now_ms).then(|| kst::next_local_time(now_ms, NIGHT_END_MINUTE))
}

#[cfg(test)]
mod tests {
    use super::super::kst::tests::at;
    use super::*;

    #[test]
    fn edges_of_the_night() {
        assert!(!is_night(at("2025-03-07 20:59:59.999")));
        assert!(is_night(at("2025-03-07 21:00")));
        assert!(is_night(at("2025-03-07 23:59:59.999")));
        assert!(is_night(at("2025-03-08 00:00")));
        assert!(is_night(at("2025-03-08 07:59:59.999")));
        assert!(!is_night(at("2025-03-08 08:00")));
        assert!(!is_night(at("2025-03-08 12:00")));
    }

    #[test]
    fn the_night_ends_at_the_next_eight_o_clock() {
        assert_eq!(night_end(at("2025-03-07 21:00")), Some(at("2025-03-08 08:00")));
        assert_eq!(night_end(at("2025-03-08 07:59:59.999")), Some(at("2025-03-08 08:00")));
        assert_eq!(night_end(at("2025-03-08 03:00")), Some(at("2025-03-08 08:00")));
        assert_eq!(night_end(at("2025-01-31 22:00")), Some(at("2025-02-01 08:00")));
        assert_eq!(night_end(at("2025-12-31 21:30")), Some(at("2026-01-01 08:00")));
        assert_eq!(night_end(at("2024-02-28 23:00")), Some(at("2024-02-29 08:00")));
        assert_eq!(night_end(at("2025-03-08 08:00")), None);
        assert_eq!(night_end(at("2025-03-07 20:59:59.999")), None);
    }
}
