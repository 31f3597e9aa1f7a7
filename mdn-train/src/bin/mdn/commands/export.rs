//! `mdn export`: every weight, bias and scaler by name, as JSON.

use std::{fmt, path::PathBuf};

use anyhow::Result;
use mdn_train::{describe::weights_json, eval::ModelFile, io};
use serde::Serialize;
use serde_json::Value;

use crate::{
    cli::{ExportArgs, ExportFormat},
    report::emit,
};

/// What `mdn export` prints: the weights themselves, or with `--out` what was written.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum ExportReport {
    /// The weights ([`weights_json`]) with the model's path: JSON in text mode too.
    Weights(Value),
    /// The file written.
    Written {
        model: PathBuf,
        out: PathBuf,
        format: &'static str,
        bytes: usize,
    },
}

/// Runs `mdn export`.
pub fn run(args: ExportArgs) -> Result<()> {
    let file = ModelFile::read(&args.model.path())?;
    let ExportFormat::Json = args.format;
    let mut weights = weights_json(&file.blob()?);
    weights["model"] = serde_json::to_value(&file.path)?;
    let Some(path) = args.out else {
        return emit(args.output, &ExportReport::Weights(weights));
    };
    let text = serde_json::to_string_pretty(&weights)? + "\n";
    io::write_atomic(&path, text.as_bytes())?;
    let report = ExportReport::Written {
        model: file.path,
        out: path,
        format: "json",
        bytes: text.len(),
    };
    emit(args.output, &report)
}

impl fmt::Display for ExportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportReport::Weights(weights) => writeln!(f, "{weights}"),
            ExportReport::Written { out, .. } => writeln!(f, "wrote {}", out.display()),
        }
    }
}
