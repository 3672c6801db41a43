//! Where the model comes from and what its metadata promises.
//!
//! The model is two files made together by the training code: the ONNX graph and
//! `model.json` beside it. The metadata is checked before the graph is used, because a model
//! trained on other features or another category order would load fine and score nonsense.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::category::Category;
use crate::error::FilterError;
use crate::hash::BUCKETS;

pub use crate::runtime::init_runtime;

/// The FEATURES.md spec number this build computes features for.
pub const FEATURE_SPEC: u32 = 1;

/// The metadata's file name when it is not named after the model.
const METADATA_FILE: &str = "model.json";

/// The committed model, compiled into the binary.
static EMBEDDED_MODEL: &[u8] = include_bytes!("../model/harassment.onnx");
static EMBEDDED_INFO: &str = include_str!("../model/model.json");

/// Where to load the model from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ModelSource {
    /// The model this build was made with.
    #[default]
    Embedded,
    /// An ONNX file; its metadata is the file with the extension `.json` beside it, or else
    /// `model.json` in the same directory (the name the training code writes).
    File(PathBuf),
}

impl ModelSource {
    /// The ONNX bytes and the metadata text.
    pub(crate) fn read(&self) -> Result<(std::borrow::Cow<'static, [u8]>, ModelInfo), FilterError> {
        match self {
            ModelSource::Embedded => Ok((EMBEDDED_MODEL.into(), ModelInfo::parse(EMBEDDED_INFO, "the embedded model.json")?)),
            ModelSource::File(path) => {
                let model = read(path)?;
                let info_path = metadata_path(path);
                let info = String::from_utf8(read(&info_path)?).map_err(|_| FilterError::ModelInvalid {
                    what: format!("{} is not UTF-8", info_path.display()),
                })?;
                Ok((model.into(), ModelInfo::parse(&info, &info_path.display().to_string())?))
            }
        }
    }

    /// How to name the source in messages and logs.
    pub fn describe(&self) -> String {
        match self {
            ModelSource::Embedded => "the embedded model".to_string(),
            ModelSource::File(path) => path.display().to_string(),
        }
    }
}

/// `NAME.onnx` → `NAME.json`; when that does not exist but `model.json` beside it does,
/// that one.
fn metadata_path(model: &Path) -> PathBuf {
    let beside = model.with_extension("json");
    if beside.exists() {
        return beside;
    }
    let shared = model.with_file_name(METADATA_FILE);
    if shared.exists() {
        shared
    } else {
        beside
    }
}

fn read(path: &Path) -> Result<Vec<u8>, FilterError> {
    std::fs::read(path).map_err(|error| FilterError::ModelMissing { path: path.to_path_buf(), reason: error.to_string() })
}

/// The model's metadata (`model.json`), checked against this build.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// The training run's version, reported with every verdict.
    pub version: String,
    pub feature_spec: u32,
    pub buckets: u32,
    /// The recommended threshold per category, in [`Category::ALL`] order.
    pub thresholds: [f32; Category::COUNT],
}

/// `model.json` as written by the training code; fields this build does not use are ignored.
#[derive(Deserialize)]
struct RawInfo {
    model_version: String,
    feature_spec: u32,
    buckets: u32,
    categories: Vec<String>,
    thresholds: RawThresholds,
}

/// Thresholds by category name, or a list in category order.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawThresholds {
    ByName(BTreeMap<String, f32>),
    InOrder(Vec<f32>),
}

impl ModelInfo {
    /// Parses and checks metadata; `origin` names it in errors.
    pub fn parse(json: &str, origin: &str) -> Result<ModelInfo, FilterError> {
        let invalid = |what: String| FilterError::ModelInvalid { what: format!("{origin}: {what}") };
        let raw: RawInfo = serde_json::from_str(json).map_err(|error| invalid(error.to_string()))?;
        if raw.feature_spec != FEATURE_SPEC {
            return Err(invalid(format!(
                "the model was trained on feature spec {}, this build computes spec {FEATURE_SPEC}; retrain the model or use a matching build",
                raw.feature_spec
            )));
        }
        if raw.buckets != BUCKETS {
            return Err(invalid(format!("the model has {} buckets, this build hashes into {BUCKETS}", raw.buckets)));
        }
        let expected: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        if raw.categories != expected {
            return Err(invalid(format!(
                "the model's categories are {:?}, this build expects {:?} in that order",
                raw.categories, expected
            )));
        }
        let mut thresholds = [0.0; Category::COUNT];
        match raw.thresholds {
            RawThresholds::ByName(by_name) => {
                if let Some(unknown) = by_name.keys().find(|name| name.parse::<Category>().is_err()) {
                    return Err(invalid(format!("a threshold for unknown category {unknown:?}")));
                }
                for category in Category::ALL {
                    thresholds[category.index()] = *by_name
                        .get(category.as_str())
                        .ok_or_else(|| invalid(format!("no threshold for {category}")))?;
                }
            }
            RawThresholds::InOrder(list) => {
                thresholds = list.try_into().map_err(|list: Vec<f32>| {
                    invalid(format!("{} thresholds, expected one per category ({})", list.len(), Category::COUNT))
                })?;
            }
        }
        if let Some((category, value)) =
            Category::ALL.iter().zip(thresholds).find(|(_, value)| !(*value > 0.0 && *value <= 1.0))
        {
            return Err(invalid(format!("threshold {value} for {category} is not in (0, 1]")));
        }
        Ok(ModelInfo { version: raw.model_version, feature_spec: raw.feature_spec, buckets: raw.buckets, thresholds })
    }

    /// The recommended threshold of one category.
    pub fn threshold(&self, category: Category) -> f32 {
        self.thresholds[category.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATEGORIES: &str = r#"["threat", "disclosure_threat", "false_legal_threat", "coerced_borrowing", "third_party_demand", "insult", "sexual"]"#;

    fn info(feature_spec: u32, buckets: u32, categories: &str, thresholds: &str) -> String {
        format!(
            r#"{{"model_version": "2026.11.1", "feature_spec": {feature_spec}, "buckets": {buckets}, "categories": {categories}, "thresholds": {thresholds}, "trained_on": {{"train": 10}}}}"#
        )
    }

    #[test]
    fn thresholds_by_name_or_in_order() {
        let by_name = info(
            1,
            BUCKETS,
            CATEGORIES,
            r#"{"threat": 0.5, "disclosure_threat": 0.6, "false_legal_threat": 0.7, "coerced_borrowing": 0.8, "third_party_demand": 0.9, "insult": 0.4, "sexual": 0.3}"#,
        );
        let parsed = ModelInfo::parse(&by_name, "model.json").expect("valid");
        assert_eq!(parsed.version, "2026.11.1");
        assert_eq!(parsed.thresholds, [0.5, 0.6, 0.7, 0.8, 0.9, 0.4, 0.3]);
        assert_eq!(parsed.threshold(Category::Insult), 0.4);
        let in_order = info(1, BUCKETS, CATEGORIES, "[0.5, 0.6, 0.7, 0.8, 0.9, 0.4, 0.3]");
        assert_eq!(ModelInfo::parse(&in_order, "model.json"), Ok(parsed));
    }

    #[test]
    fn mismatches_are_named() {
        let thresholds = "[0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]";
        let cases = [
            (info(2, BUCKETS, CATEGORIES, thresholds), "feature spec 2"),
            (info(1, 1024, CATEGORIES, thresholds), "1024 buckets"),
            (info(1, BUCKETS, r#"["threat", "insult"]"#, thresholds), "categories"),
            (info(1, BUCKETS, CATEGORIES, "[0.5]"), "1 thresholds"),
            (info(1, BUCKETS, CATEGORIES, "[0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0]"), "for sexual is not in (0, 1]"),
            (info(1, BUCKETS, CATEGORIES, r#"{"threat": 0.5}"#), "no threshold for disclosure_threat"),
            ("{".to_string(), "EOF"),
        ];
        for (json, needle) in cases {
            let error = ModelInfo::parse(&json, "x/model.json").expect_err(needle).to_string();
            assert!(error.contains(needle) && error.contains("x/model.json"), "{error} lacks {needle:?}");
        }
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("nope.onnx");
        match ModelSource::File(path.clone()).read() {
            Err(FilterError::ModelMissing { path: missing, .. }) => assert_eq!(missing, path),
            other => panic!("expected ModelMissing, got {:?}", other.map(|(_, info)| info)),
        }
        std::fs::write(&path, b"onnx").expect("write");
        match ModelSource::File(path.clone()).read() {
            Err(FilterError::ModelMissing { path: missing, .. }) => assert_eq!(missing, path.with_extension("json")),
            other => panic!("expected ModelMissing for the metadata, got {:?}", other.map(|(_, info)| info)),
        }
    }

    #[test]
    fn the_embedded_metadata_fits_this_build() {
        let info = ModelInfo::parse(EMBEDDED_INFO, "the embedded model.json").expect("the committed model.json is valid");
        assert!(!info.version.is_empty());
    }
}
