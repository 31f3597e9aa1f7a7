//! `mdn plot`: draw a model's figures into a directory.

use std::{fmt, path::PathBuf};

use anyhow::Result;
use mdn_train::{
    eval::ModelFile,
    excerpt,
    plot::{self, PlotOptions},
};
use serde::{Serialize, Serializer};

use crate::{cli::PlotArgs, load, report::emit};

/// What `mdn plot` prints.
#[derive(Debug, Serialize)]
struct PlotReport {
    model: PathBuf,
    data: Option<PathBuf>,
    out: PathBuf,
    /// Every file written.
    files: Vec<PathBuf>,
    /// The figures not drawn, and why.
    skipped: Vec<Skipped>,
    /// The feature that varies.
    feature: String,
    /// The target shown.
    target: String,
    /// The other features and the value each is held at, as a JSON object.
    #[serde(serialize_with = "as_map")]
    held: Vec<(String, f32)>,
    /// Where the held values come from.
    #[serde(skip)]
    held_at: &'static str,
}

/// A figure not drawn.
#[derive(Debug, Serialize)]
struct Skipped {
    plot: &'static str,
    reason: String,
}

fn as_map<S: Serializer>(pairs: &[(String, f32)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(pairs.iter().map(|(name, v)| (name, v)))
}

/// Runs `mdn plot`.
pub fn run(args: PlotArgs) -> Result<()> {
    let file = ModelFile::read(&args.model.path())?;
    let data = args
        .data
        .as_deref()
        .map(|p| load::for_model(&file, p, &args.csv))
        .transpose()?;
    let options = PlotOptions {
        at: args.at,
        rows: args.rows,
        feature: args.feature,
        target: args.target,
        metrics: args.metrics,
    };
    let plots = plot::render(&file, data.as_ref(), &options)?;
    let files = plot::write(&args.out, &plots)?;
    for (name, reason) in &plots.skipped {
        eprintln!("note: no {name} plot: {reason}");
    }
    let report = PlotReport {
        model: file.path,
        data: args.data,
        out: args.out,
        files,
        skipped: plots
            .skipped
            .into_iter()
            .map(|(plot, reason)| Skipped { plot, reason })
            .collect(),
        feature: plots.feature,
        target: plots.target,
        held: plots.fixed,
        held_at: plots.fixed_from,
    };
    emit(args.output, &report)
}

impl fmt::Display for PlotReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for path in &self.files {
            writeln!(f, "wrote {}", path.display())?;
        }
        if !self.held.is_empty() {
            let held = self.held.iter().map(|(n, v)| format!("{n} = {v}"));
            writeln!(
                f,
                "{} varies; the other features are held at the {}: {}",
                self.feature,
                self.held_at,
                excerpt::list(held)
            )?;
        }
        Ok(())
    }
}
