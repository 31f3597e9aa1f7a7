//! Early stopping of one network, with its learning-rate schedule: when to keep its
//! weights, when to go back to them with smaller steps, when to stop.

/// What a network's trainer does after an epoch, as [`EarlyStopping::after_epoch`] decides.
///
/// # Examples
///
/// ```
/// use mdn_train::train::{Action, EarlyStopping, StoppingRule};
/// let rule = StoppingRule { lr: 1e-3, patience: 2, lr_drops: 0, ..StoppingRule::default() };
/// let mut stopping = EarlyStopping::new(rule);
/// assert_eq!(stopping.after_epoch(1.0, 1), Action::Improved);
/// assert_eq!(stopping.after_epoch(1.5, 2), Action::Continue);
/// assert_eq!(stopping.after_epoch(1.5, 3), Action::Stop);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// A new best validation NLL: keep these weights.
    Improved,
    /// Nothing changes.
    Continue,
    /// Go on with this learning rate.
    SetLr {
        /// The new learning rate.
        lr: f64,
    },
    /// Patience ran out: go back to the best weights and go on with this learning rate.
    Restart {
        /// The new learning rate.
        lr: f64,
    },
    /// Patience ran out after every drop: stop, with the best weights.
    Stop,
    /// The validation NLL is NaN or infinite: stop, with the best weights from before.
    Diverged,
}

/// The settings of [`EarlyStopping`] (the fields of [`crate::train::TrainConfig`] with the
/// same names).
///
/// # Examples
///
/// ```
/// let rule = mdn_train::train::TrainConfig::default().stopping_rule();
/// assert_eq!((rule.patience, rule.lr_drops, rule.drop_patience), (300, 1, 100));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoppingRule {
    /// The initial learning rate.
    pub lr: f64,
    /// Epochs without a better validation NLL before a drop (or the stop).
    pub patience: usize,
    /// Epochs without a better validation NLL before the learning rate halves (again after
    /// as many more, down to `lr / 64`); 0 never halves it.
    pub lr_patience: usize,
    /// Drops before the stop.
    pub lr_drops: usize,
    /// Learning-rate factor of each drop.
    pub lr_drop_factor: f64,
    /// Patience after a drop (0: `patience`).
    pub drop_patience: usize,
}

impl Default for StoppingRule {
    fn default() -> Self {
        crate::train::TrainConfig::default().stopping_rule()
    }
}

/// The state of one network's early stopping: its best validation NLL and epoch, its drops
/// and its learning rate.
///
/// After each epoch, [`EarlyStopping::after_epoch`] says what to do: keep the weights of a
/// new best; once `patience` epochs pass without one, go back to the best weights with the
/// learning rate times `lr_drop_factor` (`lr_drops` times, each followed by
/// `drop_patience`), then stop. With `lr_patience`, the learning rate also halves every
/// `lr_patience` epochs without a new best, down to `lr / 64`.
///
/// # Examples
///
/// ```
/// use mdn_train::train::{Action, EarlyStopping, StoppingRule};
/// let rule = StoppingRule {
///     lr: 1.0, patience: 2, lr_drops: 1, lr_drop_factor: 0.1, drop_patience: 1,
///     ..StoppingRule::default()
/// };
/// let mut s = EarlyStopping::new(rule);
/// assert_eq!(s.after_epoch(2.0, 1), Action::Improved);
/// assert_eq!(s.after_epoch(3.0, 2), Action::Continue);
/// assert_eq!(s.after_epoch(3.0, 3), Action::Restart { lr: 0.1 });
/// assert_eq!(s.after_epoch(3.0, 4), Action::Stop);
/// assert_eq!((s.best_epoch(), s.best_val_nll()), (1, Some(2.0)));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct EarlyStopping {
    rule: StoppingRule,
    lr: f64,
    best_val_nll: Option<f64>,
    best_epoch: usize,
    drops: usize,
    dropped_at: usize,
}

impl EarlyStopping {
    /// A network before its first epoch: no best yet, the initial learning rate.
    ///
    /// # Examples
    ///
    /// See [`EarlyStopping`].
    pub fn new(rule: StoppingRule) -> Self {
        EarlyStopping {
            rule,
            lr: rule.lr,
            best_val_nll: None,
            best_epoch: 0,
            drops: 0,
            dropped_at: 0,
        }
    }

    /// Takes the validation NLL after `epoch` (1-based) and says what to do.
    ///
    /// # Examples
    ///
    /// See [`EarlyStopping`].
    pub fn after_epoch(&mut self, val_nll: f64, epoch: usize) -> Action {
        if !val_nll.is_finite() {
            return Action::Diverged;
        }
        if self.best_val_nll.is_none_or(|best| val_nll < best) {
            self.best_val_nll = Some(val_nll);
            self.best_epoch = epoch;
            return Action::Improved;
        }
        let waited = epoch - self.best_epoch.max(self.dropped_at);
        if waited >= self.patience() {
            if self.drops < self.rule.lr_drops {
                // Back to the best weights, with smaller steps to settle into the minimum
                // the validation NLL found.
                self.drops += 1;
                self.dropped_at = epoch;
                self.lr *= self.rule.lr_drop_factor;
                return Action::Restart { lr: self.lr };
            }
            return Action::Stop;
        }
        let since_best = epoch - self.best_epoch;
        if self.rule.lr_patience > 0 && since_best.is_multiple_of(self.rule.lr_patience) {
            // Smaller steps settle into the minimum the validation NLL stopped improving
            // at; the floor keeps training alive for the rest of the patience.
            self.lr = (self.lr * 0.5).max(self.rule.lr / 64.0);
            return Action::SetLr { lr: self.lr };
        }
        Action::Continue
    }

    /// The epoch of the best validation NLL (0 before any).
    ///
    /// # Examples
    ///
    /// See [`EarlyStopping`].
    pub fn best_epoch(&self) -> usize {
        self.best_epoch
    }

    /// The best validation NLL so far.
    ///
    /// # Examples
    ///
    /// See [`EarlyStopping`].
    pub fn best_val_nll(&self) -> Option<f64> {
        self.best_val_nll
    }

    /// The patience that applies now: `drop_patience` after a drop, if set.
    fn patience(&self) -> usize {
        if self.drops == 0 || self.rule.drop_patience == 0 {
            self.rule.patience
        } else {
            self.rule.drop_patience
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> StoppingRule {
        StoppingRule {
            lr: 1.0,
            patience: 3,
            lr_patience: 0,
            lr_drops: 2,
            lr_drop_factor: 0.5,
            drop_patience: 2,
        }
    }

    fn run(rule: StoppingRule, nlls: &[f64]) -> Vec<Action> {
        let mut stopping = EarlyStopping::new(rule);
        (1..)
            .zip(nlls)
            .map(|(e, &v)| stopping.after_epoch(v, e))
            .collect()
    }

    #[test]
    fn patience_counts_from_the_best_epoch_then_from_each_drop() {
        use Action::*;
        let actions = run(
            rule(),
            &[5.0, 4.0, 4.5, 4.5, 4.5, 4.5, 4.5, 3.0, 3.5, 3.5, 3.5],
        );
        assert_eq!(
            actions,
            [
                Improved,
                Improved,
                Continue,
                Continue,
                // Three epochs since the best (epoch 2): the first drop.
                Restart { lr: 0.5 },
                Continue,
                // Two epochs (drop patience) since the drop: the second.
                Restart { lr: 0.25 },
                Improved,
                Continue,
                // Two epochs since the best, after two drops: the stop.
                Stop,
                Stop,
            ]
        );
    }

    #[test]
    fn zero_drop_patience_keeps_the_first_patience() {
        let r = StoppingRule {
            drop_patience: 0,
            lr_drops: 1,
            ..rule()
        };
        let actions = run(r, &[1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]);
        assert_eq!(actions[3], Action::Restart { lr: 0.5 });
        assert_eq!(
            &actions[4..],
            [Action::Continue, Action::Continue, Action::Stop]
        );
    }

    #[test]
    fn lr_patience_halves_down_to_a_sixty_fourth() {
        let r = StoppingRule {
            patience: 100,
            lr_patience: 2,
            ..rule()
        };
        let mut stopping = EarlyStopping::new(r);
        assert_eq!(stopping.after_epoch(1.0, 1), Action::Improved);
        let mut lrs = Vec::new();
        for epoch in 2..=20 {
            if let Action::SetLr { lr } = stopping.after_epoch(2.0, epoch) {
                lrs.push((epoch, lr));
            }
        }
        let expected: Vec<(usize, f64)> = [0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625]
            .into_iter()
            .chain([0.015625; 3])
            .zip((3..=19).step_by(2))
            .map(|(lr, e)| (e, lr))
            .collect();
        assert_eq!(lrs, expected);
    }

    #[test]
    fn non_finite_nll_is_divergence_and_keeps_the_best() {
        let mut stopping = EarlyStopping::new(rule());
        assert_eq!(stopping.after_epoch(1.0, 1), Action::Improved);
        assert_eq!(stopping.after_epoch(f64::NAN, 2), Action::Diverged);
        assert_eq!(stopping.after_epoch(f64::INFINITY, 3), Action::Diverged);
        assert_eq!(
            (stopping.best_epoch(), stopping.best_val_nll()),
            (1, Some(1.0))
        );
    }
}
