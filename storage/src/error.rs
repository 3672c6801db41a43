//! Storage errors.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("cannot open the data directory {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("the data directory {path} holds schema version {found}; this tallymq reads versions up to {supported}: upgrade tallymq or use another data directory")]
    NewerSchema { path: PathBuf, found: u32, supported: u32 },
    #[error("storage write failed: {0}")]
    Write(String),
    #[error("storage read failed: {0}")]
    Read(String),
    #[error("a stored {what} could not be decoded: {reason}")]
    Corrupt { what: &'static str, reason: String },
    #[error("the storage commit path has stopped")]
    Closed,
}

impl StorageError {
    pub(crate) fn read(error: rocksdb::Error) -> StorageError {
        StorageError::Read(error.into_string())
    }
}
