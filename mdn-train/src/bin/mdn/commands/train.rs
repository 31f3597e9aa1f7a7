//! `mdn train`: fit the ensemble, write the blob and its metrics, report.

use std::{fmt, path::PathBuf, time::Instant};

use anyhow::Result;
use mdn_train::{
    Error,
    data::Dataset,
    describe::layers_text,
    eval, io,
    train::{self, CandidateRun, EpochMetrics, TrainConfig, Trained},
};
use serde::{Serialize, Serializer};

use crate::{
    cli::TrainArgs,
    load,
    progress::{train_with_progress, trained_model},
    report::{emit, warn},
};

/// What `mdn train` prints.
#[derive(Debug, Serialize)]
struct TrainReport {
    /// The blob written.
    model: PathBuf,
    /// The per-epoch metrics written.
    metrics: PathBuf,
    /// The blob's size.
    bytes: usize,
    /// `f32` parameters in the blob, scalers included.
    parameters: usize,
    /// Networks in the blob.
    networks: usize,
    features: Vec<String>,
    targets: Vec<String>,
    /// Rows of the data file.
    rows: usize,
    /// Rows one network learned from and validated on.
    train_rows: usize,
    val_rows: usize,
    candidates: Vec<CandidateRun>,
    /// Completed epochs.
    epochs: usize,
    best_epoch: usize,
    stopped_early: bool,
    /// The metrics of the kept epoch; its mean training NLL is the JSON's `train_nll`.
    #[serde(rename = "train_nll", serialize_with = "mean_train_nll")]
    best: Option<EpochMetrics>,
    /// Validation NLL of the written model.
    val_nll: Option<f64>,
    /// `--test`: the written model scored on the test file (`null` without it).
    test: Option<TestScore>,
    seconds: f64,
    config: TrainConfig,
    /// The training data file.
    #[serde(skip)]
    data: PathBuf,
    /// Features, for the architecture line.
    #[serde(skip)]
    inputs: usize,
}

/// `--test`: the whole ensemble scored by mdn-core, as `mdn eval` scores a blob.
#[derive(Debug, Serialize)]
struct TestScore {
    data: PathBuf,
    n: usize,
    nll: f64,
    rmse: f64,
}

fn mean_train_nll<S: Serializer>(best: &Option<EpochMetrics>, s: S) -> Result<S::Ok, S::Error> {
    best.map(|m| m.train_nll).serialize(s)
}

/// Runs `mdn train`.
pub fn run(args: TrainArgs) -> Result<()> {
    let started = Instant::now();
    let config = TrainConfig {
        fail_at_epoch: args.fail_at_epoch,
        ..TrainConfig::from(&args.options)
    };
    config.validate()?;
    let data = load::training(
        &args.data,
        &args.csv,
        &args.target,
        args.features.as_deref(),
    )?;
    let metrics_path = io::with_suffix(&args.out, ".metrics.csv");
    io::check_writable(&args.out)?;
    io::check_writable(&metrics_path)?;

    let trained = train_with_progress(&data, &config, "train")?;
    let metrics_csv = train::metrics_csv(&trained.metrics);
    if let Some(div) = trained.diverged {
        let saved = if trained.best_epoch == 0 {
            "no epoch completed, so no model was written".to_owned()
        } else {
            io::write_atomic(&args.out, &trained.blob)?;
            io::write_atomic(&metrics_path, metrics_csv.as_bytes())?;
            format!(
                "wrote the best model so far (epoch {}) to {}",
                trained.best_epoch,
                args.out.display()
            )
        };
        return Err(Error::Diverged {
            epoch: div.epoch,
            loss: div.loss,
            saved,
        }
        .into());
    }
    io::write_atomic(&args.out, &trained.blob)?;
    io::write_atomic(&metrics_path, metrics_csv.as_bytes())?;
    warn_of_diverged_networks(&trained);
    let test = match &args.test {
        Some(path) => Some(test_score(path, &args, &data, &trained)?),
        None => None,
    };
    let report = TrainReport {
        model: args.out.clone(),
        metrics: metrics_path,
        bytes: trained.blob.len(),
        parameters: trained_model(&trained)?.blob().parameter_values().len(),
        networks: trained.ensemble.members.len(),
        features: data.feature_names.clone(),
        targets: data.target_names.clone(),
        rows: data.len(),
        train_rows: trained.train_rows,
        val_rows: trained.val_rows,
        candidates: trained.candidates.clone(),
        epochs: trained.metrics.len(),
        best_epoch: trained.best_epoch,
        stopped_early: trained.stopped_early,
        best: trained
            .metrics
            .iter()
            .find(|m| m.epoch == trained.best_epoch)
            .copied(),
        val_nll: trained.best_val_nll,
        test,
        seconds: started.elapsed().as_secs_f64(),
        config,
        data: args.data,
        inputs: data.inputs(),
    };
    emit(args.output, &report)
}

fn warn_of_diverged_networks(trained: &Trained) {
    let diverged: Vec<usize> = trained
        .member_runs
        .iter()
        .filter_map(|r| r.diverged_at)
        .collect();
    if let Some(first) = diverged.iter().min() {
        warn(&format!(
            "{} of the {} networks stopped at a NaN or infinite loss (first at epoch {first}); \
             each keeps its best weights from before",
            diverged.len(),
            trained.member_runs.len(),
        ));
    }
}

/// Scores the blob just written on the `--test` file, as `mdn eval` and a device would.
fn test_score(
    path: &std::path::Path,
    args: &TrainArgs,
    data: &Dataset,
    trained: &Trained,
) -> Result<TestScore> {
    let test = load::like(path, &args.csv, data)?;
    let evaluation = eval::evaluate(&trained_model(trained)?, &test)?;
    Ok(TestScore {
        data: path.to_path_buf(),
        n: test.len(),
        nll: evaluation.nll,
        rmse: evaluation.rmse,
    })
}

impl TrainReport {
    /// Why training stopped where it did, after `epochs: a of b`.
    fn stop_reason(&self) -> String {
        let config = &self.config;
        if !self.stopped_early {
            String::new()
        } else if config.lr_drops > 0 {
            let after_drop = if config.drop_patience == 0 {
                config.patience
            } else {
                config.drop_patience
            };
            format!(
                " (every network stopped early: {} epochs without improvement, then {after_drop} \
                 after each learning-rate drop)",
                config.patience
            )
        } else {
            format!(
                " (early stop after {} epochs without improvement)",
                config.patience
            )
        }
    }
}

impl fmt::Display for TrainReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = &self.config;
        let ks: Vec<String> = config.components.iter().map(usize::to_string).collect();
        writeln!(
            f,
            "trained {}, K = {}, {} sigma on {} rows of {} ({} for validation per network)",
            layers_text(self.inputs, &config.hidden, config.activation),
            ks.join(","),
            config.sigma,
            self.train_rows,
            self.data.display(),
            self.val_rows,
        )?;
        if self.candidates.len() > 1 {
            let weights: Vec<String> = self
                .candidates
                .iter()
                .map(|c| {
                    let val = c
                        .val_nll
                        .map_or(String::new(), |v| format!(" (val {v:.4})"));
                    format!(
                        "K = {} noise {}: {:.2}{val}",
                        c.components, c.noise, c.weight
                    )
                })
                .collect();
            writeln!(
                f,
                "{} candidates of {} network(s) each, weights: {}",
                self.candidates.len(),
                config.networks_per_candidate(),
                weights.join("; ")
            )?;
        }
        if let Some(test) = &self.test {
            writeln!(
                f,
                "test NLL {:.4} nats per row ({} networks, mdn-core)",
                test.nll, self.networks
            )?;
        }
        writeln!(
            f,
            "epochs: {} of {}{}; kept epoch {}",
            self.epochs,
            config.epochs,
            self.stop_reason(),
            self.best_epoch
        )?;
        if let Some(v) = self.val_nll {
            writeln!(
                f,
                "validation NLL of the written model {v:.4} nats per row (original units; each \
                 row scored by networks that did not learn from it)"
            )?;
        }
        if let Some(m) = &self.best {
            write!(
                f,
                "mean over the networks at epoch {}: train NLL {:.4}",
                m.epoch, m.train_nll
            )?;
            if let Some(v) = m.val_nll {
                write!(f, ", validation NLL {v:.4}")?;
            }
            writeln!(f, " (every candidate, as in the metrics file)")?;
        }
        writeln!(
            f,
            "wrote {} ({} bytes) and {} in {:.1} s",
            self.model.display(),
            self.bytes,
            self.metrics.display(),
            self.seconds
        )
    }
}
