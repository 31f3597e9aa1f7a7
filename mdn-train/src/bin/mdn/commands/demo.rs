//! `mdn demo`: the whole story on built-in data.

use std::{
    fmt,
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::{Context, Result, anyhow};
use mdn_train::{
    baselines::{Predictor, Score},
    eval::{self, ModelFile},
    io,
    plot::{self, PlotOptions},
    synth::{self, Kind},
    train::{self, TrainConfig, Written},
};
use serde::Serialize;

use super::baselines::{ScoreTable, compare};
use crate::{cli::DemoArgs, report::emit};

/// The capacities of `firmware-example`'s `minimal`.
const MINIMAL: mdn_core::Capacities = mdn_core::Capacities {
    inputs: 1,
    width: 32,
    components: 5,
    outputs: 1,
};

/// What `mdn demo` prints.
#[derive(Debug, Serialize)]
struct DemoReport {
    out: PathBuf,
    model: PathBuf,
    metrics: PathBuf,
    train: PathBuf,
    test: PathBuf,
    n_train: usize,
    n_test: usize,
    models: Vec<Score>,
    /// Largest `|candle - mdn-core|` of the test rows' log-likelihood.
    parity_max_abs_diff: f64,
    /// `|ln p|` of the row where it was largest.
    #[serde(skip)]
    parity_at_log_p: f64,
    plots: Vec<PathBuf>,
    /// The written model's epochs and kept epoch.
    epochs: usize,
    best_epoch: usize,
    /// The written blob's size.
    #[serde(skip)]
    bytes: usize,
    /// Which model was written.
    #[serde(skip)]
    written: Written,
    /// Whether `firmware-example`'s `minimal` runs it.
    #[serde(skip)]
    fits_minimal: bool,
    seconds: f64,
}

/// Runs `mdn demo`.
pub fn run(args: DemoArgs) -> Result<()> {
    let started = Instant::now();
    let config = TrainConfig::from(&args.options);
    config.validate()?;
    if args.n < 50 {
        return Err(anyhow!("--n: expected at least 50 rows, found {}", args.n));
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create the directory", args.out.display()))?;
    let path = |name: &str| -> PathBuf { args.out.join(name) };
    let (model_path, metrics_path) = (path("model.mdn"), path("model.mdn.metrics.csv"));
    io::check_writable(&model_path)?;

    // One draw split 80/20, as the shipped data sets.
    let all = synth::generate(Kind::Invsin, args.n, config.seed);
    let n_train = (args.n as f64 * 0.8).round() as usize;
    let train_idx: Vec<usize> = (0..n_train).collect();
    let test_idx: Vec<usize> = (n_train..args.n).collect();
    let (mut train_data, mut test_data) = (all.subset(&train_idx), all.subset(&test_idx));
    train_data.path = path("train.csv");
    test_data.path = path("test.csv");
    test_data.lines = (2..test_data.len() as u64 + 2).collect();
    io::write_atomic(&train_data.path, synth::to_csv(&train_data).as_bytes())?;
    io::write_atomic(&test_data.path, synth::to_csv(&test_data).as_bytes())?;
    eprintln!(
        "generated {} + {} rows of the inverse sine (x = 7 sin(0.75 y) + 0.5 y + noise): up to \
         three y for one x",
        train_data.len(),
        test_data.len()
    );

    let deployment = args
        .device
        .deployment(&super::train::template(&train_data, &config))?;
    let finishing = args.device.finishing().map_err(anyhow::Error::msg)?;
    let (scores, deployed) = compare(&train_data, &test_data, &config, &deployment, &finishing)?;
    io::write_atomic(&model_path, deployed.blob())?;
    io::write_atomic(
        &metrics_path,
        train::metrics_csv(deployed.metrics()).as_bytes(),
    )?;
    let file = ModelFile::read(&model_path)?;
    let (max_diff, at_log_p) = eval::parity(&file, &test_data)?;
    // Slices where the inverse sine has five branches (x = 0) and two (x = 8).
    let options = PlotOptions {
        at: vec![0.0, 8.0],
        ..PlotOptions::default()
    };
    let plots = plot::write(&args.out, &plot::render(&file, Some(&test_data), &options)?)?;
    let report = DemoReport {
        out: args.out,
        model: model_path,
        metrics: metrics_path,
        n_train: train_data.len(),
        n_test: test_data.len(),
        train: train_data.path,
        test: test_data.path,
        models: scores,
        parity_max_abs_diff: max_diff,
        parity_at_log_p: at_log_p,
        plots,
        epochs: deployed.metrics().len(),
        best_epoch: deployed
            .student
            .as_ref()
            .map_or(deployed.teacher.best_epoch, |s| s.runs[s.kept].best_epoch),
        bytes: deployed.blob().len(),
        written: deployed.written,
        fits_minimal: mdn_core::Blob::from_bytes(deployed.blob())
            .and_then(|b| b.required_capacities())
            .and_then(|c| c.fits(&MINIMAL))
            .is_ok(),
        seconds: started.elapsed().as_secs_f64(),
    };
    emit(args.output, &report)
}

impl DemoReport {
    /// The test NLL of the first model of `kind`.
    fn nll(&self, kind: Predictor) -> f64 {
        self.models
            .iter()
            .find(|s| s.kind == kind)
            .map_or(f64::NAN, |s| s.nll)
    }
}

fn display_dir(p: &Path) -> String {
    format!("{}/", p.display())
}

impl fmt::Display for DemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let gain = self.nll(Predictor::Mlp) - self.nll(Predictor::Mdn);
        writeln!(
            f,
            "Inverse sine: {} test rows, NLL in nats per row (lower is better)",
            self.n_test
        )?;
        ScoreTable(&self.models).fmt(f)?;
        writeln!(
            f,
            "The MDN's test NLL is {gain:.2} nats below the MLP's: its density is {:.1}x higher \
             on average, because it\nputs probability on every branch of y for an x, where a \
             point prediction averages them.",
            gain.exp()
        )?;
        writeln!(
            f,
            "parity: max |candle - mdn-core| log-likelihood over {} test rows = {:.2e} nats (at \
             |log p| = {:.2})",
            self.n_test, self.parity_max_abs_diff, self.parity_at_log_p
        )?;
        let dir = display_dir(&self.out);
        if self.written == Written::Student {
            let minimal = if self.fits_minimal {
                " (firmware-example's `minimal`, Model<1, 32, 5, 1>, runs it)"
            } else {
                ""
            };
            writeln!(
                f,
                "the model written is the student: one network ({} bytes) that learned the \
                 ensemble's density, within the device budget{minimal}",
                self.bytes
            )?;
        }
        writeln!(
            f,
            "trained {} epochs (kept epoch {}); wrote {}, {} and the data to {dir} in {:.1} s",
            self.epochs,
            self.best_epoch,
            self.model.display(),
            self.metrics.display(),
            self.seconds
        )?;
        writeln!(
            f,
            "plots: density, slices, training and calibration (.png and .svg) in {dir}"
        )?;
        writeln!(
            f,
            "next: mdn inspect {0}; mdn predict {0} --x 8; mdn plot {0} --data {1} --at 8 --out \
             plots",
            self.model.display(),
            self.test.display()
        )
    }
}
