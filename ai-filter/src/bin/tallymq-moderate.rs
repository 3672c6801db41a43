//! `tallymq-moderate`: scores messages from standard input with the harassment model and
//! writes one JSON verdict per line (see `tallymq_ai_filter::cli::run_moderate`).

use std::io::{self, BufWriter};
use std::path::PathBuf;

use anyhow::{bail, Context};
use tallymq_ai_filter::classifier::Classifier;
use tallymq_ai_filter::model::{init_runtime, ModelSource};
use tallymq_ai_filter::policy::Policy;

const USAGE: &str = "usage: tallymq-moderate [--model PATH] [--runtime-library PATH] < messages

Reads one message per line from standard input: plain text, or a JSON object with a string
\"text\" (and an optional \"id\", echoed). Writes one JSON line per message with the model's
scores, the categories found, the decision at the model's recommended thresholds (warn) and
the model version. Empty lines are skipped; a line that cannot be read is answered with
{\"line\": N, \"error\": \"...\"}.

  --model PATH             an ONNX model with its metadata beside it (PATH with .json);
                           default: the model built into this binary
  --runtime-library PATH   libonnxruntime to load; default: $ORT_DYLIB_PATH";

struct Options {
    model: ModelSource,
    runtime_library: Option<PathBuf>,
}

fn options() -> anyhow::Result<Option<Options>> {
    let mut options = Options { model: ModelSource::Embedded, runtime_library: None };
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().map(PathBuf::from).with_context(|| format!("{name} needs a path\n\n{USAGE}"));
        match arg.to_str() {
            Some("--model") => options.model = ModelSource::File(value("--model")?),
            Some("--runtime-library") => options.runtime_library = Some(value("--runtime-library")?),
            Some("-h" | "--help") => return Ok(None),
            _ => bail!("unknown argument {}\n\n{USAGE}", arg.to_string_lossy()),
        }
    }
    Ok(Some(options))
}

fn main() -> anyhow::Result<()> {
    let Some(options) = options()? else {
        println!("{USAGE}");
        return Ok(());
    };
    init_runtime(options.runtime_library.as_deref())?;
    let mut classifier = Classifier::load(&options.model)?;
    let policy = Policy::from_model(classifier.info());
    let stdin = io::stdin().lock();
    let stdout = BufWriter::new(io::stdout().lock());
    let summary = tallymq_ai_filter::cli::run_moderate(stdin, stdout, &mut classifier, &policy).context("moderate")?;
    eprintln!("{}", summary.describe(&classifier.info().version));
    Ok(())
}
