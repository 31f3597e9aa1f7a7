//! Marginal CDF, quantiles and central intervals.

use super::{Mixture, PerOutput, Univariate};
use crate::{
    error::{Error, Result},
    math::{normal_tail, standard_normal_density},
};

/// Half-width of the quantile bracket in sigmas: the bracket
/// `[min_k(mu_k - 10 sigma_k), max_k(mu_k + 10 sigma_k)]` holds every quantile whose tail
/// mass is at least `Phi(-10) = 7.6e-24`.
pub(crate) const QUANTILE_BRACKET_SIGMAS: f32 = 10.0;

/// Most CDF evaluations per quantile. Newton converges quadratically once near the root;
/// bisection crosses empty space between separated components and the flat deep tails.
/// The 22 reference mixtures (`mdn-core/tests/queries_reference.rs`, `p` from 1e-6 to
/// `1 - 1e-6`) need at most 42; past the cap the best point so far is returned.
pub(crate) const QUANTILE_ITERATIONS: usize = 64;

/// A central interval `[lower, upper]` of a one-dimensional predictive distribution.
///
/// # Examples
///
/// ```
/// # use mdn_core::{Mixture, TargetTransform};
/// let m = Mixture::<1, 1>::new(&[0.0], &[10.0], &[2.0], 1, TargetTransform::Identity)?;
/// let i = m.interval(0.95)?;
/// assert!((i.lower - (10.0 - 1.959964 * 2.0)).abs() < 1e-4);
/// assert!((i.width() - 2.0 * 1.959964 * 2.0).abs() < 1e-4);
/// # Ok::<(), mdn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Interval {
    /// The `(1 - level) / 2` quantile.
    pub lower: f32,
    /// The `(1 + level) / 2` quantile.
    pub upper: f32,
}

impl Interval {
    /// `upper - lower`.
    ///
    /// # Examples
    ///
    /// ```
    /// let i = mdn_core::Interval { lower: 1.0, upper: 3.5 };
    /// assert_eq!(i.width(), 2.5);
    /// ```
    pub fn width(&self) -> f32 {
        self.upper - self.lower
    }

    /// Whether `lower <= y <= upper`.
    ///
    /// # Examples
    ///
    /// ```
    /// let i = mdn_core::Interval { lower: 1.0, upper: 3.5 };
    /// assert!(i.contains(1.0) && !i.contains(4.0));
    /// ```
    pub fn contains(&self, y: f32) -> bool {
        self.lower <= y && y <= self.upper
    }
}

impl Univariate<'_> {
    /// The lower tail `F(t) = sum_k w_k Phi(z_k)` or the upper tail `sum_k w_k (1 - Phi(z_k))`
    /// at `t` in the components' space, at most 1, with `w_k = expf(log_weight_k)` and
    /// `z_k = (t - mu_k) / sigma_k`.
    pub(super) fn tail(&self, t: f32, upper: bool) -> f32 {
        let mut tail = 0.0_f32;
        for (log_weight, mu, sigma) in self.components() {
            tail += libm::expf(log_weight) * normal_tail((t - mu) / sigma, upper);
        }
        // Weights sum to 1 only up to rounding.
        if tail > 1.0 { 1.0 } else { tail }
    }

    /// [`Univariate::tail`] and the density `sum_k w_k phi(z_k) / sigma_k` at `t`, in one
    /// pass; the tail has the bits of `tail(t, upper)`.
    fn tail_and_density(&self, t: f32, upper: bool) -> (f32, f32) {
        let mut tail = 0.0_f32;
        let mut density = 0.0_f32;
        for (log_weight, mu, sigma) in self.components() {
            let w = libm::expf(log_weight);
            let z = (t - mu) / sigma;
            tail += w * normal_tail(z, upper);
            density += w * (standard_normal_density(z) / sigma);
        }
        (if tail > 1.0 { 1.0 } else { tail }, density)
    }

    /// The marginal CDF at `y` in original units (0 for a log target's `y <= 0`).
    pub(crate) fn cdf(&self, y: f32) -> f32 {
        match self.working_point(y) {
            Some(t) => self.tail(t, false),
            None => 0.0,
        }
    }

    /// The point in original units whose lower (or upper) tail holds `mass`, in `(0, 1)`.
    ///
    /// Safeguarded Newton in the components' space: the bracket starts as
    /// [`Univariate::span`] of [`QUANTILE_BRACKET_SIGMAS`] and shrinks to every evaluated
    /// point on its side of the root; a Newton step that leaves it, that is not shorter
    /// than half the step before last, or that divides by a zero density, is replaced by
    /// the bracket's midpoint `0.5 * lo + 0.5 * hi` (no overflow). It stops
    /// after [`QUANTILE_ITERATIONS`] evaluations, on an exact hit, or when no `f32` is left
    /// strictly inside the bracket, and returns the evaluated point with the smallest
    /// `|tail - mass|` (the first of equals).
    fn solve_tail(&self, mass: f32, upper: bool) -> f32 {
        let (mut lo, mut hi) = self.span(QUANTILE_BRACKET_SIGMAS);
        let mut t = 0.5 * lo + 0.5 * hi;
        let mut best = t;
        let mut best_err = f32::INFINITY;
        // The last two step lengths: a Newton step must be shorter than half the step
        // before last, or Newton may cycle between two points inside the bracket
        // (Numerical Recipes' `rtsafe` rule).
        let mut step = hi - lo;
        let mut step_before = step;
        for _ in 0..QUANTILE_ITERATIONS {
            let (tail, density) = self.tail_and_density(t, upper);
            let err = tail - mass;
            if err.abs() < best_err {
                best = t;
                best_err = err.abs();
            }
            if err == 0.0 {
                break;
            }
            // The lower tail grows with t and the upper tail shrinks.
            let root_above = if upper { err > 0.0 } else { err < 0.0 };
            if root_above {
                lo = t;
            } else {
                hi = t;
            }
            let slope = if upper { -density } else { density };
            let newton = t - err / slope;
            let shrinking = (newton - t).abs() < 0.5 * step_before;
            let next = if newton > lo && newton < hi && shrinking {
                newton
            } else {
                0.5 * lo + 0.5 * hi
            };
            if !(next > lo && next < hi) {
                break;
            }
            step_before = step;
            step = (next - t).abs();
            t = next;
        }
        self.original_units(best)
    }

    /// The `p` quantile: the lower tail for `p <= 0.5`, else the upper tail with mass
    /// `1 - p` (exact in `f32` for `p >= 0.5`), so both tails keep their relative accuracy.
    pub(crate) fn quantile(&self, p: f32) -> f32 {
        if p <= 0.5 {
            self.solve_tail(p, false)
        } else {
            self.solve_tail(1.0 - p, true)
        }
    }

    /// The central interval holding `level`: tails of mass `0.5 * (1 - level)` each side.
    pub(crate) fn interval(&self, level: f32) -> (f32, f32) {
        let tail = 0.5 * (1.0 - level);
        (self.solve_tail(tail, false), self.solve_tail(tail, true))
    }
}

/// `Ok(p)` for `0 < p < 1`, else [`Error::InvalidProbability`] (NaN included).
fn check_probability(p: f32) -> Result<f32> {
    if p > 0.0 && p < 1.0 {
        Ok(p)
    } else {
        Err(Error::InvalidProbability)
    }
}

impl<const K: usize, const D: usize> Mixture<K, D> {
    /// The marginal cumulative distribution function of each output dimension at `y`:
    /// entry `d` is `P(Y_d <= y_d)`.
    ///
    /// `F_d(y) = sum_k w_k Phi((t - mu_kd) / sigma_kd)` with `t = y` (identity) or
    /// `t = ln y` (log target; `F_d(y) = 0` for `y <= 0`), `Phi` through `libm::erfcf`,
    /// capped at 1. Against a float64 reference the error is below 9e-8
    /// (`mdn-core/tests/queries_reference.rs`).
    ///
    /// # Errors
    ///
    /// [`Error::TargetLength`] or [`Error::NonFiniteTarget`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::{Mixture, TargetTransform};
    /// let m = Mixture::<1, 1>::new(&[0.0], &[1.0], &[2.0], 1, TargetTransform::Identity)?;
    /// assert_eq!(m.cdf(&[1.0])?[0], 0.5);
    /// let log = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Log)?;
    /// assert_eq!(log.cdf(&[1.0])?[0], 0.5); // the median of a log-normal is e^mu
    /// assert_eq!(log.cdf(&[-3.0])?[0], 0.0);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn cdf(&self, y: &[f32]) -> Result<PerOutput<D>> {
        self.check_target(y)?;
        let mut cdf = PerOutput::new();
        for (d, &y_d) in y.iter().enumerate() {
            let (means, sigmas) = self.column(d);
            // Cannot fail: dims <= D.
            let _ = cdf.push(self.univariate(&means, &sigmas).cdf(y_d));
        }
        Ok(cdf)
    }

    /// The `p` quantile of a one-dimensional mixture: the `y` with `cdf(y) = p`.
    ///
    /// Safeguarded Newton iterations on the marginal CDF (the upper tail for `p > 0.5`)
    /// inside the bracket `[min_k(mu_k - 10 sigma_k), max_k(mu_k + 10 sigma_k)]`, in the
    /// space of `ln y` for a log target, at most 64 CDF evaluations (FORMAT.md section 5).
    ///
    /// Accuracy in probability space, measured against a float64 reference
    /// (`mdn-core/tests/queries_reference.rs`, 22 mixtures, `p` from 1e-6 to `1 - 1e-6`):
    /// `|F(q) - p| <= 1e-7` where `|mu| / sigma < 100`, and the tail mass (`p`, or `1 - p`
    /// above the median) is right to 6e-6 relative in both tails. What limits it is `f32`
    /// itself: no `f32` lies closer than half the spacing of `f32` values at the answer,
    /// which times the density is the bound `|F(q) - p| <= 2e-7 + 2e-6 p + f(t) ulp(t)`
    /// the tests check, with `t = q` (`t = ln q` and `f` the density of `ln y` for a log
    /// target); it matters where `|mu| / sigma` reaches hundreds. A tail mass below
    /// `Phi(-10) = 7.6e-24` lies outside the bracket and gives a point near its end.
    ///
    /// # Errors
    ///
    /// [`Error::NotUnivariate`] for more than one output dimension, then
    /// [`Error::InvalidProbability`] unless `0 < p < 1`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::{Mixture, TargetTransform};
    /// let m = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Identity)?;
    /// assert!((m.quantile(0.975)? - 1.959964).abs() < 1e-5);
    /// assert_eq!(m.quantile(1.0), Err(mdn_core::Error::InvalidProbability));
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn quantile(&self, p: f32) -> Result<f32> {
        self.require_univariate()?;
        let p = check_probability(p)?;
        let (means, sigmas) = self.column(0);
        Ok(self.univariate(&means, &sigmas).quantile(p))
    }

    /// The central interval of a one-dimensional mixture that holds probability `level`:
    /// from the `(1 - level) / 2` quantile to the `(1 + level) / 2` quantile.
    ///
    /// Each end is solved in its own tail with tail mass `0.5 * (1 - level)`, so levels
    /// close to 1 keep their accuracy; see [`Mixture::quantile`].
    ///
    /// # Errors
    ///
    /// [`Error::NotUnivariate`], then [`Error::InvalidProbability`] unless `0 < level < 1`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::{Mixture, TargetTransform};
    /// // TensorFlow Probability's example mixture.
    /// let m = Mixture::<2, 1>::new(&[0.3_f32.ln(), 0.7_f32.ln()], &[-1.0, 1.0], &[0.1, 0.5], 1,
    ///     TargetTransform::Identity)?;
    /// let i = m.interval(0.9)?;
    /// let (lo, hi) = (m.cdf(&[i.lower])?[0], m.cdf(&[i.upper])?[0]);
    /// assert!((lo - 0.05).abs() < 1e-6 && (hi - 0.95).abs() < 1e-6);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn interval(&self, level: f32) -> Result<Interval> {
        self.require_univariate()?;
        let level = check_probability(level)?;
        let (means, sigmas) = self.column(0);
        let (lower, upper) = self.univariate(&means, &sigmas).interval(level);
        Ok(Interval { lower, upper })
    }
}
