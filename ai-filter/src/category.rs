//! The model's output categories, in the order of its `scores` output.

use std::fmt;
use std::str::FromStr;

/// One kind of unlawful or abusive message. A message may fall in several; one in none is
/// clean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Threats of violence or harm, intimidation.
    Threat,
    /// Telling, or threatening to tell, family, workplace, friends or social media about the debt.
    DisclosureThreat,
    /// Fake seizure, fake prosecutor/police/court, "you'll be arrested".
    FalseLegalThreat,
    /// Pushing the borrower to borrow elsewhere to repay.
    CoercedBorrowing,
    /// Demanding payment from, or asking the whereabouts via, people who do not owe.
    ThirdPartyDemand,
    /// Profanity, slurs, degrading insults.
    Insult,
    Sexual,
}

impl Category {
    /// Every category, in output order.
    pub const ALL: [Category; 7] = [
        Category::Threat,
        Category::DisclosureThreat,
        Category::FalseLegalThreat,
        Category::CoercedBorrowing,
        Category::ThirdPartyDemand,
        Category::Insult,
        Category::Sexual,
    ];

    /// How many categories the model scores.
    pub const COUNT: usize = Category::ALL.len();

    /// The category's name in config, model metadata and verdicts.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Threat => "threat",
            Category::DisclosureThreat => "disclosure_threat",
            Category::FalseLegalThreat => "false_legal_threat",
            Category::CoercedBorrowing => "coerced_borrowing",
            Category::ThirdPartyDemand => "third_party_demand",
            Category::Insult => "insult",
            Category::Sexual => "sexual",
        }
    }

    /// Position in the model's output.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether the category is about how a debt is collected (as opposed to plain abuse).
    pub fn is_collection(self) -> bool {
        matches!(
            self,
            Category::Threat
                | Category::DisclosureThreat
                | Category::FalseLegalThreat
                | Category::CoercedBorrowing
                | Category::ThirdPartyDemand
        )
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown category {0:?}; expected one of threat, disclosure_threat, false_legal_threat, coerced_borrowing, third_party_demand, insult, sexual")]
pub struct CategoryError(pub String);

impl FromStr for Category {
    type Err = CategoryError;

    fn from_str(name: &str) -> Result<Category, CategoryError> {
        Category::ALL.into_iter().find(|c| c.as_str() == name).ok_or_else(|| CategoryError(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_output_order() {
        for (at, category) in Category::ALL.into_iter().enumerate() {
            assert_eq!(category.index(), at);
            assert_eq!(category.as_str().parse::<Category>(), Ok(category));
        }
        assert!("threats".parse::<Category>().is_err());
    }
}
