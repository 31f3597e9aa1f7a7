//! `mdn train`: fit the teacher, distil the network that fits the device, write the blob
//! and its metrics, report.

use std::{fmt, path::PathBuf, time::Instant};

use anyhow::Result;
use mdn_train::{
    Error,
    budget::{Budget, ModelTemplate, StudentShape},
    data::Dataset,
    describe::layers_text,
    device_cost::DeviceCosts,
    eval, io,
    model::Architecture,
    train::{
        self, CalibrationChoice, CalibrationSummary, CandidateRun, Deployed, Deployment,
        EpochMetrics, TrainConfig, Trained, Written,
    },
};
use serde::{Serialize, Serializer};

use crate::{
    cli::TrainArgs,
    load,
    progress::{deploy_with_progress, model_of},
    report::{emit, warn},
};

/// What `mdn train` prints.
#[derive(Debug, Serialize)]
struct TrainReport {
    /// The blob written.
    model: PathBuf,
    /// The written model's per-epoch metrics.
    metrics: PathBuf,
    /// The teacher's, when the written model is a student (`null` otherwise).
    teacher_metrics: Option<PathBuf>,
    /// The blob's size.
    bytes: usize,
    /// `f32` parameters in the blob, scalers included.
    parameters: usize,
    /// Networks in the blob: 1 unless `--ensemble`.
    networks: usize,
    /// Which model was written: `student`, `teacher` (already one network within the
    /// budget) or `ensemble`.
    written: Written,
    /// The student's shape, when one was written.
    student: Option<StudentShape>,
    /// The device budget (`null` with `--ensemble`).
    budget: Option<Budget>,
    /// The written blob's predicted cost on each core.
    device_cost: DeviceCosts,
    /// How each dense layer of the written blob stores its weights (hidden layers, then
    /// the heads).
    storage: Vec<String>,
    /// Whether the calibration was fitted and written, and what it found.
    calibration: CalibrationChoice,
    features: Vec<String>,
    targets: Vec<String>,
    /// Rows of the data file.
    rows: usize,
    /// Rows one network of the written model learned from (a student: rows whose
    /// neighbourhoods it learned the teacher's density at) and validated on.
    train_rows: usize,
    val_rows: usize,
    /// The teacher's candidate models.
    candidates: Vec<CandidateRun>,
    /// The written model's completed epochs.
    epochs: usize,
    best_epoch: usize,
    stopped_early: bool,
    /// The metrics of the written model's kept epoch; its mean training NLL is the JSON's
    /// `train_nll`.
    #[serde(rename = "train_nll", serialize_with = "mean_train_nll")]
    best: Option<EpochMetrics>,
    /// Validation NLL of the written model.
    val_nll: Option<f64>,
    /// The teacher's validation NLL (with folds, out of fold).
    teacher_val_nll: Option<f64>,
    /// The student's NLL on its validation rows (`null` without a student).
    student_val_nll: Option<f64>,
    /// The teacher's NLL on the student's validation rows.
    #[serde(skip)]
    teacher_on_student_rows: Option<f64>,
    /// Whether the student's validation rows were held out from the teacher too.
    #[serde(skip)]
    student_rows_held_out: bool,
    /// Whether the student written is the teacher network it started from, unchanged.
    #[serde(skip)]
    student_kept_warm_start: bool,
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
    /// Networks of the teacher.
    #[serde(skip)]
    teacher_networks: usize,
}

/// `--test`: the written model scored by mdn-core, as `mdn eval` scores a blob.
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
    // The budget and the student's shape are settled before any training.
    let deployment = args.device.deployment(&template(&data, &config))?;
    let metrics_path = io::with_suffix(&args.out, ".metrics.csv");
    let teacher_metrics_path = io::with_suffix(&args.out, ".teacher.metrics.csv");
    io::check_writable(&args.out)?;
    io::check_writable(&metrics_path)?;
    if deployment != Deployment::Ensemble {
        io::check_writable(&teacher_metrics_path)?;
    }

    // Before training: a contradictory storage fails at once.
    let finishing = args.device.finishing().map_err(anyhow::Error::msg)?;
    let mut deployed = deploy_with_progress(&data, &config, &deployment)?;
    if let Some(div) = deployed.teacher.diverged {
        return Err(diverged(&args, &metrics_path, &deployed.teacher, div));
    }
    let calibration = train::finish(&mut deployed, &data, &finishing)?;
    let teacher = &deployed.teacher;
    io::write_atomic(&args.out, deployed.blob())?;
    io::write_atomic(
        &metrics_path,
        train::metrics_csv(deployed.metrics()).as_bytes(),
    )?;
    let teacher_metrics = if deployed.written == Written::Student {
        io::write_atomic(
            &teacher_metrics_path,
            train::metrics_csv(&teacher.metrics).as_bytes(),
        )?;
        Some(teacher_metrics_path)
    } else {
        None
    };
    warn_of_diverged_networks(&deployed);
    let test = match &args.test {
        Some(path) => Some(test_score(path, &args, &data, &deployed)?),
        None => None,
    };
    let report = TrainReport::new(&args, &data, config, &deployment, &deployed, test, started)?;
    emit(
        args.output,
        &TrainReport {
            metrics: metrics_path,
            teacher_metrics,
            calibration,
            ..report
        },
    )
}

/// Everything but the shape of the models trained on `data` with `config`.
pub fn template(data: &Dataset, config: &TrainConfig) -> ModelTemplate {
    let arch = Architecture {
        inputs: data.inputs(),
        outputs: data.outputs(),
        components: 1,
        hidden: config.hidden.clone(),
        activation: config.activation,
        sigma: config.sigma,
        sigma_floor: config.sigma_floor,
    };
    ModelTemplate::new(
        &arch,
        config.scale_y.transform(),
        &data.feature_names,
        &data.target_names,
    )
}

/// Writes the teacher's best weights so far and says so in the error, when every
/// network of the teacher diverged.
fn diverged(
    args: &TrainArgs,
    metrics_path: &std::path::Path,
    teacher: &Trained,
    div: train::Divergence,
) -> anyhow::Error {
    let saved = if teacher.best_epoch == 0 {
        "no epoch completed, so no model was written".to_owned()
    } else {
        let written = io::write_atomic(&args.out, &teacher.blob).and_then(|()| {
            io::write_atomic(
                metrics_path,
                train::metrics_csv(&teacher.metrics).as_bytes(),
            )
        });
        if let Err(e) = written {
            return e.into();
        }
        format!(
            "wrote the teacher's best model so far (epoch {}, {} network(s)) to {}",
            teacher.best_epoch,
            teacher.ensemble.networks.len(),
            args.out.display()
        )
    };
    Error::Diverged {
        epoch: div.epoch,
        loss: div.loss,
        saved,
    }
    .into()
}

fn warn_of_diverged_networks(deployed: &Deployed) {
    let runs = &deployed.teacher.network_runs;
    let diverged: Vec<usize> = runs.iter().filter_map(|r| r.diverged_at).collect();
    if let Some(first) = diverged.iter().min() {
        warn(&format!(
            "{} of the teacher's {} networks stopped at a NaN or infinite loss (first at epoch \
             {first}); each keeps its best weights from before",
            diverged.len(),
            runs.len(),
        ));
    }
    if let Some(student) = &deployed.student
        && let Some(at) = student.runs.get(student.kept).and_then(|r| r.diverged_at)
    {
        warn(&format!(
            "the student stopped at a NaN or infinite loss in epoch {at}; it keeps its best \
             weights from before"
        ));
    }
}

/// Scores the blob just written on the `--test` file, as `mdn eval` and a device would.
fn test_score(
    path: &std::path::Path,
    args: &TrainArgs,
    data: &Dataset,
    deployed: &Deployed,
) -> Result<TestScore> {
    let test = load::like(path, &args.csv, data)?;
    let evaluation = eval::evaluate(&model_of(deployed.blob())?, &test)?;
    Ok(TestScore {
        data: path.to_path_buf(),
        n: test.len(),
        nll: evaluation.nll,
        rmse: evaluation.rmse,
    })
}

impl TrainReport {
    #[allow(clippy::too_many_arguments, reason = "everything the report tells")]
    fn new(
        args: &TrainArgs,
        data: &Dataset,
        config: TrainConfig,
        deployment: &Deployment,
        deployed: &Deployed,
        test: Option<TestScore>,
        started: Instant,
    ) -> Result<Self> {
        let teacher = &deployed.teacher;
        let blob = mdn_core::Blob::from_bytes(deployed.blob()).map_err(|source| Error::Core {
            context: "validating the written model".into(),
            source,
        })?;
        let device_cost = DeviceCosts::predict(blob.header()).map_err(|source| Error::Core {
            context: "predicting the written model's device cost".into(),
            source,
        })?;
        let metrics = deployed.metrics();
        let (best_epoch, stopped_early, train_rows, val_rows) = match &deployed.student {
            Some(student) => {
                let run = &student.runs[student.kept];
                (
                    run.best_epoch,
                    run.stopped_early,
                    run.train_rows,
                    student.val_rows,
                )
            }
            None => (
                teacher.best_epoch,
                teacher.stopped_early,
                teacher.train_rows,
                teacher.val_rows,
            ),
        };
        let (budget, student) = match deployment {
            Deployment::Ensemble => (None, None),
            Deployment::Device { budget, student } => (
                Some(*budget),
                (deployed.written == Written::Student).then(|| StudentShape {
                    hidden: student.hidden.clone(),
                    components: student.components,
                }),
            ),
        };
        Ok(TrainReport {
            model: args.out.clone(),
            metrics: PathBuf::new(),
            teacher_metrics: None,
            bytes: deployed.blob().len(),
            storage: blob
                .header()
                .storage
                .iter()
                .map(ToString::to_string)
                .collect(),
            calibration: CalibrationChoice::Off,
            parameters: blob.parameter_values().len(),
            networks: blob.header().networks as usize,
            written: deployed.written,
            student,
            budget,
            device_cost,
            features: data.feature_names.clone(),
            targets: data.target_names.clone(),
            rows: data.len(),
            train_rows,
            val_rows,
            candidates: teacher.candidates.clone(),
            epochs: metrics.len(),
            best_epoch,
            stopped_early,
            best: metrics.iter().find(|m| m.epoch == best_epoch).copied(),
            val_nll: deployed.val_nll(),
            teacher_val_nll: teacher.best_val_nll,
            student_val_nll: deployed.student.as_ref().map(|s| s.val_nll),
            teacher_on_student_rows: deployed.student.as_ref().map(|s| s.teacher_nll),
            student_rows_held_out: deployed.student.as_ref().is_some_and(|s| s.held_out),
            student_kept_warm_start: deployed.student.as_ref().is_some_and(|s| s.kept_warm_start),
            test,
            seconds: started.elapsed().as_secs_f64(),
            config,
            data: args.data.clone(),
            inputs: data.inputs(),
            teacher_networks: teacher.ensemble.networks.len(),
        })
    }

    /// Why the teacher stopped where it did, after `epochs: a of b`.
    fn stop_reason(&self) -> String {
        let config = &self.config;
        if self.written == Written::Student {
            return String::new();
        }
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
            "teacher: {}, K = {}, {} sigma on {} rows of {}: {} network(s)",
            layers_text(self.inputs, &config.hidden, config.activation),
            ks.join(","),
            config.sigma,
            self.rows,
            self.data.display(),
            self.teacher_networks,
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
                "  {} candidates of {} network(s) each, weights: {}",
                self.candidates.len(),
                config.networks_per_candidate(),
                weights.join("; ")
            )?;
        }
        if let Some(v) = self.teacher_val_nll {
            writeln!(
                f,
                "  validation NLL {v:.4} nats per row (original units; with folds each row \
                 scored by networks that did not learn from it)"
            )?;
        }
        match (self.written, &self.student) {
            (Written::Student, Some(shape)) => {
                writeln!(
                    f,
                    "student: {}, {shape}: one network, the teacher's density learned at {} \
                     rows and points around them",
                    layers_text(self.inputs, &shape.hidden, config.activation),
                    self.train_rows
                )?;
                if let (Some(s), Some(t)) = (self.student_val_nll, self.teacher_on_student_rows) {
                    let rows = if self.student_rows_held_out {
                        "rows the teacher held out"
                    } else {
                        "training rows, which the teacher learned from"
                    };
                    writeln!(
                        f,
                        "  NLL {s:.4} nats per row on {} {rows} (the teacher: {t:.4}); epochs: \
                         {}, kept epoch {}",
                        self.val_rows, self.epochs, self.best_epoch
                    )?;
                }
                if self.student_kept_warm_start {
                    writeln!(
                        f,
                        "  written: the teacher network it started from, unchanged (no epoch \
                         beat it on the rows that network never learned from)"
                    )?;
                }
            }
            (Written::Teacher, _) => writeln!(
                f,
                "written as it is: the teacher is one network within the device budget"
            )?,
            _ => writeln!(
                f,
                "epochs: {} of {}{}; kept epoch {}",
                self.epochs,
                config.epochs,
                self.stop_reason(),
                self.best_epoch
            )?,
        }
        writeln!(f, "weights: {}", self.storage.join(", "))?;
        writeln!(f, "{}", calibration_text(&self.calibration))?;
        if let Some(test) = &self.test {
            writeln!(
                f,
                "test NLL {:.4} nats per row ({} network(s), mdn-core)",
                test.nll, self.networks
            )?;
        }
        write!(f, "device cost of the written model:\n{}", self.device_cost)?;
        let teacher = self
            .teacher_metrics
            .as_ref()
            .map_or(String::new(), |p| format!(", {}", p.display()));
        writeln!(
            f,
            "wrote {} ({} bytes, {} network(s)), {}{teacher} in {:.1} s",
            self.model.display(),
            self.bytes,
            self.networks,
            self.metrics.display(),
            self.seconds
        )
    }
}

/// The line `mdn train` prints about the calibration.
fn calibration_text(choice: &CalibrationChoice) -> String {
    let factors = |fit: &CalibrationSummary| {
        let scales: Vec<String> = fit.sigma_scale.iter().map(|s| format!("{s:.4}")).collect();
        let untried = match fit.rows < fit.temperature_rows {
            true => format!(" (temperature not fitted: under {})", fit.temperature_rows),
            false => String::new(),
        };
        format!(
            "sigma scale {}, temperature {:.4}: NLL {:.4} -> {:.4} on {} held-out rows{untried}",
            scales.join(","),
            fit.temperature,
            fit.nll_before,
            fit.nll_after,
            fit.rows
        )
    };
    match choice {
        CalibrationChoice::Off => "calibration: not fitted (--no-calibrate)".into(),
        CalibrationChoice::NoHeldOutRows => "calibration: not fitted, every row trained a \
            network (hold rows out with --val-fraction, or run `mdn calibrate` on a \
            validation file)"
            .into(),
        CalibrationChoice::Applied { fit } => format!("calibration: written, {}", factors(fit)),
        CalibrationChoice::NotHelpful { fit } => format!(
            "calibration: left at the identity, the fit gained no more than fitting alone \
             gives ({})",
            factors(fit)
        ),
    }
}
