//! Local time in Asia/Seoul (KST), the time zone every rule of Korean collection law speaks.
//!
//! Korea has kept UTC+9 all year since 1988, so local time is a fixed offset and no time-zone
//! database is needed. All instants are milliseconds since the Unix epoch (UTC), as the broker
//! stamps messages; arithmetic saturates instead of overflowing at the ends of `u64`.

use super::date::{civil_from_days, Date};

/// Offset of Korea Standard Time from UTC.
pub const OFFSET_MS: u64 = 9 * MS_PER_HOUR;
pub const MS_PER_MINUTE: u64 = 60_000;
pub const MS_PER_HOUR: u64 = 60 * MS_PER_MINUTE;
pub const MS_PER_DAY: u64 = 24 * MS_PER_HOUR;
pub const MINUTES_PER_DAY: u16 = 24 * 60;

/// An instant as a clock and calendar in Seoul show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub date: Date,
    /// 0 = Monday … 6 = Sunday.
    pub weekday: u8,
    /// Whole minutes since local midnight, 0 to 1439.
    pub minute_of_day: u16,
    /// Milliseconds since local midnight, 0 to 86 399 999.
    pub ms_of_day: u32,
}

/// Milliseconds since the epoch, shifted to local wall-clock time.
fn local_ms(now_ms: u64) -> u64 {
    now_ms.saturating_add(OFFSET_MS)
}

/// Local days since 1970-01-01 of an instant.
pub fn local_day_number(now_ms: u64) -> u64 {
    local_ms(now_ms) / MS_PER_DAY
}

/// The local date and time of an instant.
pub fn local(now_ms: u64) -> LocalTime {
    let local = local_ms(now_ms);
    let days = local / MS_PER_DAY;
    // Below 86 400 000, so it fits.
    let ms_of_day = (local % MS_PER_DAY) as u32;
    // At most u64::MAX / MS_PER_DAY, far inside i64.
    let date = civil_from_days(days as i64);
    LocalTime {
        date,
        weekday: ((days + 3) % 7) as u8, // 1970-01-01 was a Thursday
        minute_of_day: (ms_of_day / 60_000) as u16,
        ms_of_day,
    }
}

/// The local date of an instant.
pub fn date(now_ms: u64) -> Date {
    local(now_ms).date
}

/// The instant of local midnight starting `date`, or `None` before 1970-01-01 09:00 KST.
pub fn start_of_day(date: Date) -> Option<u64> {
    let days = u64::try_from(date.days_since_epoch()).ok()?;
    days.checked_mul(MS_PER_DAY)?.checked_sub(OFFSET_MS)
}

/// The first instant at or after `now_ms` at which local time reads `minute_of_day`:00.000
/// (minutes past 1439 count into the next day).
pub fn next_local_time(now_ms: u64, minute_of_day: u16) -> u64 {
    let target = u64::from(minute_of_day) * MS_PER_MINUTE;
    let local = local_ms(now_ms);
    let midnight = local - local % MS_PER_DAY;
    let mut at = midnight.saturating_add(target);
    if at < local {
        at = at.saturating_add(MS_PER_DAY);
    }
    at.saturating_sub(OFFSET_MS).max(now_ms)
}

/// `YYYY-MM-DD HH:MM KST`, as reasons given to people show times.
pub fn format(now_ms: u64) -> String {
    let time = local(now_ms);
    format!("{} {:02}:{:02} KST", time.date, time.minute_of_day / 60, time.minute_of_day % 60)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The instant of a local time written `YYYY-MM-DD HH:MM[:SS[.mmm]]` in Seoul.
    pub(crate) fn at(text: &str) -> u64 {
        let (day, clock) = text.split_once(' ').unwrap_or((text, "00:00"));
        let date: Date = day.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        let (clock, millis) = clock.split_once('.').unwrap_or((clock, "0"));
        let parts: Vec<u64> = clock.split(':').map(|p| p.parse().unwrap_or_else(|e| panic!("{text}: {e}"))).collect();
        let seconds = parts[0] * 3600 + parts[1] * 60 + parts.get(2).copied().unwrap_or(0);
        let millis: u64 = millis.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        start_of_day(date).unwrap_or_else(|| panic!("{text} is before the epoch")) + seconds * 1000 + millis
    }

    #[test]
    fn seoul_is_nine_hours_ahead_of_utc() {
        // 2024-03-01T00:00:00Z is 09:00 in Seoul the same day.
        let utc_midnight = 1_709_251_200_000;
        let time = local(utc_midnight);
        assert_eq!((time.date.to_string(), time.minute_of_day, time.weekday), ("2024-03-01".into(), 9 * 60, 4));
        // 2024-02-29T15:00:00Z is local midnight of 1 March; a millisecond before is 29 February.
        let kst_midnight = utc_midnight - OFFSET_MS;
        assert_eq!(local(kst_midnight).date.to_string(), "2024-03-01");
        assert_eq!((local(kst_midnight).ms_of_day, local(kst_midnight).minute_of_day), (0, 0));
        let before = local(kst_midnight - 1);
        assert_eq!(before.date.to_string(), "2024-02-29");
        assert_eq!((before.ms_of_day, before.minute_of_day, before.weekday), (86_399_999, 1439, 3));
        assert_eq!(at("2024-03-01 00:00"), kst_midnight);
        assert_eq!(at("2024-03-01 09:00"), utc_midnight);
    }

    #[test]
    fn the_epoch_and_far_future_do_not_overflow() {
        assert_eq!(local(0).date.to_string(), "1970-01-01");
        assert_eq!(local(0).minute_of_day, 9 * 60);
        assert_eq!(start_of_day("1970-01-01".parse().unwrap_or_else(|e| panic!("{e}"))), None);
        assert_eq!(start_of_day("1970-01-02".parse().unwrap_or_else(|e| panic!("{e}"))), Some(15 * MS_PER_HOUR));
        let far = local(u64::MAX);
        assert!(far.date.year > 500_000_000);
        assert_eq!(next_local_time(u64::MAX, 8 * 60), u64::MAX);
    }

    #[test]
    fn local_days_in_2100_skip_the_29th_of_february() {
        assert_eq!(local(at("2100-02-28 23:59:59.999") + 1).date.to_string(), "2100-03-01");
        assert_eq!(local(at("2024-02-28 23:59:59.999") + 1).date.to_string(), "2024-02-29");
        assert_eq!(at("2100-03-01 00:00") - at("2100-02-28 00:00"), MS_PER_DAY);
    }

    #[test]
    fn next_local_time_is_at_or_after_now() {
        assert_eq!(next_local_time(at("2025-03-07 21:00"), 8 * 60), at("2025-03-08 08:00"));
        assert_eq!(next_local_time(at("2025-03-08 07:59:59.999"), 8 * 60), at("2025-03-08 08:00"));
        assert_eq!(next_local_time(at("2025-03-08 08:00"), 8 * 60), at("2025-03-08 08:00"));
        assert_eq!(next_local_time(at("2025-03-08 08:00:00.001"), 8 * 60), at("2025-03-09 08:00"));
        assert_eq!(next_local_time(at("2025-12-31 23:30"), 8 * 60), at("2026-01-01 08:00"));
        assert_eq!(next_local_time(at("2024-02-29 22:00"), 0), at("2024-03-01 00:00"));
    }

    #[test]
    fn formats_local_minutes() {
        assert_eq!(format(at("2025-03-08 09:05:59.999")), "2025-03-08 09:05 KST");
    }
}
