//! Loading ONNX Runtime, once per process.
//!
//! The runtime is a shared library loaded at run time rather than linked at build time: the
//! broker builds without downloading anything, and only a broker that moderates needs the
//! library. ONNX Runtime allows one environment per process, so the first successful load is
//! kept for the life of the process.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::FilterError;

/// The environment variable naming the library when the configuration does not.
pub const DYLIB_ENV: &str = "ORT_DYLIB_PATH";

/// The environment name ONNX Runtime shows in its own log lines.
const ENVIRONMENT_NAME: &str = "tallymq-moderation";

struct Runtime {
    library: PathBuf,
    environment: ort::environment::Environment,
}

static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);

/// Loads ONNX Runtime from `library`, or else from `$ORT_DYLIB_PATH`, and returns the path it
/// was loaded from. Calling it again is fine: once loaded, a call naming no library or the same
/// one returns the loaded path; naming another library is an error, since a process can hold
/// only one runtime. A named file that does not exist is `RuntimeMissing` either way.
pub fn init_runtime(library: Option<&Path>) -> Result<PathBuf, FilterError> {
    let mut runtime = RUNTIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(loaded) = runtime.as_ref() {
        return match library.map(|path| resolve(Some(path))).transpose()?.flatten() {
            Some(path) if path != loaded.library => Err(FilterError::RuntimeLoad {
                path,
                reason: format!(
                    "ONNX Runtime is already loaded from {} in this process, and a process can load only one",
                    loaded.library.display()
                ),
            }),
            _ => Ok(loaded.library.clone()),
        };
    }
    let Some(library) = resolve(library)? else {
        return Err(FilterError::RuntimeMissing {
            tried: format!("moderation.runtime_library is not set and neither is ${DYLIB_ENV}"),
        });
    };
    let environment = ort::init_from(&library)
        .map_err(|error| FilterError::RuntimeLoad { path: library.clone(), reason: error.to_string() })?
        .with_name(ENVIRONMENT_NAME)
        .with_telemetry(false)
        .build()
        .map_err(|error| FilterError::RuntimeLoad { path: library.clone(), reason: error.to_string() })?;
    tracing::info!(library = %library.display(), "loaded ONNX Runtime");
    *runtime = Some(Runtime { library: library.clone(), environment });
    Ok(library)
}

/// The environment sessions are created in, loading the runtime from `$ORT_DYLIB_PATH` if no
/// one has loaded it yet.
pub(crate) fn environment() -> Result<ort::environment::Environment, FilterError> {
    init_runtime(None)?;
    let runtime = RUNTIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // Once loaded, the runtime is never unloaded.
    runtime
        .as_ref()
        .map(|loaded| loaded.environment.clone())
        .ok_or_else(|| FilterError::RuntimeMissing { tried: "the runtime was not kept after loading".to_string() })
}

/// The library to load: the configured path, else the environment variable; a named file
/// that does not exist is reported before anything is loaded.
fn resolve(library: Option<&Path>) -> Result<Option<PathBuf>, FilterError> {
    let (path, origin) = match library {
        Some(path) => (path.to_path_buf(), "the configured runtime library".to_string()),
        None => match std::env::var_os(DYLIB_ENV) {
            Some(value) if !value.is_empty() => (PathBuf::from(value), format!("${DYLIB_ENV}")),
            _ => return Ok(None),
        },
    };
    if !path.is_file() {
        return Err(FilterError::RuntimeMissing { tried: format!("{} ({origin}) is not a file", path.display()) });
    }
    // Absolute, so that the loader does not look for a relative path somewhere else, and so
    // that two spellings of one file compare equal.
    Ok(Some(path.canonicalize().unwrap_or(path)))
}
