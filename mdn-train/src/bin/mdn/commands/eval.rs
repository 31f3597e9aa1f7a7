//! `mdn eval`: score a blob on a data file with mdn-core.

use std::{fmt, path::PathBuf};

use anyhow::Result;
use mdn_train::{
    eval::{self, Evaluation, ModelFile},
    io,
};
use serde::Serialize;

use crate::{
    cli::EvalArgs,
    load,
    report::{emit, warn},
};

/// What `mdn eval` prints: `n`, `nll`, `rmse`, `rmse_per_target`, the calibration and
/// interval figures (pooled, and `<key>_per_target` for several targets) and
/// `component_weights` come from [`Evaluation`].
#[derive(Debug, Serialize)]
struct EvalReport {
    model: PathBuf,
    data: PathBuf,
    #[serde(flatten)]
    evaluation: Evaluation,
    targets: Vec<String>,
    /// The per-sample CSV written, if any.
    per_sample: Option<PathBuf>,
}

/// Runs `mdn eval`.
pub fn run(args: EvalArgs) -> Result<()> {
    let file = ModelFile::read(&args.model.path())?;
    let data = load::for_model(&file, &args.data, &args.csv)?;
    let evaluation = eval::evaluate(&file.model()?, &data)?;
    for (network, component) in eval::unused_components(&evaluation) {
        warn(&format!(
            "component {component} of network {network} is never used: its mean weight \
             within the network is {:.4}, under {} (a smaller K would do)",
            evaluation.component_weights[network][component],
            eval::UNUSED_WEIGHT
        ));
    }
    if let Some(path) = &args.per_sample {
        io::write_atomic(path, eval::per_sample_csv(&data, &evaluation).as_bytes())?;
    }
    let report = EvalReport {
        model: file.path,
        data: args.data,
        evaluation,
        targets: data.target_names,
        per_sample: args.per_sample,
    };
    emit(args.output, &report)
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.evaluation;
        writeln!(
            f,
            "{} on {}: {} rows",
            self.model.display(),
            self.data.display(),
            e.n
        )?;
        writeln!(
            f,
            "NLL  {:.4} nats per row (mdn-core, original units)",
            e.nll
        )?;
        writeln!(f, "RMSE {:.4} (predictive mean)", e.rmse)?;
        f.write_str(&e.calibration.text())?;
        if self.targets.len() > 1 {
            writeln!(
                f,
                "  (each of the {} targets' marginals, pooled)",
                self.targets.len()
            )?;
        }
        if let Some(p) = &self.per_sample {
            writeln!(f, "wrote {}", p.display())?;
        }
        Ok(())
    }
}
