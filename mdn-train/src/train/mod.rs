//! The training recipe: candidate models, folds, early stopping with a learning-rate drop,
//! and the weights of the candidates in one mixture.
//!
//! [`train`] reads as the recipe:
//!
//! 1. **Rows.** Every candidate model (a number of components `K` and an input/target
//!    noise level) is trained as `folds` networks: network `f` stops early on fold `f` of
//!    the rows and learns from the others (`rows`). With `--val-fraction`, one network per
//!    candidate on a random split instead.
//! 2. **Networks.** All networks of all candidates train side by side as batched tensors
//!    ([`crate::networks`]), in two groups on two threads when there are two cores (`fit`);
//!    each goes back to its best weights once with a tenth of the learning rate before it
//!    stops ([`EarlyStopping`]).
//! 3. **Weights.** Every row then has an out-of-fold density from each candidate, computed
//!    by mdn-core from the networks' blobs, and [`crate::ensemble::pruned_weights`] weighs
//!    the candidates by it (stacking).
//! 4. **Model.** The mixture of every kept network, one blob.
//!
//! Why (BENCHMARKS.md, "Training", has the numbers): one network's early stopping on a few
//! dozen rows is noisy and K = 5 overfits small sets, while the multimodal sets need
//! K = 5; averaging the fold networks and weighting the candidates on every row's
//! out-of-fold density beat the reference's best cell on the shipped sets, and the noise
//! candidates regularise small sets where the weights drop them on large ones that noise
//! would blur.
//!
//! Everything random comes from one seed through separate PCG streams (initialisation,
//! split, batch order, noise; one set per network), and candle runs on the CPU with a fixed
//! number of threads, so the same data, seed and thread count give a byte-identical blob.

mod config;
mod deploy;
mod distill;
mod fit;
mod metrics;
mod rows;
mod scaled;
mod stopping;

use candle_core::Device;

pub use config::TrainConfig;
pub use deploy::{
    CalibrationChoice, CalibrationSummary, Deployed, Deployment, Finishing, Written, deploy, finish,
};
pub use distill::{DistillConfig, Distilled, distill};
use fit::{RowBatches, Run, fit};
pub use metrics::{Divergence, EpochMetrics, NetworkRun, metrics_csv};
use rows::{Assignment, STREAM_INIT, network_seed};
use scaled::{Scaled, Validation};
pub use stopping::{Action, EarlyStopping, StoppingRule};

use crate::{
    aligned::AlignedBytes,
    data::{Dataset, MIN_TRAIN_ROWS},
    ensemble::{self, Ensemble},
    error::{Error, Result},
    model::{Architecture, Mdn},
    networks::Networks,
    scaling::{self, Scalers, TargetScaling},
};

/// One candidate model of an ensemble and what it got.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CandidateRun {
    /// Mixture components `K`.
    pub components: usize,
    /// Noise level (standard deviations).
    pub noise: f32,
    /// Its weight in the mixture (0: dropped).
    pub weight: f64,
    /// Its validation NLL: with folds, every row scored by the network that did not learn
    /// from it (out of fold), nats per row, original units.
    pub val_nll: Option<f64>,
}

/// The outcome of [`train`].
#[derive(Debug)]
pub struct Trained {
    /// The model to deploy: every kept network in one blob ([`Ensemble::to_blob`]).
    pub blob: crate::aligned::AlignedBytes,
    /// Every kept network as a blob of its own, with its weight in the mixture.
    pub ensemble: Ensemble,
    /// The candidate models, in [`TrainConfig::candidates`] order.
    pub candidates: Vec<CandidateRun>,
    /// How each network's training went (candidate-major, then fold).
    pub network_runs: Vec<NetworkRun>,
    /// One entry per completed epoch (means over the networks still training).
    pub metrics: Vec<EpochMetrics>,
    /// The latest epoch whose weights a network kept (0: the initial weights).
    pub best_epoch: usize,
    /// Validation NLL of the model: with folds, the out-of-fold NLL of the weighted
    /// candidates.
    pub best_val_nll: Option<f64>,
    /// Whether early stopping ended every network's training before `epochs`.
    pub stopped_early: bool,
    /// Set if the loss became NaN or infinite; the kept weights are from before.
    pub diverged: Option<Divergence>,
    /// Rows one network learned from.
    pub train_rows: usize,
    /// Rows one network validated on.
    pub val_rows: usize,
    /// Features that were constant on the training rows (given scale 1).
    pub constant_features: Vec<String>,
    /// The scalers every network shares.
    pub scalers: Scalers,
    /// Rows the networks learned from (with folds: every row, each but by one network).
    pub rows_learned: Vec<usize>,
    /// Rows no network learned from (`--val-fraction`), else none.
    pub rows_held_out: Vec<usize>,
    /// For each network of `ensemble`, the rows it never learned from (its fold, or the
    /// held-out rows): where its own NLL is out of sample.
    pub network_held_out: Vec<Vec<usize>>,
}

/// Trains an MDN on `data` with `config`, calling `on_epoch` after every epoch.
///
/// With `val_fraction` set, one network per candidate on a random split (`val_fraction`
/// held out); otherwise `folds` networks per candidate, network `f` validating on fold
/// `f` and training on the rest, each with its own early stopping.
///
/// A non-finite loss stops the network it happened in, which keeps its best weights so
/// far ([`NetworkRun::diverged_at`]); when every network stopped so, the result carries
/// [`Trained::diverged`] (the caller writes the model and reports the failure).
///
/// # Errors
///
/// [`Error::TooFewRows`] below [`MIN_TRAIN_ROWS`], [`Error::ConstantTarget`],
/// [`Error::BadCell`] for a non-positive log target, [`Error::InvalidOption`] (also for
/// more folds than rows), or a candle error.
///
/// # Panics
///
/// Only if a training thread panics (a bug): its panic goes on in the caller.
///
/// # Examples
///
/// ```no_run
/// let data = mdn_train::synth::generate(mdn_train::synth::Kind::Hetero, 200, 1);
/// let config = mdn_train::train::TrainConfig { epochs: 5, ..Default::default() };
/// let trained = mdn_train::train::train(&data, &config, |_| {}).unwrap();
/// assert_eq!(trained.metrics.len(), 5);
/// ```
pub fn train(
    data: &Dataset,
    config: &TrainConfig,
    mut on_epoch: impl FnMut(&EpochMetrics),
) -> Result<Trained> {
    check_data(data, config)?;
    let candidates = config.candidates();
    let per_candidate = config.networks_per_candidate();

    // 1. Rows: a random split, or folds; every candidate's networks take the same rows.
    let base = Assignment::new(data.len(), config);
    let rows = base.repeat(candidates.len());
    let fitted = fit_scalers(data, config, &base)?;

    // 2. Networks: every candidate's, side by side, each stopping early on its own rows.
    let plan = Plan::new(data, config, &candidates)?;
    let scaled = Scaled::new(data, &fitted.scalers, &Device::Cpu)?;
    let groups = train_groups(&plan, &scaled, &rows, config, &mut on_epoch)?;
    let runs: Vec<&Run> = groups.iter().map(|g| &g.run).collect();
    let network_runs: Vec<NetworkRun> = runs.iter().flat_map(|r| r.networks.clone()).collect();
    let blobs = network_blobs(&groups, &plan, &fitted.scalers, data)?;

    // 3. Weights: each candidate's out-of-fold density on every row, by mdn-core.
    let oof = out_of_fold_log_densities(data, &blobs, &rows, candidates.len())?;
    let val_rows: usize = base.val.iter().map(Vec::len).sum();
    let weights = if val_rows > 0 {
        ensemble::pruned_weights(&oof)
    } else {
        let mut w = vec![0.0; candidates.len()];
        w[0] = 1.0;
        w
    };

    // 4. Model: every network of the kept candidates, network f of candidate c with weight
    // w_c / F.
    let mut kept = Ensemble {
        networks: Vec::new(),
        log_weights: Vec::new(),
    };
    let mut network_held_out = Vec::new();
    for (m, blob) in blobs.into_iter().enumerate() {
        let w = weights[m / per_candidate];
        if w > 0.0 {
            kept.networks.push(blob);
            kept.log_weights.push(w.ln() - (per_candidate as f64).ln());
            network_held_out.push(rows.val[m].clone());
        }
    }

    // Training failed only if every network diverged; the others make the model.
    let diverged = if network_runs.iter().all(|r| r.diverged_at.is_some()) {
        runs.iter().find_map(|r| r.diverged)
    } else {
        None
    };
    let metrics: Vec<&[(EpochMetrics, usize)]> = runs.iter().map(|r| &r.metrics[..]).collect();
    Ok(Trained {
        blob: kept.to_blob()?,
        ensemble: kept,
        candidates: candidate_runs(&candidates, &weights, &oof),
        metrics: metrics::merge_metrics(&metrics),
        best_epoch: network_runs.iter().map(|r| r.best_epoch).max().unwrap_or(0),
        best_val_nll: (val_rows > 0).then(|| mixture_nll(&weights, &oof)),
        stopped_early: network_runs.iter().all(|r| r.stopped_early),
        diverged,
        train_rows: network_runs.first().map_or(0, |r| r.train_rows),
        val_rows: network_runs.first().map_or(0, |r| r.val_rows),
        network_runs,
        constant_features: fitted.constant_features,
        scalers: fitted.scalers,
        rows_learned: if config.val_fraction.is_some() {
            base.train[0].clone()
        } else {
            (0..data.len()).collect()
        },
        rows_held_out: if config.val_fraction.is_some() {
            base.val[0].clone()
        } else {
            Vec::new()
        },
        network_held_out,
    })
}

/// Checks what training needs of the data: enough rows (for every fold too), targets
/// that vary, positive targets for a log target.
fn check_data(data: &Dataset, config: &TrainConfig) -> Result<()> {
    config.validate()?;
    data.require_rows(MIN_TRAIN_ROWS)?;
    config.validate_rows(data.len())?;
    data.require_varying_targets()?;
    if config.scale_y == TargetScaling::Log {
        scaling::require_positive_targets(data)?;
    }
    Ok(())
}

/// The scalers: a single split fits them on its training rows; folds share one pair (an
/// ensemble blob holds them once), fitted on every row.
fn fit_scalers(data: &Dataset, config: &TrainConfig, rows: &Assignment) -> Result<scaling::Fitted> {
    if config.val_fraction.is_some() {
        scaling::fit(&data.subset(&rows.train[0]), config.scale_x, config.scale_y)
    } else {
        scaling::fit(data, config.scale_x, config.scale_y)
    }
}

/// The networks to train: one architecture (the largest `K`; a candidate with fewer uses
/// the first of its components), and each network's initial weights, components and
/// noise level, candidate after candidate.
struct Plan {
    arch: Architecture,
    layout: mdn_core::Layout,
    init: Vec<Vec<f32>>,
    components: Vec<usize>,
    noise: Vec<f32>,
}

impl Plan {
    fn new(data: &Dataset, config: &TrainConfig, candidates: &[(usize, f32)]) -> Result<Self> {
        let arch = Architecture {
            inputs: data.inputs(),
            outputs: data.outputs(),
            components: candidates.iter().map(|c| c.0).max().unwrap_or(1),
            hidden: config.hidden.clone(),
            activation: config.activation,
            sigma: config.sigma,
            sigma_floor: config.sigma_floor,
        };
        let layout = Networks::layout_of(&arch)?;
        let per_candidate = config.networks_per_candidate();
        let count = candidates.len() * per_candidate;
        let of_candidate = |m: usize| candidates[m / per_candidate];
        Ok(Plan {
            init: (0..count)
                .map(|m| Networks::initial(&layout, network_seed(config.seed, m, STREAM_INIT)))
                .collect(),
            components: (0..count).map(|m| of_candidate(m).0).collect(),
            noise: (0..count).map(|m| of_candidate(m).1).collect(),
            arch,
            layout,
        })
    }

    fn networks(&self) -> usize {
        self.init.len()
    }
}

/// Networks `range` of the plan, trained together as one batch.
struct Group {
    range: std::ops::Range<usize>,
    networks: Networks,
    run: Run,
}

/// Trains the plan's networks in two groups of candidates, side by side on two threads
/// when there are two cores: a group's numbers do not depend on the other, nor on the
/// number of threads. `on_epoch` follows the first group.
fn train_groups(
    plan: &Plan,
    scaled: &Scaled,
    rows: &Assignment,
    config: &TrainConfig,
    on_epoch: &mut dyn FnMut(&EpochMetrics),
) -> Result<Vec<Group>> {
    let count = plan.networks();
    let per_candidate = config.networks_per_candidate();
    let split_at = (count / per_candidate).div_ceil(2) * per_candidate;
    let ranges: Vec<std::ops::Range<usize>> = [0..split_at, split_at..count]
        .into_iter()
        .filter(|r| !r.is_empty())
        .collect();
    let train_group = |range: &std::ops::Range<usize>,
                       on_epoch: Option<&mut dyn FnMut(&EpochMetrics)>|
     -> Result<Group> {
        let networks = Networks::new(
            plan.arch.clone(),
            &plan.layout,
            &plan.init[range.clone()],
            &plan.components[range.clone()],
        )?;
        #[cfg(test)]
        if tests::PANIC_IN_SECOND_GROUP.load(std::sync::atomic::Ordering::Relaxed)
            && range.start > 0
        {
            panic!("injected panic in the second group");
        }
        let rows = rows.slice(range.clone());
        let noise = &plan.noise[range.clone()];
        let mut batches = RowBatches::new(scaled, &rows.train, noise, config.seed, range.start);
        let validation = Validation::new(scaled, &rows.val)?;
        let run = fit(
            &networks,
            &mut batches,
            validation.as_ref(),
            &rows,
            config,
            on_epoch,
        )?;
        Ok(Group {
            range: range.clone(),
            networks,
            run,
        })
    };
    let parallel = config.jobs != 1 && ranges.len() > 1 && cores() > 1;
    if !parallel {
        return ranges
            .iter()
            .enumerate()
            .map(|(i, range)| train_group(range, (i == 0).then_some(&mut *on_epoch)))
            .collect();
    }
    std::thread::scope(|scope| {
        let others: Vec<_> = ranges[1..]
            .iter()
            .map(|range| scope.spawn(|| train_group(range, None)))
            .collect();
        let mut groups = vec![train_group(&ranges[0], Some(on_epoch))];
        for handle in others {
            // A panic in a training thread is a bug: it goes on here, as if it had
            // happened on this thread.
            groups.push(
                handle
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p)),
            );
        }
        groups.into_iter().collect()
    })
}

/// Cores available to this process.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Each network's kept weights as a blob of its own, with the shared scalers, in plan
/// order.
fn network_blobs(
    groups: &[Group],
    plan: &Plan,
    scalers: &Scalers,
    data: &Dataset,
) -> Result<Vec<AlignedBytes>> {
    let mut blobs = Vec::with_capacity(plan.networks());
    for group in groups {
        for local in 0..group.range.len() {
            let model = Mdn::new(
                plan.arch.clone(),
                scalers.clone(),
                &data.feature_names,
                &data.target_names,
                0,
            )?;
            let mut params =
                group
                    .networks
                    .network_parameters(&plan.layout, &group.run.best, local);
            let own = model.parameters()?;
            // The shared slots (scalers, the one network's log weight 0) come from the
            // model, which holds the shared scalers.
            for info in plan.layout.tensors().filter(|t| t.name.is_shared()) {
                let range = info.offset..info.offset + info.len();
                params[range.clone()].copy_from_slice(&own[range]);
            }
            model.set_parameters(&params)?;
            blobs.push(model.to_blob()?);
        }
    }
    Ok(blobs)
}

/// Each candidate's log-densities, by mdn-core from the networks' blobs, on the rows its
/// networks validated on (with folds: every row, by the network that did not learn from
/// it), candidate after candidate.
fn out_of_fold_log_densities(
    data: &Dataset,
    blobs: &[AlignedBytes],
    rows: &Assignment,
    candidates: usize,
) -> Result<Vec<Vec<f64>>> {
    let per_candidate = blobs.len() / candidates.max(1);
    let mut oof = vec![Vec::new(); candidates];
    for (m, blob) in blobs.iter().enumerate() {
        let model = mdn_core::HostModel::from_bytes(blob).map_err(|source| Error::Core {
            context: "validating a trained network".into(),
            source,
        })?;
        for &row in &rows.val[m] {
            let lp = model
                .log_prob(data.row_x(row), data.row_y(row))
                .map_err(|source| Error::Core {
                    context: format!("scoring validation row {}", data.lines[row]),
                    source,
                })?;
            oof[m / per_candidate.max(1)].push(f64::from(lp));
        }
    }
    Ok(oof)
}

/// The NLL of rows' log-densities.
fn nll(log_p: &[f64]) -> f64 {
    -log_p.iter().sum::<f64>() / log_p.len().max(1) as f64
}

/// The out-of-fold NLL of the candidates mixed with `weights`.
fn mixture_nll(weights: &[f64], oof: &[Vec<f64>]) -> f64 {
    let rows = oof.first().map_or(0, Vec::len);
    let mixed: Vec<f64> = (0..rows)
        .map(|i| {
            let terms: Vec<f64> = weights
                .iter()
                .zip(oof)
                .filter(|(w, _)| **w > 0.0)
                .map(|(w, lp)| w.ln() + lp[i])
                .collect();
            ensemble::log_sum_exp(&terms)
        })
        .collect();
    nll(&mixed)
}

/// What each candidate got.
fn candidate_runs(
    candidates: &[(usize, f32)],
    weights: &[f64],
    oof: &[Vec<f64>],
) -> Vec<CandidateRun> {
    candidates
        .iter()
        .zip(weights)
        .zip(oof)
        .map(|((&(components, noise), &weight), lp)| CandidateRun {
            components,
            noise,
            weight,
            val_nll: (!lp.is_empty()).then(|| nll(lp)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    /// Makes the second group of networks panic (a stand-in for a bug in a training thread).
    pub(super) static PANIC_IN_SECOND_GROUP: AtomicBool = AtomicBool::new(false);

    fn data(rows: usize) -> Dataset {
        crate::synth::generate(crate::synth::Kind::Hetero, rows, 3)
    }

    #[test]
    fn more_folds_than_rows_is_an_error_before_training() {
        let config = TrainConfig {
            folds: 12,
            components: vec![1],
            noise: vec![0.0],
            epochs: 1,
            ..TrainConfig::default()
        };
        let err = train(&data(11), &config, |_| {}).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidOption {
                    option: "--folds",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("at most 11"), "{err}");
        // As many folds as rows is leave-one-out: every network stops early on its row.
        let trained = train(&data(12), &config, |_| {}).unwrap();
        assert!(trained.network_runs.iter().all(|r| r.val_rows == 1));
        assert!(trained.best_val_nll.is_some());
    }

    #[test]
    fn a_panic_in_a_training_thread_goes_on_in_the_caller() {
        if cores() < 2 {
            return;
        }
        let config = TrainConfig {
            epochs: 1,
            hidden: vec![4],
            jobs: 2,
            ..TrainConfig::default()
        };
        PANIC_IN_SECOND_GROUP.store(true, Ordering::Relaxed);
        let outcome = std::panic::catch_unwind(|| train(&data(40), &config, |_| {}));
        PANIC_IN_SECOND_GROUP.store(false, Ordering::Relaxed);
        let payload = outcome.expect_err("the panic was turned into a value");
        let message = payload.downcast_ref::<&str>().copied().unwrap_or_default();
        assert_eq!(message, "injected panic in the second group");
    }
}
