//! What the legal rules do when they apply: the law's defaults, and the choices a room may make.
//!
//! The law fixes *when* a rule applies; the product decides whether a violation is held,
//! refused or delivered with a warning, so that the same rules serve strict and lenient rooms.

use super::kst::MS_PER_DAY;

/// Highest contact limit a policy may set. Bounds the contact ledger, which keeps one entry
/// per counted contact (plus one).
pub const MAX_CONTACTS_LIMIT: u32 = 1_000;
/// Longest contact-counting window a policy may set, in days (a year).
pub const MAX_WINDOW_DAYS: u32 = 366;

/// A collection message in the night window (21:00–08:00 KST).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NightPolicy {
    /// Stored and delivered at the next 08:00 KST (or later, if a do-not-contact slot follows).
    #[default]
    Hold,
    /// Delivered now, with a warning to both sides.
    Warn,
}

/// A collection message inside one of the borrower's do-not-contact slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DoNotContactPolicy {
    /// Stored and delivered when the slot ends.
    #[default]
    Hold,
    /// Refused.
    Block,
}

/// A collection contact beyond the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LimitPolicy {
    /// Refused; a refused message does not count.
    #[default]
    Refuse,
    /// Delivered with a warning; it counts.
    Flag,
}

/// How a room applies the legal rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RulePolicy {
    pub night: NightPolicy,
    pub do_not_contact: DoNotContactPolicy,
    pub contact_limit: LimitPolicy,
    /// Most counted collection contacts per window (the law: 7).
    pub max_contacts: u32,
    /// Length of the sliding window, in days of 24 hours (the law: 7).
    pub window_days: u32,
}

/// A policy outside the limits this crate supports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("max_contacts must be at most {MAX_CONTACTS_LIMIT}, got {0}")]
    TooManyContacts(u32),
    #[error("window_days must be 1 to {MAX_WINDOW_DAYS}, got {0}")]
    Window(u32),
}

impl Default for RulePolicy {
    /// The law's defaults: hold at night and in do-not-contact slots, refuse the 8th contact
    /// within 7 days.
    fn default() -> RulePolicy {
        RulePolicy {
            night: NightPolicy::Hold,
            do_not_contact: DoNotContactPolicy::Hold,
            contact_limit: LimitPolicy::Refuse,
            max_contacts: 7,
            window_days: 7,
        }
    }
}

impl RulePolicy {
    /// Refuses limits beyond [`MAX_CONTACTS_LIMIT`] and windows outside 1 to
    /// [`MAX_WINDOW_DAYS`]. Evaluation clamps such values rather than fail.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.max_contacts > MAX_CONTACTS_LIMIT {
            return Err(PolicyError::TooManyContacts(self.max_contacts));
        }
        if !(1..=MAX_WINDOW_DAYS).contains(&self.window_days) {
            return Err(PolicyError::Window(self.window_days));
        }
        Ok(())
    }

    /// The contact limit, clamped to [`MAX_CONTACTS_LIMIT`].
    pub fn contact_limit(&self) -> u32 {
        self.max_contacts.min(MAX_CONTACTS_LIMIT)
    }

    /// The sliding window in milliseconds, clamped to [`MAX_WINDOW_DAYS`].
    pub fn window_ms(&self) -> u64 {
        u64::from(self.window_days.min(MAX_WINDOW_DAYS)) * MS_PER_DAY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_law() {
        let policy = RulePolicy::default();
        assert_eq!(
            (policy.night, policy.do_not_contact, policy.contact_limit),
            (NightPolicy::Hold, DoNotContactPolicy::Hold, LimitPolicy::Refuse)
        );
        assert_eq!((policy.max_contacts, policy.window_days, policy.window_ms()), (7, 7, 7 * 24 * 3_600_000));
        assert_eq!(policy.validate(), Ok(()));
    }

    #[test]
    fn limits_are_validated_and_clamped() {
        let huge = RulePolicy { max_contacts: u32::MAX, window_days: u32::MAX, ..RulePolicy::default() };
        assert_eq!(huge.validate(), Err(PolicyError::TooManyContacts(u32::MAX)));
        assert_eq!(RulePolicy { max_contacts: 3, ..huge }.validate(), Err(PolicyError::Window(u32::MAX)));
        assert_eq!(RulePolicy { window_days: 0, ..RulePolicy::default() }.validate(), Err(PolicyError::Window(0)));
        assert_eq!((huge.contact_limit(), huge.window_ms()), (MAX_CONTACTS_LIMIT, 366 * MS_PER_DAY));
    }
}
