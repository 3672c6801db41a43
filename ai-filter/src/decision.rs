//! What happens to a message, from the mildest to the strictest.

use std::fmt;
use std::str::FromStr;

/// The outcome of moderation. Ordered by severity, so the verdict of several judges is the
/// maximum of theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Decision {
    /// Delivered as sent.
    #[default]
    Allow,
    /// Delivered; the sender is told it may be unlawful and the recipient of their rights.
    Warn,
    /// Stored, not delivered until a rule releases it (the night window ends) or it expires.
    Hold,
    /// Stored as evidence, never delivered; the sender is refused with a reason.
    Block,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Warn => "warn",
            Decision::Hold => "hold",
            Decision::Block => "block",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Decision {
    type Err = String;

    fn from_str(name: &str) -> Result<Decision, String> {
        match name {
            "allow" => Ok(Decision::Allow),
            "warn" => Ok(Decision::Warn),
            "hold" => Ok(Decision::Hold),
            "block" => Ok(Decision::Block),
            other => Err(format!("unknown decision {other:?}; expected allow, warn, hold or block")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_the_decisions() {
        assert!(Decision::Allow < Decision::Warn && Decision::Warn < Decision::Hold && Decision::Hold < Decision::Block);
        for d in [Decision::Allow, Decision::Warn, Decision::Hold, Decision::Block] {
            assert_eq!(d.as_str().parse::<Decision>(), Ok(d));
        }
    }
}
