//! [`TrainConfig`]: every setting of a training run, its defaults and its checks.

use mdn_core::{Activation, SigmaTransform};

use crate::{
    error::{Error, Result},
    scaling::{InputScaling, TargetScaling},
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

    /// The early-stopping settings of every network.
    ///
    /// # Examples
    ///
    /// ```
    /// let config = mdn_train::train::TrainConfig { patience: 7, ..Default::default() };
    /// assert_eq!(config.stopping_rule().patience, 7);
    /// ```
    pub fn stopping_rule(&self) -> crate::train::StoppingRule {
        crate::train::StoppingRule {
            lr: self.lr,
            patience: self.patience,
            lr_patience: self.lr_patience,
            lr_drops: self.lr_drops,
            lr_drop_factor: self.lr_drop_factor,
            drop_patience: self.drop_patience,
        }
    }

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

    /// Checks the settings against the number of rows to train on: with folds, every fold
    /// needs a row for its network to stop early on.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for `--folds` above `rows`.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = mdn_train::train::TrainConfig { folds: 20, ..Default::default() };
    /// assert!(c.validate_rows(20).is_ok());
    /// let e = c.validate_rows(12).unwrap_err().to_string();
    /// assert!(e.contains("--folds") && e.contains("at most 12"), "{e}");
    /// ```
    pub fn validate_rows(&self, rows: usize) -> Result<()> {
        if self.val_fraction.is_none() && self.folds > rows {
            return Err(invalid(
                "--folds",
                &format!(
                    "at most {rows} (the number of training rows: each fold's network stops \
                     early on the rows of its fold, so every fold needs one)"
                ),
                self.folds,
            ));
        }
        Ok(())
    }
}

fn invalid(option: &'static str, expected: &str, found: impl ToString) -> Error {
    Error::InvalidOption {
        option,
        expected: expected.to_owned(),
        found: found.to_string(),
    }
}
