//! The legal maximum of interest: 20 % a year, all-in (이자제한법, Interest Limitation Act).
//!
//! Loan terms and flash-loan bids above it are refused server-side, with the reason. Rates are
//! hundredths of a percent (basis points of a percent: 1250 is 12.5 %) so they compare exactly;
//! text is parsed without floating point.

use std::fmt;

/// Highest annual interest rate the law allows, in hundredths of a percent (20 %).
pub const MAX_ANNUAL_RATE_BP: u32 = 2_000;

/// Digits before the decimal point of a rate in percent (up to 999 %, so that any rate a
/// person types is parsed and then refused for what it is, not for its length).
const MAX_WHOLE_DIGITS: usize = 3;
/// Digits after the decimal point of a rate in percent.
const MAX_FRACTION_DIGITS: usize = 2;

/// Why a rate is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    #[error("must be a percentage written as a decimal number with at most two decimals, got {0:?}")]
    Malformed(String),
    #[error("{}% a year is above the legal maximum of 20% a year (Interest Limitation Act)", AnnualRate(*.0))]
    AboveLegalMaximum(u32),
}

/// Hundredths of a percent shown as the shortest decimal text ("12.5", "20", "0.05").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnualRate(pub u32);

impl fmt::Display for AnnualRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, fraction) = (self.0 / 100, self.0 % 100);
        match fraction {
            0 => write!(f, "{whole}"),
            f10 if f10 % 10 == 0 => write!(f, "{whole}.{}", f10 / 10),
            f100 => write!(f, "{whole}.{f100:02}"),
        }
    }
}

/// Refuses a rate above [`MAX_ANNUAL_RATE_BP`].
pub fn check_annual_rate_bp(bp: u32) -> Result<(), RateError> {
    if bp > MAX_ANNUAL_RATE_BP {
        return Err(RateError::AboveLegalMaximum(bp));
    }
    Ok(())
}

/// An annual rate in percent as decimal text — 1 to 3 digits, optionally a point and 1 or 2
/// more ("12.5" → 1250, "20.00" → 2000) — as hundredths of a percent, refused above the legal
/// maximum.
pub fn parse_annual_rate(text: &str) -> Result<u32, RateError> {
    let malformed = || RateError::Malformed(text.to_string());
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let digits = |part: &str, max: usize| !part.is_empty() && part.len() <= max && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole, MAX_WHOLE_DIGITS) || fraction.is_some_and(|f| !digits(f, MAX_FRACTION_DIGITS)) {
        return Err(malformed());
    }
    let value = |part: &str| part.bytes().fold(0u32, |n, digit| n * 10 + u32::from(digit - b'0'));
    let hundredths = match fraction {
        None => 0,
        Some(f) if f.len() == 1 => value(f) * 10,
        Some(f) => value(f),
    };
    let bp = value(whole) * 100 + hundredths;
    check_annual_rate_bp(bp)?;
    Ok(bp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_percent_is_the_ceiling() {
        assert_eq!(check_annual_rate_bp(0), Ok(()));
        assert_eq!(check_annual_rate_bp(2_000), Ok(()));
        assert_eq!(check_annual_rate_bp(2_001), Err(RateError::AboveLegalMaximum(2_001)));
        assert_eq!(
            RateError::AboveLegalMaximum(2_001).to_string(),
            "20.01% a year is above the legal maximum of 20% a year (Interest Limitation Act)"
        );
        assert_eq!(RateError::AboveLegalMaximum(u32::MAX).to_string().split('%').next(), Some("42949672.95"));
    }

    #[test]
    fn parses_percent_text() {
        assert_eq!(parse_annual_rate("12.5"), Ok(1_250));
        assert_eq!(parse_annual_rate("20"), Ok(2_000));
        assert_eq!(parse_annual_rate("20.00"), Ok(2_000));
        assert_eq!(parse_annual_rate("0.05"), Ok(5));
        assert_eq!(parse_annual_rate("0"), Ok(0));
        assert_eq!(parse_annual_rate("007"), Ok(700));
        assert_eq!(parse_annual_rate("20.01"), Err(RateError::AboveLegalMaximum(2_001)));
        assert_eq!(parse_annual_rate("999.99"), Err(RateError::AboveLegalMaximum(99_999)));
        assert_eq!(
            parse_annual_rate("24").map_err(|e| e.to_string()),
            Err("24% a year is above the legal maximum of 20% a year (Interest Limitation Act)".to_string())
        );
        for bad in ["", ".", "12.", ".5", "12.345", "1000", "-1", "+5", "1e1", "12,5", " 12", "12 ", "twenty", "1.2.3", "１２"]
        {
            assert_eq!(parse_annual_rate(bad), Err(RateError::Malformed(bad.to_string())), "{bad:?}");
        }
    }

    #[test]
    fn rates_display_in_their_shortest_form() {
        for (bp, text) in [(1_250, "12.5"), (2_000, "20"), (5, "0.05"), (1_234, "12.34"), (0, "0")] {
            assert_eq!(AnnualRate(bp).to_string(), text);
        }
    }
}
