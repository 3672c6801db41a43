//! One model session that turns texts into scores.
//!
//! A classifier is single-threaded on purpose: ONNX Runtime's own thread pools would compete
//! with the broker's threads for the same cores, and the model is small enough that one thread
//! scores a message in microseconds. Parallelism comes from several classifiers (the pool), and
//! throughput from scoring several messages in one run (a batch).

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};

use crate::category::Category;
use crate::error::FilterError;
use crate::features::{FeatureExtractor, FeatureVector};
use crate::model::{ModelInfo, ModelSource};
use crate::runtime;
use crate::scores::Scores;

const INDICES: &str = "indices";
const VALUES: &str = "values";
const SCORES: &str = "scores";

/// The model, its metadata and scratch space for features and input tensors.
pub struct Classifier {
    session: Session,
    info: ModelInfo,
    /// Whether the graph lists `indices` before `values`.
    indices_first: bool,
    /// Position of `scores` among the outputs.
    scores_output: usize,
    extractor: FeatureExtractor,
    vectors: Vec<FeatureVector>,
    indices: Vec<i64>,
    values: Vec<f32>,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier").field("info", &self.info).finish_non_exhaustive()
    }
}

impl Classifier {
    /// Loads the model (and ONNX Runtime from `$ORT_DYLIB_PATH` if [`init_runtime`] was not
    /// called) and checks its metadata and its inputs and outputs against FEATURES.md §6.
    ///
    /// [`init_runtime`]: crate::model::init_runtime
    pub fn load(source: &ModelSource) -> Result<Classifier, FilterError> {
        let (model, info) = source.read()?;
        let environment = runtime::environment()?;
        let invalid = |what: String| FilterError::ModelInvalid { what: format!("{}: {what}", source.describe()) };
        let session = Session::builder(&environment)
            .and_then(|builder| builder.with_optimization_level(GraphOptimizationLevel::All).map_err(Into::into))
            .and_then(|builder| builder.with_intra_threads(1).map_err(Into::into))
            .and_then(|builder| builder.with_inter_threads(1).map_err(Into::into))
            .and_then(|builder| builder.with_parallel_execution(false).map_err(Into::into))
            .and_then(|mut builder| builder.commit_from_memory(&model))
            .map_err(|error| invalid(format!("ONNX Runtime cannot load it: {error}")))?;

        let input_names: Vec<&str> = session.inputs().iter().map(|input| input.name()).collect();
        let indices_first = match input_names.as_slice() {
            [INDICES, VALUES] => true,
            [VALUES, INDICES] => false,
            other => return Err(invalid(format!("inputs {other:?}, expected {INDICES:?} and {VALUES:?}"))),
        };
        for input in session.inputs() {
            let want = if input.name() == INDICES { TensorElementType::Int64 } else { TensorElementType::Float32 };
            if input.dtype().tensor_type() != Some(want) {
                return Err(invalid(format!("input {:?} is {:?}, expected a {want:?} tensor", input.name(), input.dtype())));
            }
        }
        let scores_output = session
            .outputs()
            .iter()
            .position(|output| output.name() == SCORES)
            .ok_or_else(|| invalid(format!("no output {SCORES:?}")))?;
        match session.outputs()[scores_output].dtype() {
            ValueType::Tensor { ty: TensorElementType::Float32, shape, .. }
                if shape.len() == 2 && (shape[1] == Category::COUNT as i64 || shape[1] < 0) => {}
            other => return Err(invalid(format!("output {SCORES:?} is {other:?}, expected float32 [batch, {}]", Category::COUNT))),
        }
        tracing::debug!(model = %source.describe(), version = %info.version, "loaded the harassment model");
        Ok(Classifier {
            session,
            info,
            indices_first,
            scores_output,
            extractor: FeatureExtractor::default(),
            vectors: Vec::new(),
            indices: Vec::new(),
            values: Vec::new(),
        })
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Scores one text.
    pub fn classify(&mut self, text: &str) -> Result<Scores, FilterError> {
        let mut scores = self.classify_batch(&[text])?;
        scores.pop().ok_or_else(|| FilterError::Inference("the model returned no scores".to_string()))
    }

    /// Scores several texts in one run of the model; the answer is in the order of `texts`.
    pub fn classify_batch(&mut self, texts: &[&str]) -> Result<Vec<Scores>, FilterError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        if self.vectors.len() < texts.len() {
            self.vectors.resize_with(texts.len(), FeatureVector::default);
        }
        for (text, vector) in texts.iter().zip(&mut self.vectors) {
            self.extractor.extract(text, vector);
        }
        let vectors = &self.vectors[..texts.len()];
        // At least one column: padding (bucket 0, weight 0) scores like no features at all.
        let width = vectors.iter().map(FeatureVector::len).max().unwrap_or(0).max(1);
        let batch = texts.len();
        self.indices.clear();
        self.indices.resize(batch * width, 0);
        self.values.clear();
        self.values.resize(batch * width, 0.0);
        for (row, vector) in vectors.iter().enumerate() {
            let start = row * width;
            for (slot, &bucket) in self.indices[start..start + vector.len()].iter_mut().zip(&vector.indices) {
                *slot = i64::from(bucket);
            }
            self.values[start..start + vector.len()].copy_from_slice(&vector.values);
        }

        let failed = |error: ort::Error| FilterError::Inference(error.to_string());
        let indices = TensorRef::from_array_view(([batch, width], &self.indices[..])).map_err(failed)?;
        let values = TensorRef::from_array_view(([batch, width], &self.values[..])).map_err(failed)?;
        let inputs = if self.indices_first { ort::inputs![indices, values] } else { ort::inputs![values, indices] };
        let outputs = self.session.run(inputs).map_err(failed)?;
        let (shape, data) = outputs[self.scores_output].try_extract_tensor::<f32>().map_err(failed)?;
        if shape.len() != 2 || shape[0] != batch as i64 || shape[1] != Category::COUNT as i64 {
            return Err(FilterError::Inference(format!(
                "the model returned scores of shape {:?} for a batch of {batch}",
                &shape[..]
            )));
        }
        Ok(data
            .chunks_exact(Category::COUNT)
            .map(|row| {
                let mut scores = [0.0; Category::COUNT];
                scores.copy_from_slice(row);
                Scores(scores)
            })
            .collect())
    }
}
