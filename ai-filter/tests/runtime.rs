//! Loading ONNX Runtime: from the configured path or $ORT_DYLIB_PATH, with errors that say
//! which file was tried and how to install the library.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tallymq_ai_filter::model::init_runtime;
use tallymq_ai_filter::FilterError;

fn configured_library() -> PathBuf {
    match std::env::var_os("ORT_DYLIB_PATH") {
        Some(path) => PathBuf::from(path),
        None => panic!("ORT_DYLIB_PATH is not set: run scripts/test.sh, which points it at the onnxruntime scripts/setup.sh installs"),
    }
}

#[test]
fn loading_is_idempotent() {
    let library = configured_library();
    let loaded = init_runtime(Some(&library)).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(loaded, library.canonicalize().expect("the library exists"), "the loaded path is absolute");
    assert_eq!(init_runtime(Some(&library)), Ok(loaded.clone()));
    assert_eq!(init_runtime(None), Ok(loaded));
}

#[test]
fn a_missing_library_is_named_with_how_to_install_it() {
    let path = Path::new("/nonexistent/libonnxruntime.so.1.24.4");
    let error = init_runtime(Some(path)).expect_err("no such library");
    assert!(matches!(error, FilterError::RuntimeMissing { .. }), "{error:?}");
    let message = error.to_string();
    for needle in [path.to_str().expect("UTF-8"), "moderation.runtime_library", "scripts/setup.sh", "ORT_DYLIB_PATH"] {
        assert!(message.contains(needle), "{message} lacks {needle}");
    }
}

#[test]
fn a_file_that_is_not_the_library_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("libonnxruntime.so");
    std::fs::write(&path, b"not a shared library").expect("write");
    let error = init_runtime(Some(&path)).expect_err("not a library");
    assert!(matches!(error, FilterError::RuntimeLoad { .. }), "{error:?}");
    assert!(error.to_string().contains(&path.display().to_string()), "{error}");
}

/// Without a configured library the command fails before reading anything and says how to
/// install the runtime.
#[test]
fn the_command_without_a_runtime_says_what_to_do() {
    let output = Command::new(env!("CARGO_BIN_EXE_tallymq-moderate"))
        .env_remove("ORT_DYLIB_PATH")
        .stdin(Stdio::null())
        .output()
        .expect("run tallymq-moderate");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ONNX Runtime is not installed") && stderr.contains("scripts/setup.sh"), "{stderr}");
    assert!(output.stdout.is_empty());
}
