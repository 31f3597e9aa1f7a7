//! The training recipe: candidate models, folds, early stopping with a learning-rate drop,
//! and the weights of the candidates in one mixture.
//!
//! By default every candidate model (a number of components `K` and an input/target noise
//! level) is trained as `folds` networks: network `f` stops early on fold `f` of the rows
//! and learns from the others, and goes back to its best weights once with a tenth of the
//! learning rate before it stops. Every row then has an out-of-fold density from each
//! candidate, and [`crate::ensemble::pruned_weights`] weighs the candidates by it. All
//! networks of all candidates train side by side as batched tensors
//! ([`crate::members`]), in two groups on two threads when there are two cores.
//!
//! Why (BENCHMARKS.md has the numbers): one network's early stopping on a few dozen rows
//! is noisy and K = 5 overfits small sets, while the multimodal sets need K = 5; averaging
//! the fold networks and weighting the candidates on every row's out-of-fold density beat
//! the reference's best cell on the 4 shipped sets and on 16 of 18 others (at most 0.05
//! nats worse on the two), and the noise candidates regularise small sets (Boston K = 1:
//! 2.41 to 2.20 nats) where the weights drop them on large ones that noise would blur.
//!
//! Everything random comes from one seed through separate PCG streams (initialisation,
//! split, batch order, noise; one set per network), and candle runs on the CPU with a fixed
//! number of threads, so the same data, seed and thread count give a byte-identical blob.

use std::time::Instant;

use candle_core::{Device, Tensor};
use mdn_core::{Activation, SigmaTransform, TargetTransform};
use rand::{RngExt, SeedableRng, seq::SliceRandom};
use rand_pcg::Pcg64Mcg;

use crate::{
    data::{Dataset, MIN_TRAIN_ROWS},
    ensemble::{self, Ensemble},
    error::{Error, Result},
    members::{MemberAdam, Members},
    model::{Architecture, Mdn},
    scaling::{self, InputScaling, Scalers, TargetScaling},
};

/// Settings of one training run. [`Default`] gives the documented CLI defaults.
///
/// # Examples
///
/// ```
/// let config = mdn_train::train::TrainConfig::default();
/// assert_eq!((config.components.as_slice(), config.folds, config.batch), (&[1, 5][..], 5, 64));
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TrainConfig {
    /// Candidate numbers of mixture components `K` (each candidate model is one `K` and
    /// one noise level).
    pub components: Vec<usize>,
    /// Candidate noise levels: the standard deviation of Gaussian noise added to every
    /// training input and target, in standard deviations of that column.
    pub noise: Vec<f32>,
    /// Networks per candidate, each stopping early on its own fold of the rows and
    /// learning from the others; the candidates are weighted by their out-of-fold
    /// likelihood. Used when `val_fraction` is `None`.
    pub folds: usize,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// Hidden activation.
    #[serde(serialize_with = "display")]
    pub activation: Activation,
    /// Sigma transform.
    #[serde(serialize_with = "display")]
    pub sigma: SigmaTransform,
    /// Lower bound on sigma, in scaled target units (standard deviations of the target).
    #[serde(serialize_with = "crate::describe::serialize_f32")]
    pub sigma_floor: f32,
    /// Maximum number of epochs (passes over the training rows).
    pub epochs: usize,
    /// Minibatch size.
    pub batch: usize,
    /// AdamW learning rate.
    pub lr: f64,
    /// AdamW decoupled weight decay (0: plain Adam).
    pub weight_decay: f64,
    /// Seed of every random choice.
    pub seed: u64,
    /// `None`: `folds` networks per candidate on as many folds. `Some(f)`: one network
    /// per candidate, a random fraction `f` of the rows held out for validation; `Some(0)`:
    /// no validation, one network of the first candidate trained for exactly `epochs`.
    pub val_fraction: Option<f64>,
    /// Epochs without a better validation NLL before a network's learning rate drops
    /// (or, after `lr_drops` drops, before it stops).
    pub patience: usize,
    /// Epochs without a better validation NLL before the learning rate halves (again
    /// after as many more, down to `lr / 64`); 0 keeps it constant.
    pub lr_patience: usize,
    /// Times a network whose patience ran out goes back to its best weights and goes on
    /// with the learning rate times `lr_drop_factor`, before it stops.
    pub lr_drops: usize,
    /// Factor of each drop.
    pub lr_drop_factor: f64,
    /// Patience after a drop (0: `patience`).
    pub drop_patience: usize,
    /// Threads for the two groups of candidates (0: as many as there are cores, at most
    /// two). The result does not depend on it.
    pub jobs: usize,
    /// Feature scaling.
    pub scale_x: InputScaling,
    /// Target transform and scaling.
    pub scale_y: TargetScaling,
    /// Testing aid: treat the first loss of this epoch as NaN, to exercise the divergence
    /// path (write the best model so far, report the epoch) deterministically.
    #[doc(hidden)]
    #[serde(skip)]
    pub fail_at_epoch: Option<usize>,
}

fn display<T: std::fmt::Display, S: serde::Serializer>(
    v: &T,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(v)
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            components: vec![1, 5],
            noise: vec![0.0, 0.1],
            folds: 5,
            hidden: vec![32, 32],
            activation: Activation::Relu,
            sigma: SigmaTransform::Nnelu,
            sigma_floor: 1e-3,
            epochs: 3000,
            batch: 64,
            lr: 1e-3,
            weight_decay: 0.0,
            seed: 42,
            val_fraction: None,
            patience: 300,
            lr_patience: 0,
            lr_drops: 1,
            lr_drop_factor: 0.1,
            drop_patience: 100,
            jobs: 0,
            scale_x: InputScaling::MinMax,
            scale_y: TargetScaling::Standard,
            fail_at_epoch: None,
        }
    }
}

impl TrainConfig {
    /// The candidate models: every `(K, noise level)` pair, `K` first; only the first one
    /// without validation.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = mdn_train::train::TrainConfig::default();
    /// assert_eq!(c.candidates(), [(1, 0.0), (1, 0.1), (5, 0.0), (5, 0.1)]);
    /// ```
    pub fn candidates(&self) -> Vec<(usize, f32)> {
        let all: Vec<(usize, f32)> = self
            .components
            .iter()
            .flat_map(|&k| self.noise.iter().map(move |&n| (k, n)))
            .collect();
        if self.val_fraction == Some(0.0) {
            all.into_iter().take(1).collect()
        } else {
            all
        }
    }

    /// Networks per candidate.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = mdn_train::train::TrainConfig { val_fraction: Some(0.1), ..Default::default() };
    /// assert_eq!(c.networks_per_candidate(), 1);
    /// ```
    pub fn networks_per_candidate(&self) -> usize {
        if self.val_fraction.is_some() {
            1
        } else {
            self.folds
        }
    }
}

/// One row of `<out>.metrics.csv`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct EpochMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training NLL over the epoch's minibatches, nats per row, original units.
    pub train_nll: f64,
    /// Validation NLL after the epoch, nats per row, original units.
    pub val_nll: Option<f64>,
    /// Wall time of the epoch, validation included.
    pub seconds: f64,
}

/// Why training stopped early because of a non-finite loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Divergence {
    /// The 1-based epoch whose loss was not finite.
    pub epoch: usize,
    /// The loss (NaN or infinite).
    pub loss: f32,
}

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
    pub member_runs: Vec<MemberRun>,
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
}

/// Cores available to this process.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// A stream of the run's randomness: initialisation, split and batch order never share one.
fn stream(seed: u64, purpose: u64) -> Pcg64Mcg {
    Pcg64Mcg::seed_from_u64(stream_seed(seed, purpose))
}

/// The seed of stream `purpose`; stream 0 (initialisation) uses the run's seed itself.
fn stream_seed(seed: u64, purpose: u64) -> u64 {
    // The 64-bit golden ratio spreads the purposes over unrelated seeds.
    seed ^ purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

const STREAM_INIT: u64 = 0;
const STREAM_SPLIT: u64 = 1;
const STREAM_BATCHES: u64 = 2;
const STREAM_NOISE: u64 = 3;

fn invalid(option: &'static str, expected: &str, found: impl ToString) -> Error {
    Error::InvalidOption {
        option,
        expected: expected.to_owned(),
        found: found.to_string(),
    }
}

impl TrainConfig {
    /// Checks every setting.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] naming the option.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut c = mdn_train::train::TrainConfig::default();
    /// assert!(c.validate().is_ok());
    /// c.lr = -1.0;
    /// assert!(c.validate().unwrap_err().to_string().contains("--lr"));
    /// ```
    pub fn validate(&self) -> Result<()> {
        if self.components.is_empty() || self.components.contains(&0) {
            return Err(invalid(
                "--components",
                "comma-separated numbers, each at least 1",
                format!("{:?}", self.components),
            ));
        }
        if self.noise.is_empty() || self.noise.iter().any(|n| !(n.is_finite() && *n >= 0.0)) {
            return Err(invalid(
                "--noise",
                "comma-separated finite numbers >= 0",
                format!("{:?}", self.noise),
            ));
        }
        if self.val_fraction.is_none() && !(2..=100).contains(&self.folds) {
            return Err(invalid("--folds", "a number from 2 to 100", self.folds));
        }
        if self.hidden.contains(&0) || self.hidden.len() > mdn_core::MAX_HIDDEN_LAYERS {
            return Err(invalid(
                "--hidden",
                "at most 8 comma-separated widths, each at least 1",
                format!("{:?}", self.hidden),
            ));
        }
        if !(self.sigma_floor.is_finite() && self.sigma_floor >= 0.0) {
            return Err(invalid(
                "--sigma-floor",
                "a finite number >= 0",
                self.sigma_floor,
            ));
        }
        if self.epochs == 0 {
            return Err(invalid("--epochs", "at least 1", self.epochs));
        }
        if self.batch == 0 {
            return Err(invalid("--batch", "at least 1", self.batch));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(invalid("--lr", "a finite number > 0", self.lr));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(invalid(
                "--weight-decay",
                "a finite number >= 0",
                self.weight_decay,
            ));
        }
        if let Some(f) = self.val_fraction
            && !(0.0..0.9).contains(&f)
        {
            return Err(invalid("--val-fraction", "a number in [0, 0.9)", f));
        }
        if !(self.lr_drop_factor.is_finite() && self.lr_drop_factor > 0.0) {
            return Err(invalid(
                "--lr-drop-factor",
                "a finite number > 0",
                self.lr_drop_factor,
            ));
        }
        // Every network of every candidate may be kept, each with the largest K (smaller
        // K are padded to it), and the model must fit the host's evaluator.
        let most = self
            .candidates()
            .len()
            .saturating_mul(self.networks_per_candidate())
            .saturating_mul(self.components.iter().copied().max().unwrap_or(1));
        let max = mdn_core::HostModel::CAPACITIES.components;
        if most > max {
            return Err(invalid(
                "--components, --noise and --folds",
                &format!(
                    "at most {max} mixture components in all (candidates x networks per \
                     candidate x largest K), the capacity of the host's evaluator \
                     (mdn_core::HostModel)"
                ),
                most,
            ));
        }
        Ok(())
    }
}

/// Splits `0..n` into sorted training and validation indices with the seed's split stream.
fn split(n: usize, val_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut val_rows = (n as f64 * val_fraction).round() as usize;
    if val_fraction > 0.0 {
        val_rows = val_rows.clamp(1, n.saturating_sub(2));
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut stream(seed, STREAM_SPLIT));
    let (val, train) = order.split_at(val_rows);
    let (mut train, mut val) = (train.to_vec(), val.to_vec());
    train.sort_unstable();
    val.sort_unstable();
    (train, val)
}

/// Splits `0..n` into `folds` folds with the seed's split stream: row `order[j]` goes to
/// fold `j % folds`, so fold sizes differ by at most one. Each fold is sorted.
fn folds(n: usize, folds: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut stream(seed, STREAM_SPLIT));
    let mut out = vec![Vec::new(); folds];
    for (j, &row) in order.iter().enumerate() {
        out[j % folds].push(row);
    }
    for fold in &mut out {
        fold.sort_unstable();
    }
    out
}

/// Which rows each member trains and validates on (indices into the whole data set).
#[derive(Debug, Clone, PartialEq)]
struct Assignment {
    train: Vec<Vec<usize>>,
    val: Vec<Vec<usize>>,
}

impl Assignment {
    /// One network on a random split, or `folds` networks on as many folds, each
    /// validating on its own fold and training on the others.
    fn new(n: usize, config: &TrainConfig) -> Self {
        if let Some(fraction) = config.val_fraction {
            let (train, val) = split(n, fraction, config.seed);
            return Assignment {
                train: vec![train],
                val: vec![val],
            };
        }
        let folds = folds(n, config.folds, config.seed);
        let train = (0..folds.len())
            .map(|m| {
                let mut rows: Vec<usize> = folds
                    .iter()
                    .enumerate()
                    .filter(|&(f, _)| f != m)
                    .flat_map(|(_, fold)| fold.iter().copied())
                    .collect();
                rows.sort_unstable();
                rows
            })
            .collect();
        Assignment { train, val: folds }
    }

    /// The same rows for each of `candidates` candidates in turn.
    fn repeat(&self, candidates: usize) -> Self {
        let times = |v: &Vec<Vec<usize>>| -> Vec<Vec<usize>> {
            (0..candidates).flat_map(|_| v.iter().cloned()).collect()
        };
        Assignment {
            train: times(&self.train),
            val: times(&self.val),
        }
    }
}

/// The whole data set scaled, as tensors, and the constant that converts a mean NLL from
/// scaled to original units.
struct Scaled {
    /// Standard deviation of each scaled feature and target over all rows.
    x_std: Vec<f32>,
    u_std: Vec<f32>,
    xs: Tensor,
    us: Tensor,
    inputs: usize,
    outputs: usize,
    /// `sum_d ln(scale_d)`.
    log_scale: f64,
    /// Per-row `sum_d ln y_d` for a log target (the Jacobian), else zeros.
    jacobian: Vec<f64>,
}

impl Scaled {
    fn new(data: &Dataset, scalers: &Scalers, device: &Device) -> Result<Self> {
        let rows = data.len();
        let (f, d) = (data.inputs(), data.outputs());
        let xs = scalers.input.apply(&data.x);
        let t = scaling::transform_targets(&data.y, scalers.transform);
        let us = scalers.target.apply(&t);
        let log_scale: f64 = scalers
            .target
            .scale
            .iter()
            .map(|&s| f64::from(s).ln())
            .sum();
        let jacobian = match scalers.transform {
            TargetTransform::Identity => vec![0.0; rows],
            TargetTransform::Log => t
                .chunks(d.max(1))
                .map(|row| row.iter().map(|&v| f64::from(v)).sum())
                .collect(),
        };
        let column_std = |values: &[f32], cols: usize| -> Vec<f32> {
            (0..cols)
                .map(|j| {
                    let col: Vec<f64> = values
                        .iter()
                        .skip(j)
                        .step_by(cols.max(1))
                        .map(|&v| f64::from(v))
                        .collect();
                    let mean = col.iter().sum::<f64>() / col.len().max(1) as f64;
                    let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
                        / col.len().max(1) as f64;
                    var.sqrt() as f32
                })
                .collect()
        };
        let x_std = column_std(&xs, f);
        let u_std = column_std(&us, d);
        Ok(Scaled {
            x_std,
            u_std,
            xs: Tensor::from_vec(xs, (rows, f), device)?,
            us: Tensor::from_vec(us, (rows, d), device)?,
            inputs: f,
            outputs: d,
            log_scale,
            jacobian,
        })
    }

    /// `[M, n, len(std)]` Gaussian noise, member `m`'s column `j` with standard
    /// deviation `levels[m] * std[j]`.
    fn noise(&self, rng: &mut Pcg64Mcg, n: usize, std: &[f32], levels: &[f32]) -> Result<Tensor> {
        let cols = std.len();
        let per_member = n * cols;
        let values: Vec<f32> = (0..levels.len() * per_member)
            .map(|i| {
                let z: f32 = rng.sample(rand_distr::StandardNormal);
                z * levels[i / per_member] * std[i % cols]
            })
            .collect();
        Ok(Tensor::from_vec(
            values,
            (levels.len(), n, cols),
            self.xs.device(),
        )?)
    }

    /// Mean of the per-row offsets to original units over `rows`.
    fn to_original(&self, rows: &[usize]) -> f64 {
        let jacobian =
            rows.iter().map(|&i| self.jacobian[i]).sum::<f64>() / rows.len().max(1) as f64;
        self.log_scale + jacobian
    }

    /// `[M, n, F]` inputs and `[M, n, D]` targets of the given rows, member-major.
    fn gather(&self, rows: &[u32], members: usize) -> Result<(Tensor, Tensor)> {
        let n = rows.len() / members.max(1);
        let idx = Tensor::from_slice(rows, rows.len(), self.xs.device())?;
        let xs = self
            .xs
            .index_select(&idx, 0)?
            .reshape((members, n, self.inputs))?;
        let us = self
            .us
            .index_select(&idx, 0)?
            .reshape((members, n, self.outputs))?;
        Ok((xs, us))
    }
}

/// Every member's validation rows padded to one length, with weights `1 / rows` (0 on
/// padding) so that `sum(weights * ln p)` is each member's mean log-likelihood.
struct Validation {
    xs: Tensor,
    us: Tensor,
    weights: Tensor,
    /// Offset to original units per member.
    to_original: Vec<f64>,
}

impl Validation {
    fn new(scaled: &Scaled, val: &[Vec<usize>]) -> Result<Option<Self>> {
        let longest = val.iter().map(Vec::len).max().unwrap_or(0);
        if longest == 0 || val.iter().any(Vec::is_empty) {
            return Ok(None);
        }
        let members = val.len();
        let mut rows = Vec::with_capacity(members * longest);
        let mut weights = Vec::with_capacity(members * longest);
        for fold in val {
            let w = 1.0 / fold.len() as f32;
            for j in 0..longest {
                // Padding repeats a real row (finite values) with weight 0.
                rows.push(fold.get(j).copied().unwrap_or(fold[0]) as u32);
                weights.push(if j < fold.len() { w } else { 0.0 });
            }
        }
        let (xs, us) = scaled.gather(&rows, members)?;
        Ok(Some(Validation {
            xs,
            us,
            weights: Tensor::from_vec(weights, (members, longest), scaled.xs.device())?,
            to_original: val.iter().map(|fold| scaled.to_original(fold)).collect(),
        }))
    }

    /// Each member's validation NLL, original units.
    fn nll(&self, members: &Members) -> Result<Vec<f64>> {
        let lp = members.log_density(&self.xs, &self.us, false)?;
        let mean = (lp * &self.weights)?.sum(1)?.to_vec1::<f32>()?;
        Ok(mean
            .iter()
            .zip(&self.to_original)
            .map(|(&m, &o)| -f64::from(m) + o)
            .collect())
    }
}

/// How one member's training went.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MemberRun {
    /// The epoch whose weights were kept (0: the initial weights).
    pub best_epoch: usize,
    /// Validation NLL of the kept weights, nats per row, original units.
    pub best_val_nll: Option<f64>,
    /// Rows it trained on.
    pub train_rows: usize,
    /// Rows it validated on.
    pub val_rows: usize,
    /// Whether early stopping ended its training before `epochs`.
    pub stopped_early: bool,
    /// The epoch whose loss was NaN or infinite, if it was; the network keeps its best
    /// weights from before.
    pub diverged_at: Option<usize>,
}

/// Trains an MDN on `data` with `config`, calling `on_epoch` after every epoch.
///
/// With `members` 1, one network on a random split (`val_fraction` held out); with more,
/// that many networks of one architecture side by side, member `m` validating on fold
/// `m` of `members` and training on the rest, each with its own early stopping.
///
/// A non-finite loss stops the network it happened in, which keeps its best weights so
/// far ([`MemberRun::diverged_at`]); when every network stopped so, the result carries
/// [`Trained::diverged`] (the caller writes the model and reports the failure).
///
/// # Errors
///
/// [`Error::TooFewRows`] below [`MIN_TRAIN_ROWS`], [`Error::ConstantTarget`],
/// [`Error::BadCell`] for a non-positive log target, [`Error::InvalidOption`], or a candle
/// error.
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
    config.validate()?;
    data.require_rows(MIN_TRAIN_ROWS)?;
    data.require_varying_targets()?;
    if config.scale_y == TargetScaling::Log {
        scaling::require_positive_targets(data)?;
    }
    let candidates = config.candidates();
    let per_candidate = config.networks_per_candidate();
    let base = Assignment::new(data.len(), config);
    let assignment = base.repeat(candidates.len());
    // A single split fits the scalers on its training rows; folds share one pair of
    // scalers (an ensemble blob holds them once), fitted on every row.
    let fitted = if config.val_fraction.is_some() {
        scaling::fit(&data.subset(&base.train[0]), config.scale_x, config.scale_y)?
    } else {
        scaling::fit(data, config.scale_x, config.scale_y)?
    };
    let scalers = fitted.scalers;
    let arch = Architecture {
        inputs: data.inputs(),
        outputs: data.outputs(),
        components: candidates.iter().map(|c| c.0).max().unwrap_or(1),
        hidden: config.hidden.clone(),
        activation: config.activation,
        sigma: config.sigma,
        sigma_floor: config.sigma_floor,
    };
    let layout = Members::layout_of(&arch)?;
    let count = assignment.train.len();
    let init: Vec<Vec<f32>> = (0..count)
        .map(|m| Members::initial(&layout, member_seed(config.seed, m, STREAM_INIT)))
        .collect();
    let active: Vec<usize> = (0..count)
        .map(|m| candidates[m / per_candidate].0)
        .collect();
    let noise: Vec<f32> = (0..count)
        .map(|m| candidates[m / per_candidate].1)
        .collect();
    let scaled = Scaled::new(data, &scalers, &candle_core::Device::Cpu)?;
    // Candidates train in two groups, side by side on two threads when there are two
    // cores: a group's numbers do not depend on the other, nor on the number of threads.
    let split_at = candidates.len().div_ceil(2) * per_candidate;
    let ranges: Vec<std::ops::Range<usize>> = [0..split_at, split_at..count]
        .into_iter()
        .filter(|r| !r.is_empty())
        .collect();
    let groups: Vec<Group<'_>> = ranges
        .iter()
        .map(|r| Group {
            first: r.start,
            assignment: Assignment {
                train: assignment.train[r.clone()].to_vec(),
                val: assignment.val[r.clone()].to_vec(),
            },
            noise: &noise[r.clone()],
            active: &active[r.clone()],
        })
        .collect();
    let train_group = |g: &Group<'_>,
                       on_epoch: Option<&mut dyn FnMut(&EpochMetrics)>|
     -> Result<(Members, Run)> {
        let members = Members::new(
            arch.clone(),
            &layout,
            &init[g.first..g.first + g.noise.len()],
            g.active,
        )?;
        let run = fit(&members, &scaled, g, config, on_epoch)?;
        Ok((members, run))
    };
    let parallel = config.jobs != 1 && groups.len() > 1 && cores() > 1;
    let mut results: Vec<Result<(Members, Run)>> = Vec::new();
    if parallel {
        std::thread::scope(|scope| {
            let others: Vec<_> = groups[1..]
                .iter()
                .map(|g| scope.spawn(|| train_group(g, None)))
                .collect();
            results.push(train_group(&groups[0], Some(&mut on_epoch)));
            for handle in others {
                results.push(handle.join().unwrap_or_else(|_| {
                    Err(Error::InvalidOption {
                        option: "--jobs",
                        expected: "a training thread that finishes".into(),
                        found: "a panic".into(),
                    })
                }));
            }
        });
    } else {
        for (i, g) in groups.iter().enumerate() {
            let callback: Option<&mut dyn FnMut(&EpochMetrics)> =
                if i == 0 { Some(&mut on_epoch) } else { None };
            results.push(train_group(g, callback));
        }
    }
    let results: Vec<(Members, Run)> = results.into_iter().collect::<Result<_>>()?;
    let owner = |m: usize| -> (usize, usize) {
        let g = ranges.iter().position(|r| r.contains(&m)).unwrap_or(0);
        (g, m - ranges[g].start)
    };
    let merged_metrics =
        merge_metrics(&results.iter().map(|(_, r)| r).cloned().collect::<Vec<_>>());
    let member_runs: Vec<MemberRun> = results
        .iter()
        .flat_map(|(_, r)| r.members.iter().cloned())
        .collect();
    // Training failed only if every network diverged; the others make the model, and a
    // diverged network keeps its weights from before (`MemberRun::diverged_at`).
    let diverged = if member_runs.iter().all(|r| r.diverged_at.is_some()) {
        results.iter().find_map(|(_, r)| r.diverged)
    } else {
        None
    };

    let models = (0..count)
        .map(|m| {
            let model = Mdn::new(
                arch.clone(),
                scalers.clone(),
                &data.feature_names,
                &data.target_names,
                0,
            )?;
            let (g, local) = owner(m);
            let (members, run) = &results[g];
            let mut params = members.member_parameters(&layout, &run.best, local);
            let own = model.parameters()?;
            // The shared slots (scalers, the one network's log weight 0) come from the
            // model, which holds the shared scalers.
            for info in layout.tensors().filter(|t| t.name.is_shared()) {
                let range = info.offset..info.offset + info.len();
                params[range.clone()].copy_from_slice(&own[range]);
            }
            model.set_parameters(&params)?;
            Ok(model)
        })
        .collect::<Result<Vec<Mdn>>>()?;
    let blobs = models
        .iter()
        .map(Mdn::to_blob)
        .collect::<Result<Vec<_>>>()?;

    // Each candidate's log-densities, by mdn-core, on the rows its networks validated on
    // (with folds: every row, by the network that did not learn from it).
    let val_rows: usize = base.val.iter().map(Vec::len).sum();
    let mut oof = vec![Vec::with_capacity(val_rows); candidates.len()];
    if val_rows > 0 {
        for (m, blob) in blobs.iter().enumerate() {
            let model = mdn_core::HostModel::from_bytes(blob).map_err(|source| Error::Core {
                context: "validating a trained network".into(),
                source,
            })?;
            for &row in &assignment.val[m] {
                let lp = model
                    .log_prob(data.row_x(row), data.row_y(row))
                    .map_err(|source| Error::Core {
                        context: format!("scoring validation row {}", data.lines[row]),
                        source,
                    })?;
                oof[m / per_candidate].push(f64::from(lp));
            }
        }
    }
    let weights = if val_rows > 0 {
        ensemble::pruned_weights(&oof)
    } else {
        let mut w = vec![0.0; candidates.len()];
        w[0] = 1.0;
        w
    };
    let nll = |lp: &[f64]| -lp.iter().sum::<f64>() / lp.len().max(1) as f64;
    let best_val_nll = (val_rows > 0).then(|| {
        let blended: Vec<f64> = (0..val_rows)
            .map(|i| {
                let terms: Vec<f64> = weights
                    .iter()
                    .zip(&oof)
                    .filter(|(w, _)| **w > 0.0)
                    .map(|(w, lp)| w.ln() + lp[i])
                    .collect();
                ensemble::log_sum_exp(&terms)
            })
            .collect();
        nll(&blended)
    });
    let candidate_runs: Vec<CandidateRun> = candidates
        .iter()
        .zip(&weights)
        .zip(&oof)
        .map(|((&(components, noise), &weight), lp)| CandidateRun {
            components,
            noise,
            weight,
            val_nll: (!lp.is_empty()).then(|| nll(lp)),
        })
        .collect();
    let mut kept = Ensemble {
        members: Vec::new(),
        log_weights: Vec::new(),
    };
    for (m, blob) in blobs.iter().enumerate() {
        let w = weights[m / per_candidate];
        if w > 0.0 {
            kept.members.push(blob.clone());
            kept.log_weights.push(w.ln() - (per_candidate as f64).ln());
        }
    }
    let best_epoch = member_runs.iter().map(|r| r.best_epoch).max().unwrap_or(0);
    let stopped_early = member_runs.iter().all(|r| r.stopped_early);
    Ok(Trained {
        blob: kept.to_blob()?,
        ensemble: kept,
        candidates: candidate_runs,
        metrics: merged_metrics,
        best_epoch,
        best_val_nll,
        stopped_early,
        diverged,
        train_rows: member_runs[0].train_rows,
        val_rows: member_runs[0].val_rows,
        member_runs,
        constant_features: fitted.constant_features,
    })
}

/// The seed of member `member`'s stream `purpose`: member 0 uses the run's own streams,
/// so one member trains exactly as a single network.
fn member_seed(seed: u64, member: usize, purpose: u64) -> u64 {
    stream_seed(seed, purpose + STREAMS_PER_MEMBER * member as u64)
}

/// Stream purposes are spaced by this per member.
const STREAMS_PER_MEMBER: u64 = 16;

#[derive(Clone)]
struct Run {
    best: crate::members::Snapshot,
    members: Vec<MemberRun>,
    /// Each epoch's means over the networks still training, and their number.
    metrics: Vec<(EpochMetrics, usize)>,
    diverged: Option<Divergence>,
}

/// Networks trained together as one batch: candidates `first / per_candidate ..`.
struct Group<'a> {
    /// Index of the group's first network among all of them.
    first: usize,
    assignment: Assignment,
    noise: &'a [f32],
    active: &'a [usize],
}

/// The epochs of several groups as one: means weighted by the networks still training,
/// the longest wall time.
fn merge_metrics(runs: &[Run]) -> Vec<EpochMetrics> {
    let epochs = runs.iter().map(|r| r.metrics.len()).max().unwrap_or(0);
    (0..epochs)
        .map(|e| {
            let rows: Vec<&(EpochMetrics, usize)> =
                runs.iter().filter_map(|r| r.metrics.get(e)).collect();
            let live: usize = rows.iter().map(|(_, n)| n).sum::<usize>().max(1);
            let mean = |f: &dyn Fn(&EpochMetrics) -> Option<f64>| -> Option<f64> {
                let mut sum = 0.0;
                for (row, n) in &rows {
                    sum += f(row)? * *n as f64;
                }
                Some(sum / live as f64)
            };
            EpochMetrics {
                epoch: e + 1,
                train_nll: mean(&|r| Some(r.train_nll)).unwrap_or(f64::NAN),
                val_nll: mean(&|r| r.val_nll),
                seconds: rows.iter().map(|(r, _)| r.seconds).fold(0.0, f64::max),
            }
        })
        .collect()
}

/// The training loop over all members at once.
fn fit(
    members: &Members,
    scaled: &Scaled,
    group: &Group<'_>,
    config: &TrainConfig,
    mut on_epoch: Option<&mut dyn FnMut(&EpochMetrics)>,
) -> Result<Run> {
    let (assignment, noise) = (&group.assignment, group.noise);
    let count = members.count();
    let validation = Validation::new(scaled, &assignment.val)?;
    let mut adam = MemberAdam::new(members, config.lr, config.weight_decay)?;
    let mut rngs: Vec<Pcg64Mcg> = (0..count)
        .map(|m| Pcg64Mcg::seed_from_u64(member_seed(config.seed, group.first + m, STREAM_BATCHES)))
        .collect();
    let mut orders: Vec<Vec<u32>> = assignment
        .train
        .iter()
        .map(|rows| rows.iter().map(|&i| i as u32).collect())
        .collect();
    // Every member takes the same number of rows per epoch (folds differ by at most one
    // row; the row left out changes with each shuffle).
    let rows_per_epoch = orders.iter().map(Vec::len).min().unwrap_or(0);
    let train_offsets: Vec<f64> = assignment
        .train
        .iter()
        .map(|rows| scaled.to_original(rows))
        .collect();

    let mut runs: Vec<MemberRun> = (0..count)
        .map(|m| MemberRun {
            best_epoch: 0,
            best_val_nll: None,
            train_rows: assignment.train[m].len(),
            val_rows: assignment.val[m].len(),
            stopped_early: false,
            diverged_at: None,
        })
        .collect();
    let mut best = members.snapshot()?;
    let mut best_score = vec![f64::INFINITY; count];
    let mut active = vec![true; count];
    let mut metrics = Vec::new();
    let mut diverged = None;
    let mut batch = Vec::with_capacity(count * config.batch);
    let mut noise_rng =
        Pcg64Mcg::seed_from_u64(member_seed(config.seed, group.first, STREAM_NOISE));
    let mut drops = vec![0_usize; count];
    let mut dropped_at = vec![0_usize; count];
    let patience_now = |drops: usize| {
        if drops == 0 || config.drop_patience == 0 {
            config.patience
        } else {
            config.drop_patience
        }
    };

    'epochs: for epoch in 1..=config.epochs {
        let start = Instant::now();
        for (order, rng) in orders.iter_mut().zip(&mut rngs) {
            order.shuffle(rng);
        }
        let mut loss_sum = vec![0.0_f64; count];
        let mut first = 0;
        while first < rows_per_epoch {
            let size = config.batch.min(rows_per_epoch - first);
            batch.clear();
            for order in &orders {
                batch.extend_from_slice(&order[first..first + size]);
            }
            first += size;
            let (mut xb, mut ub) = scaled.gather(&batch, count)?;
            if noise.iter().any(|&n| n > 0.0) {
                xb = (xb + scaled.noise(&mut noise_rng, size, &scaled.x_std, noise)?)?;
                ub = (ub + scaled.noise(&mut noise_rng, size, &scaled.u_std, noise)?)?;
            }
            let losses = members.log_density(&xb, &ub, true)?.mean(1)?.neg()?;
            let mut values = losses.to_vec1::<f32>()?;
            if config.fail_at_epoch == Some(epoch) {
                values.iter_mut().for_each(|v| *v = f32::NAN);
            }
            for (m, &value) in values.iter().enumerate() {
                if active[m] && !value.is_finite() {
                    // The member stops here with its best weights so far.
                    active[m] = false;
                    adam.lr[m] = 0.0;
                    runs[m].diverged_at = Some(epoch);
                    diverged.get_or_insert(Divergence { epoch, loss: value });
                }
                loss_sum[m] += f64::from(value) * size as f64;
            }
            if !active.iter().any(|&a| a) {
                break 'epochs;
            }
            adam.backward_step(&losses.sum_all()?)?;
        }
        let train_nll: Vec<f64> = loss_sum
            .iter()
            .zip(&train_offsets)
            .map(|(&s, &o)| s / rows_per_epoch.max(1) as f64 + o)
            .collect();
        let val_nll = validation.as_ref().map(|v| v.nll(members)).transpose()?;
        let live: Vec<usize> = (0..count).filter(|&m| active[m]).collect();
        let mean_over = |values: &[f64]| {
            live.iter().map(|&m| values[m]).sum::<f64>() / live.len().max(1) as f64
        };
        let row = EpochMetrics {
            epoch,
            train_nll: mean_over(&train_nll),
            val_nll: val_nll.as_deref().map(mean_over),
            seconds: start.elapsed().as_secs_f64(),
        };
        metrics.push((row, live.len()));
        if let Some(on_epoch) = on_epoch.as_mut() {
            on_epoch(&row);
        }

        let Some(val_nll) = val_nll else {
            // Without validation the last epoch's weights are kept; they are also the
            // "best so far" should a later epoch diverge.
            best = members.snapshot()?;
            for run in &mut runs {
                run.best_epoch = epoch;
            }
            continue;
        };
        let mut improved = Vec::new();
        for &m in &live {
            if !val_nll[m].is_finite() {
                active[m] = false;
                adam.lr[m] = 0.0;
                runs[m].diverged_at = Some(epoch);
                diverged.get_or_insert(Divergence {
                    epoch,
                    loss: val_nll[m] as f32,
                });
            } else if val_nll[m] < best_score[m] {
                best_score[m] = val_nll[m];
                runs[m].best_epoch = epoch;
                runs[m].best_val_nll = Some(val_nll[m]);
                improved.push(m);
            } else if epoch - runs[m].best_epoch.max(dropped_at[m]) >= patience_now(drops[m]) {
                if drops[m] < config.lr_drops {
                    // Back to the best weights, with smaller steps to settle into the
                    // minimum the validation NLL found.
                    drops[m] += 1;
                    dropped_at[m] = epoch;
                    adam.lr[m] *= config.lr_drop_factor;
                    adam.restore_member(&best, m)?;
                } else {
                    runs[m].stopped_early = true;
                    active[m] = false;
                    adam.lr[m] = 0.0;
                }
            } else if config.lr_patience > 0
                && (epoch - runs[m].best_epoch).is_multiple_of(config.lr_patience)
            {
                // Smaller steps settle into the minimum the validation NLL stopped
                // improving at; the floor keeps training alive for the rest of the patience.
                adam.lr[m] = (adam.lr[m] * 0.5).max(config.lr / 64.0);
            }
        }
        if !improved.is_empty() {
            let now = members.snapshot()?;
            for m in improved {
                Members::copy_member(&now, &mut best, m, count);
            }
        }
        if !active.iter().any(|&a| a) {
            break;
        }
    }
    Ok(Run {
        best,
        members: runs,
        metrics,
        diverged,
    })
}

/// `<out>.metrics.csv`: `epoch,train_nll,val_nll,seconds`, `val_nll` empty without
/// validation.
///
/// # Examples
///
/// ```
/// use mdn_train::train::{EpochMetrics, metrics_csv};
/// let rows = [EpochMetrics { epoch: 1, train_nll: 1.5, val_nll: None, seconds: 0.25 }];
/// assert_eq!(metrics_csv(&rows), "epoch,train_nll,val_nll,seconds\n1,1.5,,0.25\n");
/// ```
pub fn metrics_csv(rows: &[EpochMetrics]) -> String {
    let mut out = String::from("epoch,train_nll,val_nll,seconds\n");
    for r in rows {
        let val = r.val_nll.map(|v| v.to_string()).unwrap_or_default();
        out.push_str(&format!(
            "{},{},{},{}\n",
            r.epoch, r.train_nll, val, r.seconds
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_a_seeded_partition_in_file_order() {
        let (train, val) = split(100, 0.1, 7);
        assert_eq!((train.len(), val.len()), (90, 10));
        let mut all: Vec<usize> = train.iter().chain(&val).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert!(train.is_sorted() && val.is_sorted());
        assert_eq!(split(100, 0.1, 7), (train, val.clone()));
        assert_ne!(split(100, 0.1, 8).1, val);
        // Any positive fraction keeps at least one validation row and two training rows.
        assert_eq!(split(10, 0.01, 1).1.len(), 1);
        assert_eq!(split(10, 0.0, 1).1.len(), 0);
    }

    #[test]
    fn streams_are_distinct() {
        assert_eq!(stream_seed(5, STREAM_INIT), 5);
        assert_ne!(stream_seed(5, STREAM_SPLIT), stream_seed(5, STREAM_BATCHES));
    }
}
