//! What can go wrong between text and scores, worded for the person who has to fix it.
//!
//! The model depends on a shared library and two files that live outside the binary's control,
//! so most errors name a path and say what to do about it. Errors are `Clone` because one failed
//! batch answers every request in it.

use std::path::PathBuf;

/// Why the classifier could not start or could not answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FilterError {
    /// No ONNX Runtime library was found.
    #[error(
        "ONNX Runtime is not installed: {tried}. scripts/setup.sh installs onnxruntime 1.24.4 from PyPI into \
         ~/.cache/tallymq/onnxruntime-1.24.4 (the library is onnxruntime/capi/libonnxruntime.so.1.24.4); or set \
         moderation.runtime_library or ORT_DYLIB_PATH to an existing libonnxruntime; or disable moderation"
    )]
    RuntimeMissing {
        /// What was looked at, in order (the configured path, the environment variable).
        tried: String,
    },
    /// The library exists but could not be loaded or initialized.
    #[error("cannot load ONNX Runtime from {}: {reason}", path.display())]
    RuntimeLoad { path: PathBuf, reason: String },
    /// A model file does not exist or cannot be read.
    #[error("model file {} cannot be read: {reason}", path.display())]
    ModelMissing { path: PathBuf, reason: String },
    /// The model or its metadata is not what this build expects.
    #[error("invalid model: {what}")]
    ModelInvalid { what: String },
    /// ONNX Runtime failed while scoring.
    #[error("classification failed: {0}")]
    Inference(String),
    /// The moderation pool cannot start (a setting out of range, no thread).
    #[error("cannot start the moderation pool: {0}")]
    Start(String),
    /// The moderation queue is full; the caller decides whether to let the message through.
    #[error("the moderation queue is full")]
    Overloaded,
    /// The moderation pool has shut down.
    #[error("the moderation pool is closed")]
    Closed,
}
