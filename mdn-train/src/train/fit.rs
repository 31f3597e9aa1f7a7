//! The epoch loop: several networks of one shape trained side by side, each with its own
//! minibatches, early stopping and learning rate.

use std::time::Instant;

use candle_core::Tensor;
use rand::{SeedableRng, seq::SliceRandom};
use rand_pcg::Pcg64Mcg;

use crate::{
    error::Result,
    networks::{NetworkAdam, Networks, Snapshot},
    train::{
        Action, Divergence, EarlyStopping, EpochMetrics, NetworkRun, TrainConfig,
        rows::{Assignment, STREAM_BATCHES, STREAM_NOISE, network_seed},
        scaled::{Scaled, Validation},
    },
};

/// Where a group of networks' minibatches come from.
pub(crate) trait Batches {
    /// Rows each network takes per epoch.
    fn rows_per_epoch(&self) -> usize;

    /// Starts an epoch: a new order of rows for every network.
    fn shuffle(&mut self);

    /// Rows `first..first + size` of this epoch for every network, in scaled units.
    fn batch(&mut self, first: usize, size: usize) -> Result<Batch>;

    /// Each network's offset from a mean NLL in scaled units to one in original units.
    fn to_original(&self) -> Vec<f64>;
}

/// Where the log-density loss turns from squared to linear, in nats.
const HUBER_DELTA: f64 = 1.0;

/// One minibatch of every network: inputs `[M, size, F]`, and what is learnt there.
pub(crate) enum Batch {
    /// Targets `[M, size, D]`: the loss is the mean negative log-likelihood.
    Rows { xs: Tensor, us: Tensor },
    /// `S` targets per row `[M, size, S D]` and the log-densities `[M, size, S]` to
    /// learn there: the loss is the mean Huber loss of the log-density's error (half its
    /// square within 1 nat). `weights`
    /// `[M, size, S]`, adding up to 1 over each row's targets, give the NLL reported: the
    /// weighted mean of the targets' negative log-densities.
    LogDensities {
        xs: Tensor,
        us: Tensor,
        log_densities: Tensor,
        weights: Tensor,
    },
}

impl Batch {
    /// Each network's loss over the batch `[M]`, to minimise, and its mean NLL per row
    /// `[M]`, to report (the same for [`Batch::Rows`]).
    fn loss(self, networks: &Networks) -> Result<(Tensor, Tensor)> {
        Ok(match self {
            Batch::Rows { xs, us } => {
                let nll = networks.log_density(&xs, &us, true)?.mean(1)?.neg()?;
                (nll.clone(), nll)
            }
            Batch::LogDensities {
                xs,
                us,
                log_densities,
                weights,
            } => {
                let lp = networks.log_densities(&xs, &us)?;
                let nll = (lp.detach() * weights)?.sum(2)?.mean(1)?.neg()?;
                let error = (lp - log_densities)?.abs()?;
                // Huber: squared within HUBER_DELTA nats, linear beyond, so that a node far
                // in a tail (the teacher's log-density tens of nats down, between the
                // branches of a multimodal density) cannot swamp a step.
                let inner = error.clamp(0.0, HUBER_DELTA)?;
                let huber = ((inner.sqr()? * 0.5)? + ((error - &inner)? * HUBER_DELTA)?)?;
                (huber.flatten_from(1)?.mean(1)?, nll)
            }
        })
    }
}

/// Minibatches of real rows, each network its own rows in its own order, with Gaussian
/// noise on inputs and targets where its noise level is above zero.
pub(crate) struct RowBatches<'a> {
    scaled: &'a Scaled,
    orders: Vec<Vec<u32>>,
    rngs: Vec<Pcg64Mcg>,
    /// Each network's noise level, in standard deviations of each column.
    noise: &'a [f32],
    noise_rng: Pcg64Mcg,
    /// Every network's rows of the current batch, network after network.
    rows: Vec<u32>,
    to_original: Vec<f64>,
}

impl<'a> RowBatches<'a> {
    /// Batches of `train[m]` for network `m`, whose seeds are those of network `first + m`
    /// of the run.
    pub(crate) fn new(
        scaled: &'a Scaled,
        train: &[Vec<usize>],
        noise: &'a [f32],
        seed: u64,
        first: usize,
    ) -> Self {
        RowBatches {
            scaled,
            orders: train
                .iter()
                .map(|rows| rows.iter().map(|&i| i as u32).collect())
                .collect(),
            rngs: (0..train.len())
                .map(|m| Pcg64Mcg::seed_from_u64(network_seed(seed, first + m, STREAM_BATCHES)))
                .collect(),
            noise,
            noise_rng: Pcg64Mcg::seed_from_u64(network_seed(seed, first, STREAM_NOISE)),
            rows: Vec::new(),
            to_original: train.iter().map(|rows| scaled.to_original(rows)).collect(),
        }
    }
}

impl Batches for RowBatches<'_> {
    /// Every network takes as many rows as the smallest training set (folds differ by at
    /// most one row; the row left out changes with each shuffle).
    fn rows_per_epoch(&self) -> usize {
        self.orders.iter().map(Vec::len).min().unwrap_or(0)
    }

    fn shuffle(&mut self) {
        for (order, rng) in self.orders.iter_mut().zip(&mut self.rngs) {
            order.shuffle(rng);
        }
    }

    fn batch(&mut self, first: usize, size: usize) -> Result<Batch> {
        self.rows.clear();
        for order in &self.orders {
            self.rows.extend_from_slice(&order[first..first + size]);
        }
        let (mut xs, mut us) = self.scaled.gather(&self.rows, self.orders.len())?;
        if self.noise.iter().any(|&n| n > 0.0) {
            let scaled = self.scaled;
            xs = (xs + scaled.noise(&mut self.noise_rng, size, &scaled.x_std, self.noise)?)?;
            us = (us + scaled.noise(&mut self.noise_rng, size, &scaled.u_std, self.noise)?)?;
        }
        Ok(Batch::Rows { xs, us })
    }

    fn to_original(&self) -> Vec<f64> {
        self.to_original.clone()
    }
}

/// What [`fit`] leaves: the kept weights of every network and how it got there.
#[derive(Clone)]
pub(crate) struct Run {
    /// Each network's kept weights.
    pub(crate) best: Snapshot,
    pub(crate) networks: Vec<NetworkRun>,
    /// Each epoch's means over the networks still training, and their number.
    pub(crate) metrics: Vec<(EpochMetrics, usize)>,
    pub(crate) diverged: Option<Divergence>,
}

/// Ends network `m`'s training: it keeps its best weights and moments from then on.
fn stop(m: usize, adam: &mut NetworkAdam, training: &mut [bool]) {
    training[m] = false;
    adam.freeze(m);
}

/// Trains `networks` on `batches` for up to `config.epochs` epochs, each network stopping
/// early on its rows of `validation` ([`EarlyStopping`]); without validation every network
/// trains every epoch and keeps its last weights. `rows` gives each network's training and
/// validation rows (for the report). A network whose loss becomes NaN or infinite stops
/// there with its best weights from before.
pub(crate) fn fit(
    networks: &Networks,
    batches: &mut dyn Batches,
    validation: Option<&Validation>,
    rows: &Assignment,
    config: &TrainConfig,
    mut on_epoch: Option<&mut dyn FnMut(&EpochMetrics)>,
) -> Result<Run> {
    let count = networks.count();
    let mut adam = NetworkAdam::new(networks, config.lr, config.weight_decay)?;
    let mut stopping = vec![EarlyStopping::new(config.stopping_rule()); count];
    let mut runs: Vec<NetworkRun> = (0..count)
        .map(|m| NetworkRun {
            best_epoch: 0,
            best_val_nll: None,
            train_rows: rows.train[m].len(),
            val_rows: rows.val[m].len(),
            stopped_early: false,
            diverged_at: None,
        })
        .collect();
    let mut best = networks.snapshot()?;
    let mut training = vec![true; count];
    let mut metrics = Vec::new();
    let mut diverged = None;
    let rows_per_epoch = batches.rows_per_epoch();
    let to_original = batches.to_original();

    'epochs: for epoch in 1..=config.epochs {
        let start = Instant::now();
        batches.shuffle();
        let mut loss_sum = vec![0.0_f64; count];
        let mut first = 0;
        while first < rows_per_epoch {
            let size = config.batch.min(rows_per_epoch - first);
            let batch = batches.batch(first, size)?;
            first += size;
            let (losses, nll) = batch.loss(networks)?;
            let mut values = losses.to_vec1::<f32>()?;
            let nll = nll.to_vec1::<f32>()?;
            if config.fail_at_epoch == Some(epoch) {
                values.iter_mut().for_each(|v| *v = f32::NAN);
            }
            for (m, &value) in values.iter().enumerate() {
                if training[m] && !value.is_finite() {
                    stop(m, &mut adam, &mut training);
                    runs[m].diverged_at = Some(epoch);
                    diverged.get_or_insert(Divergence { epoch, loss: value });
                }
                loss_sum[m] += f64::from(nll[m]) * size as f64;
            }
            if !training.iter().any(|&t| t) {
                break 'epochs;
            }
            adam.backward_step(&losses.sum_all()?)?;
        }
        let train_nll: Vec<f64> = loss_sum
            .iter()
            .zip(&to_original)
            .map(|(&s, &o)| s / rows_per_epoch.max(1) as f64 + o)
            .collect();
        let val_nll = validation.map(|v| v.nll(networks)).transpose()?;
        let live: Vec<usize> = (0..count).filter(|&m| training[m]).collect();
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
            best = networks.snapshot()?;
            for run in &mut runs {
                run.best_epoch = epoch;
            }
            continue;
        };
        let actions: Vec<(usize, Action)> = live
            .iter()
            .map(|&m| (m, stopping[m].after_epoch(val_nll[m], epoch)))
            .collect();
        let improved: Vec<usize> = actions
            .iter()
            .filter(|(_, action)| *action == Action::Improved)
            .map(|&(m, _)| m)
            .collect();
        if !improved.is_empty() {
            let now = networks.snapshot()?;
            for &m in &improved {
                Networks::copy_network(&now, &mut best, m, count);
            }
        }
        for (m, action) in actions {
            match action {
                Action::Improved => {
                    runs[m].best_epoch = epoch;
                    runs[m].best_val_nll = Some(val_nll[m]);
                }
                Action::Continue => {}
                Action::SetLr { lr } => adam.set_lr(m, lr),
                Action::Restart { lr } => {
                    adam.set_lr(m, lr);
                    adam.restore_network(&best, m)?;
                }
                Action::Stop => {
                    runs[m].stopped_early = true;
                    stop(m, &mut adam, &mut training);
                }
                Action::Diverged => {
                    stop(m, &mut adam, &mut training);
                    runs[m].diverged_at = Some(epoch);
                    diverged.get_or_insert(Divergence {
                        epoch,
                        loss: val_nll[m] as f32,
                    });
                }
            }
        }
        if !training.iter().any(|&t| t) {
            break;
        }
    }
    Ok(Run {
        best,
        networks: runs,
        metrics,
        diverged,
    })
}
