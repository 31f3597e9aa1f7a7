//! The training loop: seeded split, scalers on training rows, AdamW on minibatches, early
//! stopping on the validation NLL with the best weights restored.
//!
//! Everything random comes from one seed through separate PCG streams (initialisation,
//! validation split, batch order), and candle runs on the CPU with a fixed number of
//! threads, so the same data, seed and thread count give a byte-identical blob.

use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use mdn_core::{Activation, SigmaTransform, TargetTransform};
use rand::{SeedableRng, seq::SliceRandom};
use rand_pcg::Pcg64Mcg;

use crate::{
    data::{Dataset, MIN_TRAIN_ROWS},
    error::{Error, Result},
    model::{Architecture, Mdn},
    scaling::{self, InputScaling, Scalers, TargetScaling},
};

/// Settings of one training run. [`Default`] gives the documented CLI defaults.
///
/// # Examples
///
/// ```
/// let config = mdn_train::train::TrainConfig::default();
/// assert_eq!((config.components, config.batch, config.lr), (5, 128, 1e-3));
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TrainConfig {
    /// Mixture components `K`.
    pub components: usize,
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
    /// Fraction of rows held out for validation and early stopping (0 disables both).
    pub val_fraction: f64,
    /// Epochs without a better validation NLL before stopping.
    pub patience: usize,
    /// Epochs without a better validation NLL before the learning rate halves (again
    /// after as many more, down to `lr / 64`); 0 keeps it constant.
    pub lr_patience: usize,
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
            components: 5,
            hidden: vec![32, 32],
            activation: Activation::Relu,
            sigma: SigmaTransform::Nnelu,
            sigma_floor: 1e-3,
            epochs: 3000,
            batch: 128,
            lr: 1e-3,
            weight_decay: 0.0,
            seed: 42,
            val_fraction: 0.1,
            patience: 100,
            lr_patience: 0,
            scale_x: InputScaling::MinMax,
            scale_y: TargetScaling::Standard,
            fail_at_epoch: None,
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

/// The outcome of [`train`].
#[derive(Debug)]
pub struct Trained {
    /// The model with the kept weights (best validation epoch, or last epoch).
    pub model: Mdn,
    /// The model as a blob.
    pub blob: crate::aligned::AlignedBytes,
    /// One entry per completed epoch.
    pub metrics: Vec<EpochMetrics>,
    /// The epoch whose weights were kept (0: the initial weights).
    pub best_epoch: usize,
    /// Validation NLL of the kept weights.
    pub best_val_nll: Option<f64>,
    /// Whether early stopping ended training before `epochs`.
    pub stopped_early: bool,
    /// Set if the loss became NaN or infinite; the kept weights are from before.
    pub diverged: Option<Divergence>,
    /// Rows used for fitting.
    pub train_rows: usize,
    /// Rows held out for validation.
    pub val_rows: usize,
    /// Features that were constant on the training rows (given scale 1).
    pub constant_features: Vec<String>,
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
        if self.components == 0 {
            return Err(invalid("--components", "at least 1", self.components));
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
        if !(0.0..0.9).contains(&self.val_fraction) {
            return Err(invalid(
                "--val-fraction",
                "a number in [0, 0.9)",
                self.val_fraction,
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

/// Scaled tensors of one split, and the constant that converts its mean NLL from scaled
/// to original units.
struct Split {
    xs: Tensor,
    us: Tensor,
    rows: usize,
    /// `sum_d ln(scale_d)` plus the mean Jacobian `sum_d ln y_d` for a log target.
    to_original: f64,
}

impl Split {
    fn new(data: &Dataset, scalers: &Scalers, device: &Device) -> Result<Self> {
        let rows = data.len();
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
            TargetTransform::Identity => 0.0,
            TargetTransform::Log => {
                t.iter().map(|&v| f64::from(v)).sum::<f64>() / rows.max(1) as f64
            }
        };
        Ok(Split {
            xs: Tensor::from_vec(xs, (rows, data.inputs()), device)?,
            us: Tensor::from_vec(us, (rows, data.outputs()), device)?,
            rows,
            to_original: log_scale + jacobian,
        })
    }
}

/// Trains an MDN on `data` with `config`, calling `on_epoch` after every epoch.
///
/// A non-finite loss stops training: the result then carries [`Trained::diverged`] and the
/// best weights so far (the caller writes them and reports the failure).
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
    let (train_idx, val_idx) = split(data.len(), config.val_fraction, config.seed);
    let train_data = data.subset(&train_idx);
    let val_data = data.subset(&val_idx);
    let fitted = scaling::fit(&train_data, config.scale_x, config.scale_y)?;
    let scalers = fitted.scalers;

    let arch = Architecture {
        inputs: data.inputs(),
        outputs: data.outputs(),
        components: config.components,
        hidden: config.hidden.clone(),
        activation: config.activation,
        sigma: config.sigma,
        sigma_floor: config.sigma_floor,
    };
    let model = Mdn::new(
        arch,
        scalers.clone(),
        &data.feature_names,
        &data.target_names,
        stream_seed(config.seed, STREAM_INIT),
    )?;
    let device = model.device().clone();
    let train_split = Split::new(&train_data, &scalers, &device)?;
    let val_split = (!val_idx.is_empty())
        .then(|| Split::new(&val_data, &scalers, &device))
        .transpose()?;

    let mut optimizer = AdamW::new(
        model.vars(),
        ParamsAdamW {
            lr: config.lr,
            beta1: 0.9,
            beta2: 0.999,
            // Keras' default epsilon, as the reference; candle's 1e-8 differs little.
            eps: 1e-7,
            weight_decay: config.weight_decay,
        },
    )?;
    let mut batch_rng = stream(config.seed, STREAM_BATCHES);
    let mut order: Vec<u32> = (0..train_split.rows as u32).collect();

    let mut metrics = Vec::new();
    let mut best_params = model.parameters()?;
    let mut best_epoch = 0;
    let mut best_score = f64::INFINITY;
    let mut best_val_nll = None;
    let mut diverged = None;
    let mut stopped_early = false;

    'epochs: for epoch in 1..=config.epochs {
        let start = Instant::now();
        order.shuffle(&mut batch_rng);
        let mut loss_sum = 0.0_f64;
        for chunk in order.chunks(config.batch) {
            let idx = Tensor::from_slice(chunk, chunk.len(), &device)?;
            let xb = train_split.xs.index_select(&idx, 0)?;
            let ub = train_split.us.index_select(&idx, 0)?;
            let loss = model.loss(&xb, &ub)?;
            let mut value = loss.to_scalar::<f32>()?;
            if config.fail_at_epoch == Some(epoch) {
                value = f32::NAN;
            }
            if !value.is_finite() {
                diverged = Some(Divergence { epoch, loss: value });
                break 'epochs;
            }
            optimizer.backward_step(&loss)?;
            loss_sum += f64::from(value) * chunk.len() as f64;
        }
        let train_nll = loss_sum / train_split.rows as f64 + train_split.to_original;
        let val_nll = match &val_split {
            Some(v) => {
                let loss = f64::from(model.loss(&v.xs, &v.us)?.to_scalar::<f32>()?);
                if !loss.is_finite() {
                    diverged = Some(Divergence {
                        epoch,
                        loss: loss as f32,
                    });
                    break 'epochs;
                }
                Some(loss + v.to_original)
            }
            None => None,
        };
        let row = EpochMetrics {
            epoch,
            train_nll,
            val_nll,
            seconds: start.elapsed().as_secs_f64(),
        };
        metrics.push(row);
        on_epoch(&row);

        // Without validation the last epoch's weights are kept; they are also the
        // "best so far" should a later epoch diverge.
        let score = val_nll.unwrap_or(f64::NEG_INFINITY);
        if score < best_score || val_nll.is_none() {
            best_score = score;
            best_epoch = epoch;
            best_val_nll = val_nll;
            best_params = model.parameters()?;
        } else if epoch - best_epoch >= config.patience {
            stopped_early = true;
            break;
        } else if config.lr_patience > 0 && (epoch - best_epoch) % config.lr_patience == 0 {
            // Smaller steps settle into the minimum the validation NLL stopped improving
            // at; the floor keeps training alive for the rest of the patience.
            let lr = (optimizer.learning_rate() * 0.5).max(config.lr / 64.0);
            optimizer.set_learning_rate(lr);
        }
    }

    model.set_parameters(&best_params)?;
    let blob = model.to_blob()?;
    Ok(Trained {
        model,
        blob,
        metrics,
        best_epoch,
        best_val_nll,
        stopped_early,
        diverged,
        train_rows: train_idx.len(),
        val_rows: val_idx.len(),
        constant_features: fitted.constant_features,
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
