//! What training reports per epoch (`<out>.metrics.csv`) and per network.

/// One row of `<out>.metrics.csv`.
///
/// # Examples
///
/// ```
/// use mdn_train::train::EpochMetrics;
/// let row = EpochMetrics { epoch: 1, train_nll: 1.5, val_nll: Some(1.4), seconds: 0.25 };
/// assert!(row.val_nll < Some(row.train_nll));
/// ```
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
///
/// # Examples
///
/// ```
/// let d = mdn_train::train::Divergence { epoch: 3, loss: f32::NAN };
/// assert!(d.loss.is_nan());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Divergence {
    /// The 1-based epoch whose loss was not finite.
    pub epoch: usize,
    /// The loss (NaN or infinite).
    pub loss: f32,
}

/// How one network's training went.
///
/// # Examples
///
/// ```
/// let run = mdn_train::train::NetworkRun { best_epoch: 12, best_val_nll: Some(0.5),
///     train_rows: 80, val_rows: 20, stopped_early: true, diverged_at: None };
/// assert!(run.stopped_early);
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NetworkRun {
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

/// The epochs of several groups of networks as one: means weighted by the networks still
/// training, the longest wall time.
///
/// `groups[g][e]` is group `g`'s epoch `e + 1` and how many of its networks were still
/// training in it.
pub(crate) fn merge_metrics(groups: &[&[(EpochMetrics, usize)]]) -> Vec<EpochMetrics> {
    let epochs = groups.iter().map(|g| g.len()).max().unwrap_or(0);
    (0..epochs)
        .map(|e| {
            let rows: Vec<&(EpochMetrics, usize)> =
                groups.iter().filter_map(|g| g.get(e)).collect();
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
    fn merged_epochs_weigh_each_group_by_its_live_networks() {
        let row = |epoch, train_nll, val_nll, seconds| EpochMetrics {
            epoch,
            train_nll,
            val_nll,
            seconds,
        };
        let a = [
            (row(1, 1.0, Some(2.0), 0.5), 3),
            (row(2, 0.5, Some(1.0), 0.5), 1),
        ];
        let b = [(row(1, 4.0, Some(6.0), 0.75), 1)];
        let merged = merge_metrics(&[&a, &b]);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0], row(1, 1.75, Some(3.0), 0.75));
        assert_eq!(merged[1], row(2, 0.5, Some(1.0), 0.5));
    }
}
