//! `mdn`: train, evaluate, inspect and export Mixture Density Networks.
//!
//! Results go to stdout (one JSON object with `--json`); progress, warnings and errors go
//! to stderr. Exit codes: 0 success, 1 user or data error, 2 usage error (clap).

mod cli;

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Instant,
};

use anyhow::{Context, Result, anyhow};
use clap::Parser;
use cli::{Cli, Command, DataCommand};
use indicatif::{ProgressBar, ProgressStyle};
use mdn_core::TargetTransform;
use mdn_train::{
    Error, baselines,
    data::{self, CsvFormat, Dataset, Selection, Table},
    describe::{ModelInfo, f32_json, f32s_json, tensor_shape, weights_json},
    eval::{self, ModelFile},
    io,
    plot::{self, PlotOptions},
    summary::Summary,
    synth::{self, Kind},
    train::{self, EpochMetrics, TrainConfig, Trained},
};
use serde_json::{Value, json};

/// Keeps freed memory in the process instead of returning it to the kernel.
///
/// Training allocates and frees the same tensor sizes thousands of times per second. With
/// glibc's defaults, blocks of 128 KiB and more come from `mmap` and go back with `munmap`,
/// and a free top of the heap above 128 KiB is trimmed, so every step faults fresh zeroed
/// pages in again: measured here, half of a 1-200-200 training run was spent in the
/// kernel, and these two settings made an epoch 2.2x faster (48.8 to 21.7 ms).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // 1 GiB: larger than any tensor these networks make, so nothing is mapped per call.
    const THRESHOLD: libc::c_int = 1 << 30;
    // SAFETY: mallopt only changes allocator parameters; it is called before any thread
    // exists, and a refused setting (return value 0) just keeps glibc's default.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, THRESHOLD);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = Cli::parse();
    // candle reads its thread count from this variable on every matrix product.
    // SAFETY: nothing else runs yet: no thread has been spawned and none reads the
    // environment concurrently.
    unsafe { std::env::set_var("RAYON_NUM_THREADS", cli.threads.max(1).to_string()) };
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // mdn-train's errors already carry their cause; others show their chain.
            match e.downcast_ref::<Error>() {
                Some(err) => eprintln!("error: {err}"),
                None => eprintln!("error: {e:#}"),
            }
            ExitCode::from(1)
        }
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Train(args) => cmd_train(args),
        Command::Eval(args) => cmd_eval(args),
        Command::Predict(args) => cmd_predict(args),
        Command::Inspect(args) => cmd_inspect(args),
        Command::Export(args) => cmd_export(args),
        Command::Baselines(args) => cmd_baselines(args),
        Command::Plot(args) => cmd_plot(args),
        Command::Data {
            command: DataCommand::Synth(args),
        } => cmd_synth(args),
        Command::Demo(args) => cmd_demo(args),
    }
}

/// Writes the result: `value` as one JSON line with `--json`, else the human text.
fn emit(json: bool, value: &Value, human: impl FnOnce() -> String) -> Result<()> {
    let text = if json {
        format!("{}\n", serde_json::to_string(value)?)
    } else {
        human()
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // A closed pipe (`mdn export m | head`) is the reader's choice, not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn warn(message: &str) {
    eprintln!("warning: {message}");
}

/// The rows kept, after saying on stderr which rows `--missing drop` left out.
fn kept(selection: Selection) -> Dataset {
    if let Some(note) = selection.note() {
        warn(&note);
    }
    selection.data
}

/// The rows of `path` with `data`'s columns (a test file for a model trained on `data`),
/// at least one.
fn load_like(path: &Path, format: CsvFormat, data: &Dataset) -> Result<Dataset> {
    let selection = Table::read(path, format)?.select(&data.feature_names, &data.target_names)?;
    let rows = kept(selection);
    rows.require_rows(1)?;
    Ok(rows)
}

/// The rows of `path` with `file`'s columns, at least one.
fn load_for_model(file: &ModelFile, path: &Path, format: CsvFormat) -> Result<Dataset> {
    let rows = kept(file.load_data(path, format)?);
    rows.require_rows(1)?;
    Ok(rows)
}

/// A per-epoch progress bar on stderr (hidden when stderr is not a terminal).
fn progress(epochs: usize, label: &str) -> ProgressBar {
    let bar = ProgressBar::new(epochs as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{prefix} {elapsed:>4} [{bar:25}] epoch {pos}/{len} {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(label.to_owned());
    bar
}

/// Trains with a progress bar showing train and validation NLL.
fn train_with_progress(data: &Dataset, config: &TrainConfig, label: &str) -> Result<Trained> {
    let bar = progress(config.epochs, label);
    let mut best = f64::INFINITY;
    let trained = train::train(data, config, |m: &EpochMetrics| {
        bar.set_position(m.epoch as u64);
        let msg = match m.val_nll {
            Some(v) => {
                best = best.min(v);
                format!("train {:.4} val {:.4} (best {best:.4})", m.train_nll, v)
            }
            None => format!("train {:.4}", m.train_nll),
        };
        bar.set_message(msg);
    });
    bar.finish_and_clear();
    let trained = trained?;
    for name in &trained.constant_features {
        warn(&format!(
            "feature `{name}` is constant on the training rows: scale 1, it carries no information"
        ));
    }
    Ok(trained)
}

fn architecture_text(config: &TrainConfig, inputs: usize) -> String {
    let widths: Vec<String> = std::iter::once(inputs)
        .chain(config.hidden.iter().copied())
        .map(|w| w.to_string())
        .collect();
    let ks: Vec<String> = config.components.iter().map(|k| k.to_string()).collect();
    format!(
        "{} {}, K = {}, {} sigma",
        widths.join("-"),
        config.activation,
        ks.join(","),
        config.sigma
    )
}

fn cmd_train(args: cli::TrainArgs) -> Result<()> {
    let started = Instant::now();
    let config = TrainConfig {
        fail_at_epoch: args.fail_at_epoch,
        ..args.options.config()
    };
    config.validate()?;
    let data = kept(data::load(
        &args.data,
        args.csv.format(),
        &args.target,
        args.features.as_deref(),
    )?);
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

    let best = trained
        .metrics
        .iter()
        .find(|m| m.epoch == trained.best_epoch);
    let test = test_score(&args, &data, &trained)?;
    let diverged: Vec<usize> = trained
        .member_runs
        .iter()
        .filter_map(|r| r.diverged_at)
        .collect();
    if !diverged.is_empty() {
        warn(&format!(
            "{} of the {} networks stopped at a NaN or infinite loss (first at epoch {}); each keeps its best weights from before",
            diverged.len(),
            trained.member_runs.len(),
            diverged.iter().min().copied().unwrap_or(0)
        ));
    }
    let value = json!({
        "test": test,
        "candidates": trained.candidates,
        "networks": trained.ensemble.members.len(),
        "model": args.out,
        "metrics": metrics_path,
        "bytes": trained.blob.len(),
        "parameters": mdn_core::Blob::from_bytes(&trained.blob)
            .map_err(|source| anyhow!("the trained model does not validate: {source}"))?
            .parameter_values()
            .len(),
        "rows": data.len(),
        "train_rows": trained.train_rows,
        "val_rows": trained.val_rows,
        "features": data.feature_names,
        "targets": data.target_names,
        "epochs": trained.metrics.len(),
        "best_epoch": trained.best_epoch,
        "stopped_early": trained.stopped_early,
        "train_nll": best.map(|m| m.train_nll),
        "val_nll": trained.best_val_nll,
        "seconds": started.elapsed().as_secs_f64(),
        "config": config,
    });
    emit(args.json, &value, || {
        let mut s = format!(
            "trained {} on {} rows of {} ({} for validation per network)\n",
            architecture_text(&config, data.inputs()),
            trained.train_rows,
            args.data.display(),
            trained.val_rows,
        );
        if trained.candidates.len() > 1 {
            let weights: Vec<String> = trained
                .candidates
                .iter()
                .map(|c| {
                    format!(
                        "K = {} noise {}: {:.2}{}",
                        c.components,
                        c.noise,
                        c.weight,
                        c.val_nll
                            .map_or(String::new(), |v| format!(" (val {v:.4})"))
                    )
                })
                .collect();
            s += &format!(
                "{} candidates of {} network(s) each, weights: {}\n",
                trained.candidates.len(),
                config.networks_per_candidate(),
                weights.join("; ")
            );
        }
        if let Some(t) = test.get("nll").and_then(Value::as_f64) {
            s += &format!(
                "test NLL {t:.4} nats per row ({} networks, mdn-core)\n",
                trained.ensemble.members.len()
            );
        }
        s += &format!(
            "epochs: {} of {}{}; kept epoch {}\n",
            trained.metrics.len(),
            config.epochs,
            if trained.stopped_early {
                if config.lr_drops > 0 {
                    format!(
                        " (every network stopped early: {} epochs without improvement, then {} after each learning-rate drop)",
                        config.patience,
                        if config.drop_patience == 0 {
                            config.patience
                        } else {
                            config.drop_patience
                        }
                    )
                } else {
                    format!(
                        " (early stop after {} epochs without improvement)",
                        config.patience
                    )
                }
            } else {
                String::new()
            },
            trained.best_epoch
        );
        if let Some(v) = trained.best_val_nll {
            s += &format!(
                "validation NLL of the written model {v:.4} nats per row (original units; \
                 each row scored by networks that did not learn from it)\n"
            );
        }
        if let Some(m) = best {
            s += &format!(
                "mean over the networks at epoch {}: train NLL {:.4}",
                m.epoch, m.train_nll
            );
            if let Some(v) = m.val_nll {
                s += &format!(", validation NLL {v:.4}");
            }
            s += " (every candidate, as in the metrics file)\n";
        }
        s += &format!(
            "wrote {} ({} bytes) and {} in {:.1} s\n",
            args.out.display(),
            trained.blob.len(),
            metrics_path.display(),
            started.elapsed().as_secs_f64()
        );
        s
    })
}

fn cmd_eval(args: cli::EvalArgs) -> Result<()> {
    let file = ModelFile::read(&args.model.path())?;
    let data = load_for_model(&file, &args.data, args.csv.format())?;
    let evaluation = eval::evaluate(&file.model()?, &data)?;
    if let Some(path) = &args.per_sample {
        io::write_atomic(path, eval::per_sample_csv(&data, &evaluation).as_bytes())?;
    }
    let mut value = json!({
        "model": file.path,
        "data": args.data,
        "n": evaluation.n,
        "nll": evaluation.nll,
        "rmse": evaluation.rmse,
        "rmse_per_target": evaluation.rmse_per_target,
        "targets": data.target_names,
        "per_sample": args.per_sample,
    });
    // coverage_50, coverage_80, coverage_95 and pit_histogram.
    if let Value::Object(calibration) = serde_json::to_value(&evaluation.calibration)? {
        for (key, v) in calibration {
            value[key] = v;
        }
    }
    emit(args.json, &value, || {
        let mut s = format!(
            "{} on {}: {} rows\nNLL  {:.4} nats per row (mdn-core, original units)\nRMSE {:.4} (predictive mean)\n",
            file.path.display(),
            args.data.display(),
            evaluation.n,
            evaluation.nll,
            evaluation.rmse
        );
        s += &evaluation.calibration.text();
        if data.outputs() > 1 {
            s += &format!(
                "  (each of the {} targets' marginals, pooled)\n",
                data.outputs()
            );
        }
        if let Some(p) = &args.per_sample {
            s += &format!("wrote {}\n", p.display());
        }
        s
    })
}

fn cmd_predict(args: cli::PredictArgs) -> Result<()> {
    let file = ModelFile::read(&args.model.path())?;
    let model = file.model()?;
    let (features, targets) = file.names()?;
    let mixture = model.mixture(&args.x).map_err(|e| {
        anyhow!(
            "--x: {e} (the model's features, in order: {})",
            features.join(", ")
        )
    })?;
    let log_prob = args
        .y
        .as_ref()
        .map(|y| {
            mixture
                .log_prob(y)
                .map_err(|e| anyhow!("--y: {e} (the model's targets: {})", targets.join(", ")))
        })
        .transpose()?;
    let log_space = mixture.transform() == TargetTransform::Log;
    let weights: Vec<f32> = mixture.iter().map(|c| c.weight()).collect();
    let means: Vec<Vec<f32>> = mixture.iter().map(|c| c.means.to_vec()).collect();
    let sigmas: Vec<Vec<f32>> = mixture.iter().map(|c| c.sigmas.to_vec()).collect();
    let mean = mixture.mean().to_vec();
    let std = mixture.std_dev().to_vec();
    let rows = |v: &[Vec<f32>]| Value::Array(v.iter().map(|r| f32s_json(r)).collect());
    let mut value = json!({
        "x": f32s_json(&args.x),
        "features": features,
        "targets": targets,
        "parameter_space": if log_space { "log" } else { "original" },
        "weights": f32s_json(&weights),
        "means": rows(&means),
        "sigmas": rows(&sigmas),
        "mean": f32s_json(&mean),
        "std": f32s_json(&std),
    });
    if let (Some(lp), Some(y)) = (log_prob, &args.y) {
        value["y"] = f32s_json(y);
        value["log_prob"] = f32_json(lp);
    }
    // Modes, quantiles, intervals and entropy: one target only.
    let summary = Summary::of(&mixture).map_err(|e| anyhow!("{e}"))?;
    if let (Some(summary), Value::Object(map)) = (&summary, &mut value) {
        map.extend(summary.json());
    }
    emit(args.json, &value, || {
        let mut s = if log_space {
            "mixture of log-normals; means and sigmas are of ln y:\n".to_owned()
        } else {
            "mixture of normals in original units:\n".to_owned()
        };
        // Component k of network m is row m * K + k; an ensemble names both.
        let per_network = (model.header().components as usize).max(1);
        let ensemble = model.header().members > 1;
        s += if ensemble {
            "  net  k  weight    mean        sigma\n"
        } else {
            "  k  weight    mean        sigma\n"
        };
        for (i, ((w, m), sd)) in weights.iter().zip(&means).zip(&sigmas).enumerate() {
            let (net, k) = (i / per_network, i % per_network);
            let label = if ensemble {
                format!("{net:>5}  {k}")
            } else {
                format!("  {k}")
            };
            s += &format!("{label}  {w:<8.4}  {:<10}  {}\n", fmt_list(m), fmt_list(sd));
        }
        s += &format!("mean {}\nstd  {}\n", fmt_list(&mean), fmt_list(&std));
        match &summary {
            Some(summary) => s += &summary.text(),
            None => {
                s += "(modes, quantiles, intervals and entropy are for models with one target)\n"
            }
        }
        if let Some(lp) = log_prob {
            s += &format!("log p(y|x) = {lp:.6} (p = {:.6})\n", lp.exp());
        }
        s
    })
}

fn fmt_list(v: &[f32]) -> String {
    v.iter()
        .map(|x| format!("{x:.5}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn cmd_inspect(args: cli::InspectArgs) -> Result<()> {
    let file = ModelFile::read(&args.model.path())?;
    let blob = file.blob()?;
    let info = ModelInfo::new(&blob);
    let mut value = serde_json::to_value(&info)?;
    value["model"] = json!(file.path);
    let layout = blob.layout().map_err(|source| Error::InvalidModel {
        path: file.path.clone(),
        source,
    })?;
    emit(args.json, &value, || {
        let c = info.min_capacities;
        let widths: Vec<String> = std::iter::once(info.inputs)
            .chain(info.hidden.iter().copied())
            .map(|w| w.to_string())
            .collect();
        let mut s = format!(
            "{}: valid mdn blob, format version {}, {} bytes, CRC-32 {}\n",
            file.path.display(),
            info.format_version,
            info.bytes,
            info.crc32
        );
        s += &format!(
            "network     {} {}, {} components, {} output(s)\n",
            widths.join("-"),
            info.activation,
            info.components,
            info.outputs
        );
        if info.networks > 1 {
            let weights: Vec<String> = info
                .network_weights
                .iter()
                .map(|w| format!("{w:.3}"))
                .collect();
            s += &format!(
                "ensemble    {} networks of that shape, weights {}: a mixture of {} components\n",
                info.networks,
                weights.join(", "),
                c.components
            );
        }
        s += &format!(
            "sigma       {} with floor {} (scaled units); target transform {}\n",
            info.sigma, info.sigma_floor, info.target_transform
        );
        s += "scalers     (raw - offset) / scale\n";
        for e in info.input_scaler.iter().chain(&info.target_scaler) {
            s += &format!(
                "  {:<16} offset {:<14} scale {}\n",
                e.name, e.offset, e.scale
            );
        }
        s += &format!(
            "features    {}\ntargets     {}\n",
            info.features.join(", "),
            info.targets.join(", ")
        );
        s += &format!("parameters  {} f32\n", info.parameters);
        // The shared tensors and the first network's; the others repeat its shapes.
        for t in layout.tensors().filter(|t| t.member.unwrap_or(0) == 0) {
            let shape: Vec<String> = tensor_shape(&t).iter().map(usize::to_string).collect();
            let shape = format!("[{}]", shape.join(" x "));
            s += &format!("  {:<32} {shape:<10} at {}\n", t.to_string(), t.offset);
        }
        if layout.members() > 1 {
            s += &format!(
                "  members.1 .. members.{}: the same tensors, each network {} values further\n",
                layout.members() - 1,
                layout.member_parameter_count()
            );
        }
        s += &format!(
            "minimum capacities: Model::<{}, {}, {}, {}> (I inputs, W width, K components, D outputs)\n",
            c.inputs, c.width, c.components, c.outputs
        );
        s
    })
}

fn cmd_export(args: cli::ExportArgs) -> Result<()> {
    let file = ModelFile::read(&args.model.path())?;
    let cli::ExportFormat::Json = args.format;
    let mut value = weights_json(&file.blob()?);
    value["model"] = json!(file.path);
    match &args.out {
        Some(path) => {
            let text = serde_json::to_string_pretty(&value)? + "\n";
            io::write_atomic(path, text.as_bytes())?;
            let written = json!({
                "model": file.path,
                "out": path,
                "format": "json",
                "bytes": text.len(),
            });
            if args.json {
                emit(true, &written, String::new)
            } else {
                eprintln!("wrote {}", path.display());
                Ok(())
            }
        }
        None => emit(true, &value, String::new),
    }
}

fn cmd_plot(args: cli::PlotArgs) -> Result<()> {
    let file = ModelFile::read(&args.model.path())?;
    let data = args
        .data
        .as_deref()
        .map(|p| load_for_model(&file, p, args.csv.format()))
        .transpose()?;
    let options = PlotOptions {
        at: args.at,
        rows: args.rows,
        feature: args.feature,
        target: args.target,
        metrics: args.metrics,
    };
    let plots = plot::render(&file, data.as_ref(), &options)?;
    let written = plot::write(&args.out, &plots)?;
    let skipped: Vec<Value> = plots
        .skipped
        .iter()
        .map(|(name, reason)| json!({ "plot": name, "reason": reason }))
        .collect();
    let held: serde_json::Map<String, Value> = plots
        .fixed
        .iter()
        .map(|(name, v)| (name.clone(), f32_json(*v)))
        .collect();
    let value = json!({
        "model": file.path,
        "data": args.data,
        "out": args.out,
        "files": written,
        "skipped": skipped,
        "feature": plots.feature,
        "target": plots.target,
        "held": held,
    });
    for (name, reason) in &plots.skipped {
        eprintln!("note: no {name} plot: {reason}");
    }
    emit(args.json, &value, || {
        let mut s = String::new();
        for path in &written {
            s += &format!("wrote {}\n", path.display());
        }
        if !plots.fixed.is_empty() {
            let held: Vec<String> = plots
                .fixed
                .iter()
                .map(|(n, v)| format!("{n} = {v}"))
                .collect();
            s += &format!(
                "{} varies; the other features are held at the {}: {}\n",
                plots.feature,
                plots.fixed_from,
                held.join(", ")
            );
        }
        s
    })
}

/// Trains the default MDN and the baselines; returns the score table and the MDN.
fn compare(
    train_data: &Dataset,
    test_data: &Dataset,
    config: &TrainConfig,
) -> Result<(Vec<baselines::Score>, Trained)> {
    let mut scores = vec![
        baselines::null(train_data, test_data),
        baselines::linear(train_data, test_data, config.scale_x),
    ];
    let mlp_started = Instant::now();
    scores.push(baselines::mlp(train_data, test_data, config)?);
    eprintln!(
        "trained the MLP baseline in {:.1} s",
        mlp_started.elapsed().as_secs_f64()
    );
    let trained = train_with_progress(train_data, config, "MDN")?;
    if let Some(div) = trained.diverged {
        return Err(Error::Diverged {
            epoch: div.epoch,
            loss: div.loss,
            saved: "no model was written".into(),
        }
        .into());
    }
    let evaluation = {
        let model = mdn_core::HostModel::from_bytes(&trained.blob)
            .map_err(|source| anyhow!("the trained model does not validate: {source}"))?;
        eval::evaluate(&model, test_data)?
    };
    let ks: Vec<String> = trained
        .candidates
        .iter()
        .filter(|c| c.weight > 0.0)
        .map(|c| c.components.to_string())
        .collect();
    scores.push(baselines::Score {
        name: format!(
            "MDN (K = {}, {} nets)",
            ks.join("+"),
            trained.ensemble.members.len()
        ),
        nll: evaluation.nll,
        rmse: evaluation.rmse,
    });
    Ok((scores, trained))
}

fn score_table(scores: &[baselines::Score]) -> String {
    let mut s = format!("{:<28} {:>10} {:>10}\n", "model", "test NLL", "test RMSE");
    for score in scores {
        s += &format!(
            "{:<28} {:>10.4} {:>10.4}\n",
            score.name, score.nll, score.rmse
        );
    }
    s
}

fn cmd_baselines(args: cli::BaselinesArgs) -> Result<()> {
    let config = args.options.config();
    config.validate()?;
    let train_data = kept(data::load(
        &args.train,
        args.csv.format(),
        &args.target,
        args.features.as_deref(),
    )?);
    let test_data = load_like(&args.test, args.csv.format(), &train_data)?;
    let (scores, _) = compare(&train_data, &test_data, &config)?;
    let value = json!({
        "train": args.train,
        "test": args.test,
        "n": test_data.len(),
        "units": "nats per test row, original target units",
        "models": scores,
    });
    emit(args.json, &value, || {
        format!(
            "{} test rows of {}; NLL in nats per row, original units (lower is better)\n{}",
            test_data.len(),
            args.test.display(),
            score_table(&scores)
        )
    })
}

fn cmd_synth(args: cli::SynthArgs) -> Result<()> {
    if args.n == 0 {
        return Err(anyhow!("--n: expected at least 1 row, found 0"));
    }
    let data = synth::generate(args.kind, args.n, args.seed);
    io::write_atomic(&args.out, synth::to_csv(&data).as_bytes())?;
    let value =
        json!({ "out": args.out, "kind": args.kind.name(), "n": args.n, "seed": args.seed });
    emit(args.json, &value, || {
        format!(
            "wrote {} rows of `{}` data to {}\n",
            args.n,
            args.kind.name(),
            args.out.display()
        )
    })
}

fn cmd_demo(args: cli::DemoArgs) -> Result<()> {
    let started = Instant::now();
    let config = args.options.config();
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
        "generated {} + {} rows of the inverse sine (x = 7 sin(0.75 y) + 0.5 y + noise): up to three y for one x",
        train_data.len(),
        test_data.len()
    );

    let (scores, trained) = compare(&train_data, &test_data, &config)?;
    io::write_atomic(&model_path, &trained.blob)?;
    io::write_atomic(
        &metrics_path,
        train::metrics_csv(&trained.metrics).as_bytes(),
    )?;
    let file = ModelFile::read(&model_path)?;
    let (max_diff, at_log_p) = eval::parity(&file, &test_data)?;
    // Slices where the inverse sine has five branches (x = 0) and two (x = 8).
    let options = PlotOptions {
        at: vec![0.0, 8.0],
        ..PlotOptions::default()
    };
    let plots = plot::write(&args.out, &plot::render(&file, Some(&test_data), &options)?)?;
    let seconds = started.elapsed().as_secs_f64();

    let value = json!({
        "out": args.out,
        "model": model_path,
        "metrics": metrics_path,
        "train": train_data.path,
        "test": test_data.path,
        "n_train": train_data.len(),
        "n_test": test_data.len(),
        "models": scores,
        "parity_max_abs_diff": max_diff,
        "plots": plots,
        "epochs": trained.metrics.len(),
        "best_epoch": trained.best_epoch,
        "seconds": seconds,
    });
    emit(args.json, &value, || {
        let mdn = scores.last().map_or(f64::NAN, |s| s.nll);
        let mlp = scores.get(2).map_or(f64::NAN, |s| s.nll);
        let mut s = format!(
            "Inverse sine: {} test rows, NLL in nats per row (lower is better)\n{}",
            test_data.len(),
            score_table(&scores)
        );
        s += &format!(
            "The MDN's test NLL is {:.2} nats below the MLP's: its density is {:.1}x higher on average, because it\nputs probability on every branch of y for an x, where a point prediction averages them.\n",
            mlp - mdn,
            (mlp - mdn).exp()
        );
        s += &format!(
            "parity: max |candle - mdn-core| log-likelihood over {} test rows = {max_diff:.2e} nats (at |log p| = {at_log_p:.2})\n",
            test_data.len()
        );
        s += &format!(
            "trained {} epochs (kept epoch {}); wrote {}, {} and the data to {} in {seconds:.1} s\n",
            trained.metrics.len(),
            trained.best_epoch,
            model_path.display(),
            metrics_path.display(),
            display_dir(&args.out)
        );
        s += &format!(
            "plots: density, slices, training and calibration (.png and .svg) in {}\n",
            display_dir(&args.out)
        );
        s += &format!(
            "next: mdn inspect {0}; mdn predict {0} --x 8; mdn plot {0} --data {1} --at 8 --out plots\n",
            model_path.display(),
            test_data.path.display()
        );
        s
    })
}

fn display_dir(p: &Path) -> String {
    format!("{}/", p.display())
}

/// `--test`: the whole ensemble scored on a test file by mdn-core, as `mdn eval` scores a
/// blob.
fn test_score(args: &cli::TrainArgs, data: &Dataset, trained: &Trained) -> Result<Value> {
    let Some(test_path) = &args.test else {
        return Ok(Value::Null);
    };
    let test = load_like(test_path, args.csv.format(), data)?;
    // The blob just written, evaluated as `mdn eval` and a device would.
    let model = mdn_core::HostModel::from_bytes(&trained.blob)
        .map_err(|source| anyhow!("the trained model does not validate: {source}"))?;
    let evaluation = eval::evaluate(&model, &test)?;
    Ok(
        json!({ "data": test_path, "n": test.len(), "nll": evaluation.nll, "rmse": evaluation.rmse }),
    )
}
