//! The model's answer for one message: a probability per category.
//!
//! Scores are kept apart from decisions: the policy, not the model, decides what a score
//! means, so operators can move thresholds without retraining.

use crate::category::Category;

/// One probability in [0, 1] per category, in [`Category::ALL`] order.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Scores(pub [f32; Category::COUNT]);

impl Scores {
    pub fn get(&self, category: Category) -> f32 {
        self.0[category.index()]
    }

    /// Every category with its score, in output order.
    pub fn iter(&self) -> impl Iterator<Item = (Category, f32)> + '_ {
        Category::ALL.into_iter().zip(self.0.iter().copied())
    }

    /// The category with the highest score (the first one on ties).
    pub fn top(&self) -> (Category, f32) {
        self.iter().fold((Category::ALL[0], f32::NEG_INFINITY), |best, next| if next.1 > best.1 { next } else { best })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_read_by_category() {
        let scores = Scores([0.1, 0.2, 0.3, 0.9, 0.5, 0.6, 0.7]);
        assert_eq!(scores.get(Category::CoercedBorrowing), 0.9);
        assert_eq!(scores.get(Category::Sexual), 0.7);
        assert_eq!(scores.iter().count(), Category::COUNT);
        assert_eq!(scores.iter().nth(1), Some((Category::DisclosureThreat, 0.2)));
        assert_eq!(scores.top(), (Category::CoercedBorrowing, 0.9));
    }
}
