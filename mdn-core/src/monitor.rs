//! Drift watch: does the model still describe the data a device observes?
//!
//! [`CalibrationMonitor`] takes each predictive mixture with the target that was later
//! observed, and keeps, in fixed-size arrays: the probability integral transform (PIT,
//! `u = F(y)`) as a histogram, the coverage of the central 50, 80 and 95 % intervals, the
//! running mean of `log p(y)`, and a Kolmogorov-Smirnov test of each window of `WINDOW`
//! PIT values against the uniform distribution they follow while the model is calibrated.

use crate::{
    error::{Error, Result},
    mixture::Mixture,
};

/// The levels of the central intervals whose coverage [`CalibrationMonitor::covered`]
/// counts, in its order.
///
/// # Examples
///
/// ```
/// assert_eq!(mdn_core::COVERAGE_LEVELS, [0.5, 0.8, 0.95]);
/// ```
pub const COVERAGE_LEVELS: [f32; 3] = [0.5, 0.8, 0.95];

/// What a [`CalibrationMonitor`] concludes so far.
///
/// # Examples
///
/// ```
/// use mdn_core::{CalibrationMonitor, Verdict};
/// let monitor = CalibrationMonitor::<10, 100>::new(0.001)?;
/// assert_eq!(monitor.verdict(), Verdict::Calibrated);
/// # Ok::<(), mdn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Verdict {
    /// No window has rejected calibration.
    Calibrated,
    /// A window rejected calibration: the model no longer describes the data.
    Drifted {
        /// The number of observations (counted from 1 since `new` or `reset`) when the
        /// first rejecting window closed.
        at: u32,
        /// That window's Kolmogorov-Smirnov statistic.
        statistic: f32,
    },
}

/// A fixed-size, heap-free accumulator of calibration statistics for a one-dimensional
/// model, with a sequential test that flags drift at a stated false-alarm rate.
///
/// `BINS` is the number of equal-width bins of the PIT histogram on `[0, 1]` (at least 1);
/// `WINDOW` the number of PIT values per Kolmogorov-Smirnov test (at least 2). The state
/// takes `4 * (BINS + WINDOW) + 64` bytes or so; nothing is allocated.
///
/// **The test.** Each time `WINDOW` new PIT values have arrived, they are sorted in place
/// (insertion sort: `O(WINDOW^2)` comparisons, meant for `WINDOW` up to a few hundred) and
/// their Kolmogorov-Smirnov statistic `D = max_i max(i/n - u_(i), u_(i) - (i-1)/n)` is
/// compared with the critical value `c(alpha) / (sqrt(n) + 0.12 + 0.11 / sqrt(n))`
/// (Stephens' finite-`n` correction, D'Agostino and Stephens 1986, table 4.7) with
/// `c(alpha) = sqrt(-ln(alpha / 2) / 2)`, the first term of Kolmogorov's series
/// (`c = 1.9495` for `alpha = 0.001`, `1.6276` for `0.01`; the dropped terms change alpha
/// by less than `2 alpha^4`). Windows do not overlap, so under calibration they are
/// independent: the false-alarm probability is `alpha` per window, and at most
/// `N * alpha` over a stream of `N` windows (`1 - (1 - alpha)^N`). The first rejection
/// makes the verdict [`Verdict::Drifted`] until [`CalibrationMonitor::reset`]. `D` never
/// exceeds 1, so a window too short for its level (critical value above 1: `WINDOW` below
/// 4 at `alpha = 0.001`) never rejects. A window is tested only once full: a drift that
/// starts at a window boundary is flagged after one window at the earliest.
///
/// Under calibration the PIT of a continuous predictive distribution is uniform on
/// `[0, 1]` whatever `x` is; a model whose spread is wrong gives a U- or hump-shaped
/// histogram, a biased one a skewed histogram, and both raise `D`.
///
/// **Coverage** needs no quantile: `y` lies in the central interval of level `L` exactly
/// when `(1 - L) / 2 <= F(y) <= (1 + L) / 2`, `F` being continuous and increasing.
///
/// **Restriction:** one output dimension; a mixture with several gives
/// [`Error::NotUnivariate`].
///
/// # Examples
///
/// ```
/// use mdn_core::{CalibrationMonitor, Mixture, TargetTransform, Verdict};
///
/// let model = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Identity)?;
/// let mut monitor = CalibrationMonitor::<10, 64>::new(0.001)?;
/// // Observations far in the upper tail: every PIT value is close to 1.
/// for i in 0..64 {
///     monitor.observe(&model, &[3.0 + i as f32 * 0.01])?;
/// }
/// assert!(matches!(monitor.verdict(), Verdict::Drifted { at: 64, .. }));
/// assert_eq!(monitor.histogram()[9], 64);
/// assert_eq!(monitor.covered(), [0, 0, 0]);
/// # Ok::<(), mdn_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CalibrationMonitor<const BINS: usize, const WINDOW: usize> {
    count: u32,
    histogram: [u32; BINS],
    covered: [u32; 3],
    log_prob_sum: f64,
    window: [f32; WINDOW],
    filled: usize,
    windows_tested: u32,
    last_statistic: Option<f32>,
    critical_value: f32,
    verdict: Verdict,
}

impl<const BINS: usize, const WINDOW: usize> CalibrationMonitor<BINS, WINDOW> {
    /// An empty monitor whose test has false-alarm probability `alpha` per window.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidProbability`] unless `0 < alpha < 1`.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::{CalibrationMonitor, Error};
    /// let monitor = CalibrationMonitor::<10, 256>::new(0.001)?;
    /// // 1.9495 / (16 + 0.12 + 0.11 / 16)
    /// assert!((monitor.critical_value() - 0.120_88).abs() < 1e-4);
    /// assert_eq!(CalibrationMonitor::<10, 256>::new(0.0), Err(Error::InvalidProbability));
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn new(alpha: f32) -> Result<Self> {
        const {
            assert!(BINS >= 1, "the PIT histogram needs at least one bin");
            assert!(
                WINDOW >= 2,
                "a Kolmogorov-Smirnov window needs at least two values"
            );
        }
        if !(alpha > 0.0 && alpha < 1.0) {
            return Err(Error::InvalidProbability);
        }
        Ok(CalibrationMonitor {
            count: 0,
            histogram: [0; BINS],
            covered: [0; 3],
            log_prob_sum: 0.0,
            window: [0.0; WINDOW],
            filled: 0,
            windows_tested: 0,
            last_statistic: None,
            critical_value: ks_critical_value(alpha, WINDOW),
            verdict: Verdict::Calibrated,
        })
    }

    /// Records the observation `y` of the quantity `mixture` predicted, and returns the
    /// verdict after it.
    ///
    /// Costs one [`Mixture::cdf`] and one [`Mixture::log_prob`], plus the sort of the
    /// window each `WINDOW` observations.
    ///
    /// # Errors
    ///
    /// [`Error::NotUnivariate`] for a mixture of several output dimensions, then as
    /// [`Mixture::cdf`] ([`Error::TargetLength`], [`Error::NonFiniteTarget`]); nothing is
    /// recorded then.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::{CalibrationMonitor, Error, Mixture, TargetTransform, Verdict};
    /// let m = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Identity)?;
    /// let mut monitor = CalibrationMonitor::<4, 16>::new(0.01)?;
    /// assert_eq!(monitor.observe(&m, &[0.1])?, Verdict::Calibrated);
    /// assert_eq!(monitor.observe(&m, &[f32::NAN]), Err(Error::NonFiniteTarget));
    /// assert_eq!((monitor.count(), monitor.histogram()), (1, &[0, 0, 1, 0]));
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn observe<const K: usize, const D: usize>(
        &mut self,
        mixture: &Mixture<K, D>,
        y: &[f32],
    ) -> Result<Verdict> {
        if mixture.dims() != 1 {
            return Err(Error::NotUnivariate {
                dims: mixture.dims(),
            });
        }
        let pit = mixture.cdf(y)?.first().copied().unwrap_or(f32::NAN);
        let log_p = mixture.log_prob(y)?;
        Ok(self.record(pit, log_p))
    }

    /// Records one PIT value `pit` (in `[0, 1]`) and its `log p`: the non-generic part of
    /// [`CalibrationMonitor::observe`].
    fn record(&mut self, pit: f32, log_p: f32) -> Verdict {
        // F is capped at 1 and never below 0; clamp anyway so a bin always exists.
        let pit = pit.clamp(0.0, 1.0);
        self.count = self.count.saturating_add(1);
        self.log_prob_sum += f64::from(log_p);
        let bin = (pit * BINS as f32) as usize;
        if let Some(b) = self.histogram.get_mut(bin.min(BINS - 1)) {
            *b = b.saturating_add(1);
        }
        for (covered, level) in self.covered.iter_mut().zip(COVERAGE_LEVELS) {
            let tail = 0.5 * (1.0 - level);
            if tail <= pit && pit <= 1.0 - tail {
                *covered = covered.saturating_add(1);
            }
        }
        if let Some(slot) = self.window.get_mut(self.filled) {
            *slot = pit;
        }
        self.filled += 1;
        if self.filled >= WINDOW {
            self.filled = 0;
            let statistic = ks_statistic(&mut self.window);
            self.windows_tested = self.windows_tested.saturating_add(1);
            self.last_statistic = Some(statistic);
            if self.verdict == Verdict::Calibrated && statistic > self.critical_value {
                self.verdict = Verdict::Drifted {
                    at: self.count,
                    statistic,
                };
            }
        }
        self.verdict
    }

    /// The verdict so far: [`Verdict::Drifted`] from the first rejecting window on.
    ///
    /// # Examples
    ///
    /// See [`CalibrationMonitor`].
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// Forgets everything observed (after a model update, say); the test's level stays.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::{CalibrationMonitor, Mixture, TargetTransform, Verdict};
    /// let m = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Identity)?;
    /// let mut monitor = CalibrationMonitor::<4, 16>::new(0.01)?;
    /// for _ in 0..16 {
    ///     monitor.observe(&m, &[5.0])?;
    /// }
    /// assert_ne!(monitor.verdict(), Verdict::Calibrated);
    /// monitor.reset();
    /// assert_eq!((monitor.verdict(), monitor.count()), (Verdict::Calibrated, 0));
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn reset(&mut self) {
        *self = CalibrationMonitor {
            critical_value: self.critical_value,
            count: 0,
            histogram: [0; BINS],
            covered: [0; 3],
            log_prob_sum: 0.0,
            window: [0.0; WINDOW],
            filled: 0,
            windows_tested: 0,
            last_statistic: None,
            verdict: Verdict::Calibrated,
        };
    }

    /// Observations recorded (saturating at `u32::MAX`).
    ///
    /// # Examples
    ///
    /// See [`CalibrationMonitor::observe`].
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The PIT histogram: bin `b` counts PIT values in `[b / BINS, (b + 1) / BINS)`, the
    /// last bin including 1. Flat (each bin near `count / BINS`) while calibrated.
    ///
    /// # Examples
    ///
    /// See [`CalibrationMonitor`].
    pub fn histogram(&self) -> &[u32; BINS] {
        &self.histogram
    }

    /// How many observations fell inside the central interval of each of
    /// [`COVERAGE_LEVELS`]; divided by [`CalibrationMonitor::count`], near the levels
    /// while calibrated.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::{CalibrationMonitor, Mixture, TargetTransform};
    /// let m = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Identity)?;
    /// let mut monitor = CalibrationMonitor::<4, 16>::new(0.01)?;
    /// monitor.observe(&m, &[0.0])?; // the median: in every interval
    /// monitor.observe(&m, &[1.0])?; // F = 0.84: only in the 80 and 95 % intervals
    /// monitor.observe(&m, &[2.5])?; // F = 0.994: in none
    /// assert_eq!(monitor.covered(), [1, 2, 2]);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn covered(&self) -> [u32; 3] {
        self.covered
    }

    /// The mean of `log p(y)` over the observations (a sum in `f64`), or `None` before
    /// the first. `-inf` once an observation had density zero (a log target's `y <= 0`).
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::{CalibrationMonitor, Mixture, TargetTransform};
    /// let m = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Identity)?;
    /// let mut monitor = CalibrationMonitor::<4, 16>::new(0.01)?;
    /// assert_eq!(monitor.mean_log_prob(), None);
    /// monitor.observe(&m, &[0.0])?;
    /// assert!((monitor.mean_log_prob().unwrap_or(0.0) + 0.918_938_5).abs() < 1e-6);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn mean_log_prob(&self) -> Option<f32> {
        (self.count > 0).then(|| (self.log_prob_sum / f64::from(self.count)) as f32)
    }

    /// Kolmogorov-Smirnov tests run so far: one per `WINDOW` observations.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::{CalibrationMonitor, Mixture, TargetTransform};
    /// let m = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Identity)?;
    /// let mut monitor = CalibrationMonitor::<4, 2>::new(0.01)?;
    /// for y in [-0.5, 0.5, 0.1] {
    ///     monitor.observe(&m, &[y])?;
    /// }
    /// assert_eq!(monitor.windows_tested(), 1);
    /// assert!(monitor.last_statistic().is_some());
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn windows_tested(&self) -> u32 {
        self.windows_tested
    }

    /// The statistic of the last window tested, or `None` before the first.
    ///
    /// # Examples
    ///
    /// See [`CalibrationMonitor::windows_tested`].
    pub fn last_statistic(&self) -> Option<f32> {
        self.last_statistic
    }

    /// The Kolmogorov-Smirnov statistic above which a window rejects calibration.
    ///
    /// # Examples
    ///
    /// See [`CalibrationMonitor::new`].
    pub fn critical_value(&self) -> f32 {
        self.critical_value
    }
}

/// `c(alpha) / (sqrt(n) + 0.12 + 0.11 / sqrt(n))` with `c(alpha) = sqrt(-ln(alpha / 2) / 2)`.
fn ks_critical_value(alpha: f32, n: usize) -> f32 {
    let c = libm::sqrtf(-0.5 * libm::logf(0.5 * alpha));
    let root_n = libm::sqrtf(n as f32);
    c / (root_n + 0.12 + 0.11 / root_n)
}

/// Sorts `values` (each in `[0, 1]`) in place and returns their one-sample
/// Kolmogorov-Smirnov statistic against the uniform distribution on `[0, 1]`:
/// `D = max_i max(i/n - u_(i), u_(i) - (i-1)/n)`, `i` from 1 to `n`; 0 for an empty slice.
///
/// The sort is an insertion sort (no allocation; `O(n^2)` comparisons, for windows up to
/// a few hundred values) under [`f32::total_cmp`], so it ends on any input.
///
/// # Examples
///
/// ```
/// // Sorted: 0.1, 0.4, 0.7. D+ = max(1/3 - 0.1, 2/3 - 0.4, 1 - 0.7) = 0.3,
/// // D- = max(0.1, 0.4 - 1/3, 0.7 - 2/3) = 0.1.
/// let mut u = [0.7, 0.1, 0.4];
/// assert!((mdn_core::ks_statistic(&mut u) - 0.3).abs() < 1e-6);
/// assert_eq!(u, [0.1, 0.4, 0.7]);
/// ```
pub fn ks_statistic(values: &mut [f32]) -> f32 {
    for i in 1..values.len() {
        let mut j = i;
        while j > 0 {
            let (Some(&a), Some(&b)) = (values.get(j - 1), values.get(j)) else {
                break;
            };
            if a.total_cmp(&b).is_le() {
                break;
            }
            values.swap(j - 1, j);
            j -= 1;
        }
    }
    let n = values.len() as f32;
    let mut d = 0.0_f32;
    for (i, &u) in values.iter().enumerate() {
        let below = i as f32 / n;
        let above = (i + 1) as f32 / n;
        d = d.max(above - u).max(u - below);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ks_statistic_of_hand_computed_samples() {
        // Evenly spread midpoints (i - 0.5)/n: D = 1/(2n).
        let mut mid = [0.875, 0.125, 0.625, 0.375];
        assert!((ks_statistic(&mut mid) - 0.125).abs() < 1e-7);
        // All values equal to 0.9 (n = 2): D = max(1/2 - 0.9, 1 - 0.9, 0.9 - 0, 0.9 - 1/2).
        let mut high = [0.9, 0.9];
        assert!((ks_statistic(&mut high) - 0.9).abs() < 1e-7);
        // One value: D = max(1 - u, u).
        let mut one = [0.2];
        assert!((ks_statistic(&mut one) - 0.8).abs() < 1e-7);
        assert_eq!(ks_statistic(&mut []), 0.0);
    }

    #[test]
    fn critical_values_match_tables() {
        // Asymptotic c(alpha) from Kolmogorov's distribution: 1.6276 (0.01), 1.9495 (0.001).
        let c = |alpha: f32| libm::sqrtf(-0.5 * libm::logf(0.5 * alpha));
        assert!((c(0.01) - 1.6276).abs() < 1e-4);
        assert!((c(0.001) - 1.9495).abs() < 1e-4);
        assert!((c(0.05) - 1.3581).abs() < 1e-4);
        // n = 100, alpha = 0.05: Stephens' approximation gives 0.1340 (exact 0.1340).
        assert!((ks_critical_value(0.05, 100) - 0.1340).abs() < 2e-4);
    }

    #[test]
    fn sort_ends_on_nan() {
        let mut v = [f32::NAN, 0.5, -0.0, 0.0];
        let _ = ks_statistic(&mut v);
        assert_eq!(v[0].to_bits(), (-0.0_f32).to_bits());
        assert!(v[3].is_nan());
    }
}
