//! The borrower's do-not-contact slots: weekly local-time intervals in which the lender may
//! not make collection contact (개인채무자보호법 lets a borrower block up to 28 hours a week).
//!
//! A slot is half-open, [start, end): a message at the start is inside, one at the end is
//! outside. A slot whose end is at or before its start runs past midnight into the next day,
//! so "Fri 22:00–09:00" ends on Saturday and "Sun 23:00–02:00" on Monday.

use serde::{Deserialize, Serialize};

use super::kst::{self, MINUTES_PER_DAY, MS_PER_DAY, MS_PER_MINUTE};

/// One weekly do-not-contact slot, in Asia/Seoul local time. The broker's room validation
/// guarantees minutes below 1440; larger values here are read as 1439 (start) and 1440 (end),
/// so that no input makes the arithmetic fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WeeklyWindow {
    /// Days of the week the slot starts on: bit 0 is Monday … bit 6 Sunday.
    pub days: u8,
    /// Minutes after local midnight at which the slot starts.
    pub start_minute: u16,
    /// Minutes after local midnight at which the slot ends; at or before `start_minute`, on
    /// the next day.
    pub end_minute: u16,
}

impl WeeklyWindow {
    /// Start and length of each occurrence, in milliseconds after local midnight of its day.
    fn span_ms(&self) -> (u64, u64) {
        let start = self.start_minute.min(MINUTES_PER_DAY - 1);
        let end = self.end_minute.min(MINUTES_PER_DAY);
        let minutes = if end > start { end - start } else { MINUTES_PER_DAY - start + end };
        (u64::from(start) * MS_PER_MINUTE, u64::from(minutes) * MS_PER_MINUTE)
    }

    fn starts_on(&self, weekday: u8) -> bool {
        self.days & (1 << weekday) != 0
    }

    /// The end of this slot's occurrence containing `now_ms`, or `None` outside it. An
    /// occurrence lasts at most a day, so only the ones starting today and yesterday can
    /// contain `now_ms`.
    pub fn end_of_occurrence(&self, now_ms: u64) -> Option<u64> {
        let local = kst::local(now_ms);
        let (start, length) = self.span_ms();
        let since_midnight = u64::from(local.ms_of_day);
        let yesterday = (local.weekday + 6) % 7;
        // Measured from the start of the day each occurrence starts on: yesterday, then today.
        [(yesterday, MS_PER_DAY), (local.weekday, 0)].into_iter().find_map(|(weekday, day_offset)| {
            let elapsed = (since_midnight + day_offset).checked_sub(start)?;
            (self.starts_on(weekday) && elapsed < length).then(|| now_ms.saturating_add(length - elapsed))
        })
    }

    /// Whether `now_ms` falls inside an occurrence of this slot.
    pub fn contains(&self, now_ms: u64) -> bool {
        self.end_of_occurrence(now_ms).is_some()
    }
}

/// The latest end among the occurrences of `windows` containing `now_ms`, or `None` when
/// `now_ms` is outside them all.
pub fn blocked_until(windows: &[WeeklyWindow], now_ms: u64) -> Option<u64> {
    windows.iter().filter_map(|w| w.end_of_occurrence(now_ms)).max()
}

#[cfg(test)]
mod tests {
    use super::super::kst::tests::at;
    use super::*;

    const MON: u8 = 1;
    const FRI: u8 = 1 << 4;
    const SAT: u8 = 1 << 5;
    const SUN: u8 = 1 << 6;

    fn window(days: u8, start: &str, end: &str) -> WeeklyWindow {
        let minute = |text: &str| -> u16 {
            let (h, m) = text.split_once(':').expect("HH:MM");
            h.parse::<u16>().expect("hours") * 60 + m.parse::<u16>().expect("minutes")
        };
        WeeklyWindow { days, start_minute: minute(start), end_minute: minute(end) }
    }

    // 2025-03-07 is a Friday, 03-08 a Saturday, 03-09 a Sunday, 03-10 a Monday.

    #[test]
    fn a_slot_within_a_day_is_half_open() {
        let lunch = window(FRI, "12:00", "13:00");
        assert!(!lunch.contains(at("2025-03-07 11:59:59.999")));
        assert_eq!(lunch.end_of_occurrence(at("2025-03-07 12:00")), Some(at("2025-03-07 13:00")));
        assert_eq!(lunch.end_of_occurrence(at("2025-03-07 12:59:59.999")), Some(at("2025-03-07 13:00")));
        assert!(!lunch.contains(at("2025-03-07 13:00")));
        // Only on the days it names.
        assert!(!lunch.contains(at("2025-03-08 12:30")));
        assert!(!lunch.contains(at("2025-03-06 12:30")));
    }

    #[test]
    fn an_overnight_slot_ends_the_next_day() {
        let slot = window(FRI, "22:00", "09:00");
        assert!(!slot.contains(at("2025-03-07 21:59:59.999")));
        assert_eq!(slot.end_of_occurrence(at("2025-03-07 22:00")), Some(at("2025-03-08 09:00")));
        assert_eq!(slot.end_of_occurrence(at("2025-03-08 00:00")), Some(at("2025-03-08 09:00")));
        assert_eq!(slot.end_of_occurrence(at("2025-03-08 08:59:59.999")), Some(at("2025-03-08 09:00")));
        assert!(!slot.contains(at("2025-03-08 09:00")));
        // Saturday is not a start day: Saturday night is free, so is Friday morning.
        assert!(!slot.contains(at("2025-03-08 23:00")));
        assert!(!slot.contains(at("2025-03-07 08:00")));
    }

    #[test]
    fn a_sunday_slot_wraps_into_monday() {
        let slot = window(SUN, "23:00", "02:00");
        assert_eq!(slot.end_of_occurrence(at("2025-03-09 23:30")), Some(at("2025-03-10 02:00")));
        assert_eq!(slot.end_of_occurrence(at("2025-03-10 01:59:59.999")), Some(at("2025-03-10 02:00")));
        assert!(!slot.contains(at("2025-03-10 02:00")));
        // A Monday slot does not reach back into Sunday.
        let monday = window(MON, "00:00", "06:00");
        assert!(!monday.contains(at("2025-03-09 23:59:59.999")));
        assert!(monday.contains(at("2025-03-10 00:00")));
    }

    #[test]
    fn an_end_equal_to_the_start_is_a_whole_day() {
        let slot = window(SAT, "10:00", "10:00");
        assert_eq!(slot.end_of_occurrence(at("2025-03-08 10:00")), Some(at("2025-03-09 10:00")));
        assert!(slot.contains(at("2025-03-09 09:59:59.999")));
        assert!(!slot.contains(at("2025-03-09 10:00")));
    }

    #[test]
    fn out_of_range_minutes_are_clamped() {
        let slot = WeeklyWindow { days: FRI, start_minute: 5000, end_minute: 9000 };
        assert!(slot.contains(at("2025-03-07 23:59")));
        assert!(!slot.contains(at("2025-03-08 00:00")));
        assert!(!WeeklyWindow { days: 0, start_minute: 0, end_minute: 0 }.contains(at("2025-03-07 12:00")));
        // The first hours of the epoch (1970-01-01 was a Thursday, 09:00 in Seoul).
        let thursday_morning = WeeklyWindow { days: 1 << 3, start_minute: 0, end_minute: 10 * 60 };
        assert_eq!(thursday_morning.end_of_occurrence(0), Some(60 * MS_PER_MINUTE));
    }

    #[test]
    fn the_latest_end_of_overlapping_slots_wins() {
        let slots = [window(FRI, "12:00", "13:00"), window(FRI | SAT, "12:30", "14:00"), window(SAT, "00:00", "01:00")];
        assert_eq!(blocked_until(&slots, at("2025-03-07 12:10")), Some(at("2025-03-07 13:00")));
        assert_eq!(blocked_until(&slots, at("2025-03-07 12:40")), Some(at("2025-03-07 14:00")));
        assert_eq!(blocked_until(&slots, at("2025-03-07 14:00")), None);
        assert_eq!(blocked_until(&slots, at("2025-03-08 00:10")), Some(at("2025-03-08 01:00")));
        assert_eq!(blocked_until(&[], at("2025-03-08 00:10")), None);
    }
}
