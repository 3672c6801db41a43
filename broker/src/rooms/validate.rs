//! The rules a room's data follows, whoever writes it.
//!
//! Room and user ids end up in topic names (`chat/{room}/...`, `user/{user}/...`), so they
//! must be single topic levels; loan terms carry legal weight, so dates, times and amounts
//! are exact text checked here rather than floats or free strings. The legal limits that the
//! product enforces (Korean law: interest at most 20 % a year, a borrower blocks at most 28
//! hours of contact a week) are refused here, with the reason.

use tallymq_storage::ContactWindow;

/// Longest room id, in bytes.
pub const MAX_ROOM_ID_LEN: usize = 128;
/// Longest user id, in bytes of UTF-8.
pub const MAX_USER_ID_LEN: usize = 256;
/// Most do-not-contact windows of one loan.
pub const MAX_CONTACT_WINDOWS: usize = 32;
/// Most minutes a week a borrower may block contact (28 hours).
pub const MAX_BLOCKED_MINUTES_PER_WEEK: u32 = 28 * 60;
/// Digits of a principal amount before the decimal point.
const MAX_AMOUNT_DIGITS: usize = 20;
/// Digits of a principal amount after the decimal point.
const MAX_AMOUNT_DECIMALS: usize = 3;

const MINUTES_PER_DAY: u32 = 24 * 60;
const MINUTES_PER_WEEK: u32 = 7 * MINUTES_PER_DAY;

/// Day names as the API writes them, Monday first (bit 0 of [`ContactWindow::days`]).
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// 1 to [`MAX_ROOM_ID_LEN`] ASCII letters, digits, `-`, `_` and `.`, not only dots.
pub fn room_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_ROOM_ID_LEN {
        return Err(format!("must be 1 to {MAX_ROOM_ID_LEN} characters, got {}", id.len()));
    }
    if let Some(c) = id.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
        return Err(format!("may contain only ASCII letters, digits, '-', '_' and '.'; {id:?} contains {c:?}"));
    }
    if id.chars().all(|c| c == '.') {
        return Err("must not consist of dots only".into());
    }
    Ok(())
}

/// 1 to [`MAX_USER_ID_LEN`] bytes, usable as one topic level: no `/`, `+`, `#`, no control
/// characters, not starting with `$`.
pub fn user_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_USER_ID_LEN {
        return Err(format!("must be 1 to {MAX_USER_ID_LEN} bytes, got {}", id.len()));
    }
    if let Some(c) = id.chars().find(|c| matches!(c, '/' | '+' | '#') || c.is_control()) {
        return Err(format!("must be usable as one topic level; {id:?} contains {c:?}"));
    }
    if id.starts_with('$') {
        return Err("must not start with '$'".into());
    }
    Ok(())
}

/// A calendar date written `YYYY-MM-DD`, years 1970 to 9999.
pub fn date(text: &str) -> Result<(), String> {
    let bad = || format!("must be a date written YYYY-MM-DD, got {text:?}");
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return Err(bad());
    }
    let number = |range: std::ops::Range<usize>| -> Result<u32, String> {
        let part = &text[range];
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse().map_err(|_| bad())
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) {
        return Err(bad());
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=days).contains(&day) {
        return Err(format!("{text:?} is not a day of the calendar"));
    }
    Ok(())
}

/// A local time written `HH:MM` (00:00 to 23:59), as minutes after midnight.
pub fn time_of_day(text: &str) -> Result<u16, String> {
    let bad = || format!("must be a time written HH:MM (00:00 to 23:59), got {text:?}");
    let (hours, minutes) = text.split_once(':').ok_or_else(bad)?;
    let two_digits = |part: &str| -> Result<u16, String> {
        if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse().map_err(|_| bad())
    };
    let (hours, minutes) = (two_digits(hours)?, two_digits(minutes)?);
    if hours > 23 || minutes > 59 {
        return Err(bad());
    }
    Ok(hours * 60 + minutes)
}

/// `HH:MM` of minutes after midnight.
pub fn format_time_of_day(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// The bit of a day name (`mon` .. `sun`).
pub fn weekday(name: &str) -> Result<u8, String> {
    WEEKDAYS
        .iter()
        .position(|d| *d == name)
        .map(|at| 1 << at)
        .ok_or_else(|| format!("must be one of {}, got {name:?}", WEEKDAYS.join(", ")))
}

/// The day names of a day mask, Monday first.
pub fn weekday_names(days: u8) -> Vec<&'static str> {
    WEEKDAYS.iter().enumerate().filter(|(at, _)| days & (1 << at) != 0).map(|(_, d)| *d).collect()
}

/// An annual interest rate in percent as decimal text with at most two decimals ("12.5"),
/// as hundredths of a percent; above the legal maximum of 20 % it is refused. The rule is the
/// detector's (`tallymq_ai_filter::parse_annual_rate`), shared with auction bids.
pub fn interest_rate(text: &str) -> Result<u32, String> {
    tallymq_ai_filter::parse_annual_rate(text).map_err(|error| match error {
        tallymq_ai_filter::RateError::AboveLegalMaximum(_) => format!("{error}; such a loan cannot be recorded"),
        malformed => malformed.to_string(),
    })
}

/// Hundredths of a percent as the shortest decimal text ("12.5", "20", "0.05").
pub fn format_interest_rate(bp: u32) -> String {
    tallymq_ai_filter::AnnualRate(bp).to_string()
}
/// A non-negative amount as decimal text: no sign, no exponent, no leading zeros, at most
/// 20 digits before and 3 after the point.
pub fn amount(text: &str) -> Result<(), String> {
    let bad = || format!("must be a non-negative decimal number such as \"1500000\" or \"1250.50\", got {text:?}");
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() && fraction.len() <= MAX_AMOUNT_DECIMALS => (whole, fraction),
        Some(_) => return Err(bad()),
        None => (text, ""),
    };
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > MAX_AMOUNT_DIGITS || !all_digits(whole) || !all_digits(fraction) {
        return Err(bad());
    }
    if whole.len() > 1 && whole.starts_with('0') {
        return Err(bad());
    }
    Ok(())
}

/// An ISO 4217 currency code: three capital letters.
pub fn currency(code: &str) -> Result<(), String> {
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(format!("must be an ISO 4217 code of three capital letters such as \"KRW\", got {code:?}"))
    }
}

/// The do-not-contact windows of one loan: at most [`MAX_CONTACT_WINDOWS`], each with days
/// and a start different from its end, together blocking at most 28 hours a week.
pub fn contact_windows(windows: &[ContactWindow]) -> Result<(), String> {
    if windows.len() > MAX_CONTACT_WINDOWS {
        return Err(format!("at most {MAX_CONTACT_WINDOWS} windows, got {}", windows.len()));
    }
    for (at, window) in windows.iter().enumerate() {
        if window.days == 0 || window.days >= 1 << 7 {
            return Err(format!("[{at}].days must name at least one day"));
        }
        if window.start_minute == window.end_minute {
            return Err(format!("[{at}]: start and end are the same time"));
        }
    }
    let blocked = blocked_minutes_per_week(windows);
    if blocked > MAX_BLOCKED_MINUTES_PER_WEEK {
        return Err(format!(
            "the windows block {} h {} min a week; a borrower may block at most 28 hours a week",
            blocked / 60,
            blocked % 60
        ));
    }
    Ok(())
}

/// Minutes of the week inside at least one window (overlaps counted once).
pub fn blocked_minutes_per_week(windows: &[ContactWindow]) -> u32 {
    let mut blocked = vec![false; MINUTES_PER_WEEK as usize];
    for window in windows {
        let (start, end) = (u32::from(window.start_minute), u32::from(window.end_minute));
        let length = if end > start { end - start } else { MINUTES_PER_DAY - start + end };
        for day in (0..7).filter(|day| window.days & (1 << day) != 0) {
            let from = day * MINUTES_PER_DAY + start;
            for minute in from..from + length {
                blocked[(minute % MINUTES_PER_WEEK) as usize] = true;
            }
        }
    }
    blocked.iter().filter(|b| **b).count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_ids_are_one_safe_topic_level() {
        for good in ["loan-42", "a", "A_b.c-9"] {
            assert!(room_id(good).is_ok(), "{good}");
        }
        for bad in ["", "a/b", "a+", "#", "..", "방", "a b", &"x".repeat(MAX_ROOM_ID_LEN + 1)] {
            assert!(room_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn user_ids_are_one_topic_level() {
        assert!(user_id("kim@example.com").is_ok());
        assert!(user_id("김철수").is_ok());
        for bad in ["", "a/b", "a+b", "a#", "$sys", "a\u{0}b", "tab\there"] {
            assert!(user_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn dates_are_real_calendar_days() {
        for good in ["2024-02-29", "2026-12-31", "2000-02-29"] {
            assert!(date(good).is_ok(), "{good}");
        }
        for bad in ["2023-02-29", "1900-02-29", "2026-13-01", "2026-04-31", "2026-1-01", "26-01-01", "2026-01-0a", "+026-01-01"] {
            assert!(date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_of_day() {
        assert_eq!(time_of_day("00:00"), Ok(0));
        assert_eq!(time_of_day("21:30"), Ok(21 * 60 + 30));
        for bad in ["24:00", "7:00", "07:60", "0700", "07:0", "+7:00"] {
            assert!(time_of_day(bad).is_err(), "{bad}");
        }
        assert_eq!(format_time_of_day(8 * 60 + 5), "08:05");
    }

    #[test]
    fn interest_rates_are_exact_and_legal() {
        assert_eq!(interest_rate("12.5"), Ok(1250));
        assert_eq!(interest_rate("0.05"), Ok(5));
        assert_eq!(interest_rate("20"), Ok(2000));
        assert_eq!(interest_rate("20.00"), Ok(2000));
        let error = interest_rate("20.01").unwrap_err();
        assert!(error.contains("legal maximum"), "{error}");
        for bad in ["", "-1", "1.234", "1e2", "abc", ".5", "5.", "1000"] {
            assert!(interest_rate(bad).is_err(), "{bad}");
        }
        for bp in [0, 5, 50, 1250, 1999, 2000] {
            assert_eq!(interest_rate(&format_interest_rate(bp)), Ok(bp));
        }
        assert_eq!(format_interest_rate(1250), "12.5");
    }

    #[test]
    fn amounts_and_currencies() {
        for good in ["0", "1500000", "1250.50", "0.001"] {
            assert!(amount(good).is_ok(), "{good}");
        }
        for bad in ["", "-1", "01", "1.", ".5", "1.2345", "1e6", "1,000", &"9".repeat(21)] {
            assert!(amount(bad).is_err(), "{bad}");
        }
        assert!(currency("KRW").is_ok());
        assert!(currency("krw").is_err() && currency("WON!").is_err());
    }

    #[test]
    fn contact_windows_block_at_most_28_hours_a_week() {
        let night = |days: u8| ContactWindow { days, start_minute: 22 * 60, end_minute: 2 * 60 };
        // Four hours on each of seven nights, across midnight: exactly 28 hours.
        assert_eq!(blocked_minutes_per_week(&[night(0x7f)]), 28 * 60);
        assert!(contact_windows(&[night(0x7f)]).is_ok());
        // Overlapping windows count once.
        assert!(contact_windows(&[night(0x7f), night(0x01)]).is_ok());
        let more = ContactWindow { days: 0x01, start_minute: 12 * 60, end_minute: 12 * 60 + 1 };
        let error = contact_windows(&[night(0x7f), more]).unwrap_err();
        assert!(error.contains("28 hours"), "{error}");
        // Sunday night wraps into Monday morning.
        let sunday = ContactWindow { days: 0x40, start_minute: 23 * 60, end_minute: 60 };
        assert_eq!(blocked_minutes_per_week(&[sunday]), 120);
        assert!(contact_windows(&[ContactWindow { days: 0, start_minute: 0, end_minute: 1 }]).is_err());
        assert!(contact_windows(&[ContactWindow { days: 1, start_minute: 5, end_minute: 5 }]).is_err());
        assert_eq!(weekday("sun"), Ok(0x40));
        assert!(weekday("Sunday").is_err());
        assert_eq!(weekday_names(0x41), vec!["mon", "sun"]);
    }
}
