//! Calendar dates of the proleptic Gregorian calendar, and their day numbers.
//!
//! The legal rules compare due dates with "today in Asia/Seoul" and step from one local day
//! to the next. Only this arithmetic is needed, so it is written here (Howard Hinnant's
//! days-from-civil algorithm) instead of pulling a date-time crate into the broker.

use std::fmt;
use std::str::FromStr;

/// A day of the calendar, such as a loan's due date. Ordered chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    /// 1 to 12.
    pub month: u8,
    /// 1 to the length of the month.
    pub day: u8,
}

/// Why a text is not a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("must be a date written YYYY-MM-DD, got {0:?}")]
    Format(String),
    #[error("{0:?} is not a day of the calendar")]
    NoSuchDay(String),
}

/// Whether `year` has a 29 February.
pub fn is_leap_year(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days in `month` (1 to 12) of `year`; 0 for a month that does not exist.
pub fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        _ => 0,
    }
}

/// Days between 1970-01-01 and the given day (negative before it). The arguments must form
/// a real day (see [`Date::new`]).
pub fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    // Count years from March, so that the leap day is the last day of a counted year.
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400; // 0 ..= 399
    let month = i64::from(month);
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(day) - 1; // 0 ..= 365
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year; // 0 ..= 146096
    era * 146_097 + day_of_era - 719_468
}

/// The day `days` after 1970-01-01 (before it when negative): the inverse of
/// [`days_from_civil`]. Days so far away that the year leaves `i32` saturate.
pub fn civil_from_days(days: i64) -> Date {
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097; // 0 ..= 146096
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365; // 0 ..= 399
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); // 0 ..= 365
    let shifted_month = (5 * day_of_year + 2) / 153; // 0 ..= 11, March first
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1; // 1 ..= 31
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 }; // 1 ..= 12
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    let year = i32::try_from(year).unwrap_or(if year < 0 { i32::MIN } else { i32::MAX });
    // Both are in range by construction (see the comments above).
    Date { year, month: month as u8, day: day as u8 }
}

impl Date {
    /// The day, if it exists in the calendar.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        (day >= 1 && day <= days_in_month(year, month)).then_some(Date { year, month, day })
    }

    /// Days since 1970-01-01.
    pub fn days_since_epoch(self) -> i64 {
        days_from_civil(self.year, self.month, self.day)
    }

    /// The day after.
    pub fn next_day(self) -> Date {
        civil_from_days(self.days_since_epoch() + 1)
    }

    /// Day of the week, 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
    pub fn weekday(self) -> u8 {
        // In 0 ..= 6 by `rem_euclid`.
        (self.days_since_epoch() + 3).rem_euclid(7) as u8
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for Date {
    type Err = DateError;

    /// Exactly `YYYY-MM-DD` (four-digit year), a day that exists.
    fn from_str(text: &str) -> Result<Date, DateError> {
        let bad = || DateError::Format(text.to_string());
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(bad());
        }
        let number = |range: std::ops::Range<usize>| -> Result<u16, DateError> {
            let part = &bytes[range];
            if !part.iter().all(u8::is_ascii_digit) {
                return Err(bad());
            }
            Ok(part.iter().fold(0, |n, digit| n * 10 + u16::from(digit - b'0')))
        };
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        let (Ok(month), Ok(day)) = (u8::try_from(month), u8::try_from(day)) else {
            return Err(bad());
        };
        if !(1..=12).contains(&month) {
            return Err(bad());
        }
        Date::new(i32::from(year), month, day).ok_or_else(|| DateError::NoSuchDay(text.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn known_day_numbers() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
        assert_eq!(days_from_civil(2024, 3, 1), 19_783);
        // 2100 is not a leap year: 28 February is followed by 1 March.
        assert_eq!(days_from_civil(2100, 3, 1) - days_from_civil(2100, 2, 28), 1);
        assert_eq!(days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28), 2);
        assert_eq!(civil_from_days(19_782), date("2024-02-29"));
        assert_eq!(civil_from_days(-719_468), Date { year: 0, month: 3, day: 1 });
    }

    #[test]
    fn day_numbers_step_through_every_day_of_four_centuries() {
        // Walk day by day with the month lengths and compare with both conversions.
        let mut expected = Date { year: 1899, month: 12, day: 25 };
        let mut days = days_from_civil(1899, 12, 25);
        while expected.year < 2301 {
            assert_eq!(civil_from_days(days), expected, "day {days}");
            assert_eq!(expected.days_since_epoch(), days, "{expected}");
            expected = if expected.day < days_in_month(expected.year, expected.month) {
                Date { day: expected.day + 1, ..expected }
            } else if expected.month < 12 {
                Date { month: expected.month + 1, day: 1, ..expected }
            } else {
                Date { year: expected.year + 1, month: 1, day: 1 }
            };
            days += 1;
        }
    }

    #[test]
    fn leap_years() {
        assert!(is_leap_year(2024) && is_leap_year(2000) && is_leap_year(2400));
        assert!(!is_leap_year(2100) && !is_leap_year(1900) && !is_leap_year(2023));
        assert_eq!(date("2024-02-28").next_day(), date("2024-02-29"));
        assert_eq!(date("2024-02-29").next_day(), date("2024-03-01"));
        assert_eq!(date("2100-02-28").next_day(), date("2100-03-01"));
        assert_eq!(date("2025-12-31").next_day(), date("2026-01-01"));
    }

    #[test]
    fn weekdays_start_on_monday() {
        assert_eq!(date("1970-01-01").weekday(), 3); // Thursday
        assert_eq!(date("2024-02-29").weekday(), 3); // Thursday
        assert_eq!(date("2025-03-09").weekday(), 6); // Sunday
        assert_eq!(date("2025-03-10").weekday(), 0); // Monday
        assert_eq!(date("1969-12-29").weekday(), 0); // Monday, before the epoch
    }

    #[test]
    fn parsing_accepts_only_real_days_written_in_full() {
        assert_eq!(date("2024-02-29"), Date { year: 2024, month: 2, day: 29 });
        assert_eq!(date("2026-12-31").to_string(), "2026-12-31");
        for bad in ["2024-2-29", "24-02-29", "2024/02/29", "2024-02-2a", "+024-02-29", "2024-13-01", "2024-00-10", ""] {
            assert!(matches!(bad.parse::<Date>(), Err(DateError::Format(_))), "{bad}");
        }
        for missing in ["2100-02-29", "2023-02-29", "2026-04-31", "2026-01-00"] {
            assert!(matches!(missing.parse::<Date>(), Err(DateError::NoSuchDay(_))), "{missing}");
        }
        assert!(date("2026-01-31") < date("2026-02-01") && date("2025-12-31") < date("2026-01-01"));
    }
}
