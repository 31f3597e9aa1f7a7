//! What a command prints: each command builds one report, `Serialize` for `--json` and
//! `Display` for people, so that the two cannot drift apart.

use std::{fmt::Display, io::Write};

use anyhow::Result;
use serde::Serialize;

use crate::cli::JsonArg;

/// Writes `report` to stdout: as one JSON line with `--json`, else as text.
///
/// The report is serialised directly (never through `serde_json::Value`), so an `f32`
/// prints in its shortest form that reads back to the same value.
pub fn emit<R: Serialize + Display>(output: JsonArg, report: &R) -> Result<()> {
    let text = if output.json {
        serde_json::to_string(report)? + "\n"
    } else {
        report.to_string()
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // A closed pipe (`mdn export m | head`) is the reader's choice, not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// A warning on stderr.
pub fn warn(message: &str) {
    eprintln!("warning: {message}");
}
