//! From scores to a decision: per-category thresholds for warn, hold and block.
//!
//! The model only says how likely each category is. What a likelihood should cost the sender
//! is an operator's choice and differs per category (an insult may only warn where a threat
//! holds the message), so thresholds live here, apart from the model, and start from the
//! model's recommendation: warn at its threshold, nothing stricter until configured.

use crate::category::Category;
use crate::decision::Decision;
use crate::model::ModelInfo;
use crate::scores::Scores;

/// The scores at which one category warns, holds or blocks; `None` never does.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Thresholds {
    pub warn: Option<f32>,
    pub hold: Option<f32>,
    pub block: Option<f32>,
}

/// A threshold setting that cannot work.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThresholdError {
    #[error("{category}: the {level} threshold {value} is not in (0, 1]")]
    OutOfRange { category: Category, level: Decision, value: f32 },
    #[error("{category}: the {lower} threshold {lower_value} is above the {higher} threshold {higher_value}")]
    OutOfOrder { category: Category, lower: Decision, lower_value: f32, higher: Decision, higher_value: f32 },
}

impl Thresholds {
    /// Only a warning, at `score`.
    pub fn warn_at(score: f32) -> Thresholds {
        Thresholds { warn: Some(score), ..Thresholds::default() }
    }

    /// The levels that are set, mildest first.
    fn levels(&self) -> impl Iterator<Item = (Decision, f32)> {
        [(Decision::Warn, self.warn), (Decision::Hold, self.hold), (Decision::Block, self.block)]
            .into_iter()
            .filter_map(|(decision, value)| value.map(|value| (decision, value)))
    }

    /// Checks that every set threshold is in (0, 1] and warn ≤ hold ≤ block among those set.
    pub fn validate(&self, category: Category) -> Result<(), ThresholdError> {
        let mut previous: Option<(Decision, f32)> = None;
        for (level, value) in self.levels() {
            if !(value > 0.0 && value <= 1.0) {
                return Err(ThresholdError::OutOfRange { category, level, value });
            }
            if let Some((lower, lower_value)) = previous {
                if lower_value > value {
                    return Err(ThresholdError::OutOfOrder { category, lower, lower_value, higher: level, higher_value: value });
                }
            }
            previous = Some((level, value));
        }
        Ok(())
    }

    /// The lowest threshold set, at which the category counts as found.
    pub fn lowest(&self) -> Option<f32> {
        self.levels().map(|(_, value)| value).reduce(f32::min)
    }

    /// The strictest decision whose threshold `score` reaches.
    pub fn decide(&self, score: f32) -> Decision {
        self.levels().filter(|&(_, value)| score >= value).map(|(decision, _)| decision).max().unwrap_or(Decision::Allow)
    }
}

/// Thresholds for every category.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    thresholds: [Thresholds; Category::COUNT],
}

/// What the model's scores mean under a policy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModelVerdict {
    /// The strictest decision any category reached.
    pub decision: Decision,
    /// Every category whose score reached its lowest configured threshold, in output order.
    pub categories: Vec<Category>,
}

impl Policy {
    /// Warn at the model's recommended threshold of each category; never hold or block.
    pub fn from_model(info: &ModelInfo) -> Policy {
        Policy { thresholds: info.thresholds.map(Thresholds::warn_at) }
    }

    /// Replaces one category's thresholds (check them with [`Thresholds::validate`] first).
    pub fn set(&mut self, category: Category, thresholds: Thresholds) {
        self.thresholds[category.index()] = thresholds;
    }

    pub fn get(&self, category: Category) -> Thresholds {
        self.thresholds[category.index()]
    }

    /// Checks every category's thresholds.
    pub fn validate(&self) -> Result<(), ThresholdError> {
        Category::ALL.into_iter().try_for_each(|category| self.get(category).validate(category))
    }

    pub fn decide(&self, scores: &Scores) -> ModelVerdict {
        let mut verdict = ModelVerdict::default();
        for (category, score) in scores.iter() {
            let thresholds = self.get(category);
            if thresholds.lowest().is_some_and(|lowest| score >= lowest) {
                verdict.categories.push(category);
                verdict.decision = verdict.decision.max(thresholds.decide(score));
            }
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(thresholds: [f32; Category::COUNT]) -> ModelInfo {
        ModelInfo { version: "test".to_string(), feature_spec: 1, buckets: crate::hash::BUCKETS, thresholds }
    }

    #[test]
    fn the_model_policy_only_warns() {
        let policy = Policy::from_model(&info([0.5, 0.6, 0.7, 0.8, 0.9, 0.4, 0.3]));
        assert_eq!(policy.decide(&Scores([0.49, 0.0, 0.0, 0.0, 0.0, 0.39, 0.29])), ModelVerdict::default());
        let verdict = policy.decide(&Scores([0.5, 0.0, 0.0, 0.0, 0.99, 0.39, 1.0]));
        assert_eq!(verdict.decision, Decision::Warn);
        assert_eq!(verdict.categories, vec![Category::Threat, Category::ThirdPartyDemand, Category::Sexual]);
    }

    #[test]
    fn the_strictest_reached_threshold_decides() {
        let mut policy = Policy::from_model(&info([0.5; Category::COUNT]));
        policy.set(Category::Threat, Thresholds { warn: Some(0.3), hold: Some(0.6), block: Some(0.9) });
        policy.set(Category::Insult, Thresholds { warn: None, hold: None, block: Some(0.8) });
        policy.set(Category::Sexual, Thresholds::default());
        let decide = |threat, insult, sexual| policy.decide(&Scores([threat, 0.0, 0.0, 0.0, 0.0, insult, sexual]));
        assert_eq!(decide(0.29, 0.79, 1.0), ModelVerdict::default(), "sexual has no thresholds at all");
        assert_eq!(decide(0.3, 0.0, 0.0).decision, Decision::Warn);
        assert_eq!(decide(0.6, 0.0, 0.0).decision, Decision::Hold);
        assert_eq!(decide(0.95, 0.0, 0.0).decision, Decision::Block);
        let verdict = decide(0.4, 0.8, 0.0);
        assert_eq!(verdict.decision, Decision::Block);
        assert_eq!(verdict.categories, vec![Category::Threat, Category::Insult]);
    }

    #[test]
    fn validation_names_the_problem() {
        assert_eq!(Thresholds { warn: Some(0.2), hold: None, block: Some(1.0) }.validate(Category::Threat), Ok(()));
        assert_eq!(Thresholds::default().validate(Category::Threat), Ok(()));
        let error = Thresholds { warn: Some(0.7), hold: Some(0.5), block: None }.validate(Category::Insult).expect_err("order");
        assert_eq!(error.to_string(), "insult: the warn threshold 0.7 is above the hold threshold 0.5");
        for bad in [0.0, -0.1, 1.5, f32::NAN] {
            let error = Thresholds { warn: None, hold: None, block: Some(bad) }.validate(Category::Sexual);
            assert!(matches!(error, Err(ThresholdError::OutOfRange { level: Decision::Block, .. })), "{bad}");
        }
        let mut policy = Policy::from_model(&info([0.5; Category::COUNT]));
        assert_eq!(policy.validate(), Ok(()));
        policy.set(Category::CoercedBorrowing, Thresholds { warn: Some(0.9), hold: None, block: Some(0.8) });
        assert!(policy.validate().expect_err("order").to_string().starts_with("coerced_borrowing: the warn threshold 0.9"));
    }
}
