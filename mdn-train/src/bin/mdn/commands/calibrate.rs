//! `mdn calibrate`: fit a model's calibration to validation rows and write it into the blob.

use std::{fmt, path::PathBuf};

use anyhow::Result;
use mdn_train::{eval::ModelFile, io, recalibration};
use serde::Serialize;

use crate::{cli::CalibrateArgs, load, report::emit};

/// What `mdn calibrate` prints.
#[derive(Debug, Serialize)]
struct CalibrateReport {
    model: PathBuf,
    data: PathBuf,
    out: PathBuf,
    /// The factor on every sigma, per target.
    sigma_scale: Vec<f32>,
    /// The divisor of the mixing logits (1 unless it lowered the rows' total NLL by more
    /// than [`recalibration::TEMPERATURE_GAIN`] nats).
    temperature: f32,
    /// The fewest rows on which the temperature is tried for this model (fewer: only the
    /// sigma scales are fitted).
    temperature_rows: usize,
    /// Mean NLL of the validation rows before and after, nats per row (mdn-core).
    nll_before: f64,
    nll_after: f64,
    /// Rows fitted on (those of finite density).
    rows: usize,
    /// The standard error of the mean gain per row.
    gain_standard_error: f64,
    /// Whether the fit was written: clearly better on the rows (a mean gain above two
    /// standard errors), or `--force`. Otherwise `--out` holds the model unchanged.
    written: bool,
}

/// Runs `mdn calibrate`.
pub fn run(args: CalibrateArgs) -> Result<()> {
    let file = ModelFile::read(&args.model.path())?;
    io::check_writable(&args.out)?;
    let data = load::for_model(&file, &args.data, &args.csv)?;
    let fit = recalibration::fit(&file.bytes, &data.x, &data.y)?;
    let written = fit.is_clear() || args.force;
    if written {
        io::write_atomic(&args.out, &fit.calibration.apply(&file.bytes)?)?;
    } else {
        io::write_atomic(&args.out, &file.bytes)?;
    }
    let report = CalibrateReport {
        model: file.path,
        data: args.data,
        out: args.out,
        sigma_scale: fit.calibration.sigma_scale,
        temperature: fit.calibration.temperature,
        temperature_rows: fit.temperature_rows,
        nll_before: fit.nll_before,
        nll_after: fit.nll_after,
        rows: fit.rows,
        gain_standard_error: fit.gain_standard_error,
        written,
    };
    emit(args.output, &report)
}

impl fmt::Display for CalibrateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scales: Vec<String> = self.sigma_scale.iter().map(|s| format!("{s:.4}")).collect();
        writeln!(
            f,
            "calibration fitted on {} rows of {}: sigma scale {}, temperature {:.4}",
            self.rows,
            self.data.display(),
            scales.join(","),
            self.temperature
        )?;
        if self.rows < self.temperature_rows {
            writeln!(
                f,
                "temperature not fitted: {} rows, under the {} it needs ({} per mixture \
                 component)",
                self.rows,
                self.temperature_rows,
                recalibration::TEMPERATURE_ROWS_PER_COMPONENT
            )?;
        }
        writeln!(
            f,
            "NLL {:.4} -> {:.4} nats per row on those rows (mdn-core), gain {:.4} +- {:.4}",
            self.nll_before,
            self.nll_after,
            self.nll_before - self.nll_after,
            self.gain_standard_error
        )?;
        if self.written {
            writeln!(f, "wrote {} with this calibration", self.out.display())
        } else {
            writeln!(
                f,
                "wrote {} unchanged: the gain is within two standard errors, which fitting \
                 on these rows alone can give (--force writes it)",
                self.out.display()
            )
        }
    }
}
